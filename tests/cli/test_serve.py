"""``convhub serve`` and ``convhub demo`` as real processes: they migrate, listen, answer, and stop."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.cli.conftest import clean_env, last_line, runner_for

START_TIMEOUT = 30


@contextmanager
def convhub_process(args: list[str], env: dict[str, str], cwd: Path | None = None,
                    ) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str]]]:
    """``python -m convhub.cli ARGS``; stdout lines arrive on the queue; terminated on the way out."""
    proc = subprocess.Popen([sys.executable, "-m", "convhub.cli", *args], env=clean_env(**env), cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield proc, lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def next_line(proc: subprocess.Popen[str], lines: queue.Queue[str], what: str) -> str:
    try:
        return lines.get(timeout=START_TIMEOUT)
    except queue.Empty:
        proc.kill()
        _, stderr = proc.communicate()
        raise AssertionError(f"no {what} on stdout within {START_TIMEOUT} s; stderr:\n{stderr}") from None


def test_serve_migrates_listens_and_stops(tmp_path: Path) -> None:
    """On a fresh data dir: the schema is created, the URL printed once listening, /readyz answers."""
    env = {"CONVHUB_DATA_DIR": str(tmp_path / "data")}

    with convhub_process(["serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "warning"], env) as (
        proc, lines
    ):
        url = next_line(proc, lines, "URL")
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/healthz", timeout=10).json() == {"status": "ok"}
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200  # the migrated database answers
    assert proc.returncode == 0  # Ctrl-C is a clean stop
    assert (tmp_path / "data" / "convhub.db").is_file()


def read_banner(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> list[str]:
    banner = [next_line(proc, lines, "banner")]
    while not banner[-1].startswith("chk_"):  # the banner ends with the key alone on its line
        banner.append(next_line(proc, lines, "banner"))
    return banner


def test_demo_prints_a_key_that_lists_the_demo_conversations(cli_env: dict[str, str]) -> None:
    args = ["demo", "--port", "0", "--conversations", "6", "--workspace", "show", "--log-level", "warning"]
    with convhub_process(args, cli_env) as (proc, lines):
        banner = read_banner(proc, lines)
        key = banner[-1]
        url = next(line.split()[-1] for line in banner if line.strip().startswith("URL"))

        page = httpx.get(f"{url}/v1/conversations", headers={"xi-api-key": key}, timeout=10)
        assert page.status_code == 200, page.text
        assert len(page.json()["data"]) == 6
        assert any(f"{url}/docs" in line for line in banner)
        assert any("examples/success_rate.py" in line and key in line for line in banner)


def test_the_server_log_never_shows_a_signature_token_or_key(cli_env: dict[str, str], tmp_path: Path) -> None:
    """Signed realtime URLs and token URLs are logged (uvicorn's access and WebSocket lines) with their secret
    values redacted, whatever the log level; the path stays readable."""
    from websockets.sync.client import connect

    cli = runner_for(cli_env)
    key = last_line(cli("keys", "create", "--workspace", "acme").stdout)
    docs = tmp_path / "help.md"
    docs.write_text("# Refunds\n\nRefunds take five working days.\n")
    agent = last_line(cli("agents", "create", "--workspace", "acme", "--name", "Help", "--docs", str(docs),
                          "--public").stdout)
    log = tmp_path / "server.log"
    env = clean_env(**cli_env, CONVHUB_SCHEDULER="false")
    with log.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "convhub.cli", "serve", "--port", "0", "--log-level", "trace"],
                                env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), log.read_text()
            api = httpx.Client(base_url=url, headers={"xi-api-key": key}, timeout=10)
            signed = api.get("/v1/convai/conversation/get-signed-url", params={"agent_id": agent}).json()["signed_url"]
            token = api.get("/v1/convai/conversation/token", params={"agent_id": agent}).json()["token"]
            ws_base = "ws" + url.removeprefix("http")
            for ws_url in (signed, f"{ws_base}/v1/convai/conversation?agent_id={agent}&token={token}"):
                with connect(ws_url) as ws:
                    ws.send('{"type": "conversation_initiation_client_data"}')
                    assert "conversation_initiation_metadata" in str(ws.recv(timeout=10))
            # A key and a signature in a query string (not where they belong) are not logged either.
            assert httpx.get(f"{url}/v1/conversations?xi-api-key={key}&signature=abc123def456", timeout=10).is_error
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=15)
    logged = log.read_text()
    signature = parse_qs(urlsplit(signed).query)["conversation_signature"][0]

    assert "WebSocket /v1/convai/conversation?agent_id=" in logged  # the lines are there…
    assert "GET /v1/convai/conversation/get-signed-url?agent_id=" in logged
    assert "conversation_signature=[redacted]" in logged and "token=[redacted]" in logged
    for secret in (signature, token, key, "abc123def456"):  # …without their secrets
        assert secret not in logged


ROOT = Path(__file__).resolve().parents[2]
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"  # a fresh shell's: no virtual environment on it


def test_the_demo_banner_commands_run_as_printed_in_a_fresh_shell(cli_env: dict[str, str]) -> None:
    """Pasted into a new terminal at the repository root (no venv active), every command the banner prints runs."""
    assert shutil.which("convhub", path=BARE_PATH) is None  # else this test would prove nothing
    args = ["demo", "--port", "0", "--conversations", "6", "--log-level", "warning"]
    with convhub_process(args, cli_env, cwd=ROOT) as (proc, lines):
        banner = read_banner(proc, lines)
        start = banner.index("Try it (Ctrl-C stops the server):") + 1
        commands = banner[start:banner.index("", start)]
        exports = [line.strip() for line in banner if line.strip().startswith("export ")]
        activate = next(line.strip().split("#")[0] for line in banner if line.strip().startswith("source "))
        assert len(commands) == 3 and len(exports) == 2

        def shell(command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
            env = clean_env(PATH=BARE_PATH, HOME=str(ROOT))  # PYTHONPATH (this tree) stays, as the venv's would
            return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, input=stdin, capture_output=True,
                                  text=True, timeout=60)

        example, curl, chat = (c.strip() for c in commands)
        ran = shell(example)
        assert ran.returncode == 0, (example, ran.stderr)
        assert "success rate" in ran.stdout.lower()
        ran = shell(curl)
        assert ran.returncode == 0, (curl, ran.stderr)
        assert len(json.loads(ran.stdout)["conversations"]) == 5
        ran = shell(chat, stdin="How long do refunds take?\n")
        assert ran.returncode == 0, (chat, ran.stderr)
        assert "five working days" in ran.stdout
        # The "set them for this shell" lines, then the same example with the environment they set.
        ran = shell("; ".join([*exports, example.split(" ", 2)[2]]))
        assert ran.returncode == 0, ran.stderr
        ran = shell(f"{activate} && convhub --version && python -c 'import convhub'")
        assert ran.returncode == 0, (activate, ran.stderr)
