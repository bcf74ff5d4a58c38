"""The structural scan equals astropy: every header card of astropy's own test files, and the
HDU listing (kinds, shapes, names, offsets) of every file astropy itself can list."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from neloura.core.fits_inspect import header_cards, inspect_fits
from neloura.core.fits_scan import ScanError, parse_card, scan
from tests.conftest import COMPRESSED_DATA, FITS_DATA, WCS_DATA

FILES = sorted(
    p for folder in (FITS_DATA, COMPRESSED_DATA, WCS_DATA) for p in folder.glob("*.fits") if p.stat().st_size < 5e7
)


def _astropy_cards(path: Path) -> list[list[tuple[str, Any, str]]]:
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, lazy_load_hdus=True, disable_image_compression=True) as hdul:
            for hdu in hdul:
                cards = []
                for card in hdu.header.cards:
                    value = card.value
                    if isinstance(value, fits.card.Undefined):
                        value = None
                    cards.append((str(card.keyword), value, str(card.comment or "")))
                out.append(cards)
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(b, complex) or (b is not None and not isinstance(b, str | int | float | bool)):
        return a == str(b)
    return bool(a == b) and type(a) is type(b)


def _readable(path: Path) -> list[list[tuple[str, Any, str]]] | None:
    try:
        return _astropy_cards(path)
    except Exception:  # noqa: BLE001 - files astropy itself cannot read are not compared
        return None


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_cards_equal_astropy(path: Path) -> None:
    expected = _readable(path)
    if expected is None:
        pytest.skip("astropy cannot read this file either")
    try:
        scanned = [list(h.cards) for h in scan(path)]
    except ScanError:
        scanned = None
    assert scanned is not None and len(scanned) == len(expected)
    for ours, theirs in zip(scanned, expected, strict=True):
        assert [c[0] for c in ours] == [c[0] for c in theirs]
        for (key, value, comment), (_, value_a, comment_a) in zip(ours, theirs, strict=True):
            assert _same(value, value_a), (key, value, value_a)
            assert comment == comment_a, (key, comment, comment_a)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_listing_equals_astropy(path: Path) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, lazy_load_hdus=False) as hdul:
                expected = [(type(h).__name__, tuple(h.shape) if h.is_image and h.header.get("NAXIS") else None,
                             int(h._data_offset), int(h._data_size)) for h in hdul]  # fmt: skip
    except Exception:  # noqa: BLE001
        pytest.skip("astropy cannot read this file either")
    found = inspect_fits(path)
    assert len(found.hdus) == len(expected)
    for hdu, (cls, shape, _, _) in zip(found.hdus, expected, strict=True):
        kind = {"BinTableHDU": "table", "TableHDU": "table"}.get(cls)
        if kind:
            assert hdu.kind == "table"
        if cls == "CompImageHDU":
            assert hdu.compressed and hdu.kind == ("image" if len(shape or ()) >= 2 else "array" if shape else "empty")
        if hdu.kind == "image":
            assert hdu.shape == shape
    if path.stat().st_size % 2880:
        return  # not a whole number of FITS blocks: astropy's own sizes are guesses there

    def padded(n: int) -> int:
        return -(-n // 2880) * 2880

    offsets = [(h.data_offset, padded(h.data_size)) for h in scan(path)]
    plain = [(o, padded(s)) for (cls, _, o, s) in expected if cls != "CompImageHDU"]
    assert [x for x, (cls, *_) in zip(offsets, expected, strict=True) if cls != "CompImageHDU"] == plain


def test_card_values_of_every_kind() -> None:
    assert parse_card("STR     = 'it''s   '           / a comment".ljust(80)) == ("STR", "it's", "a comment")
    assert parse_card("B       =                    T".ljust(80)) == ("B", True, "")
    assert parse_card("I       =                  -42 / n".ljust(80)) == ("I", -42, "n")
    assert parse_card("R       =              1.5D+03".ljust(80)) == ("R", 1500.0, "")
    assert parse_card("U       =                      / undefined".ljust(80)) == ("U", None, "undefined")
    assert parse_card("HISTORY written by hand".ljust(80)) == ("HISTORY", "written by hand", "")
    assert parse_card("C       = (1.0, 2.0)".ljust(80)) is None  # complex: astropy decides


def test_hundred_thousand_cards_and_three_thousand_hdus(tmp_path: Path) -> None:
    from tests.hostile_corpus import huge_header, many_hdus

    cards = header_cards(huge_header(tmp_path / "h.fits", 100_000), 0)
    assert len(cards) == len(fits.getheader(tmp_path / "h.fits").cards)
    assert cards[-1].key == "HISTORY" and cards[-1].value == "processing step 49999"
    found = inspect_fits(many_hdus(tmp_path / "m.fits", 3000, celestial=True))
    assert len(found.hdus) == 3001 and all(h.kind == "image" and h.shape == (2, 2) for h in found.hdus[1:])
    assert all(h.has_celestial_wcs for h in found.hdus[1:])
    with fits.open(tmp_path / "m.fits") as hdul:
        assert np.array_equal(hdul[3000].data, np.zeros((2, 2)))
