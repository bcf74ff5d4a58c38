"""Bounded CPU work (FITS/WCS parses, any call that a hostile file can make slow) in killable
worker processes, with a deadline that cannot wedge the server.

A thread cannot be stopped: a 5-minute SIP parse in the thread pool keeps its thread (and the
GIL) for 5 minutes whatever the caller's timeout says. :class:`BoundedRunner` instead keeps a
few worker processes (``forkserver``: the server's threads are never forked) and sends each
call to an idle one over a pipe; when the answer has not arrived at the deadline the worker is
killed (SIGKILL) and replaced, and the caller gets :class:`DeadlineExceeded` (HTTP 422).

- :meth:`BoundedRunner.run` blocks the calling thread (use it from sync routes and runtime
  code, which run in the thread pool); :meth:`BoundedRunner.run_async` awaits from the event
  loop without blocking it. Both take a module-level function and picklable arguments; the
  function's domain errors (:class:`~neloura.errors.NelouraError`) are raised in the caller.
- Waiting for a busy worker is bounded by the same time (a flood of hostile files gets
  :class:`ServerBusy`, 503, instead of queueing forever); starting a worker is not counted.
- Workers exit when the server dies, even ``kill -9``: each watches a pipe whose other end only
  the server holds (EOF -> exit) and asks Linux for ``PR_SET_PDEATHSIG`` (:func:`die_with_parent`).
- A worker's address space may grow by at most ``memory_mb`` (``RLIMIT_AS`` above what it maps
  at start), so a header announcing a huge lookup table fails with a clear error instead of
  swapping the machine.

Use it inside the stores (``ImageStore.inspect``, uploads, header cards) so that every route
going through them inherits the deadline.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from neloura.errors import DeadlineExceeded, InvalidParameter, NelouraError, ServerBusy

log = logging.getLogger("neloura.bounded")
T = TypeVar("T")
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux; no-op elsewhere).

    The parent of a ``forkserver`` child is the fork server, which itself exits when the
    server dies; a pipe watched by :func:`watch_parent_pipe` covers the rest."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def watch_parent_pipe(alive: Connection, on_death: Callable[[], None]) -> None:
    """Call ``on_death`` (in a daemon thread) when the read end ``alive`` reaches EOF: the
    only writer is the server, which never writes, so EOF means it has exited, however it died.

    Pass the read end of ``ctx.Pipe(duplex=False)`` to the child as a process argument
    (multiprocessing hands the descriptor over, whatever the start method)."""

    def watch() -> None:
        try:
            while True:
                alive.recv_bytes()
        except (EOFError, OSError):
            pass
        on_death()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _serve(conn: Connection, alive: Connection, memory_mb: int) -> None:
    """A worker's loop: receive ``(func, args, kwargs)``, send ``("ok", result)`` or ``("error", exc)``."""
    die_with_parent()
    watch_parent_pipe(alive, lambda: os._exit(0))
    if memory_mb > 0:
        # on top of what the process already maps (libraries, thread arenas: large on big machines)
        limit = _mapped_bytes() + memory_mb * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ValueError, OSError):
            pass
    while True:
        try:
            func, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", func(*args, **kwargs))
        except NelouraError as exc:
            reply = ("error", exc)
        except MemoryError:
            reply = ("error", InvalidParameter(f"out of memory (the worker's limit is {memory_mb} MB)"))
        except Exception as exc:  # noqa: BLE001 - the caller gets a 4xx naming the failure
            reply = ("error", InvalidParameter(f"{type(exc).__name__}: {exc}"))
        try:
            conn.send(reply)
        except (OSError, ValueError, TypeError) as exc:  # unpicklable result: a programming error
            conn.send(("error", InvalidParameter(f"result could not be sent back: {exc}")))


def _mapped_bytes() -> int:
    """Virtual memory this process maps now (``/proc/self/statm``; 0 where unknown)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _Worker:
    def __init__(self, ctx: Any, alive: Connection, memory_mb: int) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_serve, args=(child, alive, memory_mb), daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        try:
            if self.process.pid is not None:
                os.kill(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.conn.close()
        self.process.join(timeout=5)


class BoundedRunner:
    """``workers`` killable worker processes running calls with a deadline (see the module doc)."""

    def __init__(self, workers: int = 2, timeout_s: float = 20.0, *, memory_mb: int = 4096) -> None:
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._ctx = multiprocessing.get_context("forkserver")
        self._idle: list[_Worker] = []
        self._count = 0  # workers alive (idle or busy)
        self._cond = threading.Condition()
        self._closed = False
        # the read end goes to every worker; the server holds the only write end
        self._alive_r, self._alive_w = self._ctx.Pipe(duplex=False)
        # waiting on a worker from the event loop takes a thread: a pool of its own, so that
        # hostile parses cannot take every thread of the route pool
        self._waiters = ThreadPoolExecutor(max_workers=4 * self.workers, thread_name_prefix="bounded-wait")

    def _acquire(self, deadline: float) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise ServerBusy("the server is stopping")
                if self._idle:
                    return self._idle.pop()
                if self._count < self.workers:
                    self._count += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServerBusy("every parsing worker is busy; try again in a moment")
                self._cond.wait(left)
        try:
            return _Worker(self._ctx, self._alive_r, self.memory_mb)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, worker: _Worker | None) -> None:
        with self._cond:
            if worker is None or self._closed:
                self._count -= 1
                if worker is not None:
                    worker.kill()
            else:
                self._idle.append(worker)
            self._cond.notify()

    def run(
        self, func: Callable[..., T], *args: Any, timeout_s: float | None = None, what: str = "", **kwargs: Any
    ) -> T:
        """``func(*args, **kwargs)`` in a worker; :class:`DeadlineExceeded` after ``timeout_s``
        (the runner's default when None). ``what`` names the work in the error message."""
        limit = self.timeout_s if timeout_s is None else timeout_s
        label = what or getattr(func, "__name__", "the work")
        worker = self._acquire(time.monotonic() + limit)  # waiting for a busy worker: at most ``limit``
        deadline = time.monotonic() + limit  # starting a worker (the fork server's first boot) is not counted
        healthy = False
        try:
            worker.conn.send((func, args, kwargs))
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                raise DeadlineExceeded(f"{label} took longer than {limit:g} s and was stopped")
            status, value = worker.conn.recv()
            healthy = True
        except (EOFError, OSError) as exc:
            raise InvalidParameter(f"{label} crashed its worker process ({exc or 'no answer'})") from None
        finally:
            if healthy:
                self._release(worker)
            else:  # stopped at the deadline, crashed, or the caller was interrupted: never reused
                worker.kill()
                self._release(None)
        if status == "error":
            raise value
        result: T = value
        return result

    def warm(self) -> None:
        """Start one worker now (and the fork server with it), so the first parse does not pay
        for it; call it from a background thread. Errors are logged, never raised."""
        try:
            self._release(self._acquire(time.monotonic() + self.timeout_s))
        except Exception:  # a failed warm-up only means the first call starts a worker
            log.warning("could not start a parsing worker in advance", exc_info=True)

    async def run_async(
        self, func: Callable[..., T], *args: Any, timeout_s: float | None = None, what: str = "", **kwargs: Any
    ) -> T:
        """:meth:`run` awaited from the event loop (the loop never waits on the worker)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._waiters, lambda: self.run(func, *args, timeout_s=timeout_s, what=what, **kwargs)
        )

    def close(self) -> None:
        """Kill every worker (idle ones now, busy ones when their call returns)."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.kill()
        self._waiters.shutdown(wait=False, cancel_futures=True)
        self._alive_w.close()
        self._alive_r.close()
