"""``convhub serve`` and ``convhub demo`` as real processes: they migrate, listen, answer, and stop."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.cli.conftest import clean_env

START_TIMEOUT = 30


@contextmanager
def convhub_process(args: list[str], env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str]]]:
    """``python -m convhub.cli ARGS``; stdout lines arrive on the queue; terminated on the way out."""
    proc = subprocess.Popen([sys.executable, "-m", "convhub.cli", *args], env=clean_env(**env),
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


def test_demo_prints_a_key_that_lists_the_demo_conversations(cli_env: dict[str, str]) -> None:
    args = ["demo", "--port", "0", "--conversations", "6", "--workspace", "show", "--log-level", "warning"]
    with convhub_process(args, cli_env) as (proc, lines):
        banner = [next_line(proc, lines, "banner")]
        while not banner[-1].startswith("chk_"):  # the banner ends with the key alone on its line
            banner.append(next_line(proc, lines, "banner"))
        key = banner[-1]
        url = next(line.split()[-1] for line in banner if line.strip().startswith("URL"))

        page = httpx.get(f"{url}/v1/conversations", headers={"xi-api-key": key}, timeout=10)
        assert page.status_code == 200, page.text
        assert len(page.json()["data"]) == 6
        assert any(f"{url}/docs" in line for line in banner)
        assert any("examples/success_rate.py" in line and key in line for line in banner)
