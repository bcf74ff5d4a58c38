"""Catalog overlays: sources inside an image's footprint, projected through its full WCS, packed
into a compact binary payload for the browser.

Projection goes through the image's own WCS object (``world_to_pixel``: astropy's
``all_world2pix``, SIP and other distortions included). Only sources near the image are
projected: a cheap angular pre-filter on the circle that encloses the footprint discards the rest
(and the far side of the sky, which a TAN projection would otherwise fold back onto the plane).

Binary layout (version 1, little-endian; offsets in bytes, ``n`` sources)::

    0   4s       magic b"NLOV"
    4   uint16   version (1)
    6   uint16   flags: 1 = size array present, 2 = colour array present, 4 = colour quantised on log10
    8   uint32   n: sources in this payload (inside the footprint)
    12  uint32   matched: catalog rows that passed the filter and have a valid position
    16  float32  size_px: constant marker radius in image pixels (used when there is no size
                 array, and for rows whose size is null)
    20  float32  size_min_px, 24 float32 size_max_px: range of the quantised size array
    28  float32  color_min, 32 float32 color_max: range of the colour column (log10 of it with flag 4)
    36  float32  pixel_scale_arcsec of the image (0 when unknown)
    40  uint32   width, 44 uint32 height of the image in pixels
    48  float32  x[n]    0-based FITS pixel x (axis 1) of each source
        float32  y[n]    0-based FITS pixel y (axis 2, y up: row 0 is the bottom)
        uint32   row[n]  0-based row index of the source in the catalog file (file order)
        uint16   size[n] (flag 1) radius = size_min_px + size/65534 * (size_max_px - size_min_px); 65535 = null
        uint16   color[n] (flag 2) value = color_min + color/65534 * (color_max - color_min); 65535 = null
        zero padding to a multiple of 4 bytes

That is 12 bytes per source, 16 with both a size and a colour column. Every block starts at a
multiple of 4 bytes, so the browser wraps it in typed arrays without copying.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from neloura.core.crossmatch import ARCSEC_PER_RAD, unit_vectors, vector_separation_arcsec
from neloura.errors import InvalidParameter

MAGIC = b"NLOV"
VERSION = 1
FLAG_SIZE = 1
FLAG_COLOR = 2
FLAG_COLOR_LOG = 4
HEADER = struct.Struct("<4sHHIIffffffII")
HEADER_BYTES = 48
NULL_Q = 65535
MAX_Q = 65534
SIZE_UNITS = ("px", "arcsec", "arcmin", "deg")
assert HEADER.size == HEADER_BYTES


class SkyProjection(Protocol):
    """What the overlay needs from an image WCS (``neloura.core.wcs.ImageWcs`` fits)."""

    def world_to_pixel(
        self, ra_deg: np.ndarray, dec_deg: np.ndarray, plane: int = 0
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def pixel_to_world(self, x_pix: np.ndarray, y_pix: np.ndarray, plane: int = 0) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class Footprint:
    """A circle on the sky enclosing an image: centre (ICRS degrees) and radius (arcsec)."""

    ra_deg: float
    dec_deg: float
    radius_arcsec: float


def image_footprint(wcs: SkyProjection, width: int, height: int, *, plane: int = 0, per_edge: int = 32) -> Footprint:
    """The smallest circle around the image centre that holds every sampled border pixel.

    Samples ``per_edge`` points along each edge of the pixel area [-0.5, width-0.5] x
    [-0.5, height-0.5] (distortions make edges curved, so corners alone are not enough) and
    widens the result by 1 % plus 2 pixels' worth as a safety margin.
    """
    t = np.linspace(0.0, 1.0, per_edge)
    x0, x1, y0, y1 = -0.5, width - 0.5, -0.5, height - 0.5
    bx = np.concatenate([x0 + t * (x1 - x0), np.full(per_edge, x1), x1 - t * (x1 - x0), np.full(per_edge, x0)])
    by = np.concatenate([np.full(per_edge, y0), y0 + t * (y1 - y0), np.full(per_edge, y1), y1 - t * (y1 - y0)])
    cx, cy = (width - 1) / 2, (height - 1) / 2
    ra, dec = wcs.pixel_to_world(np.array([cx, cx + 1, *bx]), np.array([cy, cy, *by]), plane)
    if not (np.isfinite(ra[0]) and np.isfinite(dec[0])):
        raise InvalidParameter("the image centre has no sky position in its WCS")
    xyz = unit_vectors(ra, dec)
    border = xyz[2:]
    finite = np.all(np.isfinite(border), axis=1)
    if not finite.any():
        return Footprint(float(ra[0]), float(dec[0]), 180.0 * 3600.0)
    sep = vector_separation_arcsec(border[finite], np.broadcast_to(xyz[0], (int(finite.sum()), 3)))
    pixel = float(vector_separation_arcsec(xyz[0:1], xyz[1:2])[0])
    radius = float(sep.max()) * 1.01 + 2.0 * (pixel if np.isfinite(pixel) else 0.0)
    return Footprint(float(ra[0]), float(dec[0]), min(radius, 180.0 * 3600.0))


def within_footprint(ra_deg: np.ndarray, dec_deg: np.ndarray, footprint: Footprint) -> np.ndarray:
    """Indices of positions inside the footprint's circle (brute force, for catalogs without an index)."""
    centre = unit_vectors(np.array([footprint.ra_deg]), np.array([footprint.dec_deg]))[0]
    xyz = unit_vectors(ra_deg, dec_deg)
    cos_r = np.cos(min(footprint.radius_arcsec / ARCSEC_PER_RAD, np.pi))
    with np.errstate(invalid="ignore"):
        return np.flatnonzero(xyz @ centre >= cos_r).astype(np.int64)


