"""The WebGL tile renderer: data tiles coloured in a shader give the PNG tiles' pixels (within
one palette step) for every stretch, several colormaps, invert and the NaN colour; a display
change makes no tile request; ``?gl=0`` keeps the canvas drawer and the PNG tiles."""

from __future__ import annotations

import io
import json
import urllib.request
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.browser.helpers import SAMPLE_CANVAS, assert_canvas_matches_server, open_view, set_view, viewer, wait_tiles

pytestmark = pytest.mark.browser

LINK = "/open/demo/galaxy.fits?hdu=1"
TILE_REQUEST = ("/api/images/tiles/", "/api/images/data-tiles/")


def _served(url: str) -> tuple[np.ndarray, np.ndarray]:
    """Palette indices and RGBA palette of a PNG tile as the server renders it."""
    with urllib.request.urlopen(url, timeout=30) as r:
        img = Image.open(io.BytesIO(r.read()))
    index = np.asarray(img)
    rgb = np.array(img.getpalette()[: 256 * 3], dtype=int).reshape(-1, 3)
    alpha = np.full(256, 255)
    if "transparency" in img.info:
        t = img.info["transparency"]
        if isinstance(t, int):
            alpha[t] = 0
        else:
            alpha[: len(t)] = list(t)
    return index, np.c_[rgb, alpha]


def assert_gl_equals_png(page: Any, n: int = 10) -> np.ndarray:
    """Every sampled screen pixel of the WebGL drawing is the colour of the PNG tile's palette
    index there, or of a neighbouring index (one palette step). Returns the drawn RGB."""
    samples = page.evaluate(SAMPLE_CANVAS, n)
    tiles: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    drawn, misses = [], []
    for s in samples:
        index, pal = tiles.setdefault(s["url"], _served(s["url"]))
        i = int(index[s["ty"], s["tx"]])
        if pal[i][3] != 255:
            continue  # transparent NaN: the page background shows through
        allowed = [pal[i]] if i == 255 else [pal[j] for j in range(max(0, i - 1), min(254, i + 1) + 1)]
        got = np.array(s["rgba"][:3])
        if min(np.abs(got - c[:3]).max() for c in allowed) > 1:
            misses.append((s["x"], s["y"], got.tolist(), i, pal[i][:3].tolist()))
        drawn.append(got)
    assert len(drawn) >= n * n // 2, "too few opaque pixels sampled"
    assert not misses, f"WebGL pixels differ from the PNG tiles by more than one palette step: {misses[:5]}"
    return np.asarray(drawn)


def set_display(page: Any, patch: dict[str, Any]) -> None:
    """Emit display:set and wait until the shader shows it (and one more frame is drawn)."""
    before = viewer(page, "v.element.dataset.glDisplay")
    changed = page.evaluate(
        f"""() => {{ const v = window.neloura.ctx.viewer; const was = JSON.stringify(v.display);
          window.neloura.ctx.bus.emit('display:set', {json.dumps(patch)});
          return JSON.stringify(v.display) !== was; }}"""
    )
    if not changed:
        return
    page.wait_for_function(f"() => window.neloura.ctx.viewer.element.dataset.glDisplay !== {json.dumps(before)}")
    wait_tiles(page)


@pytest.fixture
def gl_page(page: Any, live_server: Any) -> Any:
    open_view(page, live_server, LINK)
    assert viewer(page, "v.element.dataset.renderer") == "webgl"
    set_view(page, 1024, 1024, 2)  # 2 screen px per image px: pixels drawn as squares
    return page


@pytest.mark.parametrize("stretch", ["linear", "log", "sqrt", "squared", "power", "asinh", "sinh", "histequ"])
def test_every_stretch_matches_the_png_tiles(gl_page: Any, stretch: str) -> None:
    set_display(gl_page, {"stretch": stretch, "cmap": "viridis" if stretch == "log" else "gray"})
    assert_gl_equals_png(gl_page)


def test_colormaps_invert_limits_exponent_and_nan_colour(gl_page: Any) -> None:
    before = assert_gl_equals_png(gl_page)
    for patch in (
        {"cmap": "magma"},
        {"cmap": "inferno", "invert": True},
        {"cmap": "cubehelix", "invert": False, "stretch": "power", "exponent": 3},
        {"stretch": "log", "exponent": 50, "vmin": 0.2, "vmax": 8.0},
        {"cmap": "gray_r", "stretch": "asinh"},
    ):
        set_display(gl_page, patch)
        after = assert_gl_equals_png(gl_page)
    assert np.abs(after.astype(int) - before).mean() > 5  # the picture really changed
    # NaN: the demo image's corners outside the rotated footprint are blank
    set_view(gl_page, 60, 60, 2)
    set_display(gl_page, {"nan_color": "red", "cmap": "gray", "invert": False})
    drawn = assert_gl_equals_png(gl_page)
    assert (np.abs(drawn - [255, 0, 0]).max(axis=1) == 0).any()


