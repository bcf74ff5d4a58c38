"""World coordinates of image pixels, always through astropy's full WCS.

Every conversion goes through :meth:`astropy.wcs.WCS.all_pix2world` /
:meth:`~astropy.wcs.WCS.all_world2pix` on the *full* WCS of the HDU (all projections, SIP,
lookup-table and other distortions, TPV...), never a linear approximation. Cubes keep their
extra axes: the image plane's pixel coordinate is passed for the plane axis, 0 for the others
(degenerate STOKES...), so celestial axes that depend on the spectral axis stay exact.

Sky positions are reported in ICRS degrees whatever the image's own frame (FK5, FK4, Galactic,
ecliptic): the native values are transformed by :mod:`neloura.core.frames` (SkyCoord).

Pixel convention: 0-based pixel indices, ``x`` along FITS axis 1 and ``y`` along FITS axis 2
(``data[y, x]``); ``plane`` indexes the plane axis (see :func:`plane_pixel_axis`).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import ICRS, BaseCoordinateFrame
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_area, proj_plane_pixel_scales

from neloura.core.frames import celestial_frame, frame_name, input_frame, transform_lonlat
from neloura.core.wcs_header import header_naxes, pixel_axis_of_world, plane_pixel_axis, without_commentary
from neloura.core.wcs_limits import validate_wcs_keywords
from neloura.errors import InvalidParameter

ArrayLike = float | Sequence[float] | np.ndarray

_SPECTRAL_KINDS = {
    "FREQ": "frequency",
    "ENER": "energy",
    "WAVN": "wavenumber",
    "VRAD": "velocity",
    "VOPT": "velocity",
    "VELO": "velocity",
    "VELF": "velocity",
    "ZOPT": "redshift",
    "BETA": "velocity",
    "WAVE": "wavelength",
    "AWAV": "wavelength",
}


class NoCelestialWcs(InvalidParameter):
    """The image has no celestial WCS, so sky positions cannot be computed."""


def _as_array(values: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"{name} must be numbers") from exc
    if arr.ndim != 1:
        arr = arr.ravel()
    return arr


class ImageWcs:
    """The WCS of one image HDU. Build it with :meth:`from_header`.

    ``has_celestial`` is False when the header holds no usable celestial WCS (or one whose
    frame astropy cannot place on the sky); sky conversions then raise :class:`NoCelestialWcs`.
    """

    def __init__(self, wcs: WCS | None, header: fits.Header, plane_axis: int | None) -> None:
        self.wcs = wcs
        self.header = header
        self.plane_axis = plane_axis
        # wcslib keeps per-call state in its structures: one conversion at a time per WCS.
        self._lock = threading.Lock()
        self.frame: BaseCoordinateFrame | None = None
        self._lng = self._lat = -1
        if wcs is not None and wcs.has_celestial:
            lng, lat = int(wcs.wcs.lng), int(wcs.wcs.lat)
            if pixel_axis_of_world(wcs, lng) in (0, 1) and pixel_axis_of_world(wcs, lat) in (0, 1):
                self.frame = celestial_frame(wcs)
                if self.frame is not None:
                    self._lng, self._lat = lng, lat
        self.has_celestial = self.frame is not None
        naxes = header_naxes(header)
        self._sized = len(naxes) >= 2 and naxes[0] > 0 and naxes[1] > 0
        self._naxes = naxes + [1] * max(0, (wcs.naxis if wcs is not None else 0) - len(naxes))

    @property
    def frame_name(self) -> str | None:
        """The image's own celestial frame (icrs, fk5, galactic...), None without one."""
        return None if self.frame is None else frame_name(self.frame)

    @classmethod
    def from_header(
        cls, header: fits.Header, *, plane_axis: int | None = None, fobj: fits.HDUList | None = None
    ) -> ImageWcs:
        """Read the full WCS of an image header (never raises for a missing or broken WCS).

        Hostile keywords (SIP orders, axis counts, PV or lookup-table sizes beyond the bounds of
        :mod:`neloura.core.wcs_limits`) raise :class:`~neloura.core.wcs_limits.InvalidWcs`
        (422) before astropy builds anything. ``plane_axis`` (0-based FITS pixel axis)
        overrides :func:`plane_pixel_axis`. ``fobj``,
        the open file, lets astropy read lookup-table distortions (HST ``D2IMARR``/``WCSDVARR``
        extensions); without it only the header's own distortions (SIP, TPV...) apply.
        """
        validate_wcs_keywords(header, fobj)
        wcs: WCS | None = None
        wcs_header = without_commentary(header)
        for source in (fobj, None) if fobj is not None else (None,):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", AstropyWarning)
                    wcs = WCS(wcs_header, fobj=source, relax=True)
                break
            except Exception:  # noqa: BLE001 - a malformed WCS (or lookup table) means "no WCS"
                wcs = None
        if plane_axis is None:
            plane_axis = plane_pixel_axis(header, wcs)
        return cls(wcs, header, plane_axis)

    # ------------------------------------------------------------------ pixel <-> world

    def _require_sky(self) -> WCS:
        if self.wcs is None or not self.has_celestial:
            raise NoCelestialWcs("this image has no celestial WCS")
        return self.wcs

    def _pixel_matrix(self, x_pix: np.ndarray, y_pix: np.ndarray, plane: int) -> np.ndarray:
        wcs = self._require_sky()
        pixels = np.zeros((len(x_pix), wcs.naxis), dtype=np.float64)
        pixels[:, 0] = x_pix
        if wcs.naxis > 1:
            pixels[:, 1] = y_pix
        if self.plane_axis is not None and self.plane_axis < wcs.naxis:
            pixels[:, self.plane_axis] = plane
        return pixels

    def pixel_to_native(self, x_pix: ArrayLike, y_pix: ArrayLike, plane: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """0-based pixels -> (lon_deg, lat_deg) in the image's own celestial frame."""
        x, y = np.broadcast_arrays(_as_array(x_pix, "x"), _as_array(y_pix, "y"))
        wcs = self._require_sky()
        if len(x) == 0:
            return np.empty(0), np.empty(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (AstropyWarning, RuntimeWarning))
            with self._lock:
                world = wcs.all_pix2world(self._pixel_matrix(x, y, plane), 0)
        return world[:, self._lng].copy(), world[:, self._lat].copy()

    def pixel_to_world(self, x_pix: ArrayLike, y_pix: ArrayLike, plane: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """0-based pixels -> ICRS (ra_deg, dec_deg), whatever the image's own frame."""
        lon, lat = self.pixel_to_native(x_pix, y_pix, plane)
        assert self.frame is not None
        ra, dec = transform_lonlat(lon, lat, self.frame, ICRS())
        return ra % 360.0, dec

    def world_to_pixel(
        self, ra_deg: ArrayLike, dec_deg: ArrayLike, plane: int = 0, frame: str = "icrs"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sky positions (degrees in ``frame``, ICRS by default) -> 0-based (x_pix, y_pix).

        Positions that do not project onto the image plane (the far side of a TAN
        projection...) come back as NaN.
        """
        wcs = self._require_sky()
        lon, lat = np.broadcast_arrays(_as_array(ra_deg, "ra"), _as_array(dec_deg, "dec"))
        if len(lon) == 0:
            return np.empty(0), np.empty(0)
        if np.any(np.abs(lat[np.isfinite(lat)]) > 90):
            raise InvalidParameter("latitude (dec) must be within -90..90 degrees")
        native_lon, native_lat = self._to_native(lon, lat, frame)
        # world values of the non-celestial axes (spectral...) at the image centre on this plane
        cx, cy = self._centre_pixel()
        reference = self._pixel_matrix(np.array([cx]), np.array([cy]), plane)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (AstropyWarning, RuntimeWarning))
            with self._lock:
                world = np.repeat(wcs.all_pix2world(reference, 0), len(lon), axis=0)
                world[:, self._lng] = native_lon
                world[:, self._lat] = native_lat
                pixels = wcs.all_world2pix(world, 0, quiet=True)
        return pixels[:, 0].copy(), pixels[:, 1].copy()

    def _to_native(self, lon: np.ndarray, lat: np.ndarray, frame: str) -> tuple[np.ndarray, np.ndarray]:
        assert self.frame is not None
        source = input_frame(frame)
        return (lon, lat) if source is None else transform_lonlat(lon, lat, source, self.frame)

    # ------------------------------------------------------------------ planes

    def spectral_value(self, plane: int) -> tuple[float, str, str] | None:
        """World value of a plane along the spectral axis: (value, unit, kind), or None.

        The unit is the header's own ``CUNITn`` when astropy understands it (e.g. km/s, GHz),
        otherwise the SI unit astropy normalises to; ``kind`` is frequency, velocity,
        wavelength, energy, wavenumber or redshift.
        """
        values = self.spectral_values(np.array([plane]))
        if values is None or not np.isfinite(values[0][0]):
            return None
        return float(values[0][0]), values[1], values[2]

    def spectral_values(self, planes: np.ndarray) -> tuple[np.ndarray, str, str] | None:
        """Vectorised :meth:`spectral_value`: (values, unit, kind) for many planes, or None
        when there is no spectral axis or it does not run along the plane axis (a long-slit
        spectrum along x, say: see :meth:`spectral_at`)."""
        if self.wcs is None or int(self.wcs.wcs.spec) < 0 or self.plane_axis is None:
            return None
        spec = int(self.wcs.wcs.spec)
        if pixel_axis_of_world(self.wcs, spec) != self.plane_axis:
            return None
        cx, cy = self._centre_pixel()
        return self._spectral(self._world_at(spec, cx, cy, planes))

    def spectral_at(self, x_pix: float, y_pix: float, plane: int = 0) -> tuple[float, str, str] | None:
        """Spectral world value at one 0-based pixel of one plane, whatever axis it runs along."""
        if self.wcs is None or int(self.wcs.wcs.spec) < 0:
            return None
        values, unit, kind = self._spectral(self._world_at(int(self.wcs.wcs.spec), x_pix, y_pix, np.array([plane])))
        return (float(values[0]), unit, kind) if np.isfinite(values[0]) else None

    def _spectral(self, values: np.ndarray) -> tuple[np.ndarray, str, str]:
        assert self.wcs is not None
        spec = int(self.wcs.wcs.spec)
        ctype = str(self.wcs.wcs.ctype[spec]).upper()
        kind = _SPECTRAL_KINDS.get(ctype[:4], "spectral")
        si_unit = str(self.wcs.wcs.cunit[spec] or "")
        header_unit = str(self.header.get(f"CUNIT{spec + 1}", "") or "").strip()
        return _in_header_unit(values, si_unit, header_unit, kind)

    def plane_values(self, planes: np.ndarray) -> tuple[np.ndarray, str, str] | None:
        """World values of planes: spectral when there is a spectral axis, else the plane
        axis' own world value (kind = its CTYPE in lower case, e.g. stokes with 1=I..4=V)."""
        spectral = self.spectral_values(planes)
        if spectral is not None or self.wcs is None or self.plane_axis is None:
            return spectral
        if self.plane_axis >= self.wcs.naxis or int(self.wcs.wcs.spec) == self.plane_axis:
            return None
        cx, cy = self._centre_pixel()
        values = self._world_at(self.plane_axis, cx, cy, planes)
        ctype = str(self.wcs.wcs.ctype[self.plane_axis]).strip() or f"AXIS{self.plane_axis + 1}"
        return values, str(self.wcs.wcs.cunit[self.plane_axis] or ""), ctype.split("-")[0].lower()

    def _centre_pixel(self) -> tuple[float, float]:
        """0-based centre of the image (NAXISn), or the reference pixel when NAXIS is absent."""
        assert self.wcs is not None
        if self._sized:
            return (self._naxes[0] - 1) / 2, (self._naxes[1] - 1) / 2
        crpix = self.wcs.wcs.crpix
        return float(crpix[0]) - 1, (float(crpix[1]) - 1 if self.wcs.naxis > 1 else 0.0)

    def _world_at(self, world_axis: int, x_pix: float, y_pix: float, planes: np.ndarray) -> np.ndarray:
        """World coordinate ``world_axis`` at pixel (x, y) of each plane (NaN if unusable)."""
        assert self.wcs is not None
        planes = np.atleast_1d(np.asarray(planes, dtype=np.float64))
        pixels = np.zeros((len(planes), self.wcs.naxis))
        pixels[:, 0] = x_pix
        if self.wcs.naxis > 1:
            pixels[:, 1] = y_pix
        if self.plane_axis is not None and self.plane_axis < self.wcs.naxis:
            pixels[:, self.plane_axis] = planes
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (AstropyWarning, RuntimeWarning))
                with self._lock:
                    world = self.wcs.all_pix2world(pixels, 0)
                return np.asarray(world[:, world_axis], dtype=np.float64)
        except Exception:  # noqa: BLE001 - an unusable spectral description means "no value"
            return np.full(len(planes), np.nan)

    # ------------------------------------------------------------------ scale and summary

    def pixel_scale_arcsec(self) -> float:
        """Geometric mean pixel scale of the celestial axes at the reference point, arcsec."""
        wcs = self._require_sky()
        scales = proj_plane_pixel_scales(wcs.celestial)
        return float(math.sqrt(abs(scales[0] * scales[1])) * 3600.0)

    def pixel_area_sr(self) -> float:
        """Solid angle of one pixel at the reference point, steradians."""
        wcs = self._require_sky()
        area_deg2 = float(proj_plane_pixel_area(wcs.celestial))
        return area_deg2 * (math.pi / 180.0) ** 2

    def summary(self) -> dict[str, Any]:
        """JSON-ready description: ctype, crval, frame, projection, distortions, scale, centre."""
        if self.wcs is None:
            return {"has_celestial": False, "naxis": 0, "ctype": [], "cunit": [], "crval": [], "crpix": []}
        w = self.wcs.wcs
        out: dict[str, Any] = {
            "has_celestial": self.has_celestial,
            "naxis": int(self.wcs.naxis),
            "ctype": [str(c) for c in w.ctype],
            "cunit": [str(c) for c in w.cunit],
            "crval": [_finite(v) for v in w.crval],
            "crpix": [_finite(v) for v in w.crpix],
            "has_sip": self.wcs.sip is not None,
            "has_distortion": any(
                d is not None for d in (self.wcs.cpdis1, self.wcs.cpdis2, self.wcs.det2im1, self.wcs.det2im2)
            ),
            "spectral_axis": int(w.spec) + 1 if int(w.spec) >= 0 else None,
            "plane_axis": None if self.plane_axis is None else self.plane_axis + 1,
        }
        if self.has_celestial:
            assert self.frame is not None
            ctype = str(w.ctype[self._lng])
            out["frame"] = frame_name(self.frame)
            equinox = getattr(self.frame, "equinox", None)
            out["equinox"] = _finite(equinox.jyear) if equinox is not None else None
            out["projection"] = ctype[5:8].strip("-") if len(ctype) > 5 else ""
            out["pixel_scale_arcsec"] = _finite(self.pixel_scale_arcsec())
            out["pixel_area_sr"] = _finite(self.pixel_area_sr())
            cx, cy = self._centre_pixel()
            ra, dec = self.pixel_to_world([cx], [cy])
            out["center_ra_deg"] = _finite(ra[0])
            out["center_dec_deg"] = _finite(dec[0])
        return out


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _in_header_unit(values: np.ndarray, si_unit: str, header_unit: str, kind: str) -> tuple[np.ndarray, str, str]:
    """Express SI spectral values in the unit the header used, when astropy can."""
    if header_unit and si_unit:
        try:
            unit = u.Unit(header_unit, format="fits")
            converted = (values * u.Unit(si_unit)).to_value(unit)
            return np.asarray(converted, dtype=np.float64), unit.to_string(), kind
        except (ValueError, u.UnitsError, TypeError):
            pass
    return values, si_unit, kind
