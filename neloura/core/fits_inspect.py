"""What a FITS file holds, without opening its data: HDU listing, truncation, header cards.

Built on the structural scan of :mod:`neloura.core.fits_scan` (a 3,000-HDU file lists in well
under a second, a 100,000-card header reads in a fraction of one); astropy is called only to
build the WCS of image HDUs that look celestial (``has_celestial_wcs``). Every image HDU's WCS
and scaling keywords are checked (:mod:`neloura.core.wcs_limits`), so a listing names the
problem that opening the HDU would meet.
"""

from __future__ import annotations

import json
import math
import re
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from neloura.core.fits_scan import BLOCK, ScanError, ScannedHdu, header_text, scan
from neloura.core.wcs import ImageWcs
from neloura.core.wcs_limits import InvalidWcs, validate_wcs_keywords
from neloura.errors import InvalidParameter, NotAFitsImage

HduKind = Literal["image", "table", "array", "empty"]  # array: data that is no image (1-D)
# listings of files with many image HDUs check the full WCS of the first ones only
FULL_WCS_CHECKS_PER_LISTING = 200
_CELESTIAL_CTYPE = re.compile(r"^(RA|DEC|[A-Z]LON|[A-Z]LAT|[A-Z][A-Z]LN|[A-Z][A-Z]LT)-*(-[A-Z0-9]{3})?")


@dataclass(frozen=True)
class HduSummary:
    """One HDU of a FITS file as listed to the user. ``shape`` is in numpy order.

    ``truncated``: the file ends before the data this HDU's header announces (the HDU cannot
    be shown). ``problem``: why the HDU will be refused when opened (a WCS keyword out of
    bounds, a scaling keyword that is not a number...), empty when none is known.
    """

    index: int
    name: str
    kind: HduKind
    shape: tuple[int, ...]
    bitpix: int | None
    bunit: str
    has_celestial_wcs: bool
    compressed: bool
    truncated: bool = False
    problem: str = ""
    columns: int | None = None  # a table's column count (TFIELDS); None for other kinds


@dataclass(frozen=True)
class HeaderCard:
    key: str
    value: str | int | float | bool | None
    comment: str


@dataclass(frozen=True)
class FitsInspection:
    """What a whole-file inspection found (small and picklable: it comes back from a worker).

    ``expected_size`` is the size the headers announce (the end of the last HDU's data padded
    to 2880 bytes); ``size`` the file's size on disk (``None`` for a gzip-compressed file,
    whose uncompressed size is not known without decompressing it).
    """

    hdus: tuple[HduSummary, ...]
    recommended: int | None
    size: int | None
    expected_size: int | None
    read_error: str = ""  # why reading stopped before the end of the file (the HDUs before it are listed)
    cards: int = 0  # header cards in all HDUs
    # the HDU list as JSON (see listing_json), rendered where the inspection was made: a worker
    # process renders a 3,000-HDU listing without taking the server's GIL; b"" when not rendered
    listing: bytes = field(default=b"", repr=False, compare=False)

    @property
    def complete(self) -> bool:
        return self.size is None or self.expected_size is None or self.size >= self.expected_size


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _looks_celestial(header: Mapping[str, Any]) -> bool:
    """Two CTYPEs of a longitude/latitude pair (RA/DEC, GLON/GLAT, HPLN/HPLT...): cheap."""
    found = 0
    axes = _int(header.get("WCSAXES")) or _int(header.get("NAXIS")) or 2
    for i in range(1, min(axes, 32) + 1):
        value = header.get(f"CTYPE{i}", "")
        if isinstance(value, str) and _CELESTIAL_CTYPE.match(value.strip().upper()):
            found += 1
    return found >= 2


def has_celestial_wcs(header: Any) -> bool:
    """True when the (astropy) header describes a celestial WCS astropy can place on the sky.

    Raises :class:`~neloura.core.wcs_limits.InvalidWcs` for keywords out of bounds.
    """
    return _looks_celestial(header) and ImageWcs.from_header(header).has_celestial


