"""Which files are open in a live view: pages report their current image over /ws.

The cleanup worker never removes a file listed here, but a view holds a file for at most
``max_hold_s`` (``NELOURA_UPLOAD_HOLD_HOURS``) from the moment that connection first reported
it: a client naming an upload over /ws cannot keep it forever. The hold belongs to the
connection (its ``client_id``) and ends when it closes or shows another file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path


class LiveViews:
    def __init__(self, max_hold_s: float = 24 * 3600.0) -> None:
        self.max_hold_s = max_hold_s
        self._views: dict[str, tuple[Path, float]] = {}
        self._lock = threading.Lock()
        # with several server workers: told of every local change, so that the others hold it too
        self.on_change: Callable[[str, Path | None], None] | None = None

    def update(self, client_id: str, path: Path | None, now: float | None = None, *, share: bool = True) -> None:
        """Record the (resolved) file ``client_id`` shows, or forget it when ``path`` is None.

        Reporting the same file again does not renew the hold. ``share=False``: a change relayed
        from another worker (not relayed again)."""
        if share and self.on_change is not None:
            self.on_change(client_id, path)
        now = time.time() if now is None else now
        with self._lock:
            if path is None:
                self._views.pop(client_id, None)
                return
            resolved = path.resolve()
            previous = self._views.get(client_id)
            since = previous[1] if previous is not None and previous[0] == resolved else now
            self._views[client_id] = (resolved, since)

    def open_paths(self, now: float | None = None) -> frozenset[Path]:
        """Files held now (views younger than ``max_hold_s``)."""
        now = time.time() if now is None else now
        with self._lock:
            return frozenset(p for p, since in self._views.values() if now - since < self.max_hold_s)

    def count(self) -> int:
        with self._lock:
            return len(self._views)
