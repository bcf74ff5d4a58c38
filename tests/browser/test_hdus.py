"""HDU chooser (thumbnails, recommended HDU) and opening by the file browser."""

from __future__ import annotations

import pytest

from tests.browser.helpers import READY, assert_canvas_matches_server, set_view, viewer, wait_tiles

pytestmark = pytest.mark.browser


def test_open_by_file_browser_with_hdu_choice(page, live_server) -> None:
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.click('.menu-button[data-menu="File"]')
    page.click("#menu-open")
    page.click('#file-list .file-row[data-path="demo"]')
    page.wait_for_selector('#file-list .file-row[data-path="demo/galaxy.fits"] img.thumb')
    page.click('#file-list .file-row[data-path="demo/galaxy.fits"]')
    chooser = page.locator("#hdu-chooser")
    chooser.wait_for()
    cards = chooser.locator(".hdu-card")
    assert cards.count() == 4
    assert "recommended" in chooser.locator('.hdu-card[data-hdu="1"]').text_content()
    assert chooser.locator('.hdu-card[data-hdu="0"]').evaluate("e => e.tagName") == "DIV"  # empty primary
    page.wait_for_function(
        "() => [...document.querySelectorAll('#hdu-chooser img')].every((i) => i.complete && i.naturalWidth > 0)"
    )
    chooser.locator('.hdu-card[data-hdu="2"]').click()
    page.wait_for_selector(READY)
    wait_tiles(page)
    assert viewer(page, "[v.image.path, v.image.hdu]") == ["demo/galaxy.fits", 2]
    assert "hdu=2" in page.url
    # the chooser, from the menu, switches HDU of the open file
    page.click('.menu-button[data-menu="File"]')
    page.click("#menu-hdus")
    page.locator('#hdu-chooser .hdu-card[data-hdu="2"].current').wait_for()
    page.click('#hdu-chooser .hdu-card[data-hdu="3"]')
    page.wait_for_function("() => window.neloura.ctx.viewer.image && window.neloura.ctx.viewer.image.hdu === 3")
    wait_tiles(page)
    set_view(page, 1024, 1024, 2)
    assert_canvas_matches_server(page)


def test_single_image_file_opens_directly(page, live_server) -> None:
    page.goto(live_server.url + "/search/cube")
    page.click('#file-list .file-row[data-path="demo/cube.fits"]')
    page.wait_for_selector(READY)
    assert viewer(page, "[v.image.path, v.image.hdu]") == ["demo/cube.fits", 0]
    assert page.locator("#hdu-chooser").count() == 0


def test_hdu_labels_say_rows_columns_and_arrays(page, live_server) -> None:
    """Issue 14 point 15: a table in rows x columns, a 1-D array by its length (not "empty")."""
    import numpy as np
    from astropy.io import fits
    from astropy.table import Table

    target = live_server.files_dir / "labels" / "mixed.fits"
    target.parent.mkdir(exist_ok=True)
    table = fits.table_to_hdu(Table({"a": [1, 2, 3], "b": [4.0, 5.0, 6.0], "c": ["x", "y", "z"]}))
    image = fits.ImageHDU(np.zeros((20, 30), np.float32), name="SCI")
    fits.HDUList([fits.PrimaryHDU(), image, table, fits.ImageHDU(np.arange(4096.0), name="SPEC")]).writeto(target)
    page.goto(live_server.url + "/open/demo/galaxy.fits?hdu=1")
    page.wait_for_selector("body[data-ready='1']")
    page.evaluate("() => window.neloura.ctx.bus.emit('hdus:show', { path: 'labels/mixed.fits' })")
    chooser = page.locator("#hdu-chooser")
    chooser.wait_for()
    assert chooser.locator('.hdu-card[data-hdu="2"] .hdu-desc').text_content() == "table: 3 rows × 3 columns"
    assert (
        chooser.locator('.hdu-card[data-hdu="3"] .hdu-desc').text_content()
        == "1-D array, 4,096 values (not an image) BITPIX -64"
    )
    assert chooser.locator('.hdu-card[data-hdu="0"] .hdu-desc').text_content().startswith("no data")
    assert chooser.locator('.hdu-card[data-hdu="1"] .hdu-desc').text_content().startswith("image 30×20")
