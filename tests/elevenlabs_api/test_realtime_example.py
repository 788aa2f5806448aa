"""docs/realtime.md's runnable example, run as a user would: examples/realtime_chat.py against a live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import LiveServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "realtime_chat.py"


def test_the_realtime_example_chats_and_stores_the_conversation(live_server: LiveServer) -> None:
    key = live_server.key()
    env = {**os.environ, "CONVHUB_BASE_URL": live_server.url, "CONVHUB_API_KEY": key}
    done = subprocess.run([sys.executable, str(EXAMPLE)], input="How long do refunds take?\n\n", env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "agent> " in done.stdout and "five working days" in done.stdout
    stored = re.search(r"Conversation (conv_\w+) is stored", done.stdout)
    assert stored, done.stdout
    conversation_id = stored[1]


    messages = httpx.get(f"{live_server.url}/v1/conversations/{conversation_id}/messages",
                         headers={"xi-api-key": key}, timeout=10).json()["data"]
    assert [m["role"] for m in messages] == ["user", "agent"]
