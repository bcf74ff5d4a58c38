from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from neloura.core.footprints import build_footprint, parse_position
from neloura.core.synthetic import make_wcs_header
from neloura.errors import InvalidParameter


def test_cap_holds_every_pixel_and_rejects_far_positions() -> None:
    header = make_wcs_header((300, 200), 359.95, -30.0, 1.0, rotation_deg=25.0)
    header.update({"NAXIS": 2, "NAXIS1": 200, "NAXIS2": 300})
    meta = {"INSTRUME": "MIRI", "FILTER": "F770W", "BUNIT": "MJy/sr"}
    fp = build_footprint("a.fits", 0, header, meta)
    assert fp is not None and fp.filter == "F770W" and fp.pivot_um == 7.639 and fp.meta["BUNIT"] == "MJy/sr"
    gx, gy = np.meshgrid(np.linspace(-0.499, 199.499, 40), np.linspace(-0.499, 299.499, 40))
    ra, dec = fp.wcs.pixel_to_world(gx.ravel(), gy.ravel())
    assert fp.pixels(ra, dec)[2].all()
    assert not fp.pixels(np.array([200.0, 359.95]), np.array([-30.0, 30.0]))[2].any()


def test_no_celestial_wcs_no_footprint() -> None:
    header = fits.Header({"NAXIS": 2, "NAXIS1": 10, "NAXIS2": 10})
    assert build_footprint("x.fits", 0, header, {}) is None


@pytest.mark.parametrize(
    ("text", "frame", "ra", "dec"),
    [
        ("150.1 2.2", "icrs", 150.1, 2.2),
        ("150.1, -2.2", "icrs", 150.1, -2.2),
        ("10:00:24 +02:12:00", "icrs", 150.1, 2.2),
        ("10h00m24s +2d12m00s", "icrs", 150.1, 2.2),
        ("150d06m00s +2d12m00s", "icrs", 150.1, 2.2),
    ],
)
def test_typed_positions(text: str, frame: str, ra: float, dec: float) -> None:
    got = parse_position(text, frame)
    assert got == pytest.approx((ra, dec), abs=1e-9)


def test_galactic_positions_and_nonsense() -> None:
    ra, dec = parse_position("0 0", "galactic")
    assert (ra, dec) == pytest.approx((266.40499, -28.93617), abs=1e-4)
    with pytest.raises(InvalidParameter):
        parse_position("somewhere", "icrs")
