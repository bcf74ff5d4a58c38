"""Spectral cubes: the spectral axis in the user's unit, spectra along it, beams, Jy/beam <-> K.

Spectra are read straight from the (memory-mapped) file along the spectral axis, one column
``data[:, y, x]`` (or the window of a region), never the whole cube. Spectral world values come
from the image's full WCS (:meth:`neloura.core.wcs.ImageWcs.spectral_values`) and are converted
with astropy's equivalencies: ``u.spectral()`` between frequency, wavelength, energy and
wavenumber, ``u.doppler_radio/optical/relativistic(rest)`` to and from velocity, which is what
``SpectralCube.with_spectral_unit`` computes (the tests check both agree).

Pixel convention: 0-based ``x`` (FITS axis 1), ``y`` (FITS axis 2), ``data[..., y, x]``;
planes index the cube's plane axis (:attr:`neloura.core.fitsio.FitsImage.plane_axis`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from neloura.core.fitsio import FitsImage
from neloura.errors import InvalidParameter

Convention = Literal["radio", "optical", "relativistic"]
CONVENTIONS: tuple[str, ...] = ("radio", "optical", "relativistic")
_DOPPLER = {"radio": u.doppler_radio, "optical": u.doppler_optical, "relativistic": u.doppler_relativistic}
# the velocity convention a native velocity axis is written in (FITS WCS paper III)
_NATIVE_CONVENTION = {
    "VRAD": "radio",
    "VOPT": "optical",
    "ZOPT": "optical",
    "VELO": "relativistic",
    "VREL": "relativistic",
}
REGION_VALUES_MAX = 256 * 1024 * 1024  # values of a region's window read per request (chunked by planes)
_CHUNK_VALUES = 16 * 1024 * 1024
REGION_BOX_MAX = 100_000_000  # bounding box of one region shape, pixels (its mask is built whole)


class NotACube(InvalidParameter):
    """The image has no third axis to take spectra or moments along."""


@dataclass(frozen=True)
class SpectralAxis:
    """World values of every plane in one unit. ``kind`` is frequency, wavelength, velocity,
    energy, wavenumber... or ``pixel`` when the cube has no spectral WCS (values = plane indices)."""

    values: np.ndarray
    unit: str
    kind: str
    native_unit: str
    native_kind: str
    frame: str | None  # SPECSYS (LSRK, BARYCENT, TOPOCENT...)
    rest_hz: float | None
    convention: str | None  # of velocity values (requested, or the native velocity axis')
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "spectral": [_finite(v) for v in self.values],
            "spectral_unit": self.unit,
            "spectral_kind": self.kind,
            "native_unit": self.native_unit,
            "native_kind": self.native_kind,
            "frame": self.frame,
            "rest_hz": self.rest_hz,
            "convention": self.convention,
            "note": self.note,
        }


def _finite(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def require_cube(image: FitsImage) -> None:
    """Raise :class:`NotACube` (422) for a 2-D image or a cube of one plane."""
    if image.plane_axis is None or image.planes < 2:
        raise NotACube(f"{image.path.name} [HDU {image.hdu_index}] is a 2-D image (shape {image.shape}), not a cube")


def parse_quantity(text: str | float | None, default_unit: str) -> u.Quantity | None:
    """``"230.538 GHz"``, ``"2.6 mm"`` or a bare number in ``default_unit`` -> a Quantity."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        value = u.Quantity(text)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"not a quantity: {text!r} (e.g. 230.538 GHz or 2.6 mm)") from exc
    if value.unit == u.dimensionless_unscaled:
        value = value.value * u.Unit(default_unit)
    if not value.isscalar or not np.isfinite(value.value) or value.value <= 0:
        raise InvalidParameter(f"a rest value must be one positive number, not {text!r}")
    return value


def rest_frequency(header: fits.Header, override: u.Quantity | None = None) -> float | None:
    """Rest frequency in Hz: ``override`` (a frequency, wavelength or energy), else RESTFRQ /
    RESTFREQ, else RESTWAV (metres, converted), else None."""
    if override is not None:
        try:
            return float(override.to_value(u.Hz, equivalencies=u.spectral()))
        except u.UnitsError as exc:
            raise InvalidParameter(f"a rest value must be a frequency or wavelength, not {override.unit}") from exc
    for key in ("RESTFRQ", "RESTFREQ"):
        value = header.get(key)
        if isinstance(value, (int, float)) and value > 0 and math.isfinite(value):
            return float(value)
    wave = header.get("RESTWAV")
    if isinstance(wave, (int, float)) and wave > 0 and math.isfinite(wave):
        return float((wave * u.m).to_value(u.Hz, equivalencies=u.spectral()))
    return None


def _parse_unit(unit: str) -> u.UnitBase:
    try:
        parsed = u.Unit(unit)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"unknown spectral unit {unit!r} (e.g. km/s, GHz, um, Angstrom)") from exc
    if parsed.physical_type not in ("speed", "frequency", "length", "energy", "wavenumber"):
        raise InvalidParameter(f"{unit!r} is not a spectral unit (velocity, frequency, wavelength, energy)")
    return parsed


