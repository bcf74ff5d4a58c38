"""DS9 habits (issue 14): right-drag contrast/bias, middle-click pan, crosshair mode with the
arrow keys, the magnifier, the 5x5 pixel table (values equal astropy's) and the shortcuts in Help."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from tests.browser.helpers import READY, set_view, wait_tiles

pytestmark = pytest.mark.browser

LINK = "/open/demo/galaxy.fits?hdu=1&cx=1100&cy=1100&zoom=2"


def _open(page: Any, live_server: Any) -> dict[str, float]:
    page.goto(live_server.url + LINK)
    page.wait_for_selector(READY)
    wait_tiles(page)
    box = page.locator("#viewer").bounding_box()
    return box


def _screen(page: Any, x: float, y: float) -> tuple[float, float]:
    box = page.locator("#viewer").bounding_box()
    s = page.evaluate(f"() => window.neloura.ctx.viewer.imageToScreen({x}, {y})")
    return box["x"] + s["x"], box["y"] + s["y"]


def test_right_drag_changes_contrast_and_bias_as_in_ds9(page: Any, live_server: Any) -> None:
    box = _open(page, live_server)
    before = page.evaluate("() => window.neloura.ctx.viewer.display")
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    view = page.evaluate("() => window.neloura.ctx.viewer.viewState()")
    page.mouse.move(cx, cy)
    page.mouse.down(button="right")
    page.mouse.move(cx + box["width"] * 0.1, cy - box["height"] * 0.2, steps=6)
    page.mouse.up(button="right")
    page.wait_for_function(f"() => window.neloura.ctx.viewer.display.vmax !== {before['vmax']}")
    after = page.evaluate("() => window.neloura.ctx.viewer.display")
    expected = page.evaluate(
        f"""async () => (await import('/static/js/features/mouse.js')).contrastBias(
            {{ vmin: {before["vmin"]}, vmax: {before["vmax"]} }}, 0.1, -0.2)"""
    )
    assert after["vmin"] == pytest.approx(expected["vmin"], rel=1e-6)
    assert after["vmax"] == pytest.approx(expected["vmax"], rel=1e-6)
    assert after["vmax"] - after["vmin"] < before["vmax"] - before["vmin"]  # dragged up: more contrast
    assert page.evaluate("() => window.neloura.ctx.viewer.viewState()")["cx"] == pytest.approx(
        view["cx"], abs=0.5
    )  # no pan


def test_middle_click_centres_the_view_on_the_point(page: Any, live_server: Any) -> None:
    _open(page, live_server)
    x, y = _screen(page, 1150, 1060)
    page.mouse.click(x, y, button="middle")
    page.wait_for_function(
        "() => { const v = window.neloura.ctx.viewer.viewState();"
        " return Math.abs(v.cx - 1150) < 1 && Math.abs(v.cy - 1060) < 1; }"
    )


def test_crosshair_locks_the_readout_and_arrow_keys_move_it(page: Any, live_server: Any) -> None:
    _open(page, live_server)
    page.keyboard.press("c")
    x, y = _screen(page, 1120, 1090)
    page.mouse.click(x, y)
    page.wait_for_function("() => document.getElementById('viewer').dataset.crosshair === '1120,1090'")
    page.wait_for_function("() => document.getElementById('coords-pixel').textContent === '1121, 1091'")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Shift+ArrowLeft")
    page.wait_for_function("() => document.getElementById('viewer').dataset.crosshair === '1111,1091'")
    page.wait_for_function("() => document.getElementById('coords-pixel').textContent === '1112, 1092'")
    page.mouse.move(x + 80, y + 60)  # the pointer no longer drives the readout
    page.wait_for_timeout(200)
    assert page.text_content("#coords-pixel") == "1112, 1092"
    assert page.locator("#viewer .crosshair-layer").count() == 1
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.getElementById('viewer').dataset.crosshair === ''")
    page.mouse.move(x + 81, y + 61)
    page.wait_for_function("() => document.getElementById('coords-pixel').textContent !== '1112, 1092'")


def test_pixel_table_shows_the_5x5_values_around_the_cursor(page: Any, live_server: Any) -> None:
    _open(page, live_server)
    page.keyboard.press("p")
    page.wait_for_selector("#pixel-table-panel.open")
    set_view(page, 1003, 1207, 8)
    x, y = _screen(page, 1003, 1207)
    page.mouse.move(x, y)
    page.wait_for_function("() => document.getElementById('pixel-table').dataset.centre === '1003,1207'")
    cells = page.locator("#pixel-table tbody tr").all()
    assert len(cells) == 5
    data = fits.getdata(live_server.files_dir / "demo" / "galaxy.fits", "SCI")
    shown = [[float(t) for t in row.locator("td").all_text_contents()] for row in cells]
    expected = data[1209:1204:-1, 1001:1006]  # top row (highest y) first
    np.testing.assert_allclose(shown, expected, rtol=1e-4)
    assert (
        page.locator("#pixel-table td.centre").text_content()
        == page.locator("#pixel-table tbody tr").nth(2).locator("td").nth(2).text_content()
    )
    heads = page.locator("#pixel-table thead th").all_text_contents()
    assert heads[1:] == ["1002", "1003", "1004", "1005", "1006"]  # 1-based columns, as DS9


def test_magnifier_follows_the_cursor(page: Any, live_server: Any) -> None:
    _open(page, live_server)
    page.keyboard.press("m")
    x, y = _screen(page, 1040, 1060)
    page.mouse.move(x, y)
    page.wait_for_selector("#magnifier:not([hidden])")
    stats = page.evaluate(
        """() => { const c = document.getElementById('magnifier');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let lit = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) lit += 1;
          return lit / (d.length / 4); }"""
    )
    assert stats > 0.3  # the galaxy's pixels, enlarged, not an empty box
    mag = page.locator("#magnifier").bounding_box()
    assert abs(mag["x"] - x) < 200 and abs(mag["y"] - y) < 200  # near the cursor
    page.keyboard.press("m")
    page.mouse.move(x + 5, y + 5)
    page.wait_for_selector("#magnifier[hidden]", state="attached")


def test_help_lists_the_shortcuts(page: Any, live_server: Any) -> None:
    _open(page, live_server)
    page.click('.menu-button[data-menu="Help"]')
    page.click("text=Keyboard shortcuts")
    text = page.text_content("#shortcuts-dialog")
    for key in ("Right-drag", "Middle-click", "crosshair", "magnifier", "pixel table", "Fit".lower()):
        assert key.lower() in text.lower()
