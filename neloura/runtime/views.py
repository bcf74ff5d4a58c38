"""Which files are open in a live view: pages report their current image over /ws.

The cleanup worker never removes a file listed here.
"""

from __future__ import annotations

import threading
from pathlib import Path


class LiveViews:
    def __init__(self) -> None:
        self._views: dict[str, Path] = {}
        self._lock = threading.Lock()

    def update(self, client_id: str, path: Path | None) -> None:
        """Record the (resolved) file ``client_id`` shows, or forget it when ``path`` is None."""
        with self._lock:
            if path is None:
                self._views.pop(client_id, None)
            else:
                self._views[client_id] = path.resolve()

    def open_paths(self) -> frozenset[Path]:
        with self._lock:
            return frozenset(self._views.values())

    def count(self) -> int:
        with self._lock:
            return len(self._views)
