"""Benchmark: the conversation store at scale.

Fills a fresh database through the bulk ingest path with N generated
conversations (~20 turns each), then measures through the HTTP app (in-process
ASGI, so the figures are convhub's own time, not a socket's):

* a filtered list page (ElevenLabs dialect, a mix of real filters),
* a get with transcript (native API),
* a full-text search (native API, ``q=``).

Prints progress to stderr and one JSON object as the last line of stdout, and
records the run in docs/benchmarks.md (the latest per database and size, with the machine and the date).

    python bench/store.py --conversations 100000 --db sqlite
    python bench/store.py --conversations 100000 --db postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _record import record_row
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from convhub.app import create_app
from convhub.auth.service import create_key, ensure_workspace
from convhub.config import Settings
from convhub.conversations.ingest import ingest_many
from convhub.db import Database
from convhub.migrate import upgrade
from convhub.providers.elevenlabs.mapper import conversation_from_elevenlabs
from convhub.simulators.generate import generate_elevenlabs_conversations

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "convhub_bench"
SEARCH_WORDS = ["invoice", "refund", "appointment", "password", "cancel", "delivery", "upgrade",
                "tracking", "charged twice", "reschedule", "router", "discount"]


async def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        url = f"sqlite+aiosqlite:///{workdir / 'convhub.db'}"
    else:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
        await conn.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
    await asyncio.to_thread(upgrade, url)
    return url


async def fill(db: Database, n: int, batch_size: int, seed: int) -> tuple[float, float, str]:
    """Ingest n conversations; returns (ingest seconds, generate+map seconds, workspace id)."""
    async with db.session() as session:
        workspace_id = (await ensure_workspace(session, "bench")).id
    bodies = generate_elevenlabs_conversations(n, seed=seed, agents=20, turns=20, span_days=365)
    ingest_secs = prep_secs = 0.0
    columns = [TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=None, transient=False) as progress:
        task = progress.add_task("ingest", total=n)
        done = 0
        while done < n:
            t0 = time.perf_counter()
            batch = [conversation_from_elevenlabs(next(bodies)) for _ in range(min(batch_size, n - done))]
            t1 = time.perf_counter()
            async with db.session() as session:
                await ingest_many(session, workspace_id, batch)
            t2 = time.perf_counter()
            prep_secs += t1 - t0
            ingest_secs += t2 - t1
            done += len(batch)
            progress.update(task, completed=done)
    return ingest_secs, prep_secs, workspace_id


async def analyze(db: Database) -> None:
    async with db.engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(text("ANALYZE"))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(client: httpx.AsyncClient, paths: list[str]) -> dict[str, float]:
    for path in paths[:5]:  # warm caches and connection pool
        (await client.get(path)).raise_for_status()
    timings = []
    for path in paths:
        t0 = time.perf_counter()
        response = await client.get(path)
        timings.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: {response.text[:300]}")
    return {"p50": round(statistics.median(timings), 2), "p95": round(percentile(timings, 0.95), 2)}


async def run_queries(settings: Settings, db: Database, queries: int, seed: int) -> dict[str, dict[str, float]]:
    async with db.session() as session:
        ws = await ensure_workspace(session, "bench")
        _, key = await create_key(session, ws)
    from sqlalchemy import text

    async with db.session() as session:
        agents = list((await session.execute(text("SELECT provider_agent_id FROM agents"))).scalars())
        ids = list((await session.execute(
            text("SELECT id FROM conversations ORDER BY id LIMIT 5000")
        )).scalars())
    rng = random.Random(seed)
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers={"xi-api-key": key},
                                 timeout=120) as client:
        filters = [
            lambda: f"agent_id={rng.choice(agents)}&call_successful=success",
            lambda: f"call_duration_min_secs={rng.randint(60, 300)}&call_duration_max_secs=900",
            lambda: f"rating_min={rng.randint(3, 5)}",
            lambda: f"agent_id={rng.choice(agents)}&call_start_after_unix={int(time.time()) - 86400 * 90}",
            lambda: "call_successful=failure&has_feedback_comment=true",
            lambda: f"evaluation_params=issue_resolved:{rng.choice(['success', 'failure'])}",
            lambda: f"data_collection_params=customer_intent:eq:{rng.choice(['billing', 'cancellation'])}",
            lambda: "tool_names=lookup_order",
        ]
        list_paths = [f"/v1/convai/conversations?page_size=30&{rng.choice(filters)()}" for _ in range(queries)]
        get_paths = [f"/v1/conversations/{rng.choice(ids)}" for _ in range(queries)]
        search_paths = [f"/v1/conversations?limit=30&q={rng.choice(SEARCH_WORDS)}" for _ in range(queries)]
        return {
            "list": await measure(client, list_paths),
            "get": await measure(client, get_paths),
            "search": await measure(client, search_paths),
        }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
        mem = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "?"
    return f"{cpu}, {os.cpu_count()} cores, {mem} RAM, Python {platform.python_version()}"


SECTION = "## bench/store.py"
TABLE_HEAD = (
    "| date | machine | db | conversations | ingest conv/s | list p95 ms | get p95 ms | search p95 ms | notes |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)


def record(result: dict[str, Any]) -> None:
    """This run's figures as the latest of its database and size in docs/benchmarks.md."""
    row = (
        f"| {result['date']} | {result['machine']} | {result['db']} | {result['conversations']:,} | "
        f"{result['ingest_conv_per_s']:,} | {result['list_p95_ms']} | {result['get_p95_ms']} | "
        f"{result['search_p95_ms']} | p50 list/get/search {result['list_p50_ms']}/{result['get_p50_ms']}/"
        f"{result['search_p50_ms']} ms |"
    )
    record_row(SECTION, TABLE_HEAD, row, key=(2, 3))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/convhub-bench"))
    parser.add_argument("--reuse", action="store_true", help="skip the fill; query the database left by a previous run")
    parser.add_argument("--no-record", action="store_true", help="do not append to docs/benchmarks.md")
    args = parser.parse_args()

    workdir = args.workdir / args.db
    if args.reuse:
        url = (f"sqlite+aiosqlite:///{workdir / 'convhub.db'}" if args.db == "sqlite"
               else f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_BENCH_DB}")
    else:
        url = await fresh_database(args.db, workdir)
    settings = Settings(data_dir=workdir / "data", database_url=url, secret_key="bench")
    db = Database(url, pool_size=4)
    ingest_secs = prep_secs = 0.0
    if not args.reuse:
        ingest_secs, prep_secs, _ = await fill(db, args.conversations, args.batch_size, args.seed)
        await analyze(db)
    figures = await run_queries(settings, db, args.queries, args.seed)
    await db.dispose()
    result: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "db": args.db,
        "conversations": args.conversations,
        "ingest_conv_per_s": round(args.conversations / ingest_secs) if ingest_secs else None,
        "generate_map_conv_per_s": round(args.conversations / prep_secs) if prep_secs else None,
        "list_p50_ms": figures["list"]["p50"],
        "list_p95_ms": figures["list"]["p95"],
        "get_p50_ms": figures["get"]["p50"],
        "get_p95_ms": figures["get"]["p95"],
        "search_p50_ms": figures["search"]["p50"],
        "search_p95_ms": figures["search"]["p95"],
    }
    if not args.no_record and not args.reuse:
        record(result)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