def test_a_display_change_makes_no_tile_request(gl_page: Any) -> None:
    urls: list[str] = []
    gl_page.on("request", lambda r: urls.append(r.url))
    for patch in (
        {"stretch": "log"},
        {"vmin": 0.1, "vmax": 5.0},
        {"cmap": "viridis"},
        {"invert": True},
        {"nan_color": "#00ff00"},
        {"stretch": "histequ"},
        {"stretch": "sqrt", "cmap": "gray", "invert": False},
    ):
        set_display(gl_page, patch)
    tiles = [u for u in urls if any(t in u for t in TILE_REQUEST)]
    assert tiles == [], tiles[:3]
    assert any("/api/images/stretch-table" in u for u in urls)  # histequ's table from the server
    assert "stretch=sqrt" in viewer(gl_page, "v.element.dataset.tileQuery")


def test_data_tiles_are_what_the_page_loads(page: Any, live_server: Any) -> None:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    open_view(page, live_server, LINK)
    assert any("/api/images/data-tiles/" in u for u in urls)
    assert not any("/api/images/tiles/" in u for u in urls)


def test_gl_0_keeps_the_png_tiles(page: Any, live_server: Any) -> None:
    open_view(page, live_server, LINK + "&gl=0")
    assert viewer(page, "v.element.dataset.renderer") == "png"
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.evaluate("() => window.neloura.ctx.bus.emit('display:set', { stretch: 'log' })")
    page.wait_for_function("() => window.neloura.ctx.viewer.element.dataset.tileQuery.includes('stretch=log')")
    assert any("/api/images/tiles/" in u for u in urls)


STRETCH_CASES = [("linear", None), ("log", None), ("log", 30.0), ("sqrt", None), ("squared", None)]
STRETCH_CASES += [("power", 3.5), ("asinh", None), ("sinh", None)]


def test_the_pages_stretch_tables_equal_the_servers(page: Any, live_server: Any) -> None:
    """The page computes the analytic tables itself (no request on a stretch change): byte for
    byte the table the PNG tiles use."""
    page.goto(live_server.url + "/")
    page.wait_for_selector('body[data-ready="1"]')
    for stretch, exponent in STRETCH_CASES:
        mine = page.evaluate(
            """async ([stretch, exponent]) => {
              const m = await import('/static/js/viewer/gl-display.js');
              return Array.from(m.analyticTable(stretch, exponent));
            }""",
            [stretch, exponent],
        )
        query = f"path=demo/galaxy.fits&hdu=1&stretch={stretch}&vmin=0&vmax=1"
        served = live_server.get(f"/api/images/stretch-table?{query}" + (f"&exponent={exponent}" if exponent else ""))
        assert np.array_equal(np.asarray(mine, dtype=np.uint8), np.frombuffer(served, np.uint8)), (stretch, exponent)


LOSE = """() => {
  window.__lose = window.neloura.ctx.viewer.osd.drawer.gl.getExtension('WEBGL_lose_context');
  window.__lose.loseContext();
}"""


def test_a_lost_context_is_restored_and_the_image_shows_again(gl_page: Any) -> None:
    """WEBGL_lose_context: while lost nothing is drawn; once restored the drawer rebuilds its
    programs and re-uploads every tile from its data (no tile request), and draws the PNG
    tiles' pixels again."""
    before = assert_gl_equals_png(gl_page)
    urls: list[str] = []
    gl_page.on("request", lambda r: urls.append(r.url))
    gl_page.evaluate(LOSE)
    gl_page.wait_for_function("() => window.neloura.ctx.viewer.osd.drawer.stats.lost === 1")
    assert viewer(gl_page, "v.osd.drawer.gl.isContextLost()")
    gl_page.evaluate("() => window.__lose.restoreContext()")
    gl_page.wait_for_function("() => window.neloura.ctx.viewer.osd.drawer.stats.restored === 1")
    gl_page.evaluate("() => window.neloura.ctx.viewer.osd.forceRedraw()")
    wait_tiles(gl_page)
    assert viewer(gl_page, "v.element.dataset.renderer") == "webgl"
    after = assert_gl_equals_png(gl_page)
    assert np.array_equal(after, before)
    assert not [u for u in urls if any(t in u for t in TILE_REQUEST)]
    set_display(gl_page, {"cmap": "viridis"})  # display changes still go through the shader
    assert_gl_equals_png(gl_page)


def test_a_context_never_restored_falls_back_to_the_png_tiles(gl_page: Any) -> None:
    """A lost context that the browser does not restore: the viewer switches to the canvas drawer
    and PNG tiles, at the same view, and follows display changes through tile requests."""
    urls: list[str] = []
    gl_page.on("request", lambda r: urls.append(r.url))
    view = viewer(gl_page, "JSON.stringify(v.visibleImageRect())")
    gl_page.evaluate(LOSE)
    gl_page.wait_for_function("() => window.neloura.ctx.viewer.element.dataset.renderer === 'png'", timeout=15000)
    wait_tiles(gl_page)
    assert viewer(gl_page, "v.osd.drawer.getType()") == "canvas"
    assert viewer(gl_page, "JSON.stringify(v.visibleImageRect())") == view
    assert any("/api/images/tiles/" in u for u in urls)
    assert_canvas_matches_server(gl_page)
    gl_page.evaluate("() => window.neloura.ctx.bus.emit('display:set', { stretch: 'log' })")
    gl_page.wait_for_function("() => window.neloura.ctx.viewer.element.dataset.tileQuery.includes('stretch=log')")
    wait_tiles(gl_page)
    assert_canvas_matches_server(gl_page)
