"""The footprint index: every image HDU with a celestial WCS under files/, from the headers only.

Each query first brings the index up to date with one walk of the folder tree (a ``stat`` per
file): new and changed files (size or mtime) have their headers read again, deleted files leave
the index; file contents are never scanned. A covering query then tests the footprints (a cap
test, then the full WCS, see :mod:`neloura.core.footprints`) and reads one pixel per candidate to
drop positions on NaN padding. Unreadable or hostile files are remembered per version and skipped.

Headers are read through the image store's bounded inspection (cached per file version): HDUs it
refuses (WCS keywords out of bounds, truncated) are skipped before astropy builds a WCS from them,
and a large file (many HDUs or cards) is read in the bounded worker, with the parse deadline.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from neloura.core.footprints import Footprint, build_footprint, merged_header
from neloura.core.paths import stays_inside
from neloura.errors import InvalidParameter
from neloura.runtime.images import SMALL_FILE, ImageStore

log = logging.getLogger("neloura.footprints")

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz")
MAX_HDUS = 256
MAX_FILES = 100_000
# auxiliary planes of calibrated products (errors, quality, weights, context...): not images of the sky
AUX_EXTNAMES = frozenset({"ERR", "DQ", "WHT", "CTX", "CON", "VAR_POISSON", "VAR_RNOISE", "VAR_FLAT", "AREA", "HDRTAB"})


@dataclass(frozen=True)
class Covering:
    """One footprint holding a position, with the 0-based pixel position there."""

    footprint: Footprint
    x_pix: float
    y_pix: float


def _is_fits_name(name: str) -> bool:
    lower = name.lower()
    return not name.startswith(".") and lower.endswith(FITS_SUFFIXES)


def image_headers(file: Path, skip: frozenset[int] = frozenset()) -> tuple[str, list[tuple[int, str]]]:
    """The primary header and those of the image HDUs (``NAXIS >= 2``, first :data:`MAX_HDUS`)
    as text (picklable: read in the bounded worker for large files); ``skip``: HDUs left out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with fits.open(file, memmap=True, lazy_load_hdus=True) as hdul:
            images: list[tuple[int, str]] = []
            for index, hdu in enumerate(hdul):
                if index >= MAX_HDUS:
                    break
                if index not in skip and getattr(hdu, "is_image", False) and int(hdu.header.get("NAXIS", 0) or 0) >= 2:
                    images.append((index, hdu.header.tostring()))
            return hdul[0].header.tostring(), images


def read_footprints(file: Path, relative: str, skip: frozenset[int] = frozenset()) -> list[Footprint]:
    """Footprints of every image HDU of one file but ``skip``, from its headers (no data read)."""
    return footprints_from_headers(relative, *image_headers(file, skip))


def footprints_from_headers(relative: str, primary_text: str, texts: list[tuple[int, str]]) -> list[Footprint]:
    """Footprints from :func:`image_headers`' text."""
    found: list[Footprint] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        primary = fits.Header.fromstring(primary_text)
        images = [(index, fits.Header.fromstring(text)) for index, text in texts]
        for index, header in images:
            if str(header.get("EXTNAME", "")).strip().upper() in AUX_EXTNAMES:
                continue
            meta = merged_header(primary if index else None, header)
            footprint = build_footprint(relative, index, header, meta, _error_hdu(images, header))
            if footprint is not None:
                found.append(footprint)
    return found


def _error_hdu(images: list[tuple[int, fits.Header]], science: fits.Header) -> int | None:
    """The ERR extension paired with a SCI extension (same EXTVER and shape), as JWST and HST
    calibrated files carry."""
    if str(science.get("EXTNAME", "")).strip().upper() not in ("SCI", ""):
        return None
    shape = (science.get("NAXIS1"), science.get("NAXIS2"))
    version = science.get("EXTVER", 1)
    for index, header in images:
        if (
            str(header.get("EXTNAME", "")).strip().upper() == "ERR"
            and header.get("EXTVER", 1) == version
            and (header.get("NAXIS1"), header.get("NAXIS2")) == shape
        ):
            return index
    return None


