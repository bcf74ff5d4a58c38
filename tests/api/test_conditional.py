"""ETag matching and Accept-Encoding parsing shared by the tile, RGB and overlay routes."""

from __future__ import annotations

import pytest

from neloura.api.conditional import CACHE_CONTROL, accepts_gzip, cache_headers, etag_matches


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),  # unquoted: not the same tag
    ],
)
def test_etag_matches(header: str | None, expected: bool) -> None:
    assert etag_matches(header, '"abc"') is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("identity", False),
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("gzip;q=oops", False),
        ("*", True),
        ("deflate, br", False),
        ("x-gzip", False),
    ],
)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_cache_headers() -> None:
    assert cache_headers('"a"') == {"ETag": '"a"', "Cache-Control": CACHE_CONTROL}
    assert cache_headers('"a"', provisional=True, vary="Accept-Encoding") == {
        "ETag": '"a"',
        "Cache-Control": "no-store",
        "Vary": "Accept-Encoding",
    }
