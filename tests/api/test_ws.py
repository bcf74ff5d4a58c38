"""/ws: server events reach the page; the page's current file is registered as a live view."""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from fastapi.testclient import TestClient

from neloura.runtime.services import Services
from neloura.settings import Settings


def test_events_are_forwarded(client: TestClient) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    with client.websocket_connect("/ws") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello"
        # publish from another thread, as a job would
        client.portal.call(lambda: services.events.publish({"type": "job:progress", "fraction": 0.5}))  # type: ignore[union-attr]
        assert ws.receive_json() == {"type": "job:progress", "fraction": 0.5}


def test_view_messages_register_open_files(client: TestClient, settings: Settings) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    path = settings.uploads_dir / "a.fits"
    fits.PrimaryHDU(np.zeros((4, 4), "f4")).writeto(path)
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_json({"type": "view", "path": "uploads/a.fits"})
        ws.send_json({"type": "ping"})  # processed in order: after this the view is recorded
        _wait(lambda: services.views.open_paths() == frozenset({path.resolve()}))
        ws.send_json({"type": "view", "path": "../../etc/passwd"})
        _wait(lambda: services.views.count() == 0)
        ws.send_json({"type": "view", "path": "uploads/a.fits"})
        _wait(lambda: services.views.count() == 1)
    _wait(lambda: services.views.count() == 0)


def _wait(condition: object, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")
