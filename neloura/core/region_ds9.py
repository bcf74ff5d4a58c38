"""DS9 ``.reg`` text -> region records, through the ``regions`` package's own DS9 tokenizer and
parameter parser (``regions.io.ds9.read``: semicolon splitting, metadata, sexagesimal and
unit-suffixed values, 1-based image pixels, DS9's semi-axes, multi-annuli), without building one
``SkyCoord`` per region (~0.5 ms each): positions stay numbers, and lines whose parameters are all
plain numbers skip the package's Angle/Quantity objects altogether (:func:`_fast_params`).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
from regions.io.ds9 import read as ds9_read

from neloura.core.region_records import RegionRecord, RegionText, Skipped, clip_line, error_reason, validate_record
from neloura.errors import InvalidRegions

DS9_FRAMES = {
    "image": "image",
    "icrs": "icrs",
    "fk5": "fk5",
    "j2000": "fk5",
    "fk4": "fk4",
    "b1950": "fk4",
    "galactic": "galactic",
    "ecliptic": "ecliptic",
}
DS9_UNSUPPORTED_FRAMES = ("linear", "amplifier", "detector", "physical", "tile", "wcs")
DS9_UNSUPPORTED_SHAPES = ("vector", "ruler", "compass", "projection", "panda", "epanda", "bpanda")
DS9_SHAPES = ("circle", "ellipse", "box", "annulus", "polygon", "line", "point", "text", "composite")
_WORD = re.compile(r"^#? *([+-]?)([a-zA-Z0-9]+)")


@dataclass
class _Ds9State:
    frame: str | None = None
    unsupported_frame: str | None = None
    global_meta: dict[str, Any] = field(default_factory=dict)
    composite_meta: dict[str, Any] = field(default_factory=dict)


def read_ds9(text: str) -> RegionText:
    """Read DS9 text (NUL bytes and lines that do not parse raise :class:`InvalidRegions`)."""
    state = _Ds9State()
    records: list[RegionRecord] = []
    skipped: list[Skipped] = []
    if "\x00" in text:
        number = text[: text.index("\x00")].count("\n") + 1
        raise InvalidRegions(f"line {number}: binary data (NUL byte) in a region file")
    with warnings.catch_warnings():  # the package warns about metadata it ignores; one context for all lines
        warnings.simplefilter("ignore")
        _ds9_lines(text, state, records, skipped)
    return RegionText(records, skipped, "ds9")


def _ds9_lines(text: str, state: _Ds9State, records: list[RegionRecord], skipped: list[Skipped]) -> None:
    for number, physical in enumerate(text.split("\n"), start=1):
        for piece in ds9_read._split_semicolon(physical) if ";" in physical else (physical,):
            line = piece.strip()
            if line:
                try:
                    _ds9_line(line, number, state, records, skipped)
                except InvalidRegions:
                    raise
                except (ValueError, TypeError, IndexError, KeyError, ds9_read.DS9ParserError) as exc:
                    raise InvalidRegions(f"line {number}: {error_reason(exc)}: {clip_line(line)}") from exc


def _ds9_line(line: str, number: int, state: _Ds9State, records: list[RegionRecord], skipped: list[Skipped]) -> None:
    if line.startswith("#") and not line.startswith(("# text(", "# composite(")):
        return
    lower = line.lower()
    if lower.startswith("global"):
        state.global_meta.update(ds9_read._parse_metadata(line[7:]))
        return
    match = _WORD.search(lower)
    if match is None:
        raise ValueError("not a region, coordinate system or global line")
    sign, word = match.groups()
    if word in DS9_FRAMES:
        state.frame, state.unsupported_frame = DS9_FRAMES[word], None
        return
    if word in DS9_UNSUPPORTED_FRAMES or re.fullmatch(r"wcs[0a-z]?", word):
        state.frame, state.unsupported_frame = None, word
        return
    if word in DS9_UNSUPPORTED_SHAPES:
        skipped.append(Skipped(number, word, f'DS9 shape "{word}" is not supported by the regions package'))
        return
    if word not in DS9_SHAPES:
        raise ValueError(f'"{word}" is neither a DS9 shape nor a coordinate system')
    if state.frame is None:
        reason = (
            f'"{state.unsupported_frame}" coordinates are not supported (use image or a sky frame)'
            if state.unsupported_frame
            else "no coordinate system (image, fk5, icrs, galactic...) before this region"
        )
        skipped.append(Skipped(number, word, reason))
        return
    params, meta_text = ds9_read._parse_shape_line(word, line, match.span())
    if word == "composite":
        idx = line.find("||")
        if idx == -1:
            raise ValueError("composite shape without '||'")
        state.composite_meta = ds9_read._parse_metadata(line[idx + 2 :].strip())
        state.composite_meta.pop("composite", None)
        return
    region_meta = ds9_read._parse_metadata(meta_text)
    raw = ds9_read._define_raw_metadata(
        state.global_meta,
        state.composite_meta,
        {"include": 0 if sign == "-" else 1},
        region_meta,
    )
    if "||" not in line and state.composite_meta:
        state.composite_meta = {}
    region_type = "pixel" if state.frame == "image" else "sky"
    data = ds9_read._RegionData(state.frame, region_type, word, params, raw, line)
    shape, values = _checked_params(word, data)
    for one in values:
        records.append(_ds9_record(shape, one, state.frame, raw, number))


_MIN_PARAMS = {"circle": 3, "ellipse": 4, "box": 4, "annulus": 4, "polygon": 6, "line": 4, "point": 2, "text": 2}
_USAGE = {
    "circle": "x, y, radius",
    "ellipse": "x, y, radius1, radius2[, angle]",
    "box": "x, y, width, height[, angle]",
    "annulus": "x, y, inner, outer[, ...]",
    "polygon": "x1, y1, x2, y2, x3, y3, ...",
    "line": "x1, y1, x2, y2",
    "point": "x, y",
    "text": "x, y",
}


def _checked_params(word: str, data: Any) -> tuple[str, list[list[Any]]]:
    count = len([v for v in _SPLIT.split(data.shape_params) if v])
    wanted = _MIN_PARAMS[word]
    if (
        count < wanted
        or (word == "polygon" and count % 2)
        or (word in ("line", "point", "text", "circle") and count > wanted)
    ):
        raise ValueError(f"{word} takes ({_USAGE[word]}), got {count} value{'s' if count != 1 else ''}")
    fast = _fast_params(word, data.shape_params, data.region_type == "sky")
    if fast is not None:
        return word, [fast]
    if word in ("ellipse", "box") and count == 4:  # the package reads a 4th value as the angle; DS9: angle 0
        data.shape_params = f"{data.shape_params},0"
    shape, values = ds9_read._parse_shape_params(data)
    return shape, values


_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([\"'dr]?)")
_SKY_SIZE_ARCSEC = {'"': 1.0, "'": 60.0, "d": 3600.0, "": 3600.0, "r": 180 / math.pi * 3600.0}
_ANGLE_DEG = {"": 1.0, "d": 1.0, '"': 1 / 3600, "'": 1 / 60, "r": 180 / math.pi}


def _fast_template(word: str, count: int) -> str | None:
    """Parameter kinds (c coordinate, l length, a angle) of the simple one-region forms, else None."""
    if word == "circle" and count == 3:
        return "ccl"
    if word == "point" and count == 2:
        return "cc"
    if word == "line" and count == 4:
        return "cccc"
    if word == "polygon" and count >= 6 and count % 2 == 0:
        return "c" * count
    if word in ("ellipse", "box") and count in (4, 5):
        return "ccll" + "a" * (count - 4)
    return None


def _fast_params(word: str, text: str, sky: bool) -> list[float] | None:
    """The values of a line whose parameters are all plain numbers (an optional unit suffix), read
    as floats already in record units (sky: degrees, arcsec sizes; pixel: 0-based pixels), with
    the same rules as the package's parser (``regions.io.ds9.read._parse_shape_params``: bare sky
    positions and sizes in degrees, DS9's ellipse semi-axes doubled). ``None`` for any other form
    (sexagesimal, multi-annuli...), which then goes through the package: building its Angle and
    Quantity objects costs ~0.3 ms a region, most of the reading time of 10,000 circles."""
    params = [v for v in _SPLIT.split(text) if v]
    template = _fast_template(word, len(params))
    if template is None:
        return None
    out: list[float] = []
    for kind, param in zip(template, params, strict=True):
        match = _NUMBER.fullmatch(param)
        if match is None:
            return None
        number, suffix = float(match.group(1)), match.group(2)
        if kind == "c":
            if not sky:
                if suffix:
                    return None
                out.append(number - 1.0)  # DS9 pixels are 1-based
            elif suffix in ("", "d"):
                out.append(number)
            elif suffix == "r":
                out.append(math.degrees(number))
            else:
                return None
        elif kind == "l":
            if not sky and suffix:
                return None
            value = number if not sky else number * _SKY_SIZE_ARCSEC[suffix]
            out.append(2.0 * value if word == "ellipse" else value)
        else:
            out.append(number * _ANGLE_DEG[suffix])
    return out


# Unit scales for the package's Angle/Quantity values: a dictionary lookup instead of astropy's
# unit conversion machinery (~15 µs a value, i.e. most of the reading time of 10,000 regions).
_TO_DEG = {u.deg: 1.0, u.hourangle: 15.0, u.rad: 180.0 / math.pi, u.arcmin: 1 / 60, u.arcsec: 1 / 3600}
_TO_ARCSEC = {unit: scale * 3600.0 for unit, scale in _TO_DEG.items()}
_SPLIT = re.compile(r"\s|,")


def _value(v: Any, table: dict[Any, float], unit: Any) -> float:
    if isinstance(v, float):  # the fast path's values are already in record units
        return v
    scale = table.get(v.unit)
    return float(v.value) * scale if scale is not None else float(v.to_value(unit))


def _ds9_record(shape: str, values: list[Any], frame: str, raw: dict[str, Any], number: int) -> RegionRecord:
    sky = frame != "image"

    def coord(v: Any) -> float:
        return _value(v, _TO_DEG, u.deg) if sky else float(v)

    def size(v: Any) -> float:
        return _value(v, _TO_ARCSEC, u.arcsec) if sky else float(v)

    def angle(v: Any) -> float:
        return v if isinstance(v, float) else _value(v, _TO_DEG, u.deg)

    name = {"rectangle_annulus": "box_annulus"}.get(shape, shape)
    if name == "polygon":
        points = [(coord(values[i]), coord(values[i + 1])) for i in range(0, len(values) - 1, 2)]
        sizes: tuple[float, ...] = ()
        rot = 0.0
    elif name == "line":
        points = [(coord(values[0]), coord(values[1])), (coord(values[2]), coord(values[3]))]
        sizes, rot = (), 0.0
    else:
        points = [(coord(values[0]), coord(values[1]))]
        rest = values[2:]
        if name in ("ellipse", "box", "ellipse_annulus", "box_annulus") and len(rest) in (3, 5):
            rot = angle(rest[-1])
            rest = rest[:-1]
        else:
            rot = 0.0
        sizes = tuple(size(v) for v in rest)
    meta = {k: v for k, v in raw.items() if k != "include"}
    record = RegionRecord(number, name, frame, points, sizes, rot, bool(raw.get("include", 1)), meta)
    validate_record(record)
    return record
