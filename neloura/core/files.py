"""The file browser's pure parts: folder listing, recursive search, FITS validation, thumbnails.

Paths handed in are absolute and already confined by the caller; results carry POSIX paths
relative to the browsing root (``files/``).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from neloura.core.fitsio import FitsImage, FitsInspection, inspect_fits
from neloura.core.limits import percentile_limits
from neloura.core.paths import stays_inside
from neloura.errors import InvalidParameter, NotAFitsImage

EntryKind = Literal["folder", "fits", "file"]
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz", ".fz", ".fits.fz")
FITS_MAGIC = b"SIMPLE  =                    T"


@dataclass(frozen=True)
class Entry:
    name: str
    path: str  # relative to the browsing root, POSIX
    kind: EntryKind
    size: int  # bytes (0 for folders)
    mtime: float  # seconds since the epoch


def is_fits_name(name: str) -> bool:
    return name.lower().endswith(FITS_SUFFIXES)


def _entry(root: Path, path: Path) -> Entry | None:
    try:
        st = path.stat()
    except OSError:  # dangling symlink or vanished file: not listed
        return None
    rel = path.relative_to(root).as_posix()
    if path.is_dir():
        return Entry(path.name, rel, "folder", 0, st.st_mtime)
    return Entry(path.name, rel, "fits" if is_fits_name(path.name) else "file", st.st_size, st.st_mtime)


def _visible(path: Path, root: Path) -> bool:
    """Hidden files and symlinks leading out of ``root`` are never listed."""
    return not path.name.startswith(".") and stays_inside(root, path)


def list_folder(root: Path, folder: Path) -> list[Entry]:
    """Entries of ``folder`` (inside ``root``): folders first, then files, by name (case-insensitive)."""
    root = root.resolve()
    entries = [e for p in folder.iterdir() if _visible(p, root) and (e := _entry(root, p)) is not None]
    return sorted(entries, key=lambda e: (e.kind != "folder", e.name.lower()))


def search(root: Path, text: str, *, limit: int = 500) -> list[Entry]:
    """Files and folders under ``root`` whose name contains ``text`` (case-insensitive), by path."""
    root = root.resolve()
    needle = text.strip().lower()
    found: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in [*dirnames, *sorted(filenames)]:
            path = here / name
            if needle in name.lower() and _visible(path, root) and (e := _entry(root, path)) is not None:
                found.append(e)
                if len(found) >= limit:
                    return sorted(found, key=lambda e: e.path.lower())
    return sorted(found, key=lambda e: e.path.lower())


def validate_fits(path: Path, name: str | None = None, budget: tuple[int, int] | None = None) -> FitsInspection:
    """The inspection of ``path`` when it is a complete FITS file; :class:`NotAFitsImage` (415)
    or :class:`~neloura.core.wcs_limits.InvalidWcs` (422) otherwise.

    Checks the FITS signature, that every header parses, that the file holds all the data its
    headers announce (a truncated upload is refused, not half-shown) and that no image HDU has
    a known problem (WCS keywords out of bounds, scaling keywords that are not numbers).
    Messages name the file ``name`` (the user's file name; ``path.name`` by default).
    ``budget``: see :func:`~neloura.core.fits_inspect.inspect_fits` (``OverBudget`` passes through).
    """
    shown = name or path.name
    with path.open("rb") as f:
        head = f.read(len(FITS_MAGIC))
    if head[:2] == b"\x1f\x8b":
        raise NotAFitsImage(f"{shown}: gzip-compressed data inside a FITS name; decompress it first")
    if head != FITS_MAGIC:
        raise NotAFitsImage(f"{shown} is not a FITS file (it does not start with 'SIMPLE  =  T')")
    try:
        found = inspect_fits(path, budget)
    except NotAFitsImage as exc:
        raise NotAFitsImage(exc.message.replace(path.name, shown)) from None
    if found.read_error:
        raise NotAFitsImage(f"{shown} is not a readable FITS file after HDU {len(found.hdus) - 1}: {found.read_error}")
    if not found.complete:
        raise NotAFitsImage(
            f"{shown} is truncated: {found.size} bytes, but its headers announce {found.expected_size} bytes"
        )
    if not found.hdus:
        raise NotAFitsImage(f"{shown} holds no HDU")
    for hdu in found.hdus:
        if hdu.problem:
            raise InvalidParameter(f"{shown}, HDU {hdu.index}: {hdu.problem}")
    return found


def thumbnail_png(image: FitsImage, plane: int = 0, size: int = 128) -> bytes:
    """A grey PNG of at most ``size`` px a side from a strided read (one pixel every ``step``
    rows and columns, ``step = ceil(max(h, w) / size)``): the cost is that of ``size**2``
    values whatever the image's size or shape (a 2 x 4,000,000 strip reads 128 values).
    0.5/99.5 percentile limits, square-root stretch, FITS row 0 at the bottom."""
    h, w = image.height, image.width
    step = max(1, -(-max(h, w) // max(1, size)))
    rows = slice(min(step // 2, h - 1), h, step)
    cols = slice(min(step // 2, w - 1), w, step)
    small = image.read_index((*image.plane(plane).prefix, rows, cols))
    finite = small[np.isfinite(small)]
    if finite.size == 0:
        grey = np.zeros(small.shape, dtype=np.uint8)
    else:
        lo, hi = percentile_limits(finite)
        scaled = np.clip((small - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros(small.shape)
        grey = np.where(np.isfinite(small), np.sqrt(scaled) * 255.0, 0.0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(grey[::-1])).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
