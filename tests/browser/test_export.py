"""Export PNG: the current view with a colorbar at the chosen resolution, built from tiles."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.browser.helpers import open_view, set_view

pytestmark = pytest.mark.browser


def _export(page, scale: str, colorbar: bool) -> np.ndarray:
    page.click('.menu-button[data-menu="File"]')
    page.click("#menu-export")
    page.select_option("#export-scale", scale)
    if not colorbar:
        page.uncheck("#export-colorbar")
    with page.expect_download() as info:
        page.click("#export-go")
    data = info.value.path().read_bytes()
    page.keyboard.press("Escape")
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_export_png_resolution_and_colorbar(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1&cmap=viridis")
    set_view(page, 1023.5, 1023.5, 0.35)  # the whole image fits: the output covers the image only
    one = _export(page, "1", colorbar=True)
    two = _export(page, "2", colorbar=False)
    # 2048 image px at 0.35 screen px each: ~717 px wide at 1x, ~1434 at 2x (from finer tiles)
    assert one.shape[1] == pytest.approx(717, abs=2)
    assert two.shape[1] == pytest.approx(1434, abs=3)
    assert two.shape[0] == pytest.approx(two.shape[1], abs=3)  # square image, no colorbar
    assert one.shape[0] - one.shape[1] == pytest.approx(58, abs=2)  # the colorbar band below (ticks, then the unit line)
    band = one[-40:-30, 40:-40]
    assert band.std(axis=1).mean() > 20  # a colour ramp, not a flat strip
    assert two[:, :, 1].std() > 10  # the image is there
