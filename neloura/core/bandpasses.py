"""Filter pivot wavelengths, and a filter named by an image's header keywords (never its file name).

Used to order RGB channels by wavelength (longest red). Values are pivot wavelengths in microns,
rounded to 4 significant digits, from:

* HST WFC3 UVIS and IR: WFC3 Instrument Handbook, tables 6.2 and 7.2 ("pivot lambda").
* HST ACS/WFC: ACS Instrument Handbook, table 5.1 ("pivot lambda").
* JWST NIRCam: JWST User Documentation (JDox), "NIRCam Filters", table 1 ("pivot lambda_p").
* JWST MIRI: JDox, "MIRI Filters and Dispersers", table 1 (imager "lambda_0"/pivot).
* Ground and survey filters: the SVO Filter Profile Service (Rodrigo & Solano 2020) "lambda_pivot"
  of SDSS ugriz, 2MASS JHKs, Pan-STARRS1 grizy, Spitzer IRAC, WISE; Johnson-Cousins UBVRI from
  Bessell, Castelli & Plez (1998, A&A 333, 231), table A2 (effective wavelengths).

An image's own pivot keyword (HST ``PHOTPLAM``, in Angstrom) wins over the table; failing both,
HST/JWST-style names (``F814W``, ``F444W``, ``F2100W``) give their nominal wavelength.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_WFC3_UVIS = {
    "F225W": 0.2372, "F275W": 0.2710, "F336W": 0.3355, "F390W": 0.3924, "F438W": 0.4326, "F475W": 0.4773,
    "F555W": 0.5308, "F606W": 0.5889, "F625W": 0.6243, "F775W": 0.7651, "F814W": 0.8039, "F850LP": 0.9176,
    "F502N": 0.5010, "F656N": 0.6561, "F657N": 0.6567, "F658N": 0.6584, "F673N": 0.6766,
}  # fmt: skip
_WFC3_IR = {
    "F098M": 0.9864, "F105W": 1.055, "F110W": 1.153, "F125W": 1.249, "F127M": 1.274, "F139M": 1.384,
    "F140W": 1.392, "F153M": 1.532, "F160W": 1.537,
}  # fmt: skip
_ACS_WFC = {
    "F435W": 0.4330, "F475W": 0.4747, "F502N": 0.5022, "F550M": 0.5581, "F555W": 0.5361, "F606W": 0.5922,
    "F625W": 0.6312, "F658N": 0.6584, "F660N": 0.6599, "F775W": 0.7692, "F814W": 0.8046, "F850LP": 0.9031,
}  # fmt: skip
_NIRCAM = {
    "F070W": 0.7040, "F090W": 0.9020, "F115W": 1.154, "F140M": 1.404, "F150W": 1.501, "F162M": 1.626,
    "F164N": 1.644, "F150W2": 1.671, "F182M": 1.845, "F187N": 1.874, "F200W": 1.990, "F210M": 2.093,
    "F212N": 2.120, "F250M": 2.503, "F277W": 2.786, "F300M": 2.996, "F322W2": 3.247, "F323N": 3.237,
    "F335M": 3.365, "F356W": 3.563, "F360M": 3.621, "F405N": 4.055, "F410M": 4.092, "F430M": 4.280,
    "F444W": 4.421, "F460M": 4.624, "F466N": 4.654, "F470N": 4.707, "F480M": 4.834,
}  # fmt: skip
_MIRI = {
    "F560W": 5.635, "F770W": 7.639, "F1000W": 9.953, "F1130W": 11.31, "F1280W": 12.81, "F1500W": 15.06,
    "F1800W": 17.98, "F2100W": 20.80, "F2550W": 25.36,
}  # fmt: skip
_GROUND = {
    "U": 0.3600, "B": 0.4380, "V": 0.5450, "R": 0.6410, "I": 0.7980,
    "u": 0.3557, "g": 0.4702, "r": 0.6175, "i": 0.7491, "z": 0.8946,
    "J": 1.239, "H": 1.650, "KS": 2.164, "K": 2.164,
}  # fmt: skip
_PANSTARRS = {"g": 0.4849, "r": 0.6201, "i": 0.7535, "z": 0.8674, "y": 0.9628}
_IRAC = {"IRAC1": 3.551, "IRAC2": 4.496, "IRAC3": 5.724, "IRAC4": 7.884, "CH1": 3.551, "CH2": 4.496}
_WISE = {"W1": 3.353, "W2": 4.603, "W3": 11.56, "W4": 22.09}

# (telescope, instrument) -> table; None matches any value of that keyword
PIVOTS_UM: dict[tuple[str | None, str | None], dict[str, float]] = {
    ("HST", "WFC3"): {**_WFC3_UVIS, **_WFC3_IR},
    ("HST", "ACS"): _ACS_WFC,
    ("JWST", "NIRCAM"): _NIRCAM,
    ("JWST", "MIRI"): _MIRI,
    ("PS1", None): _PANSTARRS,
    ("SPITZER", "IRAC"): _IRAC,
    ("WISE", None): _WISE,
    (None, None): _GROUND,
}

_HST_JWST_NAME = re.compile(r"^F(\d{3,4})(W2|W|M|N|LP|X)$")
_NOT_A_FILTER = re.compile(r"^(CLEAR|OPEN|N/A|NONE|BLOCK|GRISM|GR|PRISM|WLP|WLM|FLAT|MASK)", re.I)


@dataclass(frozen=True)
class Bandpass:
    """What an image's header says about its band: ``pivot_um`` None when unknown."""

    telescope: str
    instrument: str
    filter: str
    pivot_um: float | None
    source: str  # "header" (PHOTPLAM), "table", "name" (nominal from the filter name) or ""

    def public(self) -> dict[str, Any]:
        return {
            "telescope": self.telescope,
            "instrument": self.instrument,
            "filter": self.filter,
            "pivot_um": self.pivot_um,
            "pivot_source": self.source,
        }


