"""Reading DS9 ``.reg`` and CASA CRTF region text into records that name their source line.

Both formats are read through the ``regions`` package. CRTF goes line by line through
``Regions.parse(format="crtf")`` (here); DS9 goes line by line through the package's own DS9
tokenizer and parameter parser (:mod:`neloura.core.region_ds9`), without building one
``SkyCoord`` per region: that object costs ~0.5 ms, i.e. 5 s for 10,000 circles, so positions
stay numbers here and go through the image WCS in one vectorised call (:mod:`neloura.core.regions`).
``tests/core/test_region_files.py`` checks the records equal those of ``Regions.parse`` on every
region file the package ships.

Records (positions, frames, sizes and angles) are those of :mod:`neloura.core.region_records`.

A line that does not parse raises :class:`InvalidRegions` naming the line and the reason; shapes
the package cannot represent (DS9 vector, ruler, compass, projection, panda..., physical/detector
coordinates, CRTF corner boxes) are listed in ``skipped`` and the rest is read.
"""

from __future__ import annotations

import re
import warnings

from regions import CRTFRegionParserError, Regions

from neloura.core.region_ds9 import read_ds9
from neloura.core.region_records import (
    MAX_REGIONS,
    RegionRecord,
    RegionText,
    Skipped,
    clip_line,
    error_reason,
    record_from_region,
    validate_record,
)
from neloura.errors import InvalidRegions

__all__ = ["RegionRecord", "RegionText", "Skipped", "detect_format", "read_regions", "record_from_region"]


def detect_format(text: str) -> str:
    """``crtf`` for text starting with ``#CRTF``, else ``ds9``."""
    return "crtf" if text.lstrip().upper().startswith("#CRTF") else "ds9"


def read_regions(text: str) -> RegionText:
    """Read DS9 or CRTF text (format detected from its first line)."""
    fmt = detect_format(text)
    result = _read_crtf(text) if fmt == "crtf" else read_ds9(text)
    if len(result.records) > MAX_REGIONS:
        raise InvalidRegions(f"{len(result.records)} regions: at most {MAX_REGIONS} per request")
    return result


# ------------------------------------------------------------------------------------ CRTF


def _read_crtf(text: str) -> RegionText:
    records: list[RegionRecord] = []
    skipped: list[Skipped] = []
    header: list[str] = []
    for number, physical in enumerate(text.split("\n"), start=1):
        line = physical.strip()
        if "\x00" in line:
            raise InvalidRegions(f"line {number}: binary data (NUL byte) in a region file")
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("global"):
            header.append(line)
            try:
                Regions.parse("#CRTFv0\n" + "\n".join(header), format="crtf")
            except (CRTFRegionParserError, ValueError, TypeError) as exc:
                raise InvalidRegions(f"line {number}: {error_reason(exc)}: {clip_line(line)}") from exc
            continue
        word = re.match(r"[+-]?(?:ann\s+)?([a-z]+)", line.lower())
        shape = word.group(1) if word else "?"
        if shape == "vector":
            skipped.append(Skipped(number, shape, 'CRTF shape "vector" is not supported by the regions package'))
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                parsed = Regions.parse("#CRTFv0\n" + "\n".join([*header, line]), format="crtf")
            except (CRTFRegionParserError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                raise InvalidRegions(f"line {number}: {error_reason(exc)}: {clip_line(line)}") from exc
        if not len(parsed):
            why = str(caught[0].message) if caught else "nothing the regions package can represent"
            skipped.append(Skipped(number, shape, f"not supported by the regions package ({clip_line(why)})"))
            continue
        for region in parsed:
            record = record_from_region(region, number)
            try:
                validate_record(record)
            except ValueError as exc:
                raise InvalidRegions(f"line {number}: {exc}: {clip_line(line)}") from exc
            records.append(record)
    return RegionText(records, skipped, "crtf")
