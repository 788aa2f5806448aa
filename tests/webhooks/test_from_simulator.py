"""The simulators' webhook sender against a running convhub: every vendor's signed deliveries land once."""

from __future__ import annotations

import time

import httpx
import pytest

from convhub.simulators.common import SimulatorOptions, SimulatorServer
from tests.conftest import LiveServer


@pytest.mark.parametrize("provider", ["elevenlabs", "retell", "vapi"])
def test_simulator_sends_signed_webhooks_that_convhub_files(live_server: LiveServer, provider: str) -> None:
    key = live_server.key()
    headers = {"xi-api-key": key}
    with SimulatorServer(provider, SimulatorOptions(conversations=30, seed=6, api_key="vendor-key")) as sim:
        connection = httpx.post(f"{live_server.url}/v1/providers", headers=headers, json={
            "provider": provider, "api_key": "vendor-key", "webhook_secret": "whsec-sim", "base_url": sim.url,
        }).json()
        # Retell signs with the account's API key; the others with the webhook secret.
        secret = "vendor-key" if provider == "retell" else "whsec-sim"
        target = f"{live_server.url}{connection['webhook_url']}"
        sent = httpx.post(f"{sim.url}/_simulator/webhooks", json={"url": target, "secret": secret, "limit": 4},
                          timeout=60).json()
        assert sent["conversations"] == 4 and set(sent["responses"]) == {"200"}, sent
        again = httpx.post(f"{sim.url}/_simulator/webhooks", json={"url": target, "secret": secret, "limit": 4},
                           timeout=60).json()
        assert set(again["responses"]) == {"200"}  # redeliveries: answered, no second effect

        deadline = time.monotonic() + 20
        while True:
            page = httpx.get(f"{live_server.url}/v1/conversations", headers=headers).json()
            if len(page["data"]) == 4 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(page["data"]) == 4
        assert {c["provider"] for c in page["data"]} == {provider}
        wrong = httpx.post(f"{sim.url}/_simulator/webhooks", json={"url": target, "secret": "not-it", "limit": 1},
                           timeout=60).json()
        assert set(wrong["responses"]) == {"401"}
