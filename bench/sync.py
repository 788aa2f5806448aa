"""Benchmark: syncing from the ElevenLabs simulator at the vendor's limits, and webhook intake.

Runs the simulator as its own process (``convhub simulate``) with N
conversations, a fixed latency per request and a cap on concurrent requests
(429 + Retry-After beyond it), and convhub's sync engine against it on a fresh
SQLite store:

1. **full sync** of N conversations at concurrency C; the floor is
   ``requests x latency / C`` (the vendor's budget spent perfectly);
2. **one request at a time** on a smaller account, for the speed-up ratio;
3. **re-sync of unchanged data**: detail requests made and wall time;
4. **faults**: a full sync with a fault rate (5xx, hung requests, bad bodies):
   every conversation must arrive exactly once;
5. **webhooks**: a real ``convhub serve`` takes signed ``post_call_transcription``
   deliveries from concurrent senders for S seconds; stored must equal sent.

Prints progress on stderr, one JSON object as the last line of stdout, and
records the run in docs/benchmarks.md (the latest per account size).

    python bench/sync.py                       # the issue's settings: 10,000 conversations, 100 ms, 15 concurrent
    python bench/sync.py --conversations 2000 --webhook-secs 10   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _process import process
from _record import machine, record_row

from convhub.auth.service import ensure_workspace
from convhub.connections.schemas import ConnectionCreate
from convhub.connections.service import create_connection, open_provider
from convhub.db import Database
from convhub.kit.secretbox import SecretBox
from convhub.migrate import upgrade
from convhub.simulators.common import free_port
from convhub.simulators.generate import generate_elevenlabs_conversation
from convhub.storage.local import LocalBlobStore
from convhub.sync.engine import SyncEngine, start_run

PYTHON = sys.executable
SECRET = "bench-secret"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def simulator(conversations: int, latency_ms: float, concurrency: int, fault_rate: float = 0.0,
              hold_secs: float = 5.0) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [PYTHON, "-m", "convhub.cli", "simulate", "elevenlabs", "--port", str(port),
            "--conversations", str(conversations), "--latency-ms", str(latency_ms),
            "--max-concurrency", str(concurrency), "--fault-rate", str(fault_rate), "--seed", "11"]
    env = {"CONVHUB_SIM_TIMEOUT_HOLD_SECS": str(hold_secs)}
    with process(args, f"{url}/_simulator/stats", env):
        yield url


def stats(url: str) -> dict[str, int]:
    data: dict[str, int] = httpx.get(f"{url}/_simulator/stats", timeout=10).json()
    return data


async def fresh_store(workdir: Path, name: str) -> tuple[Database, Path]:
    folder = workdir / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    url = f"sqlite+aiosqlite:///{folder / 'convhub.db'}"
    await asyncio.to_thread(upgrade, url)
    return Database(url), folder


async def sync_once(database: Database, folder: Path, sim_url: str, concurrency: int, *,
                    request_timeout: float = 30.0, connection_id: str | None = None,
                    mode: str = "auto") -> tuple[dict[str, Any], str]:
    box = SecretBox(SECRET)
    async with database.session() as session:
        ws = await ensure_workspace(session, "bench")
        if connection_id is None:
            conn = await create_connection(session, ws.id, ConnectionCreate(
                provider="elevenlabs", api_key="sim-key", base_url=sim_url, max_concurrency=concurrency,
            ), box, actor="bench")
            connection_id = conn.id
        run = await start_run(session, ws.id, connection_id, mode=mode, trigger="bench")
    engine = SyncEngine(database, LocalBlobStore(folder / "blobs"),
                        lambda c: open_provider(c, box, timeout=request_timeout))
    started = time.perf_counter()
    done = await engine.execute(ws.id, run.id)
    elapsed = time.perf_counter() - started
    return {"secs": round(elapsed, 2), "status": done.status, "requests": done.requests, "counts": done.counts,
            "errors": done.errors[:3]}, connection_id


async def stored_count(database: Database) -> tuple[int, int]:
    from sqlalchemy import func, select

    from convhub.models import Conversation

    async with database.session() as session:
        total = (await session.execute(select(func.count()).select_from(Conversation))).scalar_one()
        distinct = (await session.execute(
            select(func.count(func.distinct(Conversation.provider_conversation_id))))).scalar_one()
    return int(total), int(distinct)


# ------------------------------------------------------------------ webhooks


def sign(body: bytes, secret: str) -> str:
    t = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v0={mac}"


async def webhook_bench(workdir: Path, secs: float, senders: int) -> dict[str, Any]:
    folder = workdir / "webhooks"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = {"CONVHUB_DATA_DIR": str(folder), "CONVHUB_SECRET_KEY": SECRET}
    await asyncio.to_thread(subprocess.run, [PYTHON, "-m", "convhub.cli", "db", "upgrade"],
                            env={**os.environ, **env}, check=True, capture_output=True)
    add = await asyncio.to_thread(
        subprocess.run,
        [PYTHON, "-m", "convhub.cli", "providers", "add", "elevenlabs", "--workspace", "bench", "--api-key", "k",
         "--webhook-secret", "whsec-bench"], env={**os.environ, **env}, check=True, capture_output=True, text=True,
    )
    connection_id = add.stdout.strip().splitlines()[-1]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bodies = []
    for i in range(2000):
        detail = generate_elevenlabs_conversation(i, seed=5)
        bodies.append(orjson.dumps({"type": "post_call_transcription", "event_timestamp": int(time.time()),
                                    "data": detail}))
    sent = accepted = errors = 0
    latencies: list[float] = []
    with process([PYTHON, "-m", "convhub.cli", "serve", "--port", str(port)], f"{url}/healthz", env):
        path = f"/v1/webhooks/elevenlabs/{connection_id}"
        stop_at = time.monotonic() + secs

        async def sender(k: int) -> None:
            # A bare HTTP/1.1 keep-alive client: httpx costs more CPU per request than the server
            # spends, and on two cores the load generator must not be what is measured.
            nonlocal sent, accepted, errors
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            i = k
            while time.monotonic() < stop_at:
                body = bodies[i % len(bodies)]
                # Each delivery distinct: a new conversation id, so none is a redelivery.
                body = body.replace(b'"conversation_id":"', b'"conversation_id":"w%d_' % i, 1)
                head = (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                        f"elevenlabs-signature: {sign(body, 'whsec-bench')}\r\n"
                        f"content-length: {len(body)}\r\n\r\n").encode()
                t0 = time.perf_counter()
                writer.write(head + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                answer = await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                sent += 1
                if b" 200 " in status_line and b'"accepted"' in answer:
                    accepted += 1
                else:
                    errors += 1
                i += senders
            writer.close()

        started = time.perf_counter()
        await asyncio.gather(*(sender(k) for k in range(senders)))
        elapsed = time.perf_counter() - started
        database = Database(f"sqlite+aiosqlite:///{folder / 'convhub.db'}")
        from sqlalchemy import func, select

        from convhub.models import WebhookEvent

        async def count(*statuses: str) -> int:
            stmt = select(func.count()).select_from(WebhookEvent)
            if statuses:
                stmt = stmt.where(WebhookEvent.status.in_(statuses))
            async with database.session() as session:
                return int((await session.execute(stmt)).scalar_one())

        stored = await count()
        # Processing yields to intake during the burst; measure how long the backlog takes to clear after it.
        backlog_at_end = await count("received")
        drain_started = time.perf_counter()
        while await count("received") and time.perf_counter() - drain_started < 600:
            await asyncio.sleep(0.5)
        drain_secs = time.perf_counter() - drain_started
        processed = await count("processed")
        await database.dispose()
    latencies.sort()
    return {"secs": round(elapsed, 1), "sent": sent, "accepted": accepted, "errors": errors, "stored": int(stored),
            "per_sec": round(sent / elapsed), "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
            "backlog_at_end": backlog_at_end, "processed": processed, "drain_secs": round(drain_secs, 1)}


# ------------------------------------------------------------------ main


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=15)
    parser.add_argument("--serial-conversations", type=int, default=150,
                        help="account size for the one-request-at-a-time comparison")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--fault-conversations", type=int, default=2000)
    parser.add_argument("--webhook-secs", type=float, default=30.0)
    parser.add_argument("--webhook-senders", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/convhub-bench-sync"))
    parser.add_argument("--skip", action="append", default=[], choices=["full", "serial", "faults", "webhooks"])
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"date": datetime.now(UTC).date().isoformat(), "machine": machine(),
                              "conversations": args.conversations, "latency_ms": args.latency_ms,
                              "concurrency": args.concurrency}
    latency = args.latency_ms / 1000

    if "full" not in args.skip:
        log(f"full sync: {args.conversations} conversations, {args.latency_ms} ms, {args.concurrency} concurrent…")
        database, folder = await fresh_store(args.workdir, "full")
        with simulator(args.conversations, args.latency_ms, args.concurrency) as sim:
            full, connection_id = await sync_once(database, folder, sim, args.concurrency)
            floor = full["requests"] * latency / args.concurrency
            full.update(floor_secs=round(floor, 2), vs_floor=round(full["secs"] / floor, 3),
                        rate_limited=stats(sim).get("rate_limited", 0))
            log(f"  {full}")
            before = stats(sim)
            resync, _ = await sync_once(database, folder, sim, args.concurrency, connection_id=connection_id)
            after = stats(sim)
            resync["detail_requests"] = after.get("detail", 0) - before.get("detail", 0)
            log(f"  re-sync: {resync}")
        total, distinct = await stored_count(database)
        full["stored"], full["distinct"] = total, distinct
        await database.dispose()
        result.update(full=full, resync=resync)

    if "serial" not in args.skip:
        n = args.serial_conversations
        log(f"one request at a time vs {args.concurrency}: {n} conversations…")
        database, folder = await fresh_store(args.workdir, "serial")
        with simulator(n, args.latency_ms, args.concurrency) as sim:
            serial, _ = await sync_once(database, folder, sim, 1)
        await database.dispose()
        database, folder = await fresh_store(args.workdir, "parallel")
        with simulator(n, args.latency_ms, args.concurrency) as sim:
            parallel, _ = await sync_once(database, folder, sim, args.concurrency)
        await database.dispose()
        serial_rate = n / serial["secs"]
        full_rate = (args.conversations / result["full"]["secs"]) if "full" in result else n / parallel["secs"]
        result["serial"] = {"conversations": n, "serial_secs": serial["secs"], "parallel_secs": parallel["secs"],
                            "speedup_same_account": round(serial["secs"] / parallel["secs"], 1),
                            "speedup_vs_full_rate": round(full_rate / serial_rate, 1)}
        log(f"  {result['serial']}")

    if "faults" not in args.skip:
        n = args.fault_conversations
        log(f"faults: {n} conversations at fault rate {args.fault_rate}…")
        database, folder = await fresh_store(args.workdir, "faults")
        with simulator(n, args.latency_ms, args.concurrency, args.fault_rate, hold_secs=3.0) as sim:
            faults, connection_id = await sync_once(database, folder, sim, args.concurrency, request_timeout=1.5)
            if faults["counts"].get("failed"):
                again, _ = await sync_once(database, folder, sim, args.concurrency, request_timeout=1.5,
                                           connection_id=connection_id)
                faults["second_run"] = again["counts"]
            faults["simulator"] = {k: v for k, v in stats(sim).items() if k.startswith("fault") or k == "rate_limited"}
        total, distinct = await stored_count(database)
        faults.update(conversations=n, rate=args.fault_rate, stored=total, distinct=distinct,
                      exactly_once=total == distinct == n)
        await database.dispose()
        result["faults"] = faults
        log(f"  {faults}")

    if "webhooks" not in args.skip:
        log(f"webhooks: {args.webhook_senders} senders for {args.webhook_secs} s…")
        result["webhooks"] = await webhook_bench(args.workdir, args.webhook_secs, args.webhook_senders)
        log(f"  {result['webhooks']}")

    if not args.no_record:
        record(result)
    print(json.dumps(result))


def record(r: dict[str, Any]) -> None:
    full, resync, serial = r.get("full", {}), r.get("resync", {}), r.get("serial", {})
    faults, hooks = r.get("faults", {}), r.get("webhooks", {})
    row = (
        f"| {r['date']} | {r['machine']} | {r['conversations']:,} @ {r['latency_ms']:g} ms, {r['concurrency']} max | "
        f"{full.get('secs', '-')} s / floor {full.get('floor_secs', '-')} s (x{full.get('vs_floor', '-')}) | "
        f"x{serial.get('speedup_vs_full_rate', '-')} | "
        f"{resync.get('detail_requests', '-')} detail req, {resync.get('secs', '-')} s | "
        f"{faults.get('conversations', '-')} at {round(100 * faults.get('rate', 0))}%: "
        f"exactly once = {faults.get('exactly_once', '-')} | "
        f"{hooks.get('per_sec', '-')}/s for {hooks.get('secs', '-')} s, stored {hooks.get('stored', '-')} of "
        f"{hooks.get('sent', '-')}; all processed {hooks.get('drain_secs', '-')} s later |"
    )
    head = ("| date | machine | account | full sync vs floor | vs one-at-a-time | unchanged re-sync | faults | "
            "webhooks |\n|---|---|---|---|---|---|---|---|\n")
    record_row("## bench/sync.py", head, row, key=(2,))


if __name__ == "__main__":
    asyncio.run(main())
