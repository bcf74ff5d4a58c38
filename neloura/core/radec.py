"""Find the RA/Dec columns of a catalog and turn their values into float64 degrees.

Detection looks at UCDs (``pos.eq.ra``/``pos.eq.dec``, ``meta.main`` preferred), then at common
names (``ra``, ``RAJ2000``, ``ALPHA_J2000``, ``PHANGS_RA``, ``cen_ra``, ``X_WORLD``...). Values
may be numbers in degrees, hours (unit ``h``/``hourangle``) or radians, or sexagesimal strings
(``12:34:56.7``, ``12h34m56.7s``, ``-05 06 07``, ``+05d06m07s``), parsed vectorised in Arrow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_RA_NAMES = {
    "ra",
    "raj2000",
    "ra_j2000",
    "ra2000",
    "radeg",
    "ra_deg",
    "ra_d",
    "ra_icrs",
    "raicrs",
    "rag",
    "alpha_j2000",
    "alpha",
    "alphawin_j2000",
    "alpha_sky",
    "x_world",
    "xwin_world",
    "right_ascension",
    "rightascension",
    "ra_obj",
    "objra",
    "ra_hms",
    "cen_ra",
    "phangs_ra",
    "ra_center",
    "ra_centre",
    "ra_peak",
    "target_ra",
    "ra_target",
    "ra_src",
    "ra_source",
    "ramean",
    "ra_mean",
    "ra_1",
    "ra_ep",
}
_DEC_NAMES = {
    "dec",
    "decj2000",
    "dej2000",
    "de_j2000",
    "dec_j2000",
    "dec2000",
    "de2000",
    "decdeg",
    "dec_deg",
    "dedeg",
    "de_deg",
    "dec_d",
    "dec_icrs",
    "deicrs",
    "de_icrs",
    "deg",
    "delta_j2000",
    "delta",
    "deltawin_j2000",
    "delta_sky",
    "y_world",
    "ywin_world",
    "declination",
    "dec_obj",
    "objdec",
    "dec_dms",
    "de_dms",
    "cen_dec",
    "phangs_dec",
    "dec_center",
    "dec_centre",
    "dec_peak",
    "target_dec",
    "dec_target",
    "dec_src",
    "dec_source",
    "decmean",
    "dec_mean",
    "dec_1",
    "dec_ep",
}
_RA_TOKEN = re.compile(r"^(ra|alpha)(j2000|2000|deg|icrs|_?hms|mean)?$")
_DEC_TOKEN = re.compile(r"^(dec|de|delta)(j2000|2000|deg|icrs|_?dms|mean)?$")
_HOUR_UNITS = {"h", "hr", "hour", "hours", "hourangle", "h:m:s", "hms"}
_RAD_UNITS = {"rad", "radian", "radians"}

# sign, then 1 to 3 numbers separated by h/d/°/:/space and m/'/: with an optional s/" at the end
_SEXAGESIMAL = (
    r"^\s*(?P<sign>[+-]?)\s*(?P<a>\d+(?:\.\d*)?)\s*(?P<sep>[hHdD°:]|\s)\s*(?P<b>\d+(?:\.\d*)?)"
    r"\s*(?:[mM'′:]|\s)?\s*(?P<c>\d+(?:\.\d*)?)?\s*[sS\"″]?\s*$"
)
_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


def _score(name: str, ucd: str, axis: str) -> int:
    """How much a column looks like the RA (``axis='ra'``) or Dec column; 0 when not at all."""
    ucd = ucd.lower()
    words = [w.strip() for w in ucd.split(";")]
    if f"pos.eq.{axis}" in words:
        return 100 + (10 if "meta.main" in words else 0)
    low = name.lower().lstrip("_")
    names, token = (_RA_NAMES, _RA_TOKEN) if axis == "ra" else (_DEC_NAMES, _DEC_TOKEN)
    if low in names:
        return 60 - (5 if low in {"deg", "x_world", "y_world", "alpha", "delta"} else 0)
    if any(token.match(part) for part in re.split(r"[_\-\s.]+", low) if part):
        return 30
    return 0


def detect_radec(
    columns: Sequence[str], ucds: Mapping[str, str] | None = None, types: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The best (ra, dec) column names, or None where nothing qualifies.

    ``ucds`` maps column names to UCD strings; ``types`` maps names to ``"num"`` or ``"str"``
    (other kinds, e.g. lists or booleans, are never positions).
    """
    ucds = ucds or {}
    kinds = types or {}
    usable = [c for c in columns if kinds.get(c, "num") in ("num", "str")]
    ra = _best(usable, ucds, "ra")
    dec_scores = {c: _score(c, ucds.get(c, ""), "dec") for c in usable if c != ra}
    dec_scores = {c: s for c, s in dec_scores.items() if s > 0}
    if not dec_scores:
        return ra, None
    if ra is not None:  # prefer the Dec whose name mirrors the RA's (RAJ2000/DEJ2000, ALPHA_/DELTA_)
        for c in dec_scores:
            if _mirror(ra) == _mirror(c):
                dec_scores[c] += 5
    dec = max(dec_scores, key=lambda c: (dec_scores[c], -list(columns).index(c)))
    return ra, dec


