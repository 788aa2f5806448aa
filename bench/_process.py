"""Shared by the benchmarks: run a server as a child process for the length of a ``with`` block."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def process(args: list[str], ready_url: str, env: dict[str, str] | None = None,
            stderr_path: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``args``, wait (up to 60 s) until ``ready_url`` answers below 500, yield; then SIGINT it (kill after
    20 s). Its stderr goes to ``stderr_path`` when given, else nowhere."""
    stderr = stderr_path.open("wb") if stderr_path else None
    proc = subprocess.Popen(args, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=stderr or subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(ready_url, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{' '.join(args[:6])} did not start" +
                                   (f" (see {stderr_path})" if stderr_path else ""))
            time.sleep(0.1)
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if stderr is not None:
            stderr.close()
