"""The long-lived objects of one running app, created from its settings.

Each capability adds its runtime object here (one attribute each) and, when it owns a
background task or pool, starts and stops it in :meth:`Services.start`/:meth:`Services.stop`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import secrets
import signal
import threading
from pathlib import Path

from neloura.core import tile_kernel
from neloura.core.demo import write_demo, write_demo_psf
from neloura.runtime.bounded import BoundedRunner, die_with_parent
from neloura.runtime.broker import VIEWS_CHANNEL, SqliteBroker
from neloura.runtime.catalogs import CatalogStore
from neloura.runtime.cleanup import CleanupWorker
from neloura.runtime.coding import CodingRunner
from neloura.runtime.crossmatch import SkyIndexCache
from neloura.runtime.events import Event, EventBus
from neloura.runtime.footprints import FootprintIndex
from neloura.runtime.images import ImageStore
from neloura.runtime.job_store import JobStore
from neloura.runtime.jobs import JobRegistry
from neloura.runtime.levels import LevelStore
from neloura.runtime.memory import MemoryBudget
from neloura.runtime.overlay import OverlayService
from neloura.runtime.rgb import RgbStore
from neloura.runtime.rgb_render import RgbRenderer
from neloura.runtime.segmentation import SegmentationStore
from neloura.runtime.tiles import TileService
from neloura.runtime.views import LiveViews
from neloura.settings import Settings


def stop_with_master() -> None:
    """In a worker process of ``uvicorn --workers`` (a multiprocessing child): stop (SIGTERM, a clean
    shutdown) when the master process dies, even by ``kill -9``, instead of serving on, orphaned,
    from the inherited socket. Called first thing when the worker builds its app."""
    parent = multiprocessing.parent_process()
    if parent is None:  # the main process (one worker, or a test): nothing to follow
        return
    die_with_parent(signal.SIGTERM)
    if os.getppid() != parent.pid:  # the master died before the request reached the kernel
        os.kill(os.getpid(), signal.SIGTERM)


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.events = EventBus()
        # bounded work (FITS/WCS parses, see neloura.runtime.bounded): shared by every store
        self.bounded = BoundedRunner(settings.parse_workers, settings.parse_timeout_s)
        # one memory budget (settings.memory_mb) for the caches (open images, levels, tiles, segmentation
        # maps) and one-off work (region statistics, contours, cutouts, composite exports, DuckDB queries)
        self.memory = MemoryBudget(settings.memory_mb)
        self.images = ImageStore(settings, self.bounded, self.memory)
        self.catalogs = CatalogStore(settings, self.events, runner=self.bounded, budget=self.memory)
        self.sky = SkyIndexCache(self.catalogs)
        self.catalogs.on_loaded(self.sky.prepare)
        self.overlays = OverlayService(self.images, self.sky)
        self.levels = LevelStore(settings, self.memory)
        self.tiles = TileService(settings, self.images, self.levels, self.events)
        self.views = LiveViews(settings.upload_hold_hours * 3600.0)
        self.job_store = JobStore(settings.jobs_db)
        self.cleanup = CleanupWorker(
            settings, self.views, self.events, on_removed=self.catalogs.forget, expire_jobs=self.job_store.expire
        )
        self.jobs = JobRegistry(settings.job_workers, self.events, store=self.job_store)
        self.segmentation = SegmentationStore(self.catalogs, self.memory)
        self.coding = CodingRunner(
            self.events,
            uploads_dir=settings.uploads_dir,
            catalog_uploads_dir=self.catalogs.uploads_dir,
            files_dir=settings.files_dir,
            cache_dir=settings.cache_dir,
            workers=settings.coding_workers,
            warm=settings.coding_warm if settings.admin else 0,
        )
        self.rgb = RgbStore(settings, self.images, self.jobs)
        self.rgb_render = RgbRenderer(self.tiles.cache, self.memory)
        self.footprints = FootprintIndex(settings.files_dir, self.images)
        self.worker_id = secrets.token_hex(4)  # this server process (said in /ws "hello")
        self.broker: SqliteBroker | None = None
        if settings.workers > 1:  # events and live views reach every worker (neloura.runtime.broker)
            self.broker = SqliteBroker(settings.events_path, self._from_other_worker)
            self.events.relay_to(self.broker.send)
            self.views.on_change = self._share_view

    def _share_view(self, client_id: str, path: Path | None) -> None:
        assert self.broker is not None
        self.broker.send({"client": client_id, "path": None if path is None else str(path)}, VIEWS_CHANNEL)

    def _from_other_worker(self, event: Event, audience: str | None) -> None:
        if audience != VIEWS_CHANNEL:
            self.events.publish_local(event, audience)
            return
        path, client = event.get("path"), event.get("client")
        if isinstance(client, str):
            self.views.update(client, Path(path) if isinstance(path, str) else None, share=False)

    async def start(self) -> None:
        """Start background workers (called once by the app's lifespan)."""
        self.events.bind(asyncio.get_running_loop())
        if self.broker is not None:
            await asyncio.to_thread(self.broker.start)
        if self.settings.demo:  # first start with an empty files/: write the seeded demo set
            try:
                await asyncio.to_thread(write_demo, self.settings.files_dir, self.settings.catalogs_dir)
                await asyncio.to_thread(write_demo_psf, self.settings.psf_dir)
            except OSError as exc:  # a read-only data folder must not stop the server
                logging.getLogger("neloura").warning("demo data not written: %s", exc)
        self.cleanup.start()
        await asyncio.to_thread(self.jobs.start)  # marks jobs of a stopped server failed (SQLite)
        threading.Thread(target=self.bounded.warm, name="bounded-warm", daemon=True).start()
        threading.Thread(target=tile_kernel.warm, name="tile-kernel-warm", daemon=True).start()
        if self.settings.admin:  # /local-coding/* answers 403 otherwise: no sandbox to keep warm
            self.coding.start()

    async def stop(self) -> None:
        """Stop background workers and release open files."""
        await self.cleanup.stop()
        await asyncio.to_thread(self.jobs.stop)
        await asyncio.to_thread(self.coding.stop)
        self.job_store.close()
        self.tiles.close()
        self.levels.close()
        self.images.close()
        self.catalogs.close()
        self.sky.close()
        self.overlays.close()
        self.bounded.close()
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)
