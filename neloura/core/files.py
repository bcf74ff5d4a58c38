"""The file browser's pure parts: folder listing, recursive search, FITS validation, thumbnails.

Paths handed in are absolute and already confined by the caller; results carry POSIX paths
relative to the browsing root (``files/``).
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from astropy.io import fits
from PIL import Image

from neloura.core.fitsio import FitsImage, list_hdus
from neloura.core.limits import percentile_limits
from neloura.core.paths import stays_inside
from neloura.core.pyramid import block_mean
from neloura.errors import NotAFitsImage

EntryKind = Literal["folder", "fits", "file"]
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fz", ".fits.fz")
FITS_MAGIC = b"SIMPLE  =                    T"
FITS_BLOCK = 2880


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


def _expected_size(hdul: fits.HDUList) -> int:
    """Bytes a complete file needs: the end of the last HDU's data, padded to 2880."""
    last = hdul[-1]
    end = int(last._data_offset) + int(last._data_size)  # astropy's own bookkeeping of each HDU
    return -(-end // FITS_BLOCK) * FITS_BLOCK


def validate_fits(path: Path) -> None:
    """Raise :class:`NotAFitsImage` unless ``path`` is a complete FITS file.

    Checks the FITS signature, that every header parses, and that the file holds all the data its
    headers announce (a truncated upload is refused, not half-shown).
    """
    with path.open("rb") as f:
        head = f.read(len(FITS_MAGIC))
    if head[:2] == b"\x1f\x8b":
        raise NotAFitsImage(f"{path.name}: gzip-compressed files are not accepted; upload the .fits file")
    if head != FITS_MAGIC:
        raise NotAFitsImage(f"{path.name} is not a FITS file (it does not start with 'SIMPLE  =  T')")
    size = path.stat().st_size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                expected = _expected_size(hdul)
    except (OSError, ValueError, TypeError, IndexError, KeyError, EOFError) as exc:
        raise NotAFitsImage(f"{path.name} is not a readable FITS file: {exc}") from exc
    if size < expected:
        raise NotAFitsImage(f"{path.name} is truncated: {size} bytes, but its headers announce {expected} bytes")
    hdus, _ = list_hdus(path)
    if not hdus:
        raise NotAFitsImage(f"{path.name} holds no HDU")


def thumbnail_png(image: FitsImage, plane: int = 0, size: int = 128) -> bytes:
    """A grey PNG of at most ``size`` px a side: NaN-aware block means, 0.5/99.5 percentile
    limits, square-root stretch, FITS row 0 at the bottom. Reads the plane in row bands."""
    data = image.plane(plane)
    h, w = image.height, image.width
    factor = max(1, -(-max(h, w) // size))
    step = factor * max(1, 2048 // factor)  # about 2048 rows a band: bounded memory, few reads
    bands = [block_mean(data.read(y0, min(h, y0 + step), 0, w), factor) for y0 in range(0, h, step)]
    small = np.vstack(bands)
    finite = small[np.isfinite(small)]
    if finite.size == 0:
        grey = np.zeros(small.shape, dtype=np.uint8)
    else:
        lo, hi = percentile_limits(finite)
        scaled = np.clip((small - lo) / (hi - lo), 0.0, 1.0)
        grey = np.where(np.isfinite(small), np.sqrt(scaled) * 255.0, 0.0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(grey[::-1]).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