def spectral_axis(
    image: FitsImage,
    unit: str | None = None,
    convention: str | None = None,
    rest: u.Quantity | None = None,
) -> SpectralAxis:
    """Every plane's spectral value, in ``unit`` (default: the header's), velocities in
    ``convention`` (default radio) relative to ``rest`` (default RESTFRQ/RESTWAV)."""
    require_cube(image)
    if convention is not None and convention not in CONVENTIONS:
        raise InvalidParameter(f"convention must be one of {', '.join(CONVENTIONS)}")
    planes = np.arange(image.planes)
    header = image.header
    frame = str(header.get("SPECSYS", "") or "").strip() or None
    native = image.wcs.spectral_values(planes)
    if native is None:
        if unit:
            raise InvalidParameter(f"{image.path.name} has no spectral WCS: planes are pixel indices only")
        return SpectralAxis(planes.astype(float), "", "pixel", "", "pixel", None, None, None, _NO_WCS)
    values, native_unit, native_kind = native
    rest_hz = rest_frequency(header, rest)
    assert image.wcs.wcs is not None
    ctype = str(image.wcs.wcs.wcs.ctype[image.wcs.wcs.wcs.spec]).upper()[:4]
    native_conv = _NATIVE_CONVENTION.get(ctype) if native_kind == "velocity" else None
    if not unit:
        return SpectralAxis(values, native_unit, native_kind, native_unit, native_kind, frame, rest_hz, native_conv)
    target = _parse_unit(unit)
    quantity = values * u.Unit(native_unit)
    converted, used = _convert(quantity, target, native_conv, convention or "radio", rest_hz)
    kind = _kind_of(target)
    return SpectralAxis(
        np.asarray(converted, dtype=np.float64),
        target.to_string().replace(" / ", "/"),
        kind,
        native_unit,
        native_kind,
        frame,
        rest_hz,
        used if kind == "velocity" else native_conv,
    )


_NO_WCS = "no spectral WCS: planes are pixel indices"


def _kind_of(unit: u.UnitBase) -> str:
    for name, kind in (
        ("speed", "velocity"),
        ("length", "wavelength"),
        ("frequency", "frequency"),
        ("energy", "energy"),
    ):
        if unit.physical_type == name:
            return kind
    return "wavenumber"


