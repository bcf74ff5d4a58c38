"""The page's layout (issue 14 points 10 and 11): the catalog dock sits below the viewer and never
hides the marker popup, the navigator or the colorbar; it resizes and folds; the page holds from
800 px wide up, the side panels becoming a drawer, with no sideways scrolling."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.browser.helpers import READY, wait_tiles

pytestmark = pytest.mark.browser

SLID_OUT = """(w) => { const s = document.getElementById('sidebar');
  return s.getAnimations().length === 0 && s.getBoundingClientRect().left >= w - 1; }"""
SLID_IN = """(w) => { const s = document.getElementById('sidebar'); const r = s.getBoundingClientRect();
  return s.getAnimations().length === 0 && r.right <= w + 1 && r.left < w - 200; }"""
RECTS = """() => Object.fromEntries(
  ['#viewer', '.catalog-dock', '#colorbar', '.navigator', '.overlay-popup', '#sidebar', '#viewer-wrap'].map((s) => {
    const n = document.querySelector(s);
    if (!n) return [s, null];
    const r = n.getBoundingClientRect();
    return [s, { top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height,
      visible: !n.hidden && getComputedStyle(n).visibility !== 'hidden' && r.width > 0 }];
  }))"""


def _within(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["top"] >= outer["top"] - 1
        and inner["bottom"] <= outer["bottom"] + 1
        and inner["left"] >= outer["left"] - 1
        and inner["right"] <= outer["right"] + 1
    )


def _frames(page: Any) -> None:
    page.evaluate(
        "() => new Promise((r) => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(r)), 350))"
    )


def test_dock_below_the_viewer_never_over_popup_navigator_colorbar(browser: Any, live_server: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(
        f"{live_server.url}/open/demo/galaxy.fits?hdu=1&catalog=demo_sources.csv&size_col=5&cx=1000&cy=700&zoom=0.7"
    )
    page.wait_for_selector(READY)
    page.wait_for_function("() => Number(document.body.dataset.overlayCount || 0) > 0")
    rows = list(csv.DictReader(io.StringIO((live_server.root / "catalogs" / "demo_sources.csv").read_text())))
    # a source in the lower part of the view: the dock the click opens would have covered it
    rect = page.evaluate("() => window.neloura.ctx.viewer.visibleImageRect()")
    low = next(
        r
        for r in rows
        if rect["x0"] + 50 < float(r["x_pix"]) < rect["x1"] - 50
        and rect["y0"] + 20 < float(r["y_pix"]) < rect["y0"] + 120
    )
    page.evaluate(f"() => window.neloura.ctx.bus.emit('viewer:click', {{ x: {low['x_pix']}, y: {low['y_pix']} }})")
    page.wait_for_selector(".catalog-dock:not([hidden])")
    page.wait_for_selector(".overlay-popup")
    _frames(page)
    r = page.evaluate(RECTS)
    dock = r[".catalog-dock"]
    assert dock["visible"] and dock["height"] > 100
    for name in ("#viewer", "#colorbar", ".navigator", ".overlay-popup"):
        assert r[name]["bottom"] <= dock["top"] + 1, f"{name} reaches under the dock"
    assert _within(r[".overlay-popup"], r["#viewer"])
    marker = page.evaluate(f"() => window.neloura.ctx.viewer.imageToScreen({low['x_pix']}, {low['y_pix']})")
    assert 0 <= marker["y"] <= r["#viewer"]["height"]  # the clicked source is still in view
    # resize by the grip: the viewer follows
    grip = page.locator(".cat-grip").bounding_box()
    page.mouse.move(grip["x"] + 200, grip["y"] + 3)
    page.mouse.down()
    page.mouse.move(grip["x"] + 200, grip["y"] - 120, steps=5)
    page.mouse.up()
    _frames(page)
    taller = page.evaluate(RECTS)
    assert taller[".catalog-dock"]["height"] == pytest.approx(dock["height"] + 123, abs=8)
    assert taller["#viewer"]["bottom"] == pytest.approx(taller[".catalog-dock"]["top"], abs=1)
    # fold: the title row only, the viewer gets the room back
    page.click(".cat-fold")
    _frames(page)
    folded = page.evaluate(RECTS)
    assert folded[".catalog-dock"]["height"] < 90  # its title row (two lines when the viewer is narrow)
    assert folded["#viewer"]["bottom"] == pytest.approx(folded[".catalog-dock"]["top"], abs=1)
    assert folded["#colorbar"]["bottom"] <= folded[".catalog-dock"]["top"]
    context.close()
    assert not errors


@pytest.mark.parametrize(("width", "height"), [(900, 800), (800, 700)])
def test_narrow_windows_hold_without_sideways_scroll_and_a_drawer(
    browser: Any, live_server: Any, width: int, height: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{live_server.url}/open/demo/galaxy.fits?hdu=1&catalog=demo_sources.csv&size_col=5")
    page.wait_for_selector(READY)
    wait_tiles(page)
    sizes = page.evaluate(
        "() => { window.scrollTo(200, 0); const d = document.documentElement;"
        " return [d.scrollWidth, d.clientWidth, window.scrollX]; }"
    )
    assert sizes == [width, width, 0]  # nothing to scroll sideways to
    r = page.evaluate(RECTS)
    assert r["#viewer"]["right"] == pytest.approx(width, abs=1)  # the image gets the whole width
    assert not r["#sidebar"]["visible"] or r["#sidebar"]["left"] >= width - 1
    toolbar = page.evaluate(
        "() => [...document.querySelectorAll('#toolbar > *')].map((n) => n.getBoundingClientRect().right)"
    )
    assert max(toolbar) <= width + 0.5  # nothing of the toolbar is cut off
    # the drawer slides (a 0.18 s transition, longer on a busy machine): wait for it to come to rest
    page.click("#drawer-toggle")
    page.wait_for_function(SLID_IN, arg=width)
    r = page.evaluate(RECTS)
    assert r["#sidebar"]["visible"] and r["#sidebar"]["right"] <= width + 1 and r["#sidebar"]["left"] < width - 200
    page.keyboard.press("Escape")
    page.wait_for_function(SLID_OUT, arg=width)
    assert page.evaluate(RECTS)["#sidebar"]["left"] >= width - 1
    # a menu item that shows a panel opens the drawer on it
    page.click('.menu-button[data-menu="Analysis"]')
    page.click("#menu-pixel-table")
    page.wait_for_function(SLID_IN, arg=width)
    assert page.evaluate("() => document.body.classList.contains('drawer-open')")
    assert page.locator("#pixel-table-panel").is_visible()
    context.close()


def test_wide_windows_show_the_panels_beside_the_image(page: Any, live_server: Any) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{live_server.url}/open/demo/galaxy.fits?hdu=1")
    page.wait_for_selector(READY)
    r = page.evaluate(RECTS)
    assert r["#sidebar"]["visible"] and r["#sidebar"]["left"] >= r["#viewer"]["right"] - 1
    assert not page.locator("#drawer-toggle").is_visible()
