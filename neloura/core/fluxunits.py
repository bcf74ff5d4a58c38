"""Conversion of a sum of pixel values to a flux density in µJy, from what the header says.

Handled, in this order (the first that applies wins):

- BUNIT a surface brightness (``MJy/sr``, ``Jy/sr``, ``Jy/arcsec2``...): times the pixel solid angle.
- BUNIT a flux density per pixel (``Jy``, ``Jy/pixel``, ``mJy``, ``erg/s/cm2/Hz``...): summed.
- BUNIT ``Jy/beam``: times pixel solid angle / beam solid angle, the beam from BMAJ/BMIN (deg)
  (Gaussian: pi BMAJ BMIN / (4 ln 2)).
- Count rates (``e/s``, ``electrons/s``, ``counts/s``, ``DN/s``, ``cps``) with PHOTFNU (Jy s / e,
  HST), PHOTFLAM + PHOTPLAM (erg/cm2/Å per e/s at the pivot Å, HST), PHOTMJSR (MJy/sr per DN/s,
  JWST), or an AB zero point (MAGZP, MAGZPT, MAGZERO, ZP_AB, ABMAGZP: the AB magnitude of one
  unit per second). Counts (``e``, ``counts``, ``DN``) are divided by EXPTIME first.
- Anything else (no BUNIT, an unknown unit, counts without a calibration): the flux stays in
  image units (a plain sum of pixel values), and :attr:`FluxConversion.note` says so.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import astropy.units as u

C_ANGSTROM_PER_S = 2.99792458e18
_RATE = re.compile(r"^(e|e-|electron|electrons|count|counts|cnt|cts|dn|adu)(/s|/sec|s-1|/second|ps)$|^cps$")
_COUNTS = re.compile(r"^(e|e-|electron|electrons|count|counts|cnt|cts|dn|adu)$")
_ZP_KEYS = ("MAGZP", "MAGZPT", "MAGZERO", "ZP_AB", "ABMAGZP", "ZPAB")


@dataclass(frozen=True)
class FluxConversion:
    """``factor`` x (sum of pixel values) = flux in ``unit`` (``uJy`` when calibrated)."""

    factor: float
    unit: str
    calibrated: bool
    note: str


def _number(header: Mapping[str, Any], key: str) -> float | None:
    try:
        value = float(header[key])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value != 0 else None


def _parse(text: str) -> u.UnitBase | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            unit = u.Unit(text.replace("pixel", "pix"), parse_strict="silent")
        except (ValueError, TypeError):
            return None
    return None if isinstance(unit, u.UnrecognizedUnit) else unit


def _from_unit(unit: u.UnitBase, header: Mapping[str, Any], pixel_area_sr: float | None) -> FluxConversion | None:
    if (unit * u.sr).is_equivalent(u.uJy):
        if not pixel_area_sr:
            return None
        return FluxConversion(float((unit * u.sr).to(u.uJy)) * pixel_area_sr, "uJy", True, "")
    for candidate in (unit, unit * u.pix):
        if candidate.is_equivalent(u.uJy):
            return FluxConversion(float(candidate.to(u.uJy)), "uJy", True, "")
    if (unit * u.beam).is_equivalent(u.uJy):
        bmaj, bmin = _number(header, "BMAJ"), _number(header, "BMIN")
        if bmaj is None or bmin is None or not pixel_area_sr:
            return None
        beam_sr = math.pi * math.radians(bmaj) * math.radians(bmin) / (4.0 * math.log(2.0))
        return FluxConversion(float((unit * u.beam).to(u.uJy)) * pixel_area_sr / beam_sr, "uJy", True, "")
    return None


def _from_rate(header: Mapping[str, Any], per_second: float, pixel_area_sr: float | None) -> FluxConversion | None:
    """Calibration keywords for values that are ``per_second`` x a count rate."""
    photfnu = _number(header, "PHOTFNU")
    if photfnu is not None:
        return FluxConversion(per_second * photfnu * 1e6, "uJy", True, "PHOTFNU")
    photflam, photplam = _number(header, "PHOTFLAM"), _number(header, "PHOTPLAM")
    if photflam is not None and photplam is not None:
        jy = photflam * photplam**2 / C_ANGSTROM_PER_S * 1e23
        return FluxConversion(per_second * jy * 1e6, "uJy", True, "PHOTFLAM/PHOTPLAM")
    photmjsr = _number(header, "PHOTMJSR")
    if photmjsr is not None and pixel_area_sr:
        return FluxConversion(per_second * photmjsr * 1e12 * pixel_area_sr, "uJy", True, "PHOTMJSR")
    for key in _ZP_KEYS:
        zp = _number(header, key)
        if zp is not None:
            return FluxConversion(per_second * 10 ** (-0.4 * (zp - 23.9)), "uJy", True, f"AB zero point {key}")
    return None


def conversion(header: Mapping[str, Any], pixel_area_sr: float | None) -> FluxConversion:
    """How to turn a sum of this image's pixel values into µJy (see the module docstring)."""
    text = str(header.get("BUNIT", "") or "").strip()
    if not text:
        return FluxConversion(1.0, "image units", False, "no BUNIT in the header: fluxes are in image units")
    compact = re.sub(r"\s+", "", text).lower().replace("^-1", "-1").replace("sec", "s")
    if _RATE.match(compact):
        found = _from_rate(header, 1.0, pixel_area_sr)
        if found is not None:
            return FluxConversion(found.factor, "uJy", True, f"{text} calibrated by {found.note}")
        return FluxConversion(1.0, text, False, f"{text} without PHOTFNU, PHOTFLAM or a zero point: fluxes in {text}")
    if _COUNTS.match(compact):
        exptime = _number(header, "EXPTIME")
        found = _from_rate(header, 1.0 / exptime, pixel_area_sr) if exptime else None
        if found is not None:
            return FluxConversion(found.factor, "uJy", True, f"{text} / EXPTIME calibrated by {found.note}")
        return FluxConversion(1.0, text, False, f"{text} without EXPTIME and a calibration: fluxes in {text}")
    unit = _parse(text)
    if unit is not None:
        found = _from_unit(unit, header, pixel_area_sr)
        if found is not None:
            return FluxConversion(found.factor, "uJy", True, f"from BUNIT {text}")
        if (unit * u.beam).is_equivalent(u.uJy):
            return FluxConversion(1.0, text, False, f"{text} without BMAJ/BMIN: fluxes in {text}")
    return FluxConversion(1.0, text, False, f"BUNIT {text!r} is not a flux density: fluxes in {text}")