def _convert(
    quantity: u.Quantity, target: u.UnitBase, native_conv: str | None, convention: str, rest_hz: float | None
) -> tuple[np.ndarray, str | None]:
    """Native spectral values -> ``target``; returns the values and the velocity convention used."""
    rest = None if rest_hz is None else rest_hz * u.Hz
    needs_rest = (quantity.unit.physical_type == "speed") != (target.physical_type == "speed") or (
        target.physical_type == "speed" and native_conv not in (None, convention)
    )
    if needs_rest and rest is None:
        raise InvalidParameter("converting between velocity and frequency/wavelength needs a rest value (give rest=)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        if quantity.unit.physical_type == "speed":
            if target.physical_type == "speed" and native_conv in (None, convention):
                return quantity.to_value(target), native_conv or convention
            assert rest is not None
            quantity = quantity.to(u.Hz, equivalencies=_DOPPLER[native_conv or "radio"](rest))
        if target.physical_type == "speed":
            assert rest is not None
            return quantity.to_value(target, equivalencies=_DOPPLER[convention](rest)), convention
        return quantity.to_value(target, equivalencies=u.spectral()), None


def planes_in_range(axis: SpectralAxis, lo: float, hi: float) -> tuple[int, int]:
    """First and last plane (inclusive) whose value lies in [lo, hi] (either order);
    :class:`InvalidParameter` when none does."""
    lo, hi = min(lo, hi), max(lo, hi)
    inside = np.flatnonzero((axis.values >= lo) & (axis.values <= hi))
    if len(inside) == 0:
        span = f"{np.nanmin(axis.values):.6g} .. {np.nanmax(axis.values):.6g} {axis.unit}".strip()
        raise InvalidParameter(f"the range {lo:.6g} .. {hi:.6g} {axis.unit} lies outside the cube ({span})")
    return int(inside[0]), int(inside[-1])


# ---------------------------------------------------------------------- spectra


def _column_index(image: FitsImage, rows: Any, cols: Any, planes: slice) -> tuple[Any, ...]:
    index: list[Any] = [0] * (len(image.shape) - 2)
    assert image.plane_axis is not None
    index[image.plane_axis] = planes
    return (*index, rows, cols)


def spectrum_at(image: FitsImage, x_pix: int, y_pix: int) -> np.ndarray:
    """Physical values of every plane at 0-based pixel (x, y): one column of the file, float32."""
    require_cube(image)
    if not (0 <= x_pix < image.width and 0 <= y_pix < image.height):
        raise InvalidParameter(
            f"pixel ({x_pix}, {y_pix}) is outside the image (0..{image.width - 1}, 0..{image.height - 1})"
        )
    with image.random_access():
        return np.asarray(image.read_index(_column_index(image, y_pix, x_pix, slice(None))), dtype=np.float32).ravel()


@dataclass(frozen=True)
class PixelMask:
    """A region's pixels: a boolean mask over the window ``data[y0:y1, x0:x1]``."""

    y0: int
    y1: int
    x0: int
    x1: int
    mask: np.ndarray

    @property
    def n_pixels(self) -> int:
        return int(self.mask.sum())


def region_mask(region_text: str, image: FitsImage) -> PixelMask:
    """Parse DS9 region text (``regions``) and return the pixels whose centres fall inside
    (``to_mask(mode='center')``, as ``SpectralCube.subcube_from_regions``). Several shapes are
    combined (union); sky regions go through the image's celestial WCS."""
    from regions import PixelRegion, Regions, SkyRegion

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shapes = Regions.parse(region_text, format="ds9")
    except Exception as exc:  # any parse failure is the user's text
        raise InvalidParameter(f"region: not DS9 region text: {exc}") from exc
    if len(shapes) == 0:
        raise InvalidParameter("region: no shape found in the DS9 text")
    parts: list[tuple[int, int, int, int, np.ndarray]] = []  # (y0, y1, x0, x1, mask) on the image
    for shape in shapes:
        if isinstance(shape, SkyRegion):
            if not image.wcs.has_celestial or image.wcs.wcs is None:
                raise InvalidParameter("region: a sky region needs an image with a celestial WCS")
            shape = shape.to_pixel(image.wcs.wcs.celestial)
        if not isinstance(shape, PixelRegion) or not hasattr(shape, "to_mask"):
            raise InvalidParameter(f"region: {type(shape).__name__} has no area")
        try:
            box = shape.bounding_box
            if (box.ixmax - box.ixmin) * (box.iymax - box.iymin) > REGION_BOX_MAX:
                raise InvalidParameter(f"region: {type(shape).__name__} spans more than {REGION_BOX_MAX:,} pixels")
            mask = shape.to_mask(mode="center")
        except InvalidParameter:
            raise
        except Exception as exc:  # degenerate shapes (zero size, points...)
            raise InvalidParameter(f"region: {type(shape).__name__} has no area: {exc}") from exc
        big, small = mask.get_overlap_slices((image.height, image.width))
        if big is not None:
            parts.append((big[0].start, big[0].stop, big[1].start, big[1].stop, mask.data[small].astype(bool)))
    parts = [p for p in parts if p[4].any()]
    if not parts:
        raise InvalidParameter("region: no pixel centre of the image falls inside the region")
    # the union over the shapes' common bounding box only (never an image-sized array)
    y0, y1 = min(p[0] for p in parts), max(p[1] for p in parts)
    x0, x1 = min(p[2] for p in parts), max(p[3] for p in parts)
    total = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for a, b, c, d, part in parts:
        total[a - y0 : b - y0, c - x0 : d - x0] |= part
    ys, xs = np.nonzero(total)
    y0, y1, x0, x1 = y0 + int(ys.min()), y0 + int(ys.max()) + 1, x0 + int(xs.min()), x0 + int(xs.max()) + 1
    return PixelMask(y0, y1, x0, x1, total[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy())


def region_spectrum(image: FitsImage, pixels: PixelMask, stat: str = "mean") -> np.ndarray:
    """Sum (``nansum``) or mean (``nanmean``) of each plane over the region's pixels, read
    window by window in chunks of planes (bounded memory). A plane with no finite value is NaN."""
    require_cube(image)
    if stat not in ("sum", "mean"):
        raise InvalidParameter("stat must be sum or mean")
    window = (pixels.y1 - pixels.y0) * (pixels.x1 - pixels.x0)
    if window * image.planes > REGION_VALUES_MAX:
        raise InvalidParameter(
            f"the region spans {window:,} pixels x {image.planes} planes: more than {REGION_VALUES_MAX:,} values"
        )
    out = np.full(image.planes, np.nan, dtype=np.float64)
    step = max(1, _CHUNK_VALUES // max(1, window))
    rows, cols = slice(pixels.y0, pixels.y1), slice(pixels.x0, pixels.x1)
    for first in range(0, image.planes, step):
        last = min(image.planes, first + step)
        block = image.read_index(_column_index(image, rows, cols, slice(first, last)))
        block = block.reshape(last - first, pixels.y1 - pixels.y0, pixels.x1 - pixels.x0)
        values = np.where(pixels.mask, block, np.nan)
        finite = np.isfinite(values).any(axis=(1, 2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            reduced = np.nansum(values, axis=(1, 2)) if stat == "sum" else np.nanmean(values, axis=(1, 2))
        out[first:last] = np.where(finite, reduced, np.nan)
    return out
