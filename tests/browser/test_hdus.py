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