class FootprintIndex:
    """Footprints of the image HDUs under ``root`` (files/), kept current by :meth:`refresh`."""

    def __init__(self, root: Path, images: ImageStore) -> None:
        self.root = root
        self.images = images
        self._entries: dict[str, tuple[tuple[int, int], list[Footprint]]] = {}
        self._lock = threading.Lock()

    def _walk(self) -> dict[str, tuple[Path, tuple[int, int]]]:
        root = self.root.resolve()
        seen: dict[str, tuple[Path, tuple[int, int]]] = {}
        for folder, dirs, names in os.walk(root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if not _is_fits_name(name) or len(seen) >= MAX_FILES:
                    continue
                path = Path(folder) / name
                if path.is_symlink() and not stays_inside(root, path):
                    continue
                try:
                    stat = path.stat()
                except OSError:
                    continue
                if not path.is_file():
                    continue
                seen[path.relative_to(root).as_posix()] = (path, (stat.st_mtime_ns, stat.st_size))
        return seen

    def refresh(self) -> None:
        """Bring the index up to date with the folder tree (headers of changed files only)."""
        with self._lock:
            seen = self._walk()
            for gone in set(self._entries) - set(seen):
                del self._entries[gone]
            for relative, (path, version) in seen.items():
                known = self._entries.get(relative)
                if known is not None and known[0] == version:
                    continue
                try:
                    footprints = self._read(path, relative)
                except Exception as exc:  # noqa: BLE001 - a broken or hostile file is skipped, not fatal
                    log.info("footprint index skips %s: %s", relative, exc)
                    footprints = []
                self._entries[relative] = (version, footprints)

    def _read(self, path: Path, relative: str) -> list[Footprint]:
        """Footprints of one file through the bounded inspection (see the module doc)."""
        found = self.images.inspect(path)
        skip = frozenset(h.index for h in found.hdus if h.problem or h.truncated)
        if len(found.hdus) <= SMALL_FILE[0] and found.cards <= SMALL_FILE[1]:
            return read_footprints(path, relative, skip)
        texts = self.images.runner.run(image_headers, path, skip, what=f"indexing the sky footprints of {path.name}")
        return footprints_from_headers(relative, *texts)

    def footprints(self, folder: str | None = None) -> list[Footprint]:
        """Every indexed footprint (under ``folder``, relative to files/, when given), refreshed."""
        self.refresh()
        prefix = (folder or "").strip("/")
        with self._lock:
            items = sorted(self._entries.items())
        out = []
        for relative, (_, footprints) in items:
            if not prefix or relative == prefix or relative.startswith(prefix + "/"):
                out.extend(footprints)
        return out

    def find(self, path: str, hdu: int, *, refresh: bool = True) -> Footprint | None:
        """The footprint of one HDU (``path`` relative to files/), None when it has no celestial WCS."""
        if refresh:
            self.refresh()
        with self._lock:
            entry = self._entries.get(path)
        return next((fp for fp in (entry[1] if entry else []) if fp.hdu == hdu), None)

    def has_data(self, footprint: Footprint, x_pix: float, y_pix: float) -> bool:
        """True when the pixel holding (x, y) has a finite value (plane 0 of a cube)."""
        try:
            image = self.images.get(footprint.path, footprint.hdu)
            return image.plane(0).value(int(np.rint(x_pix)), int(np.rint(y_pix))) is not None
        except Exception as exc:  # noqa: BLE001 - an unreadable image covers nothing
            log.info("covering check failed on %s[%d]: %s", footprint.path, footprint.hdu, exc)
            return False

    def covering(self, ra_deg: float, dec_deg: float, folder: str | None = None) -> list[Covering]:
        """Every image HDU whose valid (non-NaN) pixels hold the ICRS position."""
        found = []
        for footprint in self.footprints(folder):
            x, y, inside = footprint.pixels(np.array([ra_deg]), np.array([dec_deg]))
            if inside[0] and self.has_data(footprint, float(x[0]), float(y[0])):
                found.append(Covering(footprint, float(x[0]), float(y[0])))
        return found

    def covering_many(
        self, ra_deg: np.ndarray, dec_deg: np.ndarray, footprints: list[Footprint]
    ) -> list[tuple[Footprint, np.ndarray, np.ndarray, np.ndarray]]:
        """For each footprint: x, y and whether each position falls on its pixel grid (NaN
        padding is checked later, by whoever reads the pixels)."""
        return [(fp, *fp.pixels(ra_deg, dec_deg)) for fp in footprints]

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {"files": len(self._entries), "hdus": sum(len(v[1]) for v in self._entries.values())}


def select(
    index: FootprintIndex,
    ra_deg: float,
    dec_deg: float,
    images: list[tuple[str, int]] | None,
    folder: str | None = None,
) -> list[Covering]:
    """The covering images among ``images`` ((path relative to files/, hdu) pairs, each checked
    to exist inside files/), or every covering image (under ``folder``) when None."""
    if images is None:
        return index.covering(ra_deg, dec_deg, folder)
    chosen = []
    root = index.root.resolve()
    index.refresh()
    for path, hdu in images:
        relative = index.images.resolve(path).relative_to(root).as_posix()
        footprint = index.find(relative, hdu, refresh=False)
        if footprint is None:
            raise InvalidParameter(f"{path} HDU {hdu} is not an image with a celestial WCS")
        x, y, inside = footprint.pixels(np.array([ra_deg]), np.array([dec_deg]))
        if inside[0] and index.has_data(footprint, float(x[0]), float(y[0])):
            chosen.append(Covering(footprint, float(x[0]), float(y[0])))
    return chosen
