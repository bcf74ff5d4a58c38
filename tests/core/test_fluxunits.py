from __future__ import annotations

import math

import pytest

from neloura.core.fluxunits import conversion


@pytest.mark.parametrize(
    ("header", "area", "factor"),
    [
        ({"BUNIT": "MJy/sr"}, 2e-13, 1e12 * 2e-13),
        ({"BUNIT": "Jy/pixel"}, None, 1e6),
        ({"BUNIT": "mJy"}, None, 1e3),
        ({"BUNIT": "ELECTRONS/S", "PHOTFNU": 1.5e-7}, None, 0.15),
        ({"BUNIT": "e/s", "PHOTFLAM": 1e-19, "PHOTPLAM": 15369.0}, None, 1e-19 * 15369.0**2 / 2.99792458e18 * 1e29),
        ({"BUNIT": "DN/s", "PHOTMJSR": 2.0}, 1e-13, 2.0 * 1e12 * 1e-13),
        ({"BUNIT": "counts", "EXPTIME": 200.0, "PHOTFNU": 2e-7}, None, 2e-7 / 200 * 1e6),
        ({"BUNIT": "e-/s", "MAGZP": 25.0}, None, 10 ** (-0.4 * (25.0 - 23.9))),
        ({"BUNIT": "Jy/beam", "BMAJ": 1 / 3600, "BMIN": 0.5 / 3600}, 1e-12,
         1e6 * 1e-12 / (math.pi * math.radians(1 / 3600) * math.radians(0.5 / 3600) / (4 * math.log(2)))),
    ],
)  # fmt: skip
def test_calibrated_units(header: dict[str, object], area: float | None, factor: float) -> None:
    found = conversion(header, area)
    assert found.calibrated and found.unit == "uJy"
    assert found.factor == pytest.approx(factor, rel=1e-9)


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ({}, "no BUNIT"),
        ({"BUNIT": "ELECTRONS/S"}, "without PHOTFNU"),
        ({"BUNIT": "Jy/beam"}, "without BMAJ"),
        ({"BUNIT": "K"}, "not a flux density"),
    ],
)
def test_uncalibrated_units_say_so(header: dict[str, object], words: str) -> None:
    found = conversion(header, 1e-12)
    assert not found.calibrated and found.factor == 1.0 and words in found.note
