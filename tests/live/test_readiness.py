"""``/readyz`` reports the event bus too: with ``CONVHUB_REDIS_URL`` set, a silent Redis means not ready."""

from __future__ import annotations

from typing import Any

import httpx

from convhub.live.bus import RedisBus


async def test_ready_with_the_in_process_bus(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


async def test_ready_while_redis_answers(app: Any, client: httpx.AsyncClient, redis_url: str,
                                         redis_prefix: str) -> None:
    bus = RedisBus(redis_url, prefix=redis_prefix)
    await bus.start()
    app.state.events = bus
    try:
        assert (await client.get("/readyz")).status_code == 200
    finally:
        await bus.close()
    # A closed bus carries nothing: not ready.
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"]["status"] == "not_ready"


async def test_not_ready_when_redis_does_not_answer(app: Any, client: httpx.AsyncClient) -> None:
    app.state.events = RedisBus("redis://127.0.0.1:1/0")  # nothing listens on port 1
    response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()["detail"]
    assert body["status"] == "not_ready" and "event bus unavailable" in body["message"]
    assert "127.0.0.1:1" in body["message"]
