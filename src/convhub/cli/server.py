"""``convhub serve`` and ``convhub demo``: run the API with uvicorn (after migrating)."""

from __future__ import annotations

import copy
import gc
import os
import shlex
import shutil
import socket
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from convhub.cli._common import err, fail, note, out, run

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from convhub.cli.demo import DemoInfo

Host = Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")]
Port = Annotated[int, typer.Option(min=0, max=65535, help="TCP port; 0 picks a free one (the URL printed says which).")]


class LogLevelName(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


LogLevel = Annotated[LogLevelName, typer.Option(help="How much uvicorn logs (on stderr).")]


def serve(host: Host = "127.0.0.1", port: Port = 8000, log_level: LogLevel = LogLevelName.info) -> None:
    """Migrate the database, then serve the API. Prints the base URL on stdout once it is listening."""
    from convhub.cli._database import check_event_bus, load_settings, migrate

    settings = load_settings()
    migrate(settings)
    check_event_bus(settings)
    _run_server(host, port, log_level, out)


def demo(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    conversations: Annotated[
        int, typer.Option(min=0, help="How many conversations the three simulated accounts hold between them.")
    ] = 300,
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="The workspace to fill.")] = "demo",
    log_level: LogLevel = LogLevelName.info,
) -> None:
    """Start the ElevenLabs, Retell and Vapi simulators, connect a workspace to them, sync, and serve.

    Safe to re-run on the same data directory: nothing is duplicated and the same key is handed out.
    The simulators keep running beside the server (the connections sync again on their schedule).
    The last line of stdout is the API key.
    """
    from convhub.cli._database import check_event_bus, load_settings, migrate
    from convhub.cli.demo import demo_simulators, demo_window, seed_demo

    settings = load_settings()
    migrate(settings)
    check_event_bus(settings)  # before the sync, which would be wasted if the server cannot start
    window_start, _ = run(demo_window(settings, workspace))
    with demo_simulators(window_start, conversations) as simulators:
        with err.status(f"Syncing {conversations} conversations from the ElevenLabs, Retell and Vapi simulators "
                        f"into workspace '{workspace}'…"):
            info = run(seed_demo(settings, simulators, workspace))
        mix = ", ".join(f"{n} {p}" for p, n in sorted(info.by_provider.items()))
        if info.created:
            note(f"Synced {info.created} new conversations ({mix}; {info.with_audio} with audio) "
                 f"into workspace '{workspace}'.")
        else:
            note(f"Workspace '{workspace}' already holds the {info.conversations} demo conversations ({mix}).")
        _run_server(host, port, log_level, lambda url: _banner(url, info))


def _banner(url: str, info: DemoInfo) -> None:
    key = info.api_key
    env = f"CONVHUB_BASE_URL={url} CONVHUB_API_KEY={key}"
    python, convhub, examples, activate = _runnable_commands()
    lines = [
        "",
        f"convhub demo: {info.conversations} conversations in workspace '{info.workspace}' "
        f"({info.window_start:%Y-%m-%d} to {info.window_end:%Y-%m-%d}), {info.with_audio} with audio,",
        "synced from simulated " + ", ".join(f"{p} ({n})" for p, n in sorted(info.by_provider.items())) + " accounts",
        "",
        f"  URL       {url}",
        f"  API docs  {url}/docs",
        f"  API key   {key}" + ("  (kept from the last run)" if info.key_reused else ""),
        "",
        "Try it (Ctrl-C stops the server):",
        *([f"  {env} {python} {examples}/success_rate.py 720"] if examples else []),
        f"  curl -s -H {shlex.quote('xi-api-key: ' + key)} '{url}/v1/convai/conversations?page_size=5'",
        f"  {env} {convhub} chat {info.chat_agent_id}    # chat with the demo help desk",
        "",
        "Or set them for this shell:",
        f"  export CONVHUB_BASE_URL={url}",
        f"  export CONVHUB_API_KEY={key}",
        *([f"  source {activate}    # then plain convhub and python work too"] if activate else []),
        "",
        "API key:",
        key,
    ]
    for line in lines:
        out(line)


