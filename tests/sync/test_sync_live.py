"""Sync against the ElevenLabs simulator: from the API, from the CLI, killed and resumed, with faults."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from convhub.db import Database
from convhub.models import Conversation, SyncRun
from convhub.providers.http import VendorHTTP
from convhub.simulators.common import SimulatorOptions, SimulatorServer
from tests.cli.conftest import clean_env, cli_env

CONVHUB = [sys.executable, "-m", "convhub.cli"]


async def stored_provider_ids(database: Database) -> list[str]:
    async with database.session() as session:
        rows = await session.execute(select(Conversation.provider_conversation_id))
        return sorted(r[0] for r in rows)


async def test_a_sync_started_from_the_api_is_followed_to_completion(
    app: Any, database: Database, authed: httpx.AsyncClient
) -> None:
    with SimulatorServer("elevenlabs", SimulatorOptions(conversations=120, seed=2)) as sim:
        created = await authed.post("/v1/providers", json={
            "provider": "elevenlabs", "api_key": "sim-key", "base_url": sim.url, "max_concurrency": 8})
        assert created.status_code == 201, created.text
        started = await authed.post("/v1/sync", json={"connection_id": created.json()["id"]})
        assert started.status_code == 202
        run_id = started.json()["data"][0]["id"]

        events = await authed.get(f"/v1/sync/runs/{run_id}/events", params={"interval": 0.05})
        assert events.status_code == 200 and events.headers["content-type"].startswith("text/event-stream")
        frames = [f for f in events.text.split("\n\n") if f.strip()]
        assert frames[-1].splitlines()[1] == "event: done"
        final = json.loads(frames[-1].splitlines()[2].removeprefix("data: "))
        assert final["status"] == "succeeded", final["errors"]

        run = (await authed.get(f"/v1/sync/runs/{run_id}")).json()
        assert run["counts"]["created"] == 120 and run["counts"]["failed"] == 0
        assert sorted(sim.store.by_id) == await stored_provider_ids(database)
        listed = (await authed.get("/v1/sync/runs")).json()["data"]
        assert [r["id"] for r in listed] == [run_id]

        busy = await authed.post("/v1/sync", json={"connection_id": "conn_missing"})
        assert busy.status_code == 404


@pytest.mark.parametrize("provider", ["elevenlabs", "retell", "vapi"])
@pytest.mark.parametrize("faults", [0.0, 0.25], ids=["clean", "faulty"])
async def test_full_then_incremental_sync_with_faults(app: Any, database: Database, authed: httpx.AsyncClient,
                                                      provider: str, faults: float) -> None:
    options = SimulatorOptions(conversations=150, seed=3, fault_rate=faults, max_concurrency=6,
                               timeout_hold_secs=1.0)
    with SimulatorServer(provider, options) as sim:
        created = (await authed.post("/v1/providers", json={
            "provider": provider, "api_key": "sim-key", "base_url": sim.url, "max_concurrency": 6})).json()
        engine = app.state.sync_engine
        engine.provider_factory = _fast_retries(engine.provider_factory)

        async def run_sync() -> dict[str, Any]:
            started = (await authed.post("/v1/sync", json={"connection_id": created["id"]})).json()
            await app.state.jobs.drain()
            run: dict[str, Any] = (await authed.get(f"/v1/sync/runs/{started['data'][0]['id']}")).json()
            return run

        first = await run_sync()
        assert first["status"] == "succeeded", first["errors"]
        assert first["mode"] == "full"
        if first["counts"]["failed"]:  # retried by the next run
            await run_sync()
        assert await stored_provider_ids(database) == sorted(sim.store.by_id)

        before = dict(sim.store.stats)
        new_ids = [sim.store.vendor.conversation_id(c) for c in sim.store.add(5)]
        second = await run_sync()
        assert second["mode"] == "incremental" and second["status"] == "succeeded", second["errors"]
        if second["counts"]["failed"]:
            await run_sync()
        assert second["counts"]["fetched"] < 150  # only the window after the watermark was listed
        assert set(new_ids) <= set(await stored_provider_ids(database))
        assert await stored_provider_ids(database) == sorted(sim.store.by_id)  # 155, each once
        if not faults:
            assert sim.store.stats["detail"] - before.get("detail", 0) <= 5  # only the new ones, if any


def _fast_retries(factory: Any) -> Any:
    def make(connection: Any) -> Any:
        provider = factory(connection)
        for http in [v for v in vars(provider).values() if isinstance(v, VendorHTTP)]:
            http.backoff_base = 0.01
            http.max_attempts = 8
            http.client.timeout = httpx.Timeout(0.5)
        return provider

    return make


def test_a_sync_killed_mid_run_and_restarted_ends_with_each_conversation_once(cli_env: dict[str, str]) -> None:
    env = clean_env(**cli_env)
    options = SimulatorOptions(conversations=400, seed=9, latency_ms=15, max_concurrency=4)
    with SimulatorServer("elevenlabs", options) as sim:
        added = subprocess.run([*CONVHUB, "providers", "add", "elevenlabs", "--workspace", "acme", "--api-key",
                                "sim-key", "--base-url", sim.url, "--max-concurrency", "4"],
                               env=env, capture_output=True, text=True, timeout=60)
        assert added.returncode == 0, added.stderr

        first = subprocess.Popen([*CONVHUB, "sync", "run", "--workspace", "acme"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while len(asyncio.run(_count(cli_env["CONVHUB_DATABASE_URL"]))) < 60:
            assert first.poll() is None, "the sync finished before it could be killed"
            assert time.monotonic() < deadline, "the sync made no progress"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        partial = asyncio.run(_count(cli_env["CONVHUB_DATABASE_URL"]))
        assert 60 <= len(partial) < 400

        second = subprocess.run([*CONVHUB, "sync", "run", "--workspace", "acme"], env=env, capture_output=True,
                                text=True, timeout=180)
        assert second.returncode == 0, second.stderr
        summary = json.loads(second.stdout.strip().splitlines()[-1])
        assert summary["runs"][0]["status"] == "succeeded"

        stored = asyncio.run(_count(cli_env["CONVHUB_DATABASE_URL"]))
        assert stored == sorted(sim.store.by_id)  # every one, each once
        runs = asyncio.run(_runs(cli_env["CONVHUB_DATABASE_URL"]))
        assert [r[0] for r in runs] == ["interrupted", "succeeded"]
        assert runs[1][1] == runs[0][2]  # the second run says which one it resumed


async def _count(url: str) -> list[str]:
    database = Database(url)
    try:
        return await stored_provider_ids(database)
    finally:
        await database.dispose()


async def _runs(url: str) -> list[tuple[str, str | None, str]]:
    database = Database(url)
    try:
        async with database.session() as session:
            rows = await session.execute(select(SyncRun.status, SyncRun.resumed_from, SyncRun.id)
                                         .order_by(SyncRun.started_at))
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        await database.dispose()


__all__ = ["cli_env"]  # the fixture, shared with the CLI tests
