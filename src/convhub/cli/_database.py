"""Settings, the database and the event bus for a command: a clean error when one cannot be used, migration
when needed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InvalidRequestError

from convhub.cli._common import fail, run
from convhub.config import Settings
from convhub.db import Database
from convhub.migrate import alembic_config, upgrade

# Long enough for a loaded server, short enough that a wrong host fails while someone is still watching.
CONNECT_TIMEOUT_SECS = 15
URL_HINT = "Set CONVHUB_DATABASE_URL, e.g. postgresql+asyncpg://user@host:5432/convhub or sqlite+aiosqlite:///path.db."


def load_settings() -> Settings:
    try:
        settings = Settings()
        settings.resolved_database_url  # noqa: B018 - resolving creates the data dir for the default SQLite file
    except ValidationError as exc:
        problems = "; ".join(f"CONVHUB_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        fail(f"invalid configuration: {problems}")
    except OSError as exc:
        fail(f"cannot use the data directory: {exc}")
    return settings


def shown_url(url: str) -> str:
    """The database URL with its password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


# ---------------------------------------------------------------- database check + migration


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _probe(url: str) -> str | None:
    """Connect once and read the schema revision; raises what the driver raises."""
    database = Database(url, pool_size=1)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECS), database.engine.connect() as connection:
            return await connection.run_sync(_current_revision)
    finally:
        await database.dispose()


def schema_revision(settings: Settings) -> str | None:
    """The database's Alembic revision (``None`` when fresh), or a clean exit when it cannot be used."""
    url = settings.resolved_database_url
    where = shown_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        shown = "(not shown: it may hold a password)" if "@" in url else repr(url)
        fail(f"bad database URL {shown}: {exc}. {URL_HINT}")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            fail(f"cannot reach the database at {where}: the folder {folder} does not exist.")
    try:
        return run(_probe(url))
    except (ArgumentError, InvalidRequestError, ImportError) as exc:
        # An unknown dialect, or a driver that is missing or not async (postgresql:// means psycopg2).
        fail(f"bad database URL {where}: {exc}. {URL_HINT}")
    except TimeoutError:
        fail(f"cannot reach the database at {where}: no answer within {CONNECT_TIMEOUT_SECS} s.")
    except (DBAPIError, OSError) as exc:
        reason = str(exc.orig) if isinstance(exc, DBAPIError) and exc.orig is not None else str(exc)
        fail(f"cannot reach the database at {where}: {_first_line(reason)}")
    except Exception as exc:  # the driver's own errors (asyncpg: unknown database, bad password…)
        fail(f"cannot use the database at {where}: {type(exc).__name__}: {_first_line(str(exc))}")


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "no details"


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings.resolved_database_url)).get_current_head()


def migrate(settings: Settings) -> tuple[str | None, str | None]:
    """Bring the schema to head when it is not there; returns (before, after)."""
    before = schema_revision(settings)
    head = head_revision(settings)
    if before == head:
        return before, head
    try:
        upgrade(settings.resolved_database_url)
    except CommandError as exc:
        fail(f"cannot migrate the database at {shown_url(settings.resolved_database_url)}: {exc}")
    return before, head


# ---------------------------------------------------------------- event bus check


async def _start_bus(settings: Settings) -> None:
    from convhub.live.bus import build_bus

    bus = build_bus(settings)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECS):
            await bus.start()
    finally:
        await bus.close()


def check_event_bus(settings: Settings) -> None:
    """Exit cleanly, before any work, when ``CONVHUB_REDIS_URL`` is set and Redis cannot carry events."""
    from convhub.live.bus import BusUnavailable

    if not settings.redis_url:
        return
    try:
        run(_start_bus(settings))
    except BusUnavailable as exc:
        fail(_first_line(str(exc)))
    except TimeoutError:
        fail(f"CONVHUB_REDIS_URL is set but Redis does not answer within {CONNECT_TIMEOUT_SECS} s.")
    except Exception as exc:  # redis-py's own errors (a refused AUTH, a wrong protocol…)
        fail(f"CONVHUB_REDIS_URL is set but Redis cannot be used: {type(exc).__name__}: {_first_line(str(exc))}")


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The database for one command, disposed when it is done (call :func:`migrate` first)."""
    database = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    try:
        yield database
    finally:
        await database.dispose()
