"""``convhub simulate``: a vendor API on a loopback port, until interrupted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx

from convhub.simulators.common import free_port
from tests.cli.conftest import Invoke


def test_simulate_serves_the_vendor_api(cli_env: dict[str, str]) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "convhub.cli", "simulate", "retell", "--port", str(port),
                             "--conversations", "7", "--api-key", "k-test", "--seed", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                stats = httpx.get(f"http://127.0.0.1:{port}/_simulator/stats", timeout=1).json()
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        assert stats["conversations"] == 7
        listed = httpx.post(f"http://127.0.0.1:{port}/v3/list-calls", json={"limit": 100},
                            headers={"authorization": "Bearer k-test"})
        assert listed.status_code == 200
        refused = httpx.post(f"http://127.0.0.1:{port}/v3/list-calls", json={}, headers={"authorization": "Bearer x"})
        assert refused.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_simulate_rejects_an_unknown_provider(cli: Invoke) -> None:
    result = cli("simulate", "acme")
    assert result.exit_code == 2
    assert "unknown provider" in result.stderr
