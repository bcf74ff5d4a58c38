"""The cleanup worker: files/uploads/ is a temporary workspace.

Every ``cleanup_interval_minutes`` it removes the entries of files/uploads/ older than that
interval (modification time), except files open in a live view. It only ever touches what is
inside files/uploads/: every entry's resolved path is checked, and a symlink is removed as a
link (never followed), so its target is untouched wherever it points.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from neloura.runtime.disk_cache import prune
from neloura.runtime.events import EventBus
from neloura.runtime.views import LiveViews
from neloura.settings import Settings

log = logging.getLogger("neloura.cleanup")


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class CleanupWorker:
    def __init__(self, settings: Settings, views: LiveViews, events: EventBus | None = None) -> None:
        self.settings = settings
        self.views = views
        self.events = events
        self._task: asyncio.Task[None] | None = None

    @property
    def max_age_s(self) -> float:
        return self.settings.cleanup_interval_minutes * 60.0

    def run_once(self, now: float | None = None) -> list[Path]:
        """Remove expired entries now; return what was removed (paths as found under uploads/)."""
        root = self.settings.uploads_dir
        if not root.is_dir():
            return []
        cutoff = (time.time() if now is None else now) - self.max_age_s
        removed: list[Path] = []
        self._sweep(root, root.resolve(), cutoff, self.views.open_paths(), removed)
        for path in removed:
            log.info("cleanup: removed %s", path)
        if removed and self.events is not None:
            self.events.publish({"type": "uploads:cleaned", "removed": [p.name for p in removed]})
        return removed

    def erase_all(self) -> list[Path]:
        """Empty files/uploads/ now (admin action): every entry, whatever its age."""
        root = self.settings.uploads_dir
        removed: list[Path] = []
        if root.is_dir():
            self._sweep(root, root.resolve(), float("inf"), frozenset(), removed)
        for path in removed:
            log.info("erase-uploads: removed %s", path)
        return removed

    def _sweep(self, folder: Path, root: Path, cutoff: float, keep: frozenset[Path], removed: list[Path]) -> bool:
        """Remove expired entries under ``folder``; True when ``folder`` holds nothing kept."""
        empty = True
        for entry in list(folder.iterdir()):
            if not self._remove_if_expired(entry, root, cutoff, keep, removed):
                empty = False
        return empty

    def _remove_if_expired(
        self, entry: Path, root: Path, cutoff: float, keep: frozenset[Path], removed: list[Path]
    ) -> bool:
        """Handle one entry; True when it is gone afterwards."""
        try:
            st = entry.lstat()
        except FileNotFoundError:
            return True
        if entry.is_symlink():
            try:
                target: Path | None = entry.resolve()
            except (OSError, RuntimeError):  # a link loop
                target = None
            # A link leading out of uploads/ is removed whatever its age; the target is never touched.
            if st.st_mtime < cutoff or target is None or not _inside(target, root):
                return self._unlink(entry, removed)
            return False
        resolved = entry.resolve()
        if not _inside(resolved, root) or resolved == root:
            log.warning("cleanup: skipped %s (resolves outside uploads/)", entry)
            return False
        if entry.is_dir():
            # The folder's own age is taken before the sweep (removing its files makes it look new).
            if self._sweep(entry, root, cutoff, keep, removed) and st.st_mtime < cutoff:
                return self._remove(entry, shutil.rmtree, removed)
            return not entry.exists()
        if resolved in keep or st.st_mtime >= cutoff:
            return False
        return self._unlink(entry, removed)

    def _unlink(self, entry: Path, removed: list[Path]) -> bool:
        return self._remove(entry, Path.unlink, removed)

    @staticmethod
    def _remove(entry: Path, how: Callable[[Path], object], removed: list[Path]) -> bool:
        try:
            how(entry)
        except OSError as exc:
            log.warning("cleanup: could not remove %s: %s", entry, exc)
            return False
        removed.append(entry)
        return True

    def prune_caches(self) -> list[Path]:
        """Drop cache entries of changed or vanished files, then the least recently used past
        ``disk_cache_max_mb`` (:mod:`neloura.runtime.disk_cache`)."""
        return prune(self.settings.cache_dir, self.settings.disk_cache_max_mb * 1024 * 1024)

    async def _loop(self) -> None:
        await self._off_loop(self.prune_caches)  # once at start, then after every sweep
        while True:
            await asyncio.sleep(max(self.max_age_s, 1.0))
            await self._off_loop(self.run_once)
            await self._off_loop(self.prune_caches)

    @staticmethod
    async def _off_loop(work: Callable[[], object]) -> None:
        try:
            await asyncio.to_thread(work)
        except Exception:  # the worker must outlive one bad sweep
            log.exception("cleanup sweep failed")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="neloura-cleanup")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
