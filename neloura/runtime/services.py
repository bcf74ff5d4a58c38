"""The long-lived objects of one running app, created from its settings.

Each capability adds its runtime object here (one attribute each) and, when it owns a
background task or pool, starts and stops it in :meth:`Services.start`/:meth:`Services.stop`.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from neloura.core.demo import write_demo, write_demo_psf
from neloura.runtime.bounded import BoundedRunner
from neloura.runtime.catalogs import CatalogStore
from neloura.runtime.cleanup import CleanupWorker
from neloura.runtime.coding import CodingRunner
from neloura.runtime.crossmatch import SkyIndexCache
from neloura.runtime.events import EventBus
from neloura.runtime.footprints import FootprintIndex
from neloura.runtime.images import ImageStore
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


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.events = EventBus()
        # bounded work (FITS/WCS parses, see neloura.runtime.bounded): shared by every store
        self.bounded = BoundedRunner(settings.parse_workers, settings.parse_timeout_s)
        # one memory budget (settings.memory_mb) for open images, levels and tiles
        self.memory = MemoryBudget(settings.memory_mb)
        self.images = ImageStore(settings, self.bounded, self.memory)
        self.catalogs = CatalogStore(settings, self.events, runner=self.bounded)
        self.sky = SkyIndexCache(self.catalogs)
        self.catalogs.on_loaded(self.sky.prepare)
        self.overlays = OverlayService(self.images, self.sky)
        self.levels = LevelStore(settings, self.memory)
        self.tiles = TileService(settings, self.images, self.levels, self.events)
        self.views = LiveViews(settings.upload_hold_hours * 3600.0)
        self.cleanup = CleanupWorker(settings, self.views, self.events, on_removed=self.catalogs.forget)
        self.jobs = JobRegistry(settings.job_workers, self.events)
        self.segmentation = SegmentationStore(self.catalogs)
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
        self.rgb_render = RgbRenderer(self.tiles.cache)
        self.footprints = FootprintIndex(settings.files_dir, self.images)

    async def start(self) -> None:
        """Start background workers (called once by the app's lifespan)."""
        self.events.bind(asyncio.get_running_loop())
        if self.settings.demo:  # first start with an empty files/: write the seeded demo set
            try:
                await asyncio.to_thread(write_demo, self.settings.files_dir, self.settings.catalogs_dir)
                await asyncio.to_thread(write_demo_psf, self.settings.psf_dir)
            except OSError as exc:  # a read-only data folder must not stop the server
                logging.getLogger("neloura").warning("demo data not written: %s", exc)
        self.cleanup.start()
        self.jobs.start()
        threading.Thread(target=self.bounded.warm, name="bounded-warm", daemon=True).start()
        if self.settings.admin:  # /local-coding/* answers 403 otherwise: no sandbox to keep warm
            self.coding.start()

    async def stop(self) -> None:
        """Stop background workers and release open files."""
        await self.cleanup.stop()
        await asyncio.to_thread(self.jobs.stop)
        await asyncio.to_thread(self.coding.stop)
        self.levels.close()
        self.images.close()
        self.catalogs.close()
        self.sky.close()
        self.overlays.close()
        self.bounded.close()