def scaling(header: Mapping[str, Any]) -> tuple[float, float, int | None]:
    """``(BSCALE, BZERO, BLANK)`` of an image header; 415 when one is not a number."""
    values: dict[str, float] = {}
    for key, default in (("BSCALE", 1.0), ("BZERO", 0.0)):
        raw = header.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise NotAFitsImage(f"{key} = {raw!r} is not a number")
        values[key] = float(raw)
    blank = None
    if (_int(header.get("BITPIX")) or -32) > 0 and "BLANK" in header:
        raw = header["BLANK"]
        if _int(raw) is None:
            raise NotAFitsImage(f"BLANK = {raw!r} is not an integer")
        blank = int(raw)
    return values["BSCALE"], values["BZERO"], blank


def _image_header(header: dict[str, Any], compressed: bool) -> dict[str, Any]:
    """The image's own keywords: a tile-compressed HDU's Z-keywords become the image's."""
    if not compressed:
        return header
    image = dict(header)
    image["BITPIX"] = header.get("ZBITPIX")
    naxis = _int(header.get("ZNAXIS")) or 0
    image["NAXIS"] = naxis
    for i in range(1, min(naxis, 999) + 1):
        image[f"NAXIS{i}"] = header.get(f"ZNAXIS{i}")
    return image


def _shape(header: Mapping[str, Any]) -> tuple[int, ...]:
    naxis = _int(header.get("NAXIS")) or 0
    axes = [_int(header.get(f"NAXIS{i}")) for i in range(min(naxis, 999), 0, -1)]
    return () if any(n is None for n in axes) else tuple(int(n) for n in axes if n is not None)


def _problem(image: Mapping[str, Any]) -> str:
    try:
        validate_wcs_keywords(image)
        scaling(image)
    except (InvalidWcs, NotAFitsImage, InvalidParameter) as exc:
        return exc.message
    return ""


def _celestial(path: Path, scanned: ScannedHdu, image: Mapping[str, Any], compressed: bool, full: bool) -> bool:
    if not _looks_celestial(image):
        return False
    if not full:
        return True
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if compressed:  # astropy's view of the image header (Z-keywords translated)
            with fits.open(path, lazy_load_hdus=True) as hdul:
                return has_celestial_wcs(hdul[scanned.index].header)
        return has_celestial_wcs(fits.Header.fromstring(header_text(path, scanned)))


def _summary(path: Path, scanned: ScannedHdu, file_size: int | None, full_wcs: bool) -> HduSummary:
    header = scanned.header()
    index = scanned.index
    xtension = str(header.get("XTENSION", "")).strip().upper() if index else ""
    compressed = xtension == "BINTABLE" and header.get("ZIMAGE") is True
    image = _image_header(header, compressed)
    shape = _shape(image)
    is_image_hdu = (index == 0 and header.get("GROUPS") is not True) or xtension == "IMAGE" or compressed
    kind: HduKind = "empty"
    if xtension in ("BINTABLE", "TABLE") and not compressed:
        kind = "table"
    elif is_image_hdu and len(shape) >= 2 and all(n > 0 for n in shape):
        kind = "image"
    elif is_image_hdu and shape and all(n > 0 for n in shape):
        kind = "array"
    problem = _problem(image) if kind == "image" else ""
    celestial = False
    if kind == "image" and not problem:
        try:
            celestial = _celestial(path, scanned, image, compressed, full_wcs)
        except (InvalidWcs, OSError, ValueError) as exc:  # astropy refuses what the scan accepted
            problem = getattr(exc, "message", f"{type(exc).__name__}: {exc}")
    name = header.get("EXTNAME")
    return HduSummary(
        index=index,
        name=str(name).strip()
        if isinstance(name, str) and name.strip()
        else ("PRIMARY" if index == 0 else f"HDU{index}"),
        kind=kind,
        shape=shape,
        bitpix=_int(image.get("BITPIX")),
        bunit=str(header.get("BUNIT", "") or "").strip(),
        has_celestial_wcs=celestial,
        compressed=compressed,
        truncated=file_size is not None and scanned.data_end > file_size,
        problem=problem,
        columns=_int(header.get("TFIELDS")) if kind == "table" else None,
    )


