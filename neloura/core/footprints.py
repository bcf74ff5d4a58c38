"""Sky footprints of image HDUs, built from their headers, and the test "does it cover (ra, dec)?".

A :class:`Footprint` keeps the HDU's full WCS (astropy, SIP and all) and a bounding cap on the
sky (centre unit vector and angular radius over the pixel edges), so a position far away is
rejected by one dot product, across RA 0/360 and at the poles alike. A position inside the cap
is projected through the full WCS; it is covered when it lands inside the pixel grid
(``-0.5 <= x < width - 0.5``, same for y, 0-based pixel centres) and, projected back, gives the
same sky position (so multi-valued or far-side projections do not count). Whether the pixel
there holds data (NaN-padded mosaics) is the caller's final check: it needs the pixel value.

Pixel convention: 0-based ``x`` (FITS axis 1), ``y`` (FITS axis 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.io import fits

from neloura.core.bandpasses import from_header
from neloura.core.cutouts import KEEP_CARDS
from neloura.core.wcs import ImageWcs

_EDGE_SAMPLES = 32
_CAP_MARGIN_RAD = np.radians(1.0 / 3600.0)
ROUND_TRIP_ARCSEC = 0.05


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


@dataclass(frozen=True)
class Footprint:
    """Where one image HDU lies on the sky. ``path`` is relative to the files root."""

    path: str
    hdu: int
    width: int
    height: int
    wcs: ImageWcs
    instrument: str
    filter: str
    pivot_um: float | None
    centre: np.ndarray  # unit vector
    radius_rad: float
    bunit: str
    meta: dict[str, Any] = field(default_factory=dict)  # units, calibration and instrument cards
    err_hdu: int | None = None  # the ERR extension of the same shape, when the file has one

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "hdu": self.hdu,
            "instrument": self.instrument,
            "filter": self.filter,
            "pivot_um": self.pivot_um,
        }

    def pixels(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """0-based (x, y) of ICRS positions and whether each falls inside the pixel grid (NaN
        pixels included; see the module docstring)."""
        ra = np.atleast_1d(np.asarray(ra_deg, dtype=np.float64))
        dec = np.atleast_1d(np.asarray(dec_deg, dtype=np.float64))
        x = np.full(ra.shape, np.nan)
        y = np.full(ra.shape, np.nan)
        near = unit_vectors(ra, dec) @ self.centre >= np.cos(min(np.pi, self.radius_rad))
        inside = np.zeros(ra.shape, dtype=bool)
        if not near.any():
            return x, y, inside
        xs, ys = self.wcs.world_to_pixel(ra[near], dec[near])
        with np.errstate(invalid="ignore"):
            grid = (xs >= -0.5) & (xs < self.width - 0.5) & (ys >= -0.5) & (ys < self.height - 0.5)
        if grid.any():
            back_ra, back_dec = self.wcs.pixel_to_world(xs[grid], ys[grid])
            asked = unit_vectors(ra[near][grid], dec[near][grid])
            chord = np.linalg.norm(unit_vectors(back_ra, back_dec) - asked, axis=-1)  # exact for tiny angles
            same = np.degrees(chord) * 3600 < ROUND_TRIP_ARCSEC
            grid[np.flatnonzero(grid)[~same]] = False
        x[near], y[near] = xs, ys
        inside[np.flatnonzero(near)[grid]] = True
        return x, y, inside


def merged_header(primary: fits.Header | None, header: fits.Header) -> dict[str, Any]:
    """Extension cards over the primary's (JWST and HST keep TELESCOP/INSTRUME/FILTER in the
    primary and BUNIT/PHOT* in the science extension)."""
    merged: dict[str, Any] = {}
    for source in (primary, header):
        if source is None:
            continue
        for key in source.keys():
            if key and key not in ("COMMENT", "HISTORY", ""):
                try:
                    merged[key] = source[key]
                except (KeyError, ValueError, IndexError):
                    continue
    return merged


def build_footprint(
    path: str, hdu: int, header: fits.Header, meta: Mapping[str, Any], err_hdu: int | None = None
) -> Footprint | None:
    """The footprint of one image HDU, or None without a usable celestial WCS.

    ``meta`` holds the merged primary + extension cards (for instrument, filter, BUNIT).
    """
    wcs = ImageWcs.from_header(header)
    if not wcs.has_celestial:
        return None
    naxis1 = int(header.get("ZNAXIS1", header.get("NAXIS1", 0)) or 0)
    naxis2 = int(header.get("ZNAXIS2", header.get("NAXIS2", 0)) or 0)
    if naxis1 <= 0 or naxis2 <= 0:
        return None
    # samples along the four edges and a 9 x 9 inner grid: the cap must hold every pixel
    s_edge = np.linspace(0.0, 1.0, _EDGE_SAMPLES + 1)
    xe, ye = -0.5 + s_edge * naxis1, -0.5 + s_edge * naxis2
    low_x, high_x = np.full_like(ye, -0.5), np.full_like(ye, naxis1 - 0.5)
    low_y, high_y = np.full_like(xe, -0.5), np.full_like(xe, naxis2 - 0.5)
    gx, gy = np.meshgrid(np.linspace(-0.5, naxis1 - 0.5, 9), np.linspace(-0.5, naxis2 - 0.5, 9))
    xs = np.concatenate([xe, xe, low_x, high_x, gx.ravel()])
    ys = np.concatenate([low_y, high_y, ye, ye, gy.ravel()])
    ra, dec = wcs.pixel_to_world(xs, ys)
    ok = np.isfinite(ra) & np.isfinite(dec)
    if not ok.any():
        return None
    vectors = unit_vectors(ra[ok], dec[ok])
    cra, cdec = wcs.pixel_to_world([(naxis1 - 1) / 2.0], [(naxis2 - 1) / 2.0])
    centre = unit_vectors(cra, cdec)[0] if np.isfinite(cra[0]) else vectors.mean(axis=0)
    centre = centre / np.linalg.norm(centre)
    radius = float(np.arccos(np.clip(vectors @ centre, -1.0, 1.0)).max())
    # edges curve between samples (distortions): widen the cap by a few sample spacings
    spacing = 4.0 * radius / _EDGE_SAMPLES
    if not ok.all():  # parts of the grid do not project (all-sky images): keep every position
        radius = np.pi
    instrument, band, bandpass = from_header(meta)
    return Footprint(
        path=path,
        hdu=hdu,
        width=naxis1,
        height=naxis2,
        wcs=wcs,
        instrument=instrument,
        filter=band.upper() if bandpass else band,
        pivot_um=bandpass.pivot_um if bandpass else None,
        centre=centre,
        radius_rad=min(np.pi, radius + spacing + _CAP_MARGIN_RAD),
        bunit=str(meta.get("BUNIT", "") or "").strip(),
        meta={k: meta[k] for k in KEEP_CARDS if k in meta and isinstance(meta[k], (str, int, float, bool))},
        err_hdu=err_hdu,
    )


def parse_position(text: str, frame: str = "icrs") -> tuple[float, float]:
    """ICRS (ra_deg, dec_deg) of a typed position in ``frame`` (icrs, fk5, fk4, galactic,
    supergalactic, ecliptic): degrees (``150.1 2.2``, ``150.1, 2.2``) or sexagesimal
    (``10:00:24 +02:12:00``, ``10h00m24s +2d12m``; RA in hours unless written in degrees)."""
    import astropy.units as u
    from astropy.coordinates import ICRS, SkyCoord

    from neloura.core.frames import input_frame
    from neloura.errors import InvalidParameter

    named = input_frame(frame)  # a frame without data is falsy: compare with None
    source = ICRS() if named is None else named
    cleaned = " ".join(str(text).replace(",", " ").split())
    if not cleaned or len(cleaned) > 200:
        raise InvalidParameter("give a position such as '150.1 2.2' or '10:00:24 +02:12:00'")
    parts = cleaned.split(" ")
    numbers = len(parts) == 2 and all(_is_number(p) for p in parts)
    equatorial = source.name in ("icrs", "fk5", "fk4")
    unit = (u.deg, u.deg) if numbers or not equatorial else (u.hourangle, u.deg)
    if not numbers and equatorial and "d" in parts[0].lower() and "h" not in parts[0].lower():
        unit = (u.deg, u.deg)
    try:
        coord = SkyCoord(cleaned, unit=unit, frame=source)
    except (ValueError, TypeError) as exc:
        raise InvalidParameter(f"not a sky position: {cleaned!r} ({exc})") from exc
    icrs = coord.transform_to(ICRS())
    return float(icrs.ra.deg) % 360.0, float(icrs.dec.deg)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