def _text(headers: Iterable[Mapping[str, Any]], key: str) -> str:
    for header in headers:
        value = header.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def _telescope(text: str) -> str:
    t = text.upper().replace(" ", "")
    for known in ("JWST", "HST", "SPITZER", "WISE"):
        if known in t:
            return known
    return "PS1" if t.startswith("PS1") or "PAN-STARRS" in t else t


def filter_name(headers: Iterable[Mapping[str, Any]]) -> str:
    """The filter of an image from FILTER/PUPIL/FILTER1/FILTER2/FILTNAM1/BAND (first header wins per key).

    NIRCam narrow and medium bands sit in the pupil wheel (``PUPIL=F405N`` behind ``FILTER=F444W``):
    a filter-like PUPIL is the band. ACS names two wheels; the one not ``CLEAR*`` is the band.
    """
    headers = list(headers)
    pupil = _text(headers, "PUPIL").upper()
    if _HST_JWST_NAME.match(pupil):
        return pupil
    for key in ("FILTER", "FILTER1", "FILTER2", "FILTNAM1", "BAND"):
        value = _text(headers, key)
        if value and not _NOT_A_FILTER.match(value):
            return value
    return ""


def bandpass(headers: Iterable[Mapping[str, Any]]) -> Bandpass:
    """The band of an image from its headers (e.g. ``[extension header, primary header]``)."""
    headers = list(headers)
    telescope = _telescope(_text(headers, "TELESCOP"))
    instrument = _text(headers, "INSTRUME").upper().replace(" ", "")
    name = filter_name(headers)
    photplam = _text(headers, "PHOTPLAM")
    try:
        if photplam and float(photplam) > 0:
            return Bandpass(telescope, instrument, name, round(float(photplam) / 1e4, 5), "header")
    except ValueError:
        pass
    pivot = pivot_um(name, telescope, instrument)
    if pivot is not None:
        return Bandpass(telescope, instrument, name, pivot, "table")
    nominal = nominal_um(name, telescope)
    return Bandpass(telescope, instrument, name, nominal, "name" if nominal is not None else "")


def pivot_um(name: str, telescope: str = "", instrument: str = "") -> float | None:
    """Pivot wavelength (microns) of a filter from the tables, None when not listed."""
    if not name:
        return None
    for (tel, inst), table in PIVOTS_UM.items():
        if (tel is None or tel == telescope) and (inst is None or inst == instrument):
            for candidate in (name, name.upper()):
                if candidate in table:
                    return table[candidate]
    return None


def nominal_um(name: str, telescope: str = "") -> float | None:
    """HST/JWST naming: ``F814W`` is 814 nm on HST, ``F444W`` 4.44 µm and ``F2100W`` 21 µm on JWST."""
    match = _HST_JWST_NAME.match(name.upper())
    if match is None:
        return None
    number = int(match.group(1))
    return number / 100.0 if telescope == "JWST" else number / 1000.0


def preset_colors(n: int) -> list[str]:
    """Default hex colours of ``n`` channels ordered longest wavelength first: red ... blue
    (2 channels: red and cyan, so that equal channels add to white)."""
    if n <= 0:
        return []
    if n == 1:
        return ["#ffffff"]
    if n == 2:
        return ["#ff0000", "#00ffff"]
    return [_hue_hex(240.0 * i / (n - 1)) for i in range(n)]


def _hue_hex(hue_deg: float) -> str:
    """Fully saturated colour of a hue (0 red, 120 green, 240 blue)."""
    h = (hue_deg % 360.0) / 60.0
    x = 1.0 - abs(h % 2.0 - 1.0)
    rgb = [(1, x, 0), (x, 1, 0), (0, 1, x), (0, x, 1), (x, 0, 1), (1, 0, x)][int(h) % 6]
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def order_by_wavelength(bands: list[Bandpass]) -> list[int]:
    """Indices of ``bands`` from the longest pivot to the shortest; unknown pivots keep their
    relative order after the known ones."""
    known = [i for i, b in enumerate(bands) if b.pivot_um is not None]
    unknown = [i for i, b in enumerate(bands) if b.pivot_um is None]
    known.sort(key=lambda i: -float(bands[i].pivot_um or 0.0))
    return known + unknown