def _runnable_commands() -> tuple[str, str, str | None, str | None]:
    """How to call this Python, this convhub, the repository's examples folder and the venv's activate script,
    written so that they run when pasted into a fresh shell in this directory: a venv's ``bin`` is on no PATH
    until it is activated, so a bare ``python`` or ``convhub`` would be another program or none.

    Paths under the current directory are shown relative (``.venv/bin/convhub``), others absolute. The examples
    folder exists only in a checkout (``None`` when convhub was installed from a wheel), and so may the script.
    """
    import convhub

    bin_dir = Path(sys.executable).parent
    python = _shown(Path(sys.executable))
    script = bin_dir / "convhub"
    found = shutil.which("convhub")
    if script.is_file():
        convhub_command = _shown(script)
    elif found:
        convhub_command = _shown(Path(found))
    else:
        convhub_command = f"{python} -m convhub.cli"
    examples = Path(convhub.__file__).resolve().parents[2] / "examples"
    shown_examples = _shown(examples, command=False) if (examples / "success_rate.py").is_file() else None
    activate = bin_dir / "activate"
    in_venv = sys.prefix != sys.base_prefix
    return python, convhub_command, shown_examples, _shown(activate) if in_venv and activate.is_file() else None


def _shown(path: Path, *, command: bool = True) -> str:
    cwd = Path.cwd()
    absolute = Path(os.path.abspath(path))  # keeps a venv's python symlink, which is what makes it the venv's
    shown = str(absolute.relative_to(cwd)) if absolute.is_relative_to(cwd) else str(absolute)
    if command and "/" not in shown:
        shown = f"./{shown}"  # a bare command name would be looked up on the PATH
    return shlex.quote(shown)


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with access lines on stderr too: stdout is for the URL (or the demo banner)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


class _StartupFailure:
    """Wraps the app so that a start-up failure whose message says it all (the event bus cannot reach Redis)
    reaches the command as that message, for one clean error line, instead of the traceback uvicorn logs.

    Starlette reports a failed lifespan start-up with the formatted traceback as its message, while handling
    the exception: that is when :meth:`__call__` can see which exception it was.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.message: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_failure_plainly(message: Message) -> None:
            from convhub.live.bus import BusUnavailable

            failure = sys.exc_info()[1]
            if message["type"] == "lifespan.startup.failed" and isinstance(failure, BusUnavailable):
                self.message = str(failure)
                message = {"type": "lifespan.startup.failed", "message": ""}  # uvicorn logs a message it is given
            await send(message)

        await self.app(scope, receive, send_failure_plainly)


def _run_server(host: str, port: int, log_level: LogLevelName, on_ready: Callable[[str], None]) -> None:
    import uvicorn

    from convhub.app import create_app
    from convhub.kit.logs import install_log_redaction

    install_log_redaction()  # before uvicorn logs anything (create_app does it too, for other servers)

    class AnnouncingServer(uvicorn.Server):
        """Says so once it is listening (before that, a printed URL would only be a promise)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                _freeze_startup_heap()
                on_ready(_base_url(self, host))

    app = _StartupFailure(create_app())
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level.value,
        log_config=_log_config(),
        lifespan="on",
    )
    server = AnnouncingServer(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:  # uvicorn exits 3 when it cannot start (port taken, app start-up failed…)
        if app.message is not None:
            fail(f"the server could not start: {_first_line(app.message)}")
        if exc.code:
            fail(f"the server could not start on {host}:{port} (see the log above)")


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "no details"


def _freeze_startup_heap() -> None:
    """Leave what startup built (modules, the app, its routes and models: most of the heap) out of the
    garbage collector's full passes from now on. Otherwise each full pass walks all of it, 0.1 to 0.2 s on a
    small machine, during which no request moves: seen as bursts of slow first replies in bench/chat.py."""
    gc.collect()
    gc.freeze()


def _base_url(server: uvicorn.Server, host: str) -> str:
    port = server.config.port
    for listener in getattr(server, "servers", []):
        for sock in listener.sockets or ():
            port = sock.getsockname()[1]
            break
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # reachable locally; every interface is listening
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