def project_inside(
    wcs: SkyProjection,
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    width: int,
    height: int,
    *,
    plane: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project positions and keep those that fall on the image.

    Returns ``(which, x_pix, y_pix)``: indices into the inputs of the positions whose 0-based
    pixel coordinates lie in [-0.5, width-0.5) x [-0.5, height-0.5), and those coordinates.
    Callers pre-filter with :func:`within_footprint` (or a sky index) so that nothing from the
    far side of the sky reaches the projection.
    """
    if len(ra_deg) == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64)
    x, y = wcs.world_to_pixel(np.asarray(ra_deg, np.float64), np.asarray(dec_deg, np.float64), plane)
    with np.errstate(invalid="ignore"):
        inside = (x >= -0.5) & (x < width - 0.5) & (y >= -0.5) & (y < height - 0.5)
    which = np.flatnonzero(inside).astype(np.int64)
    return which, x[which], y[which]


def size_to_pixels(values: np.ndarray | float, unit: str, pixel_scale_arcsec: float) -> np.ndarray:
    """Marker radii in ``unit`` (px, arcsec, arcmin, deg) -> image pixels."""
    arr = np.asarray(values, dtype=np.float64)
    if unit == "px":
        return arr
    if unit not in SIZE_UNITS:
        raise InvalidParameter(f"size_unit must be one of {', '.join(SIZE_UNITS)}, got {unit!r}")
    if not (np.isfinite(pixel_scale_arcsec) and pixel_scale_arcsec > 0):
        raise InvalidParameter(f"size_unit={unit} needs an image with a celestial WCS")
    per_unit = {"arcsec": 1.0, "arcmin": 60.0, "deg": 3600.0}[unit]
    return np.asarray(arr * per_unit / pixel_scale_arcsec)


def quantize(values: np.ndarray, *, log: bool = False) -> tuple[np.ndarray, float, float]:
    """Values -> uint16 codes 0..65534 over their finite range (65535 = null), with that range.

    With ``log`` the codes are over log10 of the values (non-positive values become null) and the
    range returned is in log10 units.
    """
    v = np.asarray(values, dtype=np.float64)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
    finite = np.isfinite(v)
    codes = np.full(v.shape, NULL_Q, dtype=np.uint16)
    if not finite.any():
        return codes, float("nan"), float("nan")
    lo, hi = float(v[finite].min()), float(v[finite].max())
    span = hi - lo
    scaled = (v[finite] - lo) / span * MAX_Q if span > 0 else np.zeros(int(finite.sum()))
    codes[finite] = np.rint(scaled).astype(np.uint16)
    return codes, lo, hi


@dataclass
class OverlayData:
    """Decoded payload (see the module docstring for the layout)."""

    x_pix: np.ndarray
    y_pix: np.ndarray
    rows: np.ndarray
    size_px: np.ndarray
    color: np.ndarray | None
    matched: int
    color_log: bool
    color_range: tuple[float, float]
    pixel_scale_arcsec: float
    width: int
    height: int


def encode_overlay(
    x_pix: np.ndarray,
    y_pix: np.ndarray,
    rows: np.ndarray,
    *,
    size_px: np.ndarray | float = 5.0,
    color: np.ndarray | None = None,
    color_log: bool = False,
    matched: int | None = None,
    pixel_scale_arcsec: float = 0.0,
    width: int = 0,
    height: int = 0,
) -> bytes:
    """Pack projected sources into the binary layout of the module docstring.

    ``size_px`` is a constant radius in image pixels or one value per source (NaN = null, drawn
    at the median radius); ``color`` is one value per source (NaN = null) or None.
    """
    n = len(rows)
    flags = 0
    size_const = float(size_px) if isinstance(size_px, (int, float)) else 0.0
    size_lo = size_hi = size_const
    blocks = [
        np.ascontiguousarray(x_pix, dtype="<f4").tobytes(),
        np.ascontiguousarray(y_pix, dtype="<f4").tobytes(),
        np.ascontiguousarray(rows, dtype="<u4").tobytes(),
    ]
    if not isinstance(size_px, (int, float)):
        sizes = np.asarray(size_px, dtype=np.float64)
        finite = np.isfinite(sizes)
        size_const = float(np.median(sizes[finite])) if finite.any() else 5.0
        codes, size_lo, size_hi = quantize(sizes)
        flags |= FLAG_SIZE
        blocks.append(codes.astype("<u2").tobytes())
    color_lo = color_hi = float("nan")
    if color is not None:
        codes, color_lo, color_hi = quantize(np.asarray(color), log=color_log)
        flags |= FLAG_COLOR | (FLAG_COLOR_LOG if color_log else 0)
        blocks.append(codes.astype("<u2").tobytes())
    header = HEADER.pack(
        MAGIC,
        VERSION,
        flags,
        n,
        n if matched is None else matched,
        size_const,
        size_lo,
        size_hi,
        color_lo,
        color_hi,
        pixel_scale_arcsec,
        width,
        height,
    )
    body = b"".join(blocks)
    return header + body + b"\0" * (-len(body) % 4)


def decode_overlay(data: bytes) -> OverlayData:
    """Unpack a payload made by :func:`encode_overlay` (tests, benchmarks, Python clients)."""
    if len(data) < HEADER_BYTES or data[:4] != MAGIC:
        raise InvalidParameter("not an overlay payload")
    (_, version, flags, n, matched, size_const, size_lo, size_hi, c_lo, c_hi, scale, width, height) = (
        HEADER.unpack_from(data)
    )
    if version != VERSION:
        raise InvalidParameter(f"unsupported overlay payload version {version}")
    offset = HEADER_BYTES

    def take(dtype: str) -> np.ndarray:
        nonlocal offset
        arr = np.frombuffer(data, dtype=dtype, count=n, offset=offset)
        offset += arr.nbytes
        return arr

    x, y, rows = take("<f4"), take("<f4"), take("<u4")
    size = np.full(n, size_const, dtype=np.float64)
    if flags & FLAG_SIZE:
        codes = take("<u2")
        valid = codes != NULL_Q
        size[valid] = size_lo + codes[valid] / MAX_Q * (size_hi - size_lo)
    color = None
    if flags & FLAG_COLOR:
        codes = take("<u2")
        color = np.full(n, np.nan)
        valid = codes != NULL_Q
        color[valid] = c_lo + codes[valid] / MAX_Q * (c_hi - c_lo)
    return OverlayData(
        x_pix=x,
        y_pix=y,
        rows=rows,
        size_px=size,
        color=color,
        matched=int(matched),
        color_log=bool(flags & FLAG_COLOR_LOG),
        color_range=(float(c_lo), float(c_hi)),
        pixel_scale_arcsec=float(scale),
        width=int(width),
        height=int(height),
    )
