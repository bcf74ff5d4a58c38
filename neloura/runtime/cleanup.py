"""The cleanup worker: files/uploads/ and catalogs/uploads/ are temporary workspaces, and job
results are kept ``NELOURA_RESULTS_KEEP_HOURS``.

Job results live in :data:`RESULT_FOLDERS` (detections, photometry, completeness reports, batch
and single cutouts, figures, cube products, injected images, segmentation maps): every sweep removes their
entries older than the retention (same rules as uploads: files open in a live view are kept,
symlinks are removed as links), and the job store forgets the jobs finished before it
(``expire_jobs``), so a job's record and its files go together.

Every ``cleanup_interval_minutes`` it removes the entries of both folders older than that
interval (modification time), except files open in a live view (a view holds a file at most
``NELOURA_UPLOAD_HOLD_HOURS``: see :class:`neloura.runtime.views.LiveViews`). It only ever
touches what is inside those folders: every entry's resolved path is checked, and a symlink is
removed as a link (never followed), so its target is untouched wherever it points. Every
removal is logged (logger ``neloura.cleanup``, INFO) and published as ``uploads:cleaned``;
``on_removed`` callbacks (the catalog store's cache) hear of each removed file.
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


# Where jobs write their results, relative to the data root (written by: api/detection.py the
# detections and photometry catalogs; api/completeness.py the reports; api/cutouts.py single and
# batch cutouts; api/figures.py the figures; files/results: api/cube_jobs.py products, detection's
# segmentation maps, completeness's injected images). catalogs/uploads is an upload folder.
RESULT_FOLDERS: tuple[str, ...] = (
    "catalogs/detections",
    "catalogs/photometry",
    "images/completeness",
    "images/cutouts",
    "images/figures",
    "files/results",
)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class CleanupWorker:
    def __init__(
        self,
        settings: Settings,
        views: LiveViews,
        events: EventBus | None = None,
        on_removed: Callable[[Path], object] | None = None,
        expire_jobs: Callable[[float], object] | None = None,
    ) -> None:
        self.settings = settings
        self.views = views
        self.events = events
        self.on_removed = on_removed
        self.expire_jobs = expire_jobs
        self._task: asyncio.Task[None] | None = None

    @property
    def roots(self) -> tuple[Path, ...]:
        """The temporary folders: uploaded images, uploaded catalogs."""
        return (self.settings.uploads_dir, self.settings.catalogs_dir / "uploads")

    @property
    def max_age_s(self) -> float:
        return self.settings.cleanup_interval_minutes * 60.0

    def run_once(self, now: float | None = None) -> list[Path]:
        """Remove expired entries now; return what was removed (paths as found under the roots)."""
        cutoff = (time.time() if now is None else now) - self.max_age_s
        removed: list[Path] = []
        keep = self.views.open_paths()
        for root in self.roots:
            if root.is_dir():
                self._sweep(root, root.resolve(), cutoff, keep, removed)
        self._report(removed, "cleanup")
        if removed and self.events is not None:
            self.events.publish({"type": "uploads:cleaned", "removed": [p.name for p in removed]})
        return removed

    @property
    def result_roots(self) -> tuple[Path, ...]:
        """The folders of job results (:data:`RESULT_FOLDERS`)."""
        return tuple(self.settings.root / folder for folder in RESULT_FOLDERS)

    def sweep_results(self, now: float | None = None) -> list[Path]:
        """Remove job results older than ``results_keep_hours``; forget the jobs finished before."""
        cutoff = (time.time() if now is None else now) - self.settings.results_keep_hours * 3600.0
        removed: list[Path] = []
        keep = self.views.open_paths()
        for root in self.result_roots:
            if root.is_dir():
                self._sweep(root, root.resolve(), cutoff, keep, removed)
        self._report(removed, "results")
        if self.expire_jobs is not None:
            self.expire_jobs(cutoff)
        return removed

    def erase_all(self) -> list[Path]:
        """Empty files/uploads/ and catalogs/uploads/ now (admin action): every entry, whatever its age."""
        removed: list[Path] = []
        for root in self.roots:
            if root.is_dir():
                self._sweep(root, root.resolve(), float("inf"), frozenset(), removed)
        self._report(removed, "erase-uploads")
        return removed

    def _report(self, removed: list[Path], what: str) -> None:
        for path in removed:
            log.info("%s: removed %s", what, path)
            if self.on_removed is not None:
                try:
                    self.on_removed(path)
                except Exception:  # a failing listener must not stop the sweep
                    log.exception("%s: listener failed for %s", what, path)

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
            log.warning("cleanup: skipped %s (resolves outside its folder)", entry)
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
        await self._off_loop(self.sweep_results)  # once at start, then every interval
        await self._off_loop(self.prune_caches)  # once at start, then after every sweep
        while True:
            await asyncio.sleep(max(self.max_age_s, 1.0))
            await self._off_loop(self.run_once)
            await self._off_loop(self.sweep_results)
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
