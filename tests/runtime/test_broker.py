"""SqliteBroker: events and live views cross between processes sharing one SQLite file (two server workers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.runtime.broker import SqliteBroker
from neloura.runtime.services import Services
from neloura.settings import Settings


class Inbox:
    def __init__(self) -> None:
        self.items: list[tuple[dict[str, Any], str | None]] = []
        self._cond = threading.Condition()

    def __call__(self, event: dict[str, Any], audience: str | None) -> None:
        with self._cond:
            self.items.append((event, audience))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[dict[str, Any], str | None]]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.items) >= count, timeout)
            return list(self.items)


def test_events_reach_the_other_worker_in_order_and_not_their_sender(tmp_path: Path) -> None:
    path = tmp_path / ".cache" / "events.sqlite"
    inbox_a, inbox_b = Inbox(), Inbox()
    a, b = SqliteBroker(path, inbox_a), SqliteBroker(path, inbox_b)
    a.start()
    b.start()
    try:
        for i in range(200):
            a.send({"type": "job", "i": i}, None)
        b.send({"type": "mine", "who": "b"}, "127.0.0.1/s1")
        got_b = inbox_b.wait_for(200)
        got_a = inbox_a.wait_for(1)
        assert [event["i"] for event, _ in got_b] == list(range(200))  # in order, none lost
        assert got_a == [({"type": "mine", "who": "b"}, "127.0.0.1/s1")]  # the audience travels
        time.sleep(0.3)  # a few more polls: nobody hears its own events
        assert len(inbox_a.items) == 1 and len(inbox_b.items) == 200
    finally:
        a.stop()
        b.stop()


def test_a_worker_that_starts_later_does_not_replay_old_events(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    early, late_inbox = SqliteBroker(path, Inbox()), Inbox()
    early.start()
    try:
        early.send({"type": "old"}, None)
        early.stop()  # written before the late worker starts
        early.start()
        late = SqliteBroker(path, late_inbox)
        late.start()
        try:
            early.send({"type": "new"}, None)
            assert [e["type"] for e, _ in late_inbox.wait_for(1)] == ["new"]
        finally:
            late.stop()
    finally:
        early.stop()


def test_events_that_are_not_json_are_dropped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    inbox = Inbox()
    a, b = SqliteBroker(path, Inbox()), SqliteBroker(path, inbox)
    a.start()
    b.start()
    try:
        a.send({"type": "bad", "value": object()}, None)
        a.send({"type": "good"}, None)
        assert [e["type"] for e, _ in inbox.wait_for(1)] == ["good"]
    finally:
        a.stop()
        b.stop()


def test_live_views_and_events_cross_between_two_apps(settings: Settings) -> None:
    """Two apps on one data root with ``workers=2`` (as two uvicorn workers): a file shown by a page
    on the first is held from the second's cleanup; events of the first reach the second's sockets."""
    settings.workers = 2
    upload = settings.uploads_dir / "shown.fits"
    upload.write_bytes(b"x")
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        one: Services = first.app.state.services  # type: ignore[attr-defined]
        two: Services = second.app.state.services  # type: ignore[attr-defined]
        with first.websocket_connect("/ws") as page, second.websocket_connect("/ws") as other:
            assert page.receive_json()["worker"] == one.worker_id != two.worker_id
            assert other.receive_json()["worker"] == two.worker_id
            page.send_json({"type": "view", "path": "uploads/shown.fits"})
            _until(lambda: two.views.open_paths() == frozenset({upload.resolve()}))
            one.events.publish({"type": "catalog.ready", "name": "x.csv", "rows": 3})
            assert other.receive_json() == {"type": "catalog.ready", "name": "x.csv", "rows": 3}
        _until(lambda: two.views.count() == 0)  # the page closed: the other worker lets the file go


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)
