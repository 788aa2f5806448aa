"""Inbound webhooks through the HTTP app: verified on the raw bytes, stored once, processed in order."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from convhub.auth.service import ensure_workspace
from convhub.connections.schemas import ConnectionCreate
from convhub.connections.service import create_connection
from convhub.db import Database
from convhub.models import WebhookEvent
from convhub.simulators.common import SimulatorOptions, SimulatorStore, load_vendor
from convhub.simulators.generate import generate_audio_bytes, generate_elevenlabs_conversation

SECRET = "whsec-test"


async def connect(app: Any, database: Database, provider: str, *, api_key: str = "vendor-key",
                  options: dict[str, Any] | None = None, unknown_agents: str = "create") -> str:
    async with database.session() as session:
        ws = await ensure_workspace(session, "default")
        conn = await create_connection(session, ws.id, ConnectionCreate(
            provider=provider, api_key=api_key, webhook_secret=SECRET, webhook_options=options or {},
            unknown_agents=unknown_agents,
        ), app.state.secretbox, actor="test")
    return conn.id


def el_signed(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    t = str(int(time.time() if at is None else at))
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"elevenlabs-signature": f"t={t},v0={mac}", "content-type": "application/json"}


def transcription(index: int = 0) -> tuple[str, bytes]:
    detail = generate_elevenlabs_conversation(index, seed=3)
    detail["status"] = "done"
    body = orjson.dumps({"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": detail})
    return detail["conversation_id"], body


async def events_stored(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(WebhookEvent))).scalar_one())


async def conversation(authed: httpx.AsyncClient, provider_id: str) -> dict[str, Any]:
    page = (await authed.get("/v1/conversations", params={"limit": 100})).json()
    matches = [c for c in page["data"] if c["provider_conversation_id"] == provider_id]
    assert len(matches) == 1, page
    detail: dict[str, Any] = (await authed.get(f"/v1/conversations/{matches[0]['id']}")).json()
    return detail


async def test_a_signed_transcription_is_accepted_and_filed(app: Any, database: Database, client: httpx.AsyncClient,
                                                           authed: httpx.AsyncClient) -> None:
    connection_id = await connect(app, database, "elevenlabs")
    pid, body = transcription()
    response = await client.post(f"/v1/webhooks/elevenlabs/{connection_id}", content=body, headers=el_signed(body))
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    await app.state.jobs.drain()
    filed = await conversation(authed, pid)
    assert filed["provider"] == "elevenlabs" and filed["status"] == "done" and filed["transcript"]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda body: (body, el_signed(body, secret="not-the-secret")), "does not match"),
        (lambda body: (body.replace(b'"done"', b'"failed"', 1), el_signed(body)), "does not match"),
        (lambda body: (body, el_signed(body, at=time.time() - 31 * 60)), "old"),
        (lambda body: (body, el_signed(body, at=time.time() + 6 * 60)), "future"),
        (lambda body: (body, {"content-type": "application/json"}), "missing"),
        (lambda body: (body, {"elevenlabs-signature": "garbage"}), "malformed"),
    ],
    ids=["wrong-secret", "tampered-body", "stale", "future", "no-header", "garbled-header"],
)
async def test_bad_signatures_are_401_with_a_reason_and_store_nothing(
    app: Any, database: Database, client: httpx.AsyncClient, mangle: Any, reason: str
) -> None:
    connection_id = await connect(app, database, "elevenlabs")
    _, body = transcription()
    sent, headers = mangle(body)
    response = await client.post(f"/v1/webhooks/elevenlabs/{connection_id}", content=sent, headers=headers)
    assert response.status_code == 401
    assert reason in response.json()["detail"]["message"]
    assert await events_stored(database) == 0


async def test_a_redelivery_is_200_without_a_second_effect(app: Any, database: Database,
                                                           client: httpx.AsyncClient,
                                                           authed: httpx.AsyncClient) -> None:
    connection_id = await connect(app, database, "elevenlabs")
    pid, body = transcription()
    url = f"/v1/webhooks/elevenlabs/{connection_id}"
    first = await client.post(url, content=body, headers=el_signed(body))
    await app.state.jobs.drain()
    again = await client.post(url, content=body, headers=el_signed(body))  # re-signed later, same content
    await app.state.jobs.drain()
    assert first.json()["status"] == "accepted" and again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert await events_stored(database) == 1
    page = (await authed.get("/v1/conversations")).json()
    assert [c["provider_conversation_id"] for c in page["data"]] == [pid]


async def test_unknown_connection_or_wrong_provider_is_404(app: Any, database: Database,
                                                           client: httpx.AsyncClient) -> None:
    connection_id = await connect(app, database, "elevenlabs")
    _, body = transcription()
    for url in ("/v1/webhooks/elevenlabs/conn_nope", f"/v1/webhooks/retell/{connection_id}",
                f"/v1/webhooks/acme/{connection_id}"):
        response = await client.post(url, content=body, headers=el_signed(body))
        assert response.status_code == 404, url
        assert response.json()["detail"]["message"]


async def test_a_signed_body_that_is_not_an_event_is_400(app: Any, database: Database,
                                                          client: httpx.AsyncClient) -> None:
    connection_id = await connect(app, database, "elevenlabs")
    body = b"this is not json"
    response = await client.post(f"/v1/webhooks/elevenlabs/{connection_id}", content=body, headers=el_signed(body))
    assert response.status_code == 400
    assert await events_stored(database) == 0


async def test_audio_before_its_transcript_is_attached_when_the_transcript_arrives(
    app: Any, database: Database, client: httpx.AsyncClient, authed: httpx.AsyncClient
) -> None:
    connection_id = await connect(app, database, "elevenlabs")
    pid, body = transcription(1)
    audio = generate_audio_bytes(pid)
    audio_body = orjson.dumps({"type": "post_call_audio", "event_timestamp": int(time.time()),
                               "data": {"agent_id": "a", "conversation_id": pid,
                                        "full_audio": base64.b64encode(audio).decode()}})
    url = f"/v1/webhooks/elevenlabs/{connection_id}"
    assert (await client.post(url, content=audio_body, headers=el_signed(audio_body))).status_code == 200
    await app.state.jobs.drain()
    assert (await client.post(url, content=body, headers=el_signed(body))).status_code == 200
    await app.state.jobs.drain()
    filed = await conversation(authed, pid)
    assert filed["has_audio"] is True
    got = await authed.get(f"/v1/conversations/{filed['id']}/audio")
    assert got.status_code == 200 and got.content == audio


async def test_a_late_earlier_event_never_moves_a_conversation_back(
    app: Any, database: Database, client: httpx.AsyncClient, authed: httpx.AsyncClient
) -> None:
    connection_id = await connect(app, database, "elevenlabs")
    pid, body = transcription(2)
    failure = orjson.dumps({"type": "call_initiation_failure", "event_timestamp": int(time.time()) - 100,
                            "data": {"agent_id": "agent_x", "conversation_id": pid, "failure_reason": "busy",
                                     "metadata": {}}})
    url = f"/v1/webhooks/elevenlabs/{connection_id}"
    await client.post(url, content=body, headers=el_signed(body))
    await app.state.jobs.drain()
    before = await conversation(authed, pid)
    await client.post(url, content=failure, headers=el_signed(failure))
    await app.state.jobs.drain()
    after = await conversation(authed, pid)
    assert after["status"] == "done"
    assert after["summary"] == before["summary"] and len(after["transcript"]) == len(before["transcript"])


@pytest.mark.parametrize("provider", ["retell", "vapi"])
async def test_retell_and_vapi_deliveries_in_reverse_order_end_final(
    provider: str, app: Any, database: Database, client: httpx.AsyncClient, authed: httpx.AsyncClient
) -> None:
    """The simulator signs as the vendor does; delivered last-first, the conversation still ends final."""
    api_key = "retell-key"
    connection_id = await connect(app, database, provider, api_key=api_key)
    vendor = load_vendor(provider)
    store = SimulatorStore(vendor, SimulatorOptions(conversations=40, seed=4))
    call = next(c for c in store.ordered() if vendor.is_final(c))
    secret = api_key if provider == "retell" else SECRET
    deliveries = vendor.webhook_deliveries(call, secret, datetime.now(UTC))
    assert len(deliveries) >= 2
    for headers, body in reversed(deliveries):
        response = await client.post(f"/v1/webhooks/{provider}/{connection_id}", content=body,
                                     headers={"content-type": "application/json", **headers})
        assert response.status_code == 200, response.text
        await app.state.jobs.drain()
    filed = await conversation(authed, vendor.conversation_id(call))
    assert filed["status"] in ("done", "failed")
    assert filed["ended_at"] is not None
    assert await events_stored(database) == len(deliveries)


async def test_unknown_agents_policy_applies_to_webhooks(app: Any, database: Database, client: httpx.AsyncClient,
                                                         authed: httpx.AsyncClient) -> None:
    connection_id = await connect(app, database, "elevenlabs", unknown_agents="skip")
    _, body = transcription(5)
    assert (await client.post(f"/v1/webhooks/elevenlabs/{connection_id}", content=body,
                              headers=el_signed(body))).status_code == 200
    await app.state.jobs.drain()
    assert (await authed.get("/v1/conversations")).json()["data"] == []
    async with database.session() as session:
        status = (await session.execute(select(WebhookEvent.status))).scalar_one()
    assert status == "skipped"