def _best(columns: Sequence[str], ucds: Mapping[str, str], axis: str) -> str | None:
    scored = [(c, _score(c, ucds.get(c, ""), axis)) for c in columns]
    scored = [(c, s) for c, s in scored if s > 0]
    if not scored:
        return None
    return max(scored, key=lambda cs: (cs[1], -list(columns).index(cs[0])))[0]


def _mirror(name: str) -> str:
    low = name.lower()
    for a, b in (("alpha", "#"), ("delta", "#"), ("dec", "#"), ("ra", "#"), ("de", "#")):
        low = low.replace(a, b, 1) if a in low and "#" not in low else low
    return low


def to_degrees(values: pa.ChunkedArray | pa.Array, *, unit: str | None = None, is_ra: bool = True) -> np.ndarray:
    """Float64 degrees from a numeric or sexagesimal-string column; NaN where missing or unparsable.

    Numbers are degrees unless ``unit`` says hours (RA only) or radians. Sexagesimal RA is in
    hours unless it uses ``d``/``°`` separators or ``unit`` says degrees; Dec is always degrees.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.float64())
    unit_low = (unit or "").strip().lower()
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        out = values.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
        if unit_low in _RAD_UNITS:
            out = np.degrees(out)
        elif is_ra and unit_low in _HOUR_UNITS:
            out *= 15.0
        return out
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _parse_strings(values, unit_low, is_ra)
    return np.full(len(values), np.nan)


def _parse_strings(values: pa.Array, unit: str, is_ra: bool) -> np.ndarray:
    numeric_mask = pc.fill_null(pc.match_substring_regex(values, _NUMBER), False)
    out = np.full(len(values), np.nan)
    if pc.any(numeric_mask).as_py():
        numbers = pc.if_else(numeric_mask, values, pa.scalar(None, pa.string()))
        parsed = pc.cast(pc.utf8_trim_whitespace(numbers), pa.float64()).to_numpy(zero_copy_only=False)
        plain = numeric_mask.to_numpy(zero_copy_only=False)
        degrees = parsed * 15.0 if is_ra and unit in _HOUR_UNITS else parsed
        out[plain] = degrees[plain]
    parts = pc.extract_regex(values, _SEXAGESIMAL)
    a = _field(parts, "a")
    matched = ~np.isnan(a)
    if not matched.any():
        return out
    b = np.nan_to_num(_field(parts, "b"))
    c = np.nan_to_num(_field(parts, "c"))
    sign = np.where(pc.fill_null(pc.equal(parts.field("sign"), "-"), False).to_numpy(zero_copy_only=False), -1.0, 1.0)
    value = sign * (a + b / 60.0 + c / 3600.0)
    if is_ra:
        sep = pc.fill_null(parts.field("sep"), "").to_numpy(zero_copy_only=False).astype(str)
        in_degrees = np.isin(np.char.lower(sep), ["d", "°"])
        if unit in {"deg", "degree", "degrees", "d:m:s", "dms"}:
            in_degrees[:] = True
        value = np.where(in_degrees, value, value * 15.0)
    out[matched] = value[matched]
    return out


def _field(parts: pa.Array, name: str) -> np.ndarray:
    text = parts.field(name)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
