"""The job registry: real worker processes, progress events, cancel, fair queueing, memory bound."""

from __future__ import annotations

import asyncio
import time

import pytest

from neloura.errors import Conflict, PayloadTooLarge
from neloura.runtime.events import EventBus
from neloura.runtime.jobs import JobRegistry
from tests.runtime import job_functions as jf

GIB = 2**30


@pytest.fixture
def registry() -> JobRegistry:
    jobs = JobRegistry(2, EventBus(), memory_budget_bytes=4 * GIB)
    jobs.start()
    yield jobs
    jobs.stop()


def test_progress_reaches_the_event_bus_and_the_result_comes_back() -> None:
    async def scenario() -> list[dict]:
        bus = EventBus()
        bus.bind(asyncio.get_running_loop())
        jobs = JobRegistry(1, bus)
        jobs.start()
        events: list[dict] = []
        try:
            job = jobs.submit("count", jf.count, {"steps": 4, "delay": 0.15}, user="a", memory_bytes=1)
            async for event in bus.subscribe("a"):  # job events reach their owner's pages
                events.append(event)
                if event["state"] in ("done", "failed"):
                    break
            assert jobs.get(job.id).result is not None and jobs.get(job.id).result["steps"] == 4
        finally:
            jobs.stop()
        return events

    events = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert {e["type"] for e in events} == {"job"}
    assert {"id", "kind", "state", "progress", "message", "eta_s"} <= set(events[0])
    states = [e["state"] for e in events]
    assert states[-1] == "done" and "running" in states
    progress = [e["progress"] for e in events if e["state"] == "running"]
    assert progress == sorted(progress) and max(progress) > 0.2


def test_cancel_stops_a_running_job_process(registry: JobRegistry) -> None:
    job = registry.submit("sleep", jf.sleeper, {"seconds": 60}, user="a", memory_bytes=1)
    end = time.monotonic() + 30
    while registry.get(job.id).state != "running" and time.monotonic() < end:
        time.sleep(0.05)
    process = registry.local(job.id).process
    registry.cancel(job.id)
    assert registry.get(job.id).state == "cancelled"
    process.join(5)
    assert not process.is_alive()


def test_cancel_also_stops_the_worker_processes_a_job_started(registry: JobRegistry) -> None:
    psutil = pytest.importorskip("psutil")
    job = registry.submit("workers", jf.with_workers, {"seconds": 60}, user="a", memory_bytes=1)
    end = time.monotonic() + 30
    while registry.get(job.id).progress < 0.5 and time.monotonic() < end:
        time.sleep(0.05)
    children = psutil.Process(registry.local(job.id).process.pid).children(recursive=True)
    assert len(children) == 2
    registry.cancel(job.id)
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive


def test_errors_are_reported_with_their_message(registry: JobRegistry) -> None:
    job = registry.submit("bad", jf.bad, {}, user="a", memory_bytes=1)
    done = registry.wait(job.id, 60)
    assert done.state == "failed" and done.error == "the threshold makes no sense"


def test_users_take_turns_in_the_queue() -> None:
    jobs = JobRegistry(1, EventBus(), memory_budget_bytes=4 * GIB)
    try:
        first = [jobs.submit("stamp", jf.stamp, {"delay": 0.2}, user="alice", memory_bytes=1) for _ in range(3)]
        bob = jobs.submit("stamp", jf.stamp, {"delay": 0.2}, user="bob", memory_bytes=1)
        jobs.start()
        for job in [*first, bob]:
            assert jobs.wait(job.id, 60).state == "done"
        order = sorted([*first, bob], key=lambda j: j.result["started"])
        assert order.index(bob) == 1  # bob's only job runs second, not after all of alice's
    finally:
        jobs.stop()


def test_memory_budget_refuses_huge_jobs_and_serialises_big_ones(registry: JobRegistry) -> None:
    with pytest.raises(PayloadTooLarge):
        registry.submit("stamp", jf.stamp, {}, user="a", memory_bytes=5 * GIB)
    a = registry.submit("stamp", jf.stamp, {"delay": 0.5}, user="a", memory_bytes=3 * GIB)
    b = registry.submit("stamp", jf.stamp, {"delay": 0.5}, user="b", memory_bytes=3 * GIB)
    ra, rb = registry.wait(a.id, 60), registry.wait(b.id, 60)
    assert ra.state == rb.state == "done"
    assert abs(rb.result["started"] - ra.result["started"]) >= 0.45  # never both at once


def test_a_user_cannot_flood_the_queue() -> None:
    jobs = JobRegistry(1, EventBus(), max_queued_per_user=2)  # not started: everything stays queued
    jobs.submit("stamp", jf.stamp, {}, user="a", memory_bytes=1)
    jobs.submit("stamp", jf.stamp, {}, user="a", memory_bytes=1)
    with pytest.raises(Conflict):
        jobs.submit("stamp", jf.stamp, {}, user="a", memory_bytes=1)
    jobs.submit("stamp", jf.stamp, {}, user="b", memory_bytes=1)
    queued = jobs.all()
    assert len(queued) == 3
    jobs.cancel(queued[0].id)
    assert jobs.get(queued[0].id).state == "cancelled"
