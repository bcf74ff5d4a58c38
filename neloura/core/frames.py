"""Celestial reference frames: the sky frame of an image WCS, and moves between frames.

Images may carry their sky positions in ICRS, FK5, FK4, Galactic, supergalactic or ecliptic
coordinates; users may type positions in any of those (``INPUT_FRAMES``). Conversions go through
:class:`astropy.coordinates.SkyCoord`, never a hand-written rotation. Longitudes and latitudes
are in degrees.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from astropy import units as u
from astropy.coordinates import (
    FK4,
    FK5,
    ICRS,
    BarycentricMeanEcliptic,
    BaseCoordinateFrame,
    Galactic,
    SkyCoord,
    Supergalactic,
)
from astropy.time import Time
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS
from astropy.wcs.utils import wcs_to_celestial_frame

from neloura.errors import InvalidParameter

INPUT_FRAMES: dict[str, type[BaseCoordinateFrame]] = {
    "icrs": ICRS,
    "fk5": FK5,
    "fk4": FK4,
    "galactic": Galactic,
    "supergalactic": Supergalactic,
    "ecliptic": BarycentricMeanEcliptic,
}


def celestial_frame(wcs: WCS) -> BaseCoordinateFrame | None:
    """The sky frame of a celestial WCS; None for planetary or unknown frames.

    astropy's ``wcs_to_celestial_frame`` reports ecliptic (ELON/ELAT) images as ICRS, because
    wcslib fills RADESYS in for them; ecliptic longitudes are not ICRS right ascensions, so they
    get the barycentric mean ecliptic of EQUINOX (J2000 by default: a pure rotation of ICRS).
    """
    xcoord = str(wcs.wcs.ctype[wcs.wcs.lng])[:4].upper()
    try:
        if xcoord == "ELON":
            equinox = float(wcs.wcs.equinox) if math.isfinite(wcs.wcs.equinox) else 2000.0
            return BarycentricMeanEcliptic(equinox=Time(equinox, format="jyear"))
        if xcoord == "SLON":
            return Supergalactic()
        if xcoord == "HLON":
            return None  # helioecliptic: depends on the observation time, not a fixed sky frame
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            frame: BaseCoordinateFrame = wcs_to_celestial_frame(wcs)
            return frame
    except Exception:  # noqa: BLE001 - planetary or unknown frames: no sky position
        return None


def frame_name(frame: BaseCoordinateFrame | None) -> str:
    """astropy's name of a frame (icrs, fk5, galactic...), "" for None."""
    return "" if frame is None else str(frame.name)


def input_frame(name: str) -> BaseCoordinateFrame | None:
    """The frame a user named (case and spaces ignored); None for "native" (the image's own).

    Raises :class:`InvalidParameter` for a name outside ``INPUT_FRAMES`` and "native".
    """
    key = name.strip().lower()
    if key == "native":
        return None
    if key not in INPUT_FRAMES:
        raise InvalidParameter(f"unknown frame {name!r}; use one of {', '.join([*INPUT_FRAMES, 'native'])}")
    return INPUT_FRAMES[key]()


def transform_lonlat(
    lon_deg: np.ndarray, lat_deg: np.ndarray, source: BaseCoordinateFrame, target: BaseCoordinateFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) degrees in ``source`` -> (lon, lat) degrees in ``target``.

    ICRS to ICRS returns the inputs untouched; longitudes are not wrapped here.
    """
    if type(source) is type(target) is ICRS:
        return lon_deg, lat_deg
    coord = SkyCoord(lon_deg * u.deg, lat_deg * u.deg, frame=source).transform_to(target)
    sph = coord.spherical
    return np.asarray(sph.lon.to_value(u.deg)), np.asarray(sph.lat.to_value(u.deg))
