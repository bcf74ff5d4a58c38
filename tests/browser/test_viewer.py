"""Zoom and pan from the toolbar, keyboard and mouse; the page URL reproduces the view."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.helpers import READY, open_view, viewer, wait_tiles

pytestmark = pytest.mark.browser


def _zoom(page) -> float:
    return float(viewer(page, "v.imageScale()"))


def test_zoom_buttons_keyboard_and_fit(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    fit = _zoom(page)
    page.click("#zoom-in")
    page.wait_for_function(f"() => window.neloura.ctx.viewer.imageScale() > {fit * 1.4}")
    page.click("#zoom-1")
    page.wait_for_function("() => Math.abs(window.neloura.ctx.viewer.imageScale() - 1) < 0.01")
    page.keyboard.press("-")
    page.wait_for_function("() => window.neloura.ctx.viewer.imageScale() < 0.7")
    page.keyboard.press("f")
    page.wait_for_function(f"() => Math.abs(window.neloura.ctx.viewer.imageScale() - {fit}) < {fit * 0.01}")
    # the URL follows the zoom (debounced at the end of each animation)
    page.click("#zoom-1")
    page.wait_for_function("() => new URLSearchParams(location.search).get('zoom') === '1'")


def test_drag_pans_and_updates_the_url(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.click("#zoom-1")
    page.wait_for_function("() => Math.abs(window.neloura.ctx.viewer.imageScale() - 1) < 0.01")
    before = viewer(page, "v.viewState()")
    box = page.locator("#viewer").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 100, cy + 60, steps=8)
    page.mouse.up()
    page.wait_for_function(
        f"() => Math.abs(Number(new URLSearchParams(location.search).get('cx')) - {before['cx'] - 100}) < 25"
    )
    after = viewer(page, "v.viewState()")
    # dragging right shows what was left of the centre; dragging down shows what was above (y up)
    assert after["cx"] == pytest.approx(before["cx"] - 100, abs=25)
    assert after["cy"] == pytest.approx(before["cy"] + 60, abs=25)


def test_view_url_round_trip(page, live_server, browser) -> None:
    link = "/open/demo/galaxy.fits?hdu=2&stretch=asinh&cmap=magma&vmin=0.01&vmax=0.2&invert=1&cx=700&cy=1300&zoom=2"
    open_view(page, live_server, link)
    display = viewer(page, "v.display")
    assert (display["stretch"], display["cmap"], display["vmin"], display["vmax"], display["invert"]) == (
        "asinh",
        "magma",
        0.01,
        0.2,
        True,
    )
    state = viewer(page, "v.viewState()")
    assert state["cx"] == pytest.approx(700, abs=1) and state["cy"] == pytest.approx(1300, abs=1)
    assert state["zoom"] == pytest.approx(2, rel=0.01)
    # change the view, then a second user opens the copied URL and sees the same view
    page.select_option("#display-stretch", "sqrt")
    page.wait_for_function("() => new URLSearchParams(location.search).get('stretch') === 'sqrt'")
    wait_tiles(page)
    url = page.url
    query = parse_qs(urlsplit(url).query)
    assert query["path"] == ["demo/galaxy.fits"] and query["hdu"] == ["2"] and query["cmap"] == ["magma"]
    other = page.context.new_page()
    other.goto(url)
    other.wait_for_selector(READY)
    wait_tiles(other)
    assert viewer(other, "v.display") == viewer(page, "v.display")
    s1, s2 = viewer(page, "v.viewState()"), viewer(other, "v.viewState()")
    assert s2["cx"] == pytest.approx(s1["cx"], abs=1) and s2["cy"] == pytest.approx(s1["cy"], abs=1)
    assert s2["zoom"] == pytest.approx(s1["zoom"], rel=0.01)
    assert other.url == url
    other.close()


def test_feature_contract_layers_viewport_and_clicks(page, live_server) -> None:
    """What other features rely on: canvas layers drawn in image coordinates, viewport
    notifications, and clicks reported in 0-based FITS pixels."""
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.evaluate(
        """() => {
          const v = window.neloura.ctx.viewer;
          window.__calls = 0; window.__clicks = [];
          v.onViewportChange(() => { window.__calls += 1; });
          window.neloura.ctx.bus.on('viewer:click', (d) => window.__clicks.push(d));
          window.__layer = v.addCanvasLayer((g, viewer) => {
            const s = viewer.imageToScreen(1000, 1000);
            g.fillStyle = '#ff0000'; g.fillRect(s.x - 3, s.y - 3, 6, 6);
          });
        }"""
    )
    page.evaluate("() => window.neloura.ctx.viewer.panTo(1000, 1000, 2, true)")
    page.wait_for_function("() => window.__calls > 0")
    rgba = page.evaluate(
        """() => {
          const v = window.neloura.ctx.viewer; const c = window.__layer.canvas;
          const s = v.imageToScreen(1000, 1000); const d = c.width / c.clientWidth;
          return Array.from(c.getContext('2d').getImageData(Math.round(s.x * d), Math.round(s.y * d), 1, 1).data);
        }"""
    )
    assert rgba == [255, 0, 0, 255]
    s = viewer(page, "v.imageToScreen(1234, 987)")
    box = page.locator("#viewer").bounding_box()
    page.mouse.click(box["x"] + s["x"], box["y"] + s["y"])
    page.wait_for_function("() => window.__clicks.length === 1")
    click = page.evaluate("() => window.__clicks[0]")
    assert click["x"] == pytest.approx(1234, abs=0.5) and click["y"] == pytest.approx(987, abs=0.5)
    layers = page.locator("canvas.viewer-layer").count()
    page.evaluate("() => window.__layer.remove()")
    assert page.locator("canvas.viewer-layer").count() == layers - 1


def test_levels_ready_redraws_the_shown_plane_with_new_tile_urls(page, live_server) -> None:
    """Overview tiles drawn before the block means existed are asked again (new URLs, so no cache
    keeps the strided ones) when the server announces ``levels:ready`` for the shown plane only."""
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    before = viewer(page, "v.element.dataset.tileQuery")
    assert "lv=" not in before
    page.evaluate(
        """() => window.neloura.ctx.bus.emit('server:event',
             {type: 'levels:ready', path: 'demo/galaxy.fits', hdu: 2, plane: 0})"""
    )  # another HDU: nothing to redraw
    page.wait_for_timeout(200)
    assert viewer(page, "v.element.dataset.tileQuery") == before
    page.evaluate(
        """() => window.neloura.ctx.bus.emit('server:event',
             {type: 'levels:ready', path: 'demo/galaxy.fits', hdu: 1, plane: 0})"""
    )
    page.wait_for_function("() => (window.neloura.ctx.viewer.element.dataset.tileQuery || '').includes('lv=1')")
    wait_tiles(page)
    urls = viewer(page, "v.osd.world.getItemAt(0).source.getTileUrl(9, 0, 0)")
    assert "lv=1" in urls
