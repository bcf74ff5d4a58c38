"""Stretch, limits and colormap changes re-render the tiles, and the drawn pixels follow."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.browser.helpers import assert_canvas_matches_server, open_view, set_view, viewer, wait_tiles

pytestmark = pytest.mark.browser

LINK = "/open/demo/galaxy.fits?hdu=1"


def _tile_query(page) -> str:
    return str(page.get_attribute("#viewer", "data-tile-query"))


def _rerendered(page, needle: str) -> None:
    page.wait_for_function(
        f"() => (document.querySelector('#viewer').dataset.tileQuery || '').includes({json.dumps(needle)})"
    )
    wait_tiles(page)


def test_stretch_change_rerenders(page, live_server) -> None:
    open_view(page, live_server, LINK)
    set_view(page, 1024, 1024, 2)
    linear = assert_canvas_matches_server(page)
    page.select_option("#display-stretch", "log")
    _rerendered(page, "stretch=log")
    logged = assert_canvas_matches_server(page)
    assert np.abs(logged - linear).mean() > 5  # the picture really changed
    assert "stretch=log" in page.url
    page.click('.menu-button[data-menu="Scale"]')
    page.click("#menu-stretch-power")
    _rerendered(page, "stretch=power")
    assert page.is_visible("#display-exponent")
    page.fill("#display-exponent", "3")
    page.press("#display-exponent", "Enter")
    _rerendered(page, "exponent=3")
    assert_canvas_matches_server(page)


def test_limits_inputs_and_presets(page, live_server) -> None:
    open_view(page, live_server, LINK)
    set_view(page, 1024, 1024, 2)
    page.fill("#display-vmin", "0.5")
    page.fill("#display-vmax", "1.5")
    page.press("#display-vmax", "Enter")
    _rerendered(page, "vmax=1.5")
    assert viewer(page, "[v.display.vmin, v.display.vmax]") == [0.5, 1.5]
    assert_canvas_matches_server(page)
    page.click('#display-presets [data-preset="minmax"]')
    expected = json.loads(live_server.get("/api/images/limits?path=demo/galaxy.fits&hdu=1&mode=minmax"))
    page.wait_for_function(f"() => window.neloura.ctx.viewer.display.vmax === {expected['vmax']}")
    wait_tiles(page)
    assert viewer(page, "v.display.vmin") == expected["vmin"]
    assert_canvas_matches_server(page)
    page.click('#display-presets [data-preset="99"]')
    p99 = json.loads(live_server.get("/api/images/limits?path=demo/galaxy.fits&hdu=1&mode=percentiles&low=1&high=99"))
    page.wait_for_function(f"() => window.neloura.ctx.viewer.display.vmax === {p99['vmax']}")


def test_histogram_drag_sets_the_maximum(page, live_server) -> None:
    open_view(page, live_server, LINK)
    page.wait_for_selector("#histogram[data-loaded='1']")
    vmin, vmax = viewer(page, "[v.display.vmin, v.display.vmax]")
    handle = page.locator("#histogram .limit.max").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 40, y, steps=5)
    page.mouse.up()
    page.wait_for_function(f"() => window.neloura.ctx.viewer.display.vmax < {vmax}")
    assert viewer(page, "v.display.vmin") == vmin
    wait_tiles(page)
    assert float(page.input_value("#display-vmax")) < vmax


def test_colormap_picker_invert_and_reset(page, live_server) -> None:
    open_view(page, live_server, LINK)
    set_view(page, 1024, 1024, 2)
    gray = assert_canvas_matches_server(page)
    assert (gray[:, 0] == gray[:, 1]).all()  # grey levels
    page.click("#colormap-choose")
    page.fill("#colormap-search", "MAGM")
    page.wait_for_selector('#colormap-list [data-cmap="magma"]')
    assert page.locator("#colormap-list .cmap-item").count() == 2  # magma, magma_r
    page.click('#colormap-list [data-cmap="magma"]')
    _rerendered(page, "cmap=magma")
    colored = assert_canvas_matches_server(page)
    assert (colored[:, 0] != colored[:, 2]).any()
    assert page.text_content("#colormap-current") == "magma"
    page.check("#display-invert")
    _rerendered(page, "invert=true")
    assert_canvas_matches_server(page)
    page.select_option("#display-nan", "red")
    _rerendered(page, "nan_color=red")
    page.click("#display-reset")
    page.wait_for_function("() => !document.querySelector('#viewer').dataset.tileQuery.includes('magma')")
    wait_tiles(page)
    assert viewer(page, "v.display.cmap") == "gray" and viewer(page, "v.display.invert") is False


def test_colorbar_ticks_follow_limits(page, live_server) -> None:
    open_view(page, live_server, LINK)
    page.fill("#display-vmin", "0")
    page.fill("#display-vmax", "2")
    page.press("#display-vmax", "Enter")
    page.wait_for_function("() => (document.querySelector('#colorbar').dataset.ticks || '') === '[0,0.5,1,1.5,2]'")
    assert "MJy/sr" in page.text_content("#colorbar-unit")


def test_unknown_colormap_in_the_url_falls_back_to_gray(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1&cmap=no_such_map")
    assert "unknown colormap 'no_such_map'; showing gray" in page.text_content(".notice.error")
    assert viewer(page, "v.display.cmap") == "gray"
    assert "cmap=gray" in page.url


def test_colorbar_ticks_are_rounded(page, live_server) -> None:
    """Issue 14 point 15: the default limits (0.128031 .. 3.06868) give round tick values."""
    open_view(page, live_server, LINK)
    page.wait_for_function("() => (document.querySelector('#colorbar').dataset.ticks || '').length > 2")
    ticks = json.loads(page.get_attribute("#colorbar", "data-ticks"))
    assert len(ticks) >= 4
    for t in ticks:
        assert float(f"{t:.2g}") == pytest.approx(t, abs=1e-12), ticks
    labels = page.locator("#colorbar-ticks .tick").all_text_contents()
    assert all(len(label) <= 4 for label in labels), labels
