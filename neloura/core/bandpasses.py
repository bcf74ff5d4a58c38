"""Pivot wavelengths of common filters, looked up by (instrument, filter) or from a FITS header.

The pivot wavelength (Tokunaga & Vacca 2005, PASP 117, 421) is the wavelength at which a
band-averaged flux density converts exactly between f_nu and f_lambda; it depends on the filter
throughput times the detector response only, so one number per (instrument, filter) is right.

Sources of the numbers (pivot wavelengths, µm). Every value that a published throughput curve
can check is checked: ``tests/core/test_bandpasses_curves.py`` recomputes
λ_pivot = sqrt(∫T λ dλ / ∫T/λ dλ) from the curves shipped by ``astro-sedpy`` (pinned, test only)
and holds each instrument to the tolerance stated there.

- JWST NIRCam: computed from the post-flight system throughputs (filter + dichroic + optics + QE +
  OTE, mean of modules A and B; B. Hilbert, STScI, May 2024, as shipped by astro-sedpy 0.4.1,
  ``jwst_f*.par``), the curves behind the JWST User Documentation (JDox) "NIRCam Filters" page.
  The narrow bands (F164N F187N F212N F323N F405N F466N F470N) ship no curve there: their values
  are the JDox table's (pre-flight, 2015 throughputs), unchecked; the wide and medium bands moved
  by up to 0.4 % between the two releases (F444W, F480M: the detector QE at the red end), a narrow
  band's pivot is set by the filter itself and should move less.
  https://jwst-docs.stsci.edu/jwst-near-infrared-camera/nircam-instrumentation/nircam-filters
- JWST MIRI: JDox, "MIRI Filters and Dispersers", imaging filter table (λ0 = pivot); agrees with
  the MIRI PCE curves to 0.01 %.
  https://jwst-docs.stsci.edu/jwst-mid-infrared-instrument/miri-instrumentation/miri-filters-and-dispersers
- HST WFC3 UVIS and IR: WFC3 Instrument Handbook (Dressel et al., STScI), tables 6.2 and 7.2
  (pivot wavelength, "PHOTPLAM"), https://hst-docs.stsci.edu/wfc3ihb; the 14 filters with a curve
  agree to 0.15 % (the curves are UVIS chip 1's).
- HST ACS/WFC: ACS Instrument Handbook, table 5.1 and the ACS zero-point tables
  (Bohlin 2016, AJ 152, 60; "PHOTPLAM"), https://hst-docs.stsci.edu/acsihb; agree with the 2017
  curves to 0.2 %.
- SDSS ugriz: Doi et al. 2010, AJ 139, 1628 (2.5 m response functions, airmass 1.3), as tabulated by
  the SVO Filter Profile Service (Rodrigo & Solano 2020), http://svo2.cab.inta-csic.es/theory/fps/
- Johnson-Cousins UBVRI: Bessell & Murphy 2012, PASP 124, 140, table 3 (pivot λ); the older
  Bessell (1990) curves give pivots within 0.4 % (U is the farthest).
- 2MASS JHKs: Cohen, Wheaton & Megeath 2003, AJ 126, 1090, via the SVO Filter Profile Service.
  Cohen's relative spectral responses are per unit energy (his integrals weight them by λ), so the
  photon response is RSR·λ; so computed, the curves agree to 0.05 %.
- Pan-STARRS1 grizy: Tonry et al. 2012, ApJ 750, 99, via the SVO Filter Profile Service.
- WISE W1-W4: computed from the photon-counting relative system responses of Jarrett et al. 2011,
  ApJ 735, 112 (Wright et al. 2010, AJ 140, 1868, multiplied by λ). The isophotal wavelengths of
  Jarrett's table (3.353, 4.603, 11.561, 22.088 µm), which this table held before, are not pivots
  (W3: 4 % short).
- Spitzer IRAC: computed from the IRAC spectral response curves (IRSA, 2016 update); the IRAC
  Instrument Handbook's 3.550, 4.493, 5.731, 7.872 µm are the isophotal (nominal) wavelengths at
  which IRAC quotes flux densities for a ν F_ν = const spectrum (within 0.2 % of these).

A FILTER that is not in the table is never guessed: :func:`lookup` returns None and the caller
(the SED) asks for the wavelength. The RGB composites order their channels with :func:`bandpass`,
which reads the same table but may fall back to the header's own PHOTPLAM or to the nominal
wavelength in an HST/JWST name (``F814W``: 0.814 µm), good enough to sort colours.

Names are matched case-insensitively; HST names carry the detector (``WFC3/UVIS`` and
``WFC3/IR`` or ``ACS/WFC``) because the same filter name (F606W, F814W) has different pivots on
different cameras.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# instrument key -> {filter: pivot wavelength in µm}
_NIRCAM = {
    "F070W": 0.705, "F090W": 0.902, "F115W": 1.154, "F140M": 1.405, "F150W": 1.501, "F150W2": 1.672,
    "F162M": 1.627, "F164N": 1.644, "F182M": 1.845, "F187N": 1.874, "F200W": 1.988, "F210M": 2.096,
    "F212N": 2.120, "F250M": 2.503, "F277W": 2.776, "F300M": 2.996, "F322W2": 3.247, "F323N": 3.237,
    "F335M": 3.362, "F356W": 3.566, "F360M": 3.623, "F405N": 4.055, "F410M": 4.083, "F430M": 4.281,
    "F444W": 4.402, "F460M": 4.630, "F466N": 4.654, "F470N": 4.707, "F480M": 4.817,
}  # fmt: skip
_MIRI = {
    "F560W": 5.635, "F770W": 7.639, "F1000W": 9.953, "F1130W": 11.309, "F1280W": 12.810,
    "F1500W": 15.064, "F1800W": 17.984, "F2100W": 20.795, "F2550W": 25.365,
    "F1065C": 10.575, "F1140C": 11.303, "F1550C": 15.516, "F2300C": 22.644,
}  # fmt: skip
_WFC3_UVIS = {
    "F200LP": 0.4972, "F218W": 0.2228, "F225W": 0.2372, "F275W": 0.2710, "F300X": 0.2820,
    "F336W": 0.3355, "F343N": 0.3435, "F350LP": 0.5874, "F373N": 0.3730, "F390M": 0.3897,
    "F390W": 0.3924, "F395N": 0.3955, "F410M": 0.4109, "F438W": 0.4326, "F467M": 0.4683,
    "F469N": 0.4688, "F475W": 0.4773, "F475X": 0.4941, "F487N": 0.4871, "F502N": 0.5010,
    "F547M": 0.5447, "F555W": 0.5308, "F600LP": 0.7468, "F606W": 0.5889, "F621M": 0.6219,
    "F625W": 0.6242, "F631N": 0.6304, "F645N": 0.6453, "F656N": 0.6561, "F657N": 0.6567,
    "F658N": 0.6584, "F665N": 0.6656, "F673N": 0.6766, "F680N": 0.6877, "F689M": 0.6876,
    "F763M": 0.7612, "F775W": 0.7651, "F814W": 0.8039, "F845M": 0.8439, "F850LP": 0.9176,
    "F953N": 0.9530,
}  # fmt: skip
_WFC3_IR = {
    "F098M": 0.9864, "F105W": 1.0552, "F110W": 1.1534, "F125W": 1.2486, "F126N": 1.2585,
    "F127M": 1.2740, "F128N": 1.2832, "F130N": 1.3006, "F132N": 1.3188, "F139M": 1.3838,
    "F140W": 1.3923, "F153M": 1.5322, "F160W": 1.5369, "F164N": 1.6403, "F167N": 1.6642,
}  # fmt: skip
_ACS_WFC = {
    "F435W": 0.4329, "F475W": 0.4747, "F502N": 0.5023, "F550M": 0.5581, "F555W": 0.5361,
    "F606W": 0.5922, "F625W": 0.6312, "F658N": 0.6584, "F660N": 0.6599, "F775W": 0.7693,
    "F814W": 0.8045, "F850LP": 0.9033, "F892N": 0.8915,
}  # fmt: skip
_GROUND = {
    "SDSS": {"U": 0.3557, "G": 0.4702, "R": 0.6176, "I": 0.7490, "Z": 0.8947},
    "JOHNSON": {"U": 0.3597, "B": 0.4371, "V": 0.5478, "R": 0.6504, "I": 0.7999},
    "2MASS": {"J": 1.2393, "H": 1.6495, "KS": 2.1638},
    "PS1": {"G": 0.4849, "R": 0.6201, "I": 0.7535, "Z": 0.8674, "Y": 0.9628},
    "WISE": {"W1": 3.3682, "W2": 4.6179, "W3": 12.0719, "W4": 22.1944},
    "IRAC": {"I1": 3.5508, "I2": 4.4960, "I3": 5.7245, "I4": 7.8842},
}

TABLE: dict[str, dict[str, float]] = {
    "NIRCAM": _NIRCAM,
    "MIRI": _MIRI,
    "WFC3/UVIS": _WFC3_UVIS,
    "WFC3/IR": _WFC3_IR,
    "ACS/WFC": _ACS_WFC,
    **_GROUND,
}
CITATIONS: dict[str, str] = {
    "NIRCAM": "Post-flight NIRCam system throughputs (STScI, May 2024; JDox NIRCam Filters), narrow bands from JDox",
    "MIRI": "JWST User Documentation, MIRI Filters and Dispersers (pivot wavelengths)",
    "WFC3/UVIS": "WFC3 Instrument Handbook, table 6.2 (UVIS pivot wavelengths)",
    "WFC3/IR": "WFC3 Instrument Handbook, table 7.2 (IR pivot wavelengths)",
    "ACS/WFC": "ACS Instrument Handbook, table 5.1; Bohlin 2016, AJ 152, 60",
    "SDSS": "Doi et al. 2010, AJ 139, 1628 (SVO Filter Profile Service)",
    "JOHNSON": "Bessell & Murphy 2012, PASP 124, 140, table 3",
    "2MASS": "Cohen, Wheaton & Megeath 2003, AJ 126, 1090 (SVO Filter Profile Service)",
    "PS1": "Tonry et al. 2012, ApJ 750, 99 (SVO Filter Profile Service)",
    "WISE": "Pivots of the Jarrett et al. 2011 photon-counting RSRs (Wright et al. 2010, AJ 140, 1868)",
    "IRAC": "Pivots of the IRAC spectral response curves (IRAC Instrument Handbook; IRSA 2016)",
}
_ALIASES = {
    "NRCA": "NIRCAM", "NRCB": "NIRCAM", "JWST/NIRCAM": "NIRCAM", "JWST/MIRI": "MIRI", "MIRIMAGE": "MIRI",
    "UVIS": "WFC3/UVIS", "IR": "WFC3/IR", "WFC3/UVIS1": "WFC3/UVIS", "WFC3/UVIS2": "WFC3/UVIS",
    "ACS": "ACS/WFC", "WFC": "ACS/WFC", "HST/ACS": "ACS/WFC", "JOHNSON-COUSINS": "JOHNSON", "COUSINS": "JOHNSON",
    "BESSELL": "JOHNSON", "PAN-STARRS": "PS1", "PANSTARRS": "PS1", "GPC1": "PS1", "SPITZER/IRAC": "IRAC",
    "TWOMASS": "2MASS", "2MASS/2MASS": "2MASS",
}  # fmt: skip
_IRAC_BANDS = {"3.6": "I1", "4.5": "I2", "5.8": "I3", "8.0": "I4", "CH1": "I1", "CH2": "I2", "CH3": "I3", "CH4": "I4"}
_IRAC_BANDS.update({f"IRAC{k}": f"I{k}" for k in range(1, 5)})


@dataclass(frozen=True)
class TableEntry:
    """One filter of the table: ``instrument`` is a key of :data:`TABLE`; ``pivot_um`` in micrometres."""

    instrument: str
    filter: str
    pivot_um: float
    citation: str


def normalise_instrument(name: str) -> str:
    text = re.sub(r"\s+", "", str(name or "")).upper().replace("_", "/")
    return _ALIASES.get(text, text)


def normalise_filter(name: str) -> str:
    text = re.sub(r"\s+", "", str(name or "")).upper()
    return _IRAC_BANDS.get(text, "KS" if text in ("K_S", "KSHORT") else text)


def lookup(instrument: str | None, band_name: str | None) -> TableEntry | None:
    """The table entry of ``band_name`` on ``instrument`` (None when unknown: never guessed).

    Without an instrument, a filter name is accepted only when exactly one instrument of the
    table has it (``F770W`` is MIRI; ``F606W`` is WFC3/UVIS or ACS/WFC and needs the camera).
    """
    band = normalise_filter(band_name or "")
    if not band:
        return None
    key = normalise_instrument(instrument or "")
    if key:
        pivot = TABLE.get(key, {}).get(band)
        return None if pivot is None else TableEntry(key, band, pivot, CITATIONS[key])
    owners = [name for name, filters in TABLE.items() if band in filters and band.startswith("F")]
    if len(owners) != 1:
        return None
    return TableEntry(owners[0], band, TABLE[owners[0]][band], CITATIONS[owners[0]])


def header_instrument(header: Mapping[str, Any]) -> str:
    """The table key of a header's instrument (``WFC3/IR`` from INSTRUME=WFC3, DETECTOR=IR), or
    the INSTRUME text itself when the table does not know it."""
    instrument = str(header.get("INSTRUME", "") or "").strip().upper()
    detector = str(header.get("DETECTOR", "") or "").strip().upper()
    if instrument == "WFC3" and detector in ("UVIS", "IR"):
        return f"WFC3/{detector}"
    if instrument == "ACS" and detector in ("WFC", ""):
        return "ACS/WFC"
    if instrument in ("NIRCAM", "MIRI"):
        return instrument
    return normalise_instrument(instrument) if instrument else ""


def from_header(header: Mapping[str, Any]) -> tuple[str, str, TableEntry | None]:
    """(instrument, filter, bandpass or None) named by a FITS header (primary and extension
    cards merged by the caller)."""
    instrument = header_instrument(header)
    band = filter_name([header])
    return instrument, band, lookup(instrument, band) if band else None


# ---------------------------------------------------------------------------------------------
# Bands of RGB channels (branch rgb): the same table, with the header's PHOTPLAM and the HST/JWST
# naming convention as fall-backs for ordering colours by wavelength.
# ---------------------------------------------------------------------------------------------

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
    for known in ("JWST", "HST", "SPITZER", "WISE", "SDSS", "2MASS"):
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


_BY_TELESCOPE = {"PS1": ("PS1",), "WISE": ("WISE",), "SPITZER": ("IRAC",), "SDSS": ("SDSS",), "2MASS": ("2MASS",)}
_BY_INSTRUMENT = {"WFC3": ("WFC3/UVIS", "WFC3/IR"), "ACS": ("ACS/WFC",), "NIRCAM": ("NIRCAM",), "MIRI": ("MIRI",)}


def pivot_um(name: str, telescope: str = "", instrument: str = "") -> float | None:
    """Pivot wavelength (microns) of a filter from :data:`TABLE`, None when not listed. Without
    a known telescope or instrument, ``ugriz`` are SDSS, ``UBVRI`` Johnson-Cousins, ``J H K Ks`` 2MASS."""
    if not name:
        return None
    ground = ("SDSS",) if name in set("ugriz") else ("JOHNSON",) if name in set("UBVRI") else ("2MASS",)
    keys = _BY_INSTRUMENT.get(instrument.upper()) or _BY_TELESCOPE.get(telescope.upper())
    if keys is None:
        keys = () if telescope.upper() in ("HST", "JWST") else ground
    band = normalise_filter("KS" if name.upper() == "K" else name)
    for key in keys:
        pivot = TABLE.get(key, {}).get(band)
        if pivot is not None:
            return pivot
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
