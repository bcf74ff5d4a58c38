"""Bounds on the WCS keywords of a header, checked before astropy builds anything from them.

astropy/wcslib trust the header: ``A_ORDER = 9999`` makes the SIP reader loop over
``order**2`` keywords and allocate ``order**2`` coefficients (minutes of CPU for a 6 KB file),
``NAXIS = 999`` builds a 999-axis WCS, a lookup-table distortion or a ``-TAB`` axis names an
extension of any size. :func:`validate_wcs_keywords` reads only keyword values (cost linear
in the number of cards) and raises :class:`InvalidWcs` (HTTP 422, naming the keyword and the
bound) above bounds that no real instrument comes near. The bounds are module constants:

=====================  =======  ======================================================
bound                  value    why
=====================  =======  ======================================================
``MAX_AXES``           32       NAXIS / WCSAXES (FITS allows 999; real data use <= 6)
``MAX_AXIS_LENGTH``    2**31-1  each NAXISn (and ZNAXISn) is a 32-bit length
``MAX_SIP_ORDER``      20       A/B/AP/BP_ORDER (HST, Spitzer, JWST use <= 9)
``MAX_PV_INDEX``       99       PVi_m: wcslib's own ceiling on m (TPV uses <= 39)
``MAX_PV_CARDS``       2000     all PVi_m(a) cards of every alternate together
``MAX_LOOKUP_VALUES``  2**24    values of a referenced lookup-table / -TAB extension
=====================  =======  ======================================================
"""

from __future__ import annotations

import re
from typing import Any

from neloura.errors import InvalidParameter

MAX_AXES = 32
MAX_AXIS_LENGTH = 2**31 - 1
MAX_SIP_ORDER = 20
MAX_PV_INDEX = 99
MAX_PV_CARDS = 2000
MAX_LOOKUP_VALUES = 2**24

_SIP_ORDERS = ("A_ORDER", "B_ORDER", "AP_ORDER", "BP_ORDER")
_PV = re.compile(r"^PV(\d{1,3})_(\d{1,4})([A-Z]?)$")
_PS0 = re.compile(r"^PS(\d{1,3})_0([A-Z]?)$")


class InvalidWcs(InvalidParameter):
    """A WCS keyword is outside the bounds above (the WCS is refused, HTTP 422)."""


def _integer(header: Any, key: str, low: int, high: int, what: str) -> int | None:
    if key not in header:
        return None
    value = header[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InvalidWcs(f"{key} = {value!r} is not an integer")
    number = int(value)
    if not low <= number <= high:
        raise InvalidWcs(f"{key} = {number} is outside {low}..{high} ({what})")
    return number


def validate_wcs_keywords(header: Any, fobj: Any = None) -> None:
    """Raise :class:`InvalidWcs` when a WCS keyword of ``header`` is out of bounds.

    ``header`` is an :class:`astropy.io.fits.Header` (any mapping of keyword -> value with
    ``.keys()`` works); ``fobj``, the open HDU list, lets the sizes of referenced lookup-table
    (``WCSDVARR``, ``D2IMARR``) and ``-TAB`` extensions be checked without reading their data.
    """
    for prefix in ("NAXIS", "ZNAXIS", "WCSAXES"):
        axes = _integer(header, prefix, 0, MAX_AXES, f"at most {MAX_AXES} axes")
        if prefix != "WCSAXES" and axes:
            for i in range(1, axes + 1):
                _integer(header, f"{prefix}{i}", 0, MAX_AXIS_LENGTH, "an axis length")
    for key in _SIP_ORDERS:
        _integer(header, key, 0, MAX_SIP_ORDER, f"SIP polynomial orders above {MAX_SIP_ORDER} are refused")
    pv_cards = 0
    tables: set[str] = set()
    for raw in header.keys():
        key = str(raw).upper()
        match = _PV.match(key)
        if match:
            pv_cards += 1
            axis, index = int(match.group(1)), int(match.group(2))
            if axis > MAX_AXES or index > MAX_PV_INDEX:
                raise InvalidWcs(f"{key}: PV keywords go up to PV{MAX_AXES}_{MAX_PV_INDEX}")
        elif _PS0.match(key):  # -TAB: PSi_0 names the table extension
            tables.add(str(header[raw]).strip().upper())
    if pv_cards > MAX_PV_CARDS:
        raise InvalidWcs(f"{pv_cards} PV keywords (more than {MAX_PV_CARDS})")
    if fobj is not None and (tables or _has_lookup(header)):
        _check_lookup_sizes(fobj, tables | {"WCSDVARR", "D2IMARR"})


def _has_lookup(header: Any) -> bool:
    return any(str(k).upper().startswith(("CPDIS", "CQDIS", "D2IMDIS", "D2IMEXT")) for k in header.keys())


def _check_lookup_sizes(fobj: Any, names: set[str]) -> None:
    """Sizes from the extension headers only (NAXISn, PCOUNT): no lookup data is read."""
    for hdu in fobj:
        header = hdu.header
        if str(header.get("EXTNAME", "")).strip().upper() not in names:
            continue
        values = 1
        for i in range(1, min(int(header.get("NAXIS", 0) or 0), MAX_AXES) + 1):
            values *= max(0, int(header.get(f"NAXIS{i}", 0) or 0))
        values += max(0, int(header.get("PCOUNT", 0) or 0))
        if values > MAX_LOOKUP_VALUES:
            name = str(header.get("EXTNAME", "")).strip()
            raise InvalidWcs(f"the {name} lookup table holds {values} values (more than {MAX_LOOKUP_VALUES})")
