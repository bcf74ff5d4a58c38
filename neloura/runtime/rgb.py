"""RGB composites: planned from a request, built once by a job, cached on disk, reopened by id.

A composite's id is a hash of what its pixels depend on (every channel's resolved file, size and
modification time, HDU and plane; the reference channel; the method), so the same request body
gives the same id, and a composite built before (even before a restart) reopens from
``.cache/rgb/<id>/`` in the time it takes to map its files. Display parameters (colours, limits,
stretches, weights) are not part of the id: they travel in every tile URL.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from neloura.core.bandpasses import Bandpass, bandpass, preset_colors
from neloura.core.fitsio import FitsImage, header_cards
from neloura.core.rgb import MAX_CHANNELS, MIN_CHANNELS
from neloura.core.rgb_reproject import METHODS, ChannelGrid, check_overlap, choose_reference, plan_mode
from neloura.core.tiles import Pyramid
from neloura.errors import Conflict, InvalidParameter, NotFound, RgbNotFound
from neloura.runtime.atomic import write_atomic
from neloura.runtime.dask_jobs import on_cluster
from neloura.runtime.disk_cache import touch
from neloura.runtime.file_lock import is_locked
from neloura.runtime.images import ImageStore
from neloura.runtime.job_store import JobRecord
from neloura.runtime.jobs import JobRegistry
from neloura.runtime.rgb_build import build_composite
from neloura.settings import Settings

_ID = re.compile(r"^[0-9a-f]{32}$")
_LOADED_KEPT = 8


@dataclass(frozen=True)
class ChannelRequest:
    """One channel as a request names it (``hdu`` None: the file's recommended image HDU)."""

    path: str
    hdu: int | None = None
    plane: int = 0


@dataclass
class Plan:
    """A validated composite request: resolved channels, reference, mode, id."""

    id: str
    channels: list[dict[str, Any]]  # path, file, hdu, plane, width, height, bunit, band
    reference: int
    method: str
    mode: str
    width: int
    height: int
    memory_bytes: int

    def meta(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channels": self.channels,
            "reference": self.reference,
            "method": self.method,
            "mode": self.mode,
            "width": self.width,
            "height": self.height,
        }


def image_band(image: FitsImage) -> Bandpass:
    """The band of an image from its own header and, for an extension, the primary header."""
    headers: list[dict[str, Any]] = [dict(image.header.items())]
    if image.hdu_index != 0:
        headers.append({c.key: c.value for c in header_cards(image.path, 0)})
    return bandpass(headers)


def plan_composite(
    images: ImageStore,
    channels: list[ChannelRequest],
    reference: int | None = None,
    method: str = "interp",
) -> Plan:
    """Check a request (files, HDUs, planes, WCS, overlap) and name its composite."""
    if not MIN_CHANNELS <= len(channels) <= MAX_CHANNELS:
        raise InvalidParameter(f"a composite has {MIN_CHANNELS} to {MAX_CHANNELS} channels, got {len(channels)}")
    if method not in METHODS:
        raise InvalidParameter(f"unknown reprojection method {method!r}; use interp or exact")
    resolved: list[dict[str, Any]] = []
    grids: list[ChannelGrid] = []
    for ch in channels:
        file = images.resolve(ch.path)
        hdu = images.recommended(file, ch.hdu)  # bounded inspection
        image = images.get_resolved(file, hdu)
        image.plane(ch.plane)  # 422 out of range
        wcs = image.wcs.wcs if image.wcs.has_celestial else None
        grids.append(ChannelGrid((image.height, image.width), None if wcs is None else wcs.celestial))
        stat = file.stat()
        resolved.append(
            {
                "path": ch.path,
                "file": str(file),
                "version": [stat.st_mtime_ns, stat.st_size],
                "hdu": hdu,
                "plane": ch.plane,
                "width": image.width,
                "height": image.height,
                "bunit": image.bunit,
                **image_band(image).public(),
            }
        )
    names = [c["path"] for c in resolved]
    mode = plan_mode(grids, names)
    ref = choose_reference(grids, reference)
    if mode == "wcs":
        check_overlap(grids, ref, names)
    key = json.dumps(
        [[c["file"], c["version"], c["hdu"], c["plane"]] for c in resolved] + [ref, method, mode], sort_keys=True
    )
    cid = hashlib.sha256(key.encode()).hexdigest()[:32]
    h, w = grids[ref].shape
    biggest = max(g.shape[0] * g.shape[1] for g in grids)
    memory = (w * h * 4) * 3 + biggest * 4 * 2 + 300 * 2**20
    return Plan(cid, resolved, ref, method, mode, w, h, memory)


@dataclass
class Composite:
    """A built composite: its channels and levels mapped from the cache folder (read-only)."""

    id: str
    meta: dict[str, Any]
    channels: list[np.ndarray]
    levels: list[dict[int, np.ndarray]]
    samples: list[np.ndarray]
    limits: list[dict[str, list[float]]]
    geometry: Pyramid = field(init=False)

    def __post_init__(self) -> None:
        self.geometry = Pyramid(int(self.meta["width"]), int(self.meta["height"]))

    @property
    def count(self) -> int:
        return len(self.channels)

    def values(self, i: int, level: int, col: int, row: int) -> np.ndarray:
        """Channel ``i`` under one tile (float32, display orientation: row 0 = top)."""
        box = self.geometry.tile(level, col, row)
        if box.factor == 1:
            y0, y1 = self.geometry.array_rows(box)
            return np.asarray(self.channels[i][y0:y1, box.x0 : box.x1])[::-1]
        return np.asarray(self.levels[i][box.factor][box.y0 : box.y1, box.x0 : box.x1])

    def level_array(self, i: int, factor: int) -> np.ndarray:
        """Channel ``i`` at reduction ``factor`` in display orientation."""
        if factor == 1:
            return np.asarray(self.channels[i])[::-1]
        return np.asarray(self.levels[i][factor])


def load_composite(folder: Path) -> Composite:
    meta = json.loads((folder / "meta.json").read_text())
    n = len(meta["channels"])
    g = Pyramid(int(meta["width"]), int(meta["height"]))
    channels, levels, samples = [], [], []
    for i in range(n):
        channels.append(np.load(folder / f"c{i}.npy", mmap_mode="r"))
        levels.append(
            {g.factor(lv): np.load(folder / f"c{i}_x{g.factor(lv)}.npy", mmap_mode="r") for lv in range(g.max_level)}
        )
        samples.append(np.load(folder / f"c{i}_sample.npy"))
    limits = json.loads((folder / "limits.json").read_text())
    return Composite(meta["id"], meta, channels, levels, samples, limits)


class RgbStore:
    """Composites by id: building (a job), ready (mapped from disk) or failed."""

    def __init__(self, settings: Settings, images: ImageStore, jobs: JobRegistry) -> None:
        self.settings = settings
        self.images = images
        self.jobs = jobs
        self._builds: dict[str, str] = {}  # composite id -> job id
        self._loaded: OrderedDict[str, Composite] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        return self.settings.cache_dir / "rgb"

    def folder(self, cid: str) -> Path:
        if not _ID.match(cid):
            raise RgbNotFound(f"no such composite: {cid[:64]!r}")
        return self.root / cid

    def create(self, plan: Plan, *, user: str) -> dict[str, Any]:
        """Start building ``plan`` unless it is built or building; its state."""
        folder = self.folder(plan.id)
        with self._lock:
            job_id = self._builds.get(plan.id)
            job = self._job(job_id)
            busy = (folder / "complete").is_file() or (job is not None and job.state in ("queued", "running"))
            if not busy:
                self._submit(plan, folder, user)
        return self.state(plan.id)

    def _submit(self, plan: Plan, folder: Path, user: str) -> None:
        """Write the plan's meta and queue its build (under the store's lock)."""
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / "meta.json", lambda tmp: tmp.write_text(json.dumps(plan.meta())))
        func, args = on_cluster(
            build_composite,
            {
                "folder": str(folder),
                "channels": [{k: c[k] for k in ("file", "hdu", "plane")} for c in plan.channels],
                "reference": plan.reference,
                "method": plan.method,
                "mode": plan.mode,
            },
            self.settings.dask_scheduler,
        )
        job = self.jobs.submit(
            "rgb",
            func,
            args,
            user=user,
            memory_bytes=plan.memory_bytes,
        )
        self._builds[plan.id] = job.id

    def _job(self, job_id: str | None) -> JobRecord | None:
        if job_id is None:
            return None
        try:
            return self.jobs.get(job_id)
        except NotFound:
            return None

    def meta(self, cid: str) -> dict[str, Any]:
        path = self.folder(cid) / "meta.json"
        if not path.is_file():
            raise RgbNotFound(f"no such composite: {cid}")
        meta: dict[str, Any] = json.loads(path.read_text())
        return meta

    def state(self, cid: str) -> dict[str, Any]:
        """``{"id", "state", "progress", "message", "error", "job_id", "width", "height", ...}``."""
        meta = self.meta(cid)
        job = self._job(self._builds.get(cid))
        limits: list[Any] | None = None
        error = None
        if (self.folder(cid) / "complete").is_file():
            state, progress, message = "ready", 1.0, "ready"
            limits = self.get(cid).limits
        elif job is not None and job.state in ("queued", "running"):
            state, progress, message = "building", job.progress, job.message
        elif job is not None:
            state, progress, message = "failed", job.progress, job.state
            error = job.error or f"the build was {job.state}"
        elif is_locked(self.folder(cid) / ".build.lock"):  # built by a job of another server worker
            state, progress, message = "building", 0.0, "building (on another server worker)"
        else:
            state, progress, message = "failed", 0.0, "interrupted"
            error = "the build was interrupted (server restart?): POST the composite again"
        g = Pyramid(int(meta["width"]), int(meta["height"]))
        colors = preset_colors(len(meta["channels"]))
        channels = []
        for i, c in enumerate(meta["channels"]):
            public = {k: v for k, v in c.items() if k not in ("file", "version")}
            public["default_color"] = colors[i]
            public["limits"] = None if limits is None else limits[i]
            channels.append(public)
        return {
            "id": cid,
            "state": state,
            "progress": round(float(progress), 4),
            "message": message,
            "error": error,
            "job_id": job.id if job is not None else None,
            "width": meta["width"],
            "height": meta["height"],
            "tile_size": g.tile_size,
            "max_level": g.max_level,
            "reference": meta["reference"],
            "method": meta["method"],
            "mode": meta["mode"],
            "channels": channels,
        }

    def reference_header(self, comp: Composite) -> fits.Header:
        """The reference channel's celestial WCS as header cards (empty in pixel mode)."""
        if comp.meta["mode"] != "wcs":
            return fits.Header()
        ref = comp.meta["channels"][comp.meta["reference"]]
        wcs = self.images.get(ref["path"], int(ref["hdu"])).wcs.wcs
        assert wcs is not None
        header: fits.Header = wcs.celestial.to_header(relax=True)
        return header

    def get(self, cid: str) -> Composite:
        """The built composite (mapped once, kept in a small LRU); 409 while building or failed."""
        with self._lock:
            loaded = self._loaded.get(cid)
            if loaded is not None:
                self._loaded.move_to_end(cid)
                return loaded
        folder = self.folder(cid)
        if not (folder / "complete").is_file():
            self.meta(cid)  # 404 when unknown
            raise Conflict(f"composite {cid} is not built (yet): see GET /api/rgb/{cid}")
        touch(folder / "complete")  # recently used: the disk budget prunes others first
        composite = load_composite(folder)
        with self._lock:
            self._loaded[cid] = composite
            while len(self._loaded) > _LOADED_KEPT:
                self._loaded.popitem(last=False)
        return composite
