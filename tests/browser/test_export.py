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
    assert one.shape[0] - one.shape[1] == pytest.approx(
        58, abs=2
    )  # the colorbar band below (ticks, then the unit line)
    band = one[-51:-41, 40:-40]  # the swatch: rows 6..18 of the 58-px band
    assert band.std(axis=1).mean() > 20  # a colour ramp, not a flat strip
    assert two[:, :, 1].std() > 10  # the image is there


def test_export_includes_visible_overlays_grid_and_an_unclipped_colorbar(page, live_server) -> None:
    """Issue 14 point 13: markers in the PNG (redrawn at 2x), an optional RA/Dec grid, the colorbar
    unit inside its band; a hidden overlay stays out."""
    link = "/open/demo/galaxy.fits?hdu=1&catalog=demo_sources.csv&size_col=5&color=%23ff00ff&cx=1100&cy=1100&zoom=0.8"
    open_view(page, live_server, link)
    page.wait_for_function("() => Number(document.body.dataset.overlayCount || 0) > 0")

    def export(scale: str, grid: bool) -> np.ndarray:
        page.click('.menu-button[data-menu="File"]')
        page.click("#menu-export")
        page.select_option("#export-scale", scale)
        if grid:
            page.check("#export-grid")
        with page.expect_download() as info:
            page.click("#export-go")
        data = info.value.path().read_bytes()
        page.keyboard.press("Escape")
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)

    def magenta(a: np.ndarray) -> int:
        return int(((a[:, :, 0] > 200) & (a[:, :, 1] < 90) & (a[:, :, 2] > 200)).sum())

    def grid_blue(a: np.ndarray) -> int:  # the grid's light blue lines, not the gray image
        return int(((a[:, :, 2] - a[:, :, 0] > 40) & (a[:, :, 2] > 120)).sum())

    plain = export("1", grid=False)
    band_h = 58
    image = plain[:-band_h]
    assert magenta(image) > 500  # the catalog markers are in the picture
    assert grid_blue(image) < 50
    band = plain[-band_h:]
    assert (np.abs(band[-4:] - band[-1, 0]).max()) == 0  # nothing drawn into the band's last rows: no clipping
    assert (np.abs(band[38:54, :] - band[-1, 0]).max(axis=2) > 60).sum() > 30  # the unit line is there
    twice = export("2", grid=True)
    assert magenta(twice[: -2 * band_h]) > 2 * magenta(image)  # markers redrawn at 2x (wider rings)
    assert grid_blue(twice[: -2 * band_h]) > 1000  # the coordinate grid
    page.locator("#overlay input[type=checkbox][title=visible]").uncheck()
    hidden = export("1", grid=False)
    assert magenta(hidden[:-band_h]) == 0
