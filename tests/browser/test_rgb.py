"""RGB composites and contours in the page: build from the menu, change a channel's colour and
limits (the pixels change), open /open-rgb, contours on; screenshots under /tmp/neloura-rgb/."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.browser.helpers import open_view, viewer, wait_tiles
from tests.core.rgb_fields import write_fields

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/neloura-rgb")


@pytest.fixture(scope="module")
def fields(live_server) -> list[str]:
    folder = live_server.files_dir / "rgbtest"
    folder.mkdir(exist_ok=True)
    return [f"rgbtest/{n}" for n in write_fields(folder)]


def _shot(page, name: str) -> np.ndarray:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    return np.asarray(Image.open(io.BytesIO(page.locator("#viewer").screenshot())).convert("RGB")).astype(int)


def _composite_shown(page) -> None:
    page.wait_for_selector("body[data-rgb]", timeout=120_000)
    page.wait_for_function("() => window.neloura.ctx.viewer.image && window.neloura.ctx.viewer.image.tiles === 'rgb'")
    wait_tiles(page)


def _requery(page, needle: str) -> None:
    page.wait_for_function(
        f"() => (document.querySelector('#viewer').dataset.tileQuery || '').includes({json.dumps(needle)})"
    )
    wait_tiles(page)


@pytest.mark.parametrize("width", [1600, 900])
def test_build_from_the_menu_then_recolour_and_relimit(page, live_server, fields, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    open_view(page, live_server, f"/open/{fields[0]}")
    page.click('.menu-button[data-menu="File"]')
    page.click("#menu-rgb")
    rows = page.locator("#rgb-builder .rgb-builder-row:not(.rgb-builder-head)")
    assert rows.nth(0).locator(".rgb-path").input_value() == fields[0]  # the current image
    rows.nth(1).locator(".rgb-path").fill(fields[1])
    rows.nth(2).locator(".rgb-path").fill(fields[2])
    page.click("#rgb-builder .rgb-order")
    page.wait_for_function(
        "() => document.querySelector('#rgb-builder .rgb-builder-row:not(.rgb-builder-head) .rgb-band')"
        ".textContent.includes('F444W')"
    )
    ordered = [rows.nth(i).locator(".rgb-path").input_value() for i in range(3)]
    assert ordered == [fields[2], fields[1], fields[0]]  # F444W, F814W, F438W: longest red
    _shot(page, f"builder_{width}")
    page.click("#rgb-builder .rgb-build")
    _composite_shown(page)
    assert "ch0=rgbtest" in page.url
    page.evaluate("() => window.neloura.ctx.viewer.panTo(230, 230, 1.6, true)")
    wait_tiles(page)
    before = _shot(page, f"composite_{width}")
    first = page.locator("#rgb-panel .rgb-channel").nth(0)
    first.locator(".rgb-color").fill("#ffff00")
    _requery(page, "color=ffff00")
    recoloured = _shot(page, f"recoloured_{width}")
    assert np.abs(recoloured - before).mean() > 0.05, "changing a colour did not change the pixels"
    vmax = page.locator("#rgb-panel .rgb-channel").nth(1).locator(".rgb-vmax")
    vmax.fill("0.01")
    vmax.press("Enter")
    _requery(page, "%2C0.01%2C")
    relimited = _shot(page, f"relimited_{width}")
    assert np.abs(relimited - recoloured).mean() > 0.05, "changing a limit did not change the pixels"
    page.mouse.move(*_centre(page))
    page.wait_for_function("() => document.querySelector('#rgb-panel .rgb-sky').textContent.includes('RA')")
    assert "ch0_color=%23ffff00" in page.url and "ch1_vmax=0.01" in page.url


def _centre(page) -> tuple[float, float]:
    box = page.locator("#viewer").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_open_rgb_deep_link_and_its_page_url(page, live_server, fields) -> None:
    page.goto(f"{live_server.url}/open-rgb?r={fields[2]}&g={fields[1]}&b={fields[0]}&rgb_mode=lupton")
    _composite_shown(page)
    assert viewer(page, "v.image.path") == fields[0]  # the finest pixel scale is the reference grid
    assert "mode=lupton" in str(page.get_attribute("#viewer", "data-tile-query"))
    _shot(page, "open_rgb")
    url = page.url
    page.goto(url)  # the page URL reproduces the composite
    _composite_shown(page)
    assert page.locator("#rgb-panel .rgb-mode").input_value() == "lupton"


def test_contours_follow_the_view(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.click('.menu-button[data-menu="Analysis"]')
    page.click("#menu-contours")
    page.click("#contours-panel .ct-draw")
    page.wait_for_selector("#viewer[data-contours]")
    assert int(str(page.get_attribute("#viewer", "data-contours"))) > 100
    shot = _shot(page, "contours")
    green = (shot[..., 1] > 200) & (shot[..., 0] < 120) & (shot[..., 2] < 120)
    assert green.sum() > 200, "no contour drawn"
    viewer(page, "v.zoomBy(2)")
    page.wait_for_timeout(600)
    zoomed = _shot(page, "contours_zoomed")
    assert np.abs(zoomed - shot).mean() > 1  # redrawn at the new zoom


DISPLAY_STATE = """() => ({ note: !document.querySelector('#display-rgb-note').hidden,
  limits: !document.querySelector('#display-vmin').closest('[hidden]'),
  colormap: !document.querySelector('#colormap-panel').hidden })"""


@pytest.mark.parametrize("width", [1600, 900])
def test_colorbar_and_display_describe_the_composite(page, live_server, fields, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{live_server.url}/open-rgb?r={fields[2]}&g={fields[1]}&b={fields[0]}")
    _composite_shown(page)
    page.wait_for_selector('#colorbar[data-rgb="3"]')
    rows = page.locator("#colorbar .cb-channel")
    assert rows.count() == 3
    assert [rows.nth(i).locator(".band").text_content() for i in range(3)] == ["F444W", "F814W", "F438W"]
    assert page.locator("#colorbar-ticks").count() == 0  # no single-image ticks under a composite
    # (DOM state: at 900 px the side panels are in the closed drawer)
    assert page.evaluate(DISPLAY_STATE) == {"note": True, "limits": False, "colormap": False}
    _shot(page, f"rgb_colorbar_{width}")
    # back to the plain image: the image's colorbar and display controls return
    page.evaluate("(p) => window.neloura.ctx.bus.emit('image:open', { path: p })", fields[0])
    page.wait_for_selector("#colorbar:not([data-rgb]) #colorbar-ticks")
    page.wait_for_function("() => document.querySelector('#colorbar').dataset.ticks")
    assert page.evaluate(DISPLAY_STATE) == {"note": False, "limits": True, "colormap": True}
