"""Region records: what :mod:`neloura.core.region_files` reads DS9 and CRTF text into.

Positions are 0-based image pixels (frame ``image``) or degrees in the record's sky frame (an
``INPUT_FRAMES`` name: icrs, fk5, fk4, galactic, ecliptic); sizes are pixels or arcsec (full
widths: DS9's ellipse semi-axes are doubled); ``angle_deg`` follows the ``regions`` package
(pixel: counter-clockwise from +x; sky: from the longitude axis, as DS9 writes it).
:func:`validate_record` holds the bounds every reader applies (:func:`within_pixel_bounds` the
pixel one, which sky regions projected onto an image meet too); :func:`record_from_region` builds
a record from a ``regions`` object (the CRTF path, and the reference of the tests).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
from astropy.coordinates import SkyCoord
from regions import PixCoord, Region

from neloura.errors import InvalidRegions

MAX_REGIONS = 200_000
MAX_VERTICES = 10_000
MAX_PIXEL = 1e8  # |pixel coordinate or size| (a larger one is no image's)
MAX_SKY_ARCSEC = 180 * 3600.0
SHAPES = ("circle", "ellipse", "box", "polygon", "annulus", "ellipse_annulus", "box_annulus", "line", "point", "text")
# astropy frame names of the regions package -> ours
_ASTROPY_FRAMES = {
    "icrs": "icrs",
    "fk5": "fk5",
    "fk4": "fk4",
    "galactic": "galactic",
    "barycentricmeanecliptic": "ecliptic",
}


@dataclass
class RegionRecord:
    """One region as read from text (see the module docstring for frames and units)."""

    line: int
    shape: str
    frame: str
    points: list[tuple[float, float]]
    sizes: tuple[float, ...] = ()
    angle_deg: float = 0.0
    include: bool = True
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sky(self) -> bool:
        return self.frame != "image"


@dataclass(frozen=True)
class Skipped:
    """A region (or line) that was not imported, and why."""

    line: int
    shape: str
    reason: str


@dataclass
class RegionText:
    records: list[RegionRecord]
    skipped: list[Skipped]
    format: str


def within_pixel_bounds(values: Iterable[float]) -> bool:
    """True when every value (pixel coordinates, pixel sizes) is finite and within ±``MAX_PIXEL``."""
    return all(math.isfinite(v) and abs(v) <= MAX_PIXEL for v in values)


def validate_record(record: RegionRecord) -> None:
    """Raise ``ValueError`` (the readers add the line) for a non-finite or out-of-bounds record."""
    numbers = [c for p in record.points for c in p] + list(record.sizes) + [record.angle_deg]
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"{record.shape} has a non-finite value")
    if not record.is_sky and not within_pixel_bounds(numbers[:-1]):
        raise ValueError(f"{record.shape}: pixel values beyond ±{MAX_PIXEL:.0e}")
    if record.is_sky and any(v > MAX_SKY_ARCSEC for v in record.sizes):
        raise ValueError(f"{record.shape}: sizes beyond 180 degrees")
    if len(record.points) > MAX_VERTICES:
        raise ValueError(f"{record.shape} has {len(record.points)} vertices (at most {MAX_VERTICES})")
    if any(s <= 0 for s in record.sizes):
        raise ValueError(f"{record.shape} sizes must be positive")
    if record.shape in ("annulus", "ellipse_annulus", "box_annulus"):
        half = len(record.sizes) // 2
        if any(o <= i for i, o in zip(record.sizes[:half], record.sizes[half:], strict=True)):
            raise ValueError(f"{record.shape}: the outer size must exceed the inner one")
    if record.is_sky and any(abs(lat) > 90 for _, lat in record.points):
        raise ValueError("latitude outside -90..90 degrees")


def record_from_region(region: Region, line: int = 0) -> RegionRecord:
    """A record from a ``regions`` object (pixel or sky); the reference path of the tests."""
    name = type(region).__name__
    sky = name.endswith("SkyRegion")
    kind = name.removesuffix("SkyRegion").removesuffix("PixelRegion")
    frame = "image"
    if sky:
        centre = getattr(region, "center", None) or getattr(region, "vertices", None) or region.start
        frame = _ASTROPY_FRAMES.get(centre.frame.name, "icrs")

    def pos(c: SkyCoord | PixCoord) -> list[tuple[float, float]]:
        if sky:
            sph = c.spherical
            lon = sph.lon.deg
            lat = sph.lat.deg
            if c.isscalar:
                return [(float(lon), float(lat))]
            return [(float(a), float(b)) for a, b in zip(lon, lat, strict=True)]
        if c.isscalar:
            return [(float(c.x), float(c.y))]
        return [(float(a), float(b)) for a, b in zip(c.x, c.y, strict=True)]

    def size(v: Any) -> float:
        return float(v.to_value(u.arcsec)) if sky else float(v)

    angle = float(region.angle.to_value(u.deg)) if hasattr(region, "angle") else 0.0
    shapes = {
        "Circle": ("circle", ("radius",)),
        "Ellipse": ("ellipse", ("width", "height")),
        "Rectangle": ("box", ("width", "height")),
        "CircleAnnulus": ("annulus", ("inner_radius", "outer_radius")),
        "EllipseAnnulus": ("ellipse_annulus", ("inner_width", "inner_height", "outer_width", "outer_height")),
        "RectangleAnnulus": ("box_annulus", ("inner_width", "inner_height", "outer_width", "outer_height")),
        "Point": ("point", ()),
        "Text": ("text", ()),
    }
    meta: dict[str, Any] = {k: v for k, v in dict(region.meta).items() if k != "include"}
    for key in ("color", "point", "symbol"):
        if key in region.visual and key not in meta:
            meta[key] = region.visual[key]
    if kind == "Text":
        meta["text"] = region.text
    include = bool(region.meta.get("include", True))
    if kind == "Polygon":
        return RegionRecord(line, "polygon", frame, pos(region.vertices), (), 0.0, include, meta)
    if kind == "Line":
        return RegionRecord(line, "line", frame, pos(region.start) + pos(region.end), (), 0.0, include, meta)
    if kind not in shapes:
        raise InvalidRegions(f"line {line}: region type {kind} is not supported")
    shape, attrs = shapes[kind]
    return RegionRecord(
        line, shape, frame, pos(region.center), tuple(size(getattr(region, a)) for a in attrs), angle, include, meta
    )


def error_reason(exc: BaseException) -> str:
    """A parser exception as the reason part of a 422 message (at most 300 characters)."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"unknown unit or key {text}"
    return text[:300]


def clip_line(line: str, n: int = 120) -> str:
    """A region line shortened for an error message."""
    return line if len(line) <= n else line[: n - 1] + "…"
