"""Which header cards a WCS is built from, and which pixel axis a cube's planes step along.

Pixel axes are 0-based FITS axes (axis 0 is FITS axis 1). Used by :mod:`neloura.core.wcs` and
:mod:`neloura.core.fitsio`.
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS

_LONG_HEADER_CARDS = 1000
_WCS_KEY_PREFIXES = (
    # structure, celestial and spectral WCS (all alternates A-Z share these prefixes)
    *("SIMPLE", "BITPIX", "NAXIS", "XTENSION", "EXTEND", "ZNAXIS", "ZIMAGE", "WCS", "CTYPE", "CUNIT"),
    *("CRVAL", "CRPIX", "CDELT", "CROTA", "CRDER", "CSYER", "CNAME", "PC", "CD", "PV", "PS"),
    *("LONPOLE", "LATPOLE", "RADESYS", "RADECSYS", "EQUINOX", "EPOCH", "SPECSYS", "SSYS", "RESTFR"),
    *("RESTWAV", "VELOSYS", "VELANG", "VELREF", "ZSOURCE", "OBSGEO", "OBSORBIT"),
    # SIP and lookup-table distortions
    *("A_", "B_", "AP_", "BP_", "CPDIS", "CQDIS", "DP", "DQ", "D2IM", "CPERR", "CQERR"),
    # time axes and reference epochs
    *("MJD", "DATE", "TIME", "TSTART", "TSTOP", "TREF", "PLEPHEM", "JEPOCH", "BEPOCH", "XPOSURE"),
    *("TELAPSE", "TIMSYER", "TIMRDER", "CZPHS", "CPERI"),
)


def without_commentary(header: fits.Header) -> fits.Header:
    """A long header reduced to the cards a WCS can use.

    astropy's WCS parsing of a 100,000-card header takes seconds, and such headers are mostly
    processing history and instrument keywords. Past ``_LONG_HEADER_CARDS`` cards, only keywords
    starting like a WCS, SIP, distortion, time or spectral-reference keyword are kept (a broad
    list: keeping a few extra cards is harmless, dropping a needed one is not). Short headers are
    passed through untouched.
    """
    if len(header) <= _LONG_HEADER_CARDS:
        return header
    return fits.Header([card for card in header.cards if str(card.keyword).upper().startswith(_WCS_KEY_PREFIXES)])


def header_naxes(header: fits.Header) -> list[int]:
    """NAXISn values in FITS order (axis 1 first); ``ZNAXISn`` for compressed headers."""
    prefix = "ZNAXIS" if "ZNAXIS" in header and header.get("ZIMAGE", False) else "NAXIS"
    naxis = int(header.get(prefix, 0) or 0)
    return [int(header.get(f"{prefix}{i}", 0) or 0) for i in range(1, naxis + 1)]


def plane_pixel_axis(header: fits.Header, wcs: WCS | None = None) -> int | None:
    """0-based FITS pixel axis that image planes step along, or None for a 2-D image.

    The spectral axis when there is one (FREQ, VRAD, WAVE...), otherwise the first
    non-degenerate extra axis, otherwise axis 2 (0-based, i.e. FITS axis 3).
    """
    naxes = header_naxes(header)
    if len(naxes) <= 2:
        return None
    if wcs is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AstropyWarning)
                wcs = WCS(without_commentary(header), relax=True)
        except Exception:  # noqa: BLE001 - a malformed WCS only means we fall back to axis order
            wcs = None
    if wcs is not None:
        spec = int(wcs.wcs.spec)
        if spec >= 0:
            pix = pixel_axis_of_world(wcs, spec)
            if pix is not None and 2 <= pix < len(naxes):
                return pix
    for axis in range(2, len(naxes)):
        if naxes[axis] > 1:
            return axis
    return 2


def pixel_axis_of_world(wcs: WCS, world_axis: int) -> int | None:
    """The pixel axis that a world axis mostly follows (diagonal of the PC matrix first)."""
    matrix = np.asarray(wcs.axis_correlation_matrix, dtype=bool)
    linked = np.flatnonzero(matrix[world_axis])
    if len(linked) == 0:
        return None
    if world_axis in linked:
        return world_axis
    return int(linked[0])
