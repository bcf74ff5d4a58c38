"""Heavy jobs on a Dask distributed cluster (``NELOURA_DASK_SCHEDULER``).

Detection, batch cutouts and RGB builds stay jobs of the job registry (queueing, ownership,
cancel, progress over ``/ws`` are unchanged), but with a scheduler address the job process only
submits the work to the cluster and relays its progress: :func:`on_cluster` turns a job
``(func, kwargs)`` into ``(run_on_cluster, kwargs + the address and the function's name)``.
On the Dask worker, the function's ``progress(fraction, message)`` calls become Dask *events*
(``Worker.log_event`` on a topic of this run); the job process polls them from the scheduler and
hands them to its own progress callback, so the page sees the same progress bar as for a local job.
Completeness runs use the cluster differently: each of their iterations is one Dask task
(:func:`neloura.core.completeness.run_completeness`), so a run spreads over the whole cluster.

The Dask workers read and write the same paths as the server: they must see the data root at the
same absolute path (a shared file system) and have Neloura installed (they import the job's module).
Cancelling a job kills the job process and so its client; the scheduler then releases the task
(a task already running on a worker finishes there, its result is dropped).
"""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable
from typing import Any

JobFunc = Callable[..., dict[str, Any]]
Progress = Callable[[float, str], None]

POLL_S = 0.25  # how often the job process asks the scheduler for progress events
CONNECT_TIMEOUT_S = 30.0


def on_cluster(func: JobFunc, kwargs: dict[str, Any], address: str) -> tuple[JobFunc, dict[str, Any]]:
    """The job to submit for ``func(progress, **kwargs)``: itself without a scheduler address, else
    :func:`run_on_cluster` with the address and the function's import name added to its arguments."""
    if not address:
        return func, kwargs
    target = f"{func.__module__}:{func.__qualname__}"
    return run_on_cluster, {**kwargs, "dask_address": address, "dask_target": target}


def _resolve(target: str) -> JobFunc:
    module, _, name = target.partition(":")
    if not module.startswith("neloura."):  # only our own job functions, never an arbitrary callable
        raise ValueError(f"not a Neloura job function: {target}")
    func: JobFunc = getattr(importlib.import_module(module), name)
    return func


def _on_worker(target: str, topic: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Runs on a Dask worker: the job function, its progress sent as events on ``topic``."""
    from distributed import get_worker

    worker = get_worker()
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2 or fraction >= 1.0:  # a few events a second at most
            last[0] = now
            worker.log_event(topic, [float(fraction), str(message)])

    result = dict(_resolve(target)(progress, **kwargs))
    result["dask_worker"] = str(worker.address)  # where it ran (shown in the job's result)
    return result


def run_on_cluster(progress: Progress, *, dask_address: str, dask_target: str, **kwargs: Any) -> dict[str, Any]:
    """Job body: run ``dask_target(progress, **kwargs)`` on the cluster of ``dask_address``, relaying
    its progress; its result (or its error) is this job's."""
    from distributed import Client

    topic = f"neloura-job-{uuid.uuid4().hex}"
    name = dask_target.rpartition(":")[2]
    progress(0.0, f"sending to the Dask scheduler {dask_address}")
    with Client(dask_address, timeout=CONNECT_TIMEOUT_S, set_as_default=False) as client:
        future = client.submit(_on_worker, dask_target, topic, kwargs, pure=False, key=f"{name}-{topic[12:]}")
        seen = 0
        while not future.done():
            time.sleep(POLL_S)
            seen = _relay(client, topic, seen, progress)
        _relay(client, topic, seen, progress)
        result: dict[str, Any] = future.result()
    return result


def _relay(client: Any, topic: str, seen: int, progress: Progress) -> int:
    """Hand the events of ``topic`` after the first ``seen`` to ``progress``; the new count."""
    events = client.get_events(topic)
    for _, (fraction, message) in events[seen:]:
        progress(float(fraction), str(message))
    return len(events)