def _recommended(summaries: list[HduSummary]) -> int | None:
    images = [s for s in summaries if s.kind == "image" and not s.truncated and not s.problem]
    if not images:
        return None
    return max(images, key=lambda s: (s.shape[-1] * s.shape[-2], -s.index)).index


def inspect_fits(path: Path, budget: tuple[int, int] | None = None) -> FitsInspection:
    """List every HDU (with ``truncated`` and ``problem``) and the size the headers announce.

    Image HDUs get a full astropy WCS check (``has_celestial_wcs``) for the first
    ``FULL_WCS_CHECKS_PER_LISTING`` of them that look celestial, a keyword check (a celestial
    CTYPE pair) after that. The recommended HDU is the largest complete image without a
    known problem. ``budget`` = ``(hdus, cards)``: raise
    :class:`~neloura.core.fits_scan.OverBudget` for a larger file (see ``scan``).
    """
    with path.open("rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    file_size = None if gzipped else path.stat().st_size
    summaries: list[HduSummary] = []
    end: int | None = None
    error = ""
    checks = 0
    cards = 0
    try:
        for scanned in scan(path, budget=budget):
            summary = _summary(path, scanned, file_size, checks < FULL_WCS_CHECKS_PER_LISTING)
            checks += summary.has_celestial_wcs
            summaries.append(summary)
            end = scanned.data_end
            cards += len(scanned.cards)
    except (ScanError, OSError, EOFError, UnicodeError, zlib.error) as exc:
        if not summaries:
            raise NotAFitsImage(f"{path.name} is not a readable FITS file: {exc}") from exc
        error = str(exc)
    if not summaries:
        raise NotAFitsImage(f"{path.name} is not a FITS file (it is empty)")
    expected = None if end is None else -(-end // BLOCK) * BLOCK
    return FitsInspection(tuple(summaries), _recommended(summaries), file_size, expected, error, cards)


def listing_json(found: FitsInspection) -> bytes:
    """The JSON array of ``found``'s HDUs, each with ``recommended`` (fields read directly, no
    deep copy: 3,000 HDUs render in a few milliseconds)."""
    rows = [{**vars(s), "shape": list(s.shape), "recommended": s.index == found.recommended} for s in found.hdus]
    return json.dumps(rows, separators=(",", ":")).encode()


def with_listing(found: FitsInspection) -> FitsInspection:
    """``found`` with its :attr:`FitsInspection.listing` rendered."""
    return found if found.listing else replace(found, listing=listing_json(found))


def list_hdus(path: Path) -> tuple[list[HduSummary], int | None]:
    """Every HDU and the recommended HDU (largest image with data): :func:`inspect_fits`."""
    found = inspect_fits(path)
    return list(found.hdus), found.recommended


def header_cards(path: Path, hdu: int) -> list[HeaderCard]:
    """Every card of one HDU's header, HISTORY and COMMENT included, in file order.

    Values are str, int, float (finite; others as text), bool or None (no value)."""
    if hdu < 0:
        raise InvalidParameter(f"HDU {hdu} does not exist")
    count = 0
    try:
        for scanned in scan(path, max_hdus=hdu + 1):
            count += 1
            if scanned.index == hdu:
                return [HeaderCard(k, _json_value(v), c) for k, v, c in scanned.cards]
    except (ScanError, OSError, EOFError, zlib.error) as exc:
        if count <= hdu:
            raise NotAFitsImage(f"{path.name} is not a readable FITS file (HDU {hdu}): {exc}") from None
    raise InvalidParameter(f"{path.name} has no HDU {hdu} (it has {count})")


def _json_value(value: Any) -> str | int | float | bool | None:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value  # type: ignore[no-any-return]
