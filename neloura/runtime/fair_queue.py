"""Fair queueing, shared by the job registry and the code runner: one FIFO queue per owner (a
session's owner key), heads served round-robin across owners, so one session's twenty waiting
items never hold back another session's one; each owner may have ``max_per_owner`` waiting.

Not thread-safe by itself: each user holds it under its own lock.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Generic, TypeVar

from neloura.errors import Conflict

T = TypeVar("T")


class FairQueue(Generic[T]):
    def __init__(self, max_per_owner: int, noun: str = "jobs") -> None:
        self.max_per_owner = max_per_owner
        self.noun = noun
        self._queues: OrderedDict[str, deque[T]] = OrderedDict()

    def check(self, owner: str) -> None:
        """409 when ``owner`` already has ``max_per_owner`` waiting (call before costly preparations)."""
        waiting = len(self._queues.get(owner, ()))
        if waiting >= self.max_per_owner:
            raise Conflict(f"you already have {waiting} {self.noun} waiting; stop some or wait")

    def push(self, owner: str, item: T) -> None:
        """Queue ``item`` last for ``owner`` (409 when the owner already has ``max_per_owner`` waiting)."""
        self.check(owner)
        self._queues.setdefault(owner, deque()).append(item)

    def remove(self, owner: str, item: T) -> bool:
        """Take ``item`` out of its owner's queue (cancelled before it started); False if absent."""
        queue = self._queues.get(owner)
        if queue is None or item not in queue:
            return False
        queue.remove(item)
        return True

    def pop_next(self, fits: Callable[[T], bool] = lambda _: True) -> T | None:
        """The head of the next owner's queue, round-robin, among heads that ``fits``; None if none."""
        for _ in range(len(self._queues)):
            owner, queue = next(iter(self._queues.items()))
            self._queues.move_to_end(owner)
            if queue and fits(queue[0]):
                return queue.popleft()
        return None

    def waiting(self) -> bool:
        """True while any owner has something queued."""
        return any(self._queues.values())
