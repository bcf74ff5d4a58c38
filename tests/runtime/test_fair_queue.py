"""The fairness code shared by the job registry and the code runner."""

from __future__ import annotations

import pytest

from neloura.errors import Conflict
from neloura.runtime.fair_queue import FairQueue


def test_owners_take_turns_and_each_keeps_its_order() -> None:
    queue: FairQueue[str] = FairQueue(10)
    for item in ("a1", "a2", "a3"):
        queue.push("alice", item)
    queue.push("bob", "b1")
    order = []
    while (item := queue.pop_next()) is not None:
        order.append(item)
    assert order == ["a1", "b1", "a2", "a3"]
    assert not queue.waiting()


def test_a_head_that_does_not_fit_lets_the_next_owner_pass() -> None:
    queue: FairQueue[int] = FairQueue(10)
    queue.push("alice", 8)
    queue.push("bob", 2)
    assert queue.pop_next(lambda size: size <= 4) == 2
    assert queue.pop_next(lambda size: size <= 4) is None and queue.waiting()
    assert queue.pop_next() == 8


def test_one_owner_cannot_flood_and_removal_frees_a_place() -> None:
    queue: FairQueue[str] = FairQueue(2, "runs")
    queue.push("alice", "x")
    queue.push("alice", "y")
    with pytest.raises(Conflict, match="2 runs waiting"):
        queue.push("alice", "z")
    queue.push("bob", "w")  # others are not affected
    assert queue.remove("alice", "x") and not queue.remove("alice", "x")
    queue.push("alice", "z")
