"""jobs/runner.py: jobs run in the background, bounded, once per key; a failure is logged; shutdown ends them."""

from __future__ import annotations

import asyncio
import logging

import pytest

from convhub.jobs.runner import JobRunner


async def test_a_job_runs_in_the_background_and_gives_its_result() -> None:
    runner = JobRunner()
    done: list[str] = []

    async def job() -> str:
        done.append("ran")
        return "result"

    task = runner.submit("one", job)
    assert done == []  # submitting does not run it inline
    assert await task == "result" and done == ["ran"]


async def test_no_more_than_concurrency_jobs_run_at_once() -> None:
    runner = JobRunner(concurrency=2)
    running = peak = 0

    async def job() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    for n in range(7):
        runner.submit(f"job {n}", job)
    await runner.drain()

    assert peak == 2 and running == 0


async def test_a_key_runs_one_job_at_a_time_then_accepts_the_next() -> None:
    runner = JobRunner()
    release = asyncio.Event()
    runs: list[str] = []

    async def job(name: str) -> None:
        runs.append(name)
        await release.wait()

    first = runner.submit("sync", lambda: job("first"), key="sync:conn_1")
    again = runner.submit("sync", lambda: job("again"), key="sync:conn_1")
    other = runner.submit("sync", lambda: job("other"), key="sync:conn_2")
    assert again is first and other is not first
    release.set()
    await runner.drain()
    later = runner.submit("sync", lambda: job("later"), key="sync:conn_1")
    await later

    assert runs == ["first", "other", "later"]


async def test_a_failing_job_is_logged_with_its_name_and_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = JobRunner(concurrency=1)
    done: list[str] = []

    async def fails() -> None:
        raise RuntimeError("the vendor said no")

    async def works() -> None:
        done.append("after")

    with caplog.at_level(logging.ERROR, logger="convhub.jobs"):
        failed = runner.submit("sync conn_1", fails)
        runner.submit("webhooks", works)
        await runner.drain()

    assert await failed is None and done == ["after"]
    [record] = [r for r in caplog.records if r.name == "convhub.jobs"]
    assert record.getMessage() == "job sync conn_1 failed"
    assert record.exc_info is not None and "the vendor said no" in str(record.exc_info[1])


async def test_drain_waits_for_jobs_submitted_meanwhile() -> None:
    runner = JobRunner()
    done: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.01)
        done.append("second")

    async def first() -> None:
        runner.submit("second", second)
        done.append("first")

    runner.submit("first", first)
    await runner.drain()

    assert done == ["first", "second"]


async def test_shutdown_lets_quick_jobs_finish_and_cancels_the_rest_after_the_grace() -> None:
    runner = JobRunner()
    finished: list[str] = []
    cancelled: list[str] = []

    async def job(name: str, secs: float) -> None:
        try:
            await asyncio.sleep(secs)
            finished.append(name)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    quick = runner.submit("quick", lambda: job("quick", 0.01))
    stuck = runner.submit("stuck", lambda: job("stuck", 60))
    async with asyncio.timeout(5):
        await runner.shutdown(grace=0.2)

    assert finished == ["quick"] and cancelled == ["stuck"]
    assert quick.done() and stuck.cancelled()
    await runner.drain()  # nothing left behind


async def test_shutdown_with_nothing_running_returns_at_once() -> None:
    async with asyncio.timeout(1):
        await JobRunner().shutdown(grace=30)
