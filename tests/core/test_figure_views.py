"""A page panel's view as a WCS: the screen map is OpenSeadragon's (centre, zoom, clockwise
rotation about the viewport centre, then a left-right mirror), and the screen pixels' world
coordinates are the image's full WCS (SIP included) at the mapped image pixels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.wcs import WCS

from neloura.core.figure_views import ScreenView, ViewWCS
from neloura.core.figures import compass_vectors
from neloura.core.synthetic import make_wcs_header
from neloura.errors import InvalidParameter


def osd_screen(view: ScreenView, image_height: int, x: float, y: float) -> tuple[float, float]:
    """What the page computes (viewer.js imageToScreen): image pixel -> CSS px (y down, edges at 0)."""
    w = 1000.0  # OpenSeadragon's viewport points are image pixels / image width (any width)
    point = ((x + 0.5) / w, (image_height - y - 0.5) / w)
    centre = ((view.cx + 0.5) / w, (image_height - view.cy - 0.5) / w)
    dx, dy = (point[0] - centre[0]) * w * view.zoom, (point[1] - centre[1]) * w * view.zoom
    t = math.radians(view.rotation_deg)  # OpenSeadragon's Point.rotate: clockwise on a y-down screen
    rx, ry = dx * math.cos(t) - dy * math.sin(t), dx * math.sin(t) + dy * math.cos(t)
    sx, sy = view.width_px / 2 + rx, view.height_px / 2 + ry
    return (view.width_px - sx if view.flip else sx), sy


@pytest.mark.parametrize("rotation", [0.0, 30.0, 90.0, -135.0, 200.0])
@pytest.mark.parametrize("flip", [False, True])
def test_screen_map_is_the_pages(rotation: float, flip: bool) -> None:
    view = ScreenView(123.4, 56.7, 2.5, 640.0, 480.0, rotation, flip)
    rng = np.random.default_rng(3)
    for x, y in rng.uniform(-50, 300, size=(20, 2)):
        sx, sy = osd_screen(view, 400, x, y)
        # the figure's screen pixels: centres at integers, y up
        X, Y = view.to_screen(x, y)
        assert (float(X), float(Y)) == pytest.approx((sx - 0.5, view.height_px - sy - 0.5), abs=1e-9)
        back = view.to_image(X, Y)
        assert (float(back[0]), float(back[1])) == pytest.approx((x, y), abs=1e-9)


def test_the_view_centre_is_the_screen_centre_and_bounds_hold_the_corners() -> None:
    view = ScreenView(100.0, 80.0, 4.0, 400.0, 200.0, 45.0, True)
    X, Y = view.to_screen(100.0, 80.0)
    assert (float(X), float(Y)) == pytest.approx((199.5, 99.5))
    x0, y0, x1, y1 = view.image_bounds()
    half_diag = math.hypot(200, 100) / 4.0  # image px from the centre to a corner
    assert x1 - x0 == pytest.approx(2 * half_diag * math.cos(math.radians(45) - math.atan2(100, 200)), rel=1e-9)
    assert (x0 + x1) / 2 == pytest.approx(100.0) and (y0 + y1) / 2 == pytest.approx(80.0)


def test_bad_views_are_refused() -> None:
    for bad in (ScreenView(1, 1, 0.0, 10, 10), ScreenView(1, 1, 1.0, 0.5, 10), ScreenView(float("nan"), 1, 1, 10, 10)):
        with pytest.raises(InvalidParameter):
            bad.check()


def _sip_wcs() -> WCS:
    header = make_wcs_header((300, 400), 150.1, 2.2, 0.1, rotation_deg=20.0)
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
    header.update({"A_ORDER": 2, "B_ORDER": 2, "A_2_0": 2e-5, "B_0_2": -3e-5, "A_1_1": 1e-5})
    return WCS(header)


def test_view_wcs_is_the_full_wcs_at_the_mapped_pixels() -> None:
    image = _sip_wcs()
    view = ScreenView(210.0, 140.0, 3.0, 300.0, 200.0, 70.0, True)
    wcs = ViewWCS(image, view)
    X, Y = np.meshgrid(np.arange(0, 300, 37.0), np.arange(0, 200, 29.0))
    ra, dec = wcs.pixel_to_world_values(X, Y)
    x, y = view.to_image(X, Y)
    ra0, dec0 = image.all_pix2world(x, y, 0)  # astropy's full WCS, SIP applied
    assert np.allclose(ra, ra0, rtol=0, atol=1e-10) and np.allclose(dec, dec0, rtol=0, atol=1e-10)
    back = wcs.world_to_pixel_values(ra, dec)
    assert np.allclose(back[0], X, atol=1e-6) and np.allclose(back[1], Y, atol=1e-6)
    assert wcs.pixel_shape == (300, 200) and wcs.wcs.radesys == "ICRS"


def test_compass_turns_with_the_view() -> None:
    """Turning the view clockwise by 90 degrees turns north clockwise by 90 on screen; a flip mirrors east."""
    image = WCS(make_wcs_header((200, 200), 30.0, -10.0, 0.2))
    north0, east0 = compass_vectors(ViewWCS(image, ScreenView(100, 100, 1.0, 200, 200)), 99.5, 99.5)
    assert north0 == pytest.approx([0, 1], abs=1e-3) and east0 == pytest.approx([-1, 0], abs=1e-3)
    north, east = compass_vectors(ViewWCS(image, ScreenView(100, 100, 1.0, 200, 200, 90.0)), 99.5, 99.5)
    assert north == pytest.approx([1, 0], abs=1e-3) and east == pytest.approx([0, 1], abs=1e-3)
    north, east = compass_vectors(ViewWCS(image, ScreenView(100, 100, 1.0, 200, 200, 0.0, True)), 99.5, 99.5)
    assert north == pytest.approx([0, 1], abs=1e-3) and east == pytest.approx([1, 0], abs=1e-3)
