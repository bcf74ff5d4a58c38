"""Regions on one image: pixel shapes, sky -> pixel through the image's full WCS, the ``regions``
package objects behind masks, and DS9 / CRTF text in sky or pixel coordinates.

A :class:`PixelShape` is in 0-based image pixels (``data[y, x]``, pixel centres at integers,
y up), sizes in pixels (full widths), ``angle_deg`` counter-clockwise from +x.

Sky -> pixel follows the ``regions`` package (0.12) exactly, vectorised over all regions at once:
positions through ``ImageWcs.world_to_pixel`` (every projection, SIP/TPV, frames); sizes and
angles through the local Jacobian d(pixel)/d(sky arcsec) measured with 1-pixel offsets, whose
sign carries the parity, so a region on a flipped (east-right) image is mirrored as DS9 draws it
(pixel angle = 180° - sky angle) and a rotated image turns it by the north angle. Circles take the
geometric mean of the two 1-pixel separations (the mean singular value with distortions) as
``regions`` does. One difference: the Jacobian is measured in the *region's* frame, so an fk5
ellipse on a Galactic image keeps its angle from fk5 north (``regions`` measures it from the
image frame's north). ``tests/core/test_regions.py`` checks equality with ``to_pixel``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, angular_separation, position_angle
from astropy.wcs import WCS
from regions import (
    CircleAnnulusPixelRegion,
    CirclePixelRegion,
    EllipseAnnulusPixelRegion,
    EllipsePixelRegion,
    LinePixelRegion,
    PixCoord,
    PixelRegion,
    PointPixelRegion,
    PolygonPixelRegion,
    RectangleAnnulusPixelRegion,
    RectanglePixelRegion,
    RegionMeta,
    Regions,
    RegionVisual,
    TextPixelRegion,
)

from neloura.core.frames import input_frame, transform_lonlat
from neloura.core.region_records import RegionRecord, within_pixel_bounds
from neloura.core.wcs import ImageWcs, NoCelestialWcs
from neloura.errors import InvalidParameter

AREA_SHAPES = ("circle", "ellipse", "box", "polygon", "annulus", "ellipse_annulus", "box_annulus")
_ARCSEC_PER_RAD = 3600.0 * 180.0 / math.pi


@dataclass
class PixelShape:
    """One region in 0-based image pixels (see the module docstring)."""

    shape: str
    points: list[tuple[float, float]]
    sizes: tuple[float, ...] = ()
    angle_deg: float = 0.0
    include: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    line: int = 0
    frame: str = "image"

    @property
    def centre(self) -> tuple[float, float]:
        if self.shape in ("polygon", "line"):
            xs, ys = zip(*self.points, strict=True)
            return float(np.mean(xs)), float(np.mean(ys))
        return self.points[0]

    def to_json(self, index: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": index,
            "shape": self.shape,
            "points": [[x, y] for x, y in self.points],
            "sizes": list(self.sizes),
            "angle": self.angle_deg % 360.0,
            "include": self.include,
            "line": self.line,
            "frame": self.frame,
        }
        for key in ("text", "color", "point", "tag"):
            if key in self.meta:
                out[key] = self.meta[key] if key == "tag" else str(self.meta[key])
        return out


# ------------------------------------------------------------------------------ sky -> pixel


def to_pixel_shapes(records: list[RegionRecord], wcs: ImageWcs, plane: int = 0) -> list[PixelShape]:
    """Every record as a :class:`PixelShape` on this image (sky records through its full WCS)."""
    out: list[PixelShape | None] = [None] * len(records)
    by_frame: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        if record.is_sky:
            by_frame[record.frame].append(i)
        else:
            out[i] = PixelShape(
                record.shape, list(record.points), record.sizes, record.angle_deg, record.include,
                dict(record.meta), record.line, "image",
            )  # fmt: skip
    if by_frame and not wcs.has_celestial:
        raise NoCelestialWcs("sky regions need an image with a celestial WCS (this one has none)")
    for frame, indices in by_frame.items():
        for i, shape in zip(indices, _sky_to_pixel([records[i] for i in indices], wcs, plane, frame), strict=True):
            out[i] = shape
    return [s for s in out if s is not None]


def _sky_to_pixel(records: list[RegionRecord], wcs: ImageWcs, plane: int, frame: str) -> list[PixelShape]:
    lon = np.array([p[0] for r in records for p in r.points])
    lat = np.array([p[1] for r in records for p in r.points])
    x, y = wcs.world_to_pixel(lon, lat, plane, frame)
    starts = np.cumsum([0] + [len(r.points) for r in records])
    centred = [i for i, r in enumerate(records) if r.shape not in ("polygon", "line")]
    jac = np.zeros((len(records), 2, 2))
    scale = np.zeros(len(records))
    if centred:
        cx, cy = x[starts[centred]], y[starts[centred]]
        jac[centred], scale[centred] = _jacobian(wcs, cx, cy, plane, frame)
    shapes = []
    for i, r in enumerate(records):
        pts = [(float(x[k]), float(y[k])) for k in range(starts[i], starts[i + 1])]
        sizes, angle = _pixel_sizes(r, jac[i], scale[i])
        values = [c for p in pts for c in p] + list(sizes)
        if not within_pixel_bounds(values):
            raise InvalidParameter(f"line {r.line}: the {r.shape} does not project onto this image")
        shapes.append(PixelShape(r.shape, pts, sizes, angle, r.include, dict(r.meta), r.line, frame))
    return shapes


def _jacobian(wcs: ImageWcs, x: np.ndarray, y: np.ndarray, plane: int, frame: str) -> tuple[np.ndarray, np.ndarray]:
    """Per position: J = d(pixel)/d(xi, eta arcsec) (xi east, eta north in ``frame``) and the
    circle scale in pixels per arcsec (``regions``' choice with and without distortions)."""
    n = len(x)
    lon, lat = wcs.pixel_to_native(np.concatenate([x, x + 1, x]), np.concatenate([y, y, y + 1]), plane)
    target = input_frame(frame)
    if target is not None and wcs.frame is not None:
        lon, lat = transform_lonlat(lon, lat, wcs.frame, target)
    lon, lat = np.radians(lon), np.radians(lat)
    l0, b0 = lon[:n], lat[:n]
    forward = np.empty((n, 2, 2))
    for col, sl in ((0, slice(n, 2 * n)), (1, slice(2 * n, 3 * n))):
        sep = angular_separation(l0, b0, lon[sl], lat[sl]) * _ARCSEC_PER_RAD
        pa = position_angle(l0, b0, lon[sl], lat[sl])
        sep = np.asarray(getattr(sep, "value", sep), dtype=float)
        pa = np.asarray(getattr(pa, "value", pa), dtype=float)
        forward[:, 0, col] = sep * np.sin(pa)
        forward[:, 1, col] = sep * np.cos(pa)
    with np.errstate(all="ignore"):
        jac = np.linalg.inv(forward)
    distorted = wcs.wcs is not None and bool(getattr(wcs.wcs, "has_distortion", False))
    if distorted:
        scale = np.linalg.svd(jac, compute_uv=False).mean(axis=1)
    else:
        sep_x = np.hypot(forward[:, 0, 0], forward[:, 1, 0])
        sep_y = np.hypot(forward[:, 0, 1], forward[:, 1, 1])
        scale = 1.0 / np.sqrt(sep_x * sep_y)
    return jac, scale


def _pixel_sizes(r: RegionRecord, jac: np.ndarray, scale: float) -> tuple[tuple[float, ...], float]:
    """Pixel sizes and angle of a sky record (regions' SVD of J @ M_sky for ellipses and boxes)."""
    if r.shape in ("circle", "annulus"):
        return tuple(float(s * scale) for s in r.sizes), 0.0
    if r.shape in ("point", "text", "polygon", "line"):
        return (), 0.0
    pa = math.radians(r.angle_deg) - math.pi / 2  # regions' sky angle (from the RA axis) -> PA
    pairs = [r.sizes[k : k + 2] for k in range(0, len(r.sizes), 2)]
    sizes: list[float] = []
    angle = 0.0
    for k, (w, h) in enumerate(pairs):
        m_sky = np.array(
            [[0.5 * w * math.sin(pa), 0.5 * h * math.cos(pa)], [0.5 * w * math.cos(pa), -0.5 * h * math.sin(pa)]]
        )
        width, height, this_angle = _svd_axes(jac @ m_sky, circular=math.isclose(w, h))
        sizes += [width, height]
        if k == len(pairs) - 1:
            angle = this_angle  # annuli: the outer ellipse's angle, as regions does
    return tuple(sizes), angle


def _svd_axes(m: np.ndarray, circular: bool) -> tuple[float, float, float]:
    """Full width, height and pixel angle (deg) of the ellipse whose semi-axes are ``m``'s columns."""
    u_mat, s, _ = np.linalg.svd(m)
    width_col = m[:, 0]
    if abs(np.dot(u_mat[:, 0], width_col)) >= abs(np.dot(u_mat[:, 1], width_col)):
        width, height, col = 2 * s[0], 2 * s[1], u_mat[:, 0]
    else:
        width, height, col = 2 * s[1], 2 * s[0], u_mat[:, 1]
    if np.dot(col, width_col) < 0:
        col = -col
    if circular and np.linalg.norm(width_col) > 0:
        col = width_col / np.linalg.norm(width_col)
    return float(width), float(height), float(math.degrees(math.atan2(col[1], col[0])) % 360.0)


# ------------------------------------------------------------------------- regions objects


def to_region(shape: PixelShape) -> PixelRegion:
    """The ``regions`` pixel object of a shape (masks, containment, serialisation)."""
    p = shape.points
    c = PixCoord(*p[0])
    a = Angle(shape.angle_deg, u.deg)
    s = shape.sizes
    match shape.shape:
        case "circle":
            region: PixelRegion = CirclePixelRegion(c, s[0])
        case "ellipse":
            region = EllipsePixelRegion(c, s[0], s[1], angle=a)
        case "box":
            region = RectanglePixelRegion(c, s[0], s[1], angle=a)
        case "annulus":
            region = CircleAnnulusPixelRegion(c, s[0], s[1])
        case "ellipse_annulus":
            region = EllipseAnnulusPixelRegion(c, s[0], s[2], s[1], s[3], angle=a)
        case "box_annulus":
            region = RectangleAnnulusPixelRegion(c, s[0], s[2], s[1], s[3], angle=a)
        case "polygon":
            region = PolygonPixelRegion(PixCoord([q[0] for q in p], [q[1] for q in p]))
        case "line":
            region = LinePixelRegion(c, PixCoord(*p[1]))
        case "point":
            region = PointPixelRegion(c)
        case "text":
            region = TextPixelRegion(c, text=str(shape.meta.get("text", "")))
        case _:
            raise InvalidParameter(f"unknown shape {shape.shape!r}")
    meta = {k: v for k, v in shape.meta.items() if k in ("text", "tag", "label")}
    if not shape.include:
        meta["include"] = 0
    region.meta = RegionMeta(meta)
    visual = {k: shape.meta[k] for k in ("color",) if k in shape.meta}
    if "point" in shape.meta and shape.shape == "point":
        visual["symbol"] = _ds9_symbol(str(shape.meta["point"]))
    region.visual = RegionVisual(visual)
    return region


_SYMBOLS = {"circle": "o", "box": "s", "diamond": "D", "cross": "+", "x": "x", "arrow": "^", "boxcircle": "8"}


def _ds9_symbol(value: str) -> str:
    return _SYMBOLS.get(value.split()[0] if value.split() else "circle", "o")


def celestial(wcs: ImageWcs) -> WCS:
    """The astropy celestial WCS (2-D) of an image, for the ``regions`` package."""
    if wcs.wcs is None or not wcs.has_celestial:
        raise NoCelestialWcs("sky coordinates need an image with a celestial WCS (this one has none)")
    return wcs.wcs if wcs.wcs.naxis == 2 else wcs.wcs.celestial


CRTF_SHAPES = ("circle", "ellipse", "box", "polygon", "annulus", "line", "point", "text")


def write_regions(shapes: list[PixelShape], wcs: ImageWcs, fmt: str, system: str) -> tuple[str, list[int]]:
    """DS9 (``ds9``) or CRTF (``crtf``) text of pixel shapes, in ``sky`` (the image's celestial
    frame, through ``regions``' ``to_sky`` on the full WCS) or ``pixel`` coordinates.

    Returns the text and the indices of shapes the format cannot hold (CRTF has no elliptical or
    box annulus), which are left out."""
    if fmt not in ("ds9", "crtf"):
        raise InvalidParameter("to must be ds9 or crtf")
    if system not in ("sky", "pixel"):
        raise InvalidParameter("system must be sky or pixel")
    left_out = [i for i, s in enumerate(shapes) if fmt == "crtf" and s.shape not in CRTF_SHAPES]
    kept = [s for i, s in enumerate(shapes) if i not in set(left_out)]
    if fmt == "crtf" and system == "pixel":
        return crtf_pixel_text(kept), left_out
    objects = [to_region(s) for s in kept]
    if system == "sky":
        sky_wcs = celestial(wcs)
        converted = []
        for shape, obj in zip(kept, objects, strict=True):
            try:
                converted.append(obj.to_sky(sky_wcs))
            except ValueError as exc:  # e.g. a size that vanishes or a position off the sky
                raise InvalidParameter(
                    f"line {shape.line}: the {shape.shape} has no sky form on this image ({exc})"
                ) from exc
        objects = converted
    return str(Regions(objects).serialize(format=fmt)), left_out


_CRTF_SYMBOLS = {"circle": "o", "box": "s", "diamond": "D", "cross": "+", "x": "x", "arrow": "^", "boxcircle": "8"}


def crtf_pixel_text(shapes: list[PixelShape]) -> str:
    """CRTF in 0-based ``pix`` units (CASA's pixel convention), which the ``regions`` package
    reads but does not write (its writer labels pixel values as degrees)."""

    def p(v: float) -> str:
        return f"{v:.4f}pix"

    def xy(point: tuple[float, float]) -> str:
        return f"[{p(point[0])}, {p(point[1])}]"

    lines = ["#CRTFv0 CASA Region Text Format version 0"]
    for s in shapes:
        c, z, a = s.points[0], s.sizes, f"{s.angle_deg % 360.0:.6f}deg"
        match s.shape:
            case "circle":
                body = f"circle[{xy(c)}, {p(z[0])}]"
            case "ellipse":  # CRTF: [major-ish semi-axis along the PA direction, the other], PA
                body = f"ellipse[{xy(c)}, [{p(z[1] / 2)}, {p(z[0] / 2)}], {a}]"
            case "box":
                body = f"rotbox[{xy(c)}, [{p(z[0])}, {p(z[1])}], {a}]"
            case "annulus":
                body = f"annulus[{xy(c)}, [{p(z[0])}, {p(z[1])}]]"
            case "polygon":
                body = "poly[" + ", ".join(xy(q) for q in s.points) + "]"
            case "line":
                body = f"line[{xy(s.points[0])}, {xy(s.points[1])}]"
            case "point":
                symbol = _CRTF_SYMBOLS.get(
                    str(s.meta.get("point", "circle")).split()[0] if s.meta.get("point") else "circle", "o"
                )
                body = f"symbol[{xy(c)}, {symbol}]"
            case "text":
                body = f"text[{xy(c)}, '{_crtf_text(s.meta.get('text', ''))}']"
            case _:
                continue
        extras = []
        if s.meta.get("color"):
            extras.append(f"color={_crtf_text(s.meta['color'])}")
        if s.meta.get("text") and s.shape != "text":
            extras.append(f"label='{_crtf_text(s.meta['text'])}'")
        lines.append(("" if s.include else "-") + body + "".join(f", {e}" for e in extras))
    return "\n".join(lines) + "\n"


def _crtf_text(value: object) -> str:
    return str(value).replace("'", "").replace("\n", " ").replace(",", " ")
