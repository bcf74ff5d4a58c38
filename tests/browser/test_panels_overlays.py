"""Panels in the page, each with its own overlays: catalog markers where each panel's WCS and view
put them, contours, the URL per panel, blink, and the PNG export and magnifier of a turned panel."""

from __future__ import annotations

import base64
import io
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from tests.browser.panel_steps import (
    DRAWN,
    SHOTS,
    _blink_cycles,
    _layout_2x2,
    _many_to_screen,
    _panel,
    _synced,
    _wait_panel_tiles,
    _wcs,
)
from tests.core.rgb_fields import star_sky

pytestmark = pytest.mark.browser


# Centroid (CSS px in panel i) of the marker pixels of colour ~rgb inside a box around each point.
MARKER_CENTRES = """([i, pts, half, rgb]) => {
  const p = window.neloura.ctx.panels.list()[i];
  const sums = pts.map(() => [0, 0, 0]);
  for (const c of p.element.querySelectorAll('.overlay-canvas')) {
    if (c.hidden || !c.width) continue;
    const t = document.createElement('canvas'); t.width = c.width; t.height = c.height;
    const g = t.getContext('2d'); g.drawImage(c, 0, 0);
    const dpr = c.width / c.clientWidth;
    pts.forEach((s, k) => {
      const x0 = Math.floor((s.x - half) * dpr), y0 = Math.floor((s.y - half) * dpr), n = Math.ceil(2 * half * dpr);
      if (x0 < 0 || y0 < 0 || x0 + n > t.width || y0 + n > t.height) { sums[k] = null; return; }
      const d = g.getImageData(x0, y0, n, n).data;
      for (let j = 0; j < d.length; j += 4) {
        if (d[j + 3] < 100) continue;
        const a = d[j + 3] / 255;
        if ([0, 1, 2].some((q) => Math.abs(d[j + q] / a - rgb[q]) > 70)) continue;
        const col = (j / 4) % n, row = Math.floor(j / 4 / n);
        sums[k][0] += (x0 + col + 0.5) / dpr; sums[k][1] += (y0 + row + 0.5) / dpr; sums[k][2] += 1;
      }
    });
  }
  return sums.map((s) => (s && s[2] ? { x: s[0] / s[2], y: s[1] / s[2], n: s[2] } : null));
}"""
# Drawn (alpha) pixels of a panel's layers of one class.
MAGENTA, CYAN = [255, 0, 255], [0, 255, 255]


def _write_star_catalog(live_server) -> int:
    """The star field as a catalog (ra, dec, flux as drawn); returns how many have flux > 3000."""
    ra, dec = star_sky()
    flux = np.linspace(2000, 6000, len(ra))
    rows = "\n".join(f"{r:.9f},{d:.9f},{f:.1f}" for r, d, f in zip(ra, dec, flux, strict=True))
    for name in ("panel_stars.csv", "panel_stars_b.csv"):
        (live_server.root / "catalogs" / name).write_text(f"ra,dec,flux\n{rows}\n")
    return int((flux > 3000).sum())


def _markers_where_the_wcs_puts_them(page, live_server, i: int, path: str, rgb: list[int], flux_min: float) -> int:
    """Every marker of panel i drawn (colour rgb) centred on its star's pixel through the panel's
    own WCS and view (zoom, rotation, flip) within 1.5 CSS px; returns how many were checked."""
    ra, dec = star_sky()
    keep = np.linspace(2000, 6000, len(ra)) > flux_min
    wcs = _wcs(live_server, path)
    xs, ys = wcs.world_to_pixel_values(ra[keep], dec[keep])
    pts = _many_to_screen(page, i, xs, ys)
    # the box holds the whole 0.4" ring: its radius in CSS px, plus the outline
    arcsec_per_px = float(np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix)))) * 3600
    scale = page.evaluate("(i) => window.neloura.ctx.panels.list()[i].viewer.imageScale()", i)
    got = page.evaluate(MARKER_CENTRES, [i, pts, 0.4 / arcsec_per_px * scale + 6, rgb])
    checked = 0
    for want, have in zip(pts, got, strict=True):
        if have is None:
            continue  # outside the panel
        assert have["n"] > 20 and abs(have["x"] - want["x"]) < 1.5 and abs(have["y"] - want["y"]) < 1.5, (i, want, have)
        checked += 1
    return checked


def _grey(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L")).astype(float)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_overlays_per_panel_follow_their_view_and_the_url(page, live_server, panel_fields) -> None:
    """Issue 9's acceptance: 2x2 panels locked by WCS, a catalog overlay on two panels at once (each
    its own filter, size, colour), contours on a third, blink; each panel draws its own overlays on
    its own view (the flipped and the 180-degree ones included), keeps them when another panel is
    active, and the URL reproduces them. Then the PNG export and the magnifier of the flipped and
    rotated panel show what it shows."""
    n_bright = _write_star_catalog(live_server)
    page.set_viewport_size({"width": 1600, "height": 1000})
    _layout_2x2(page, live_server, panel_fields)
    paths = [panel_fields[0], panel_fields[1], panel_fields[2], panel_fields[1]]
    # panel 1 (active): bright stars only, magenta, 0.4" circles
    page.evaluate(
        """() => window.neloura.ctx.bus.emit('overlay:show', { name: 'panel_stars.csv', ra_col: 'ra', dec_col: 'dec',
        size_col: '0.4', size_unit: 'arcsec', filter: 'flux > 3000', color: '#ff00ff' })"""
    )
    page.wait_for_function(f"() => document.querySelector('{_panel(1)}').dataset.overlayCount === '{n_bright}'")
    # panel 3 (0.11", rotated 180 degrees): through the side panel, which edits the active panel's overlays
    page.click(_panel(3), position={"x": 30, "y": 60})
    if not page.locator(".overlay-panel input[list='overlay-catalogs']").is_visible():  # the menu item toggles it
        page.click('.menu-button[data-menu="Catalogs"]')
        page.click("text=Overlay on image…")
    assert page.locator(".overlay-panel .overlay-tab").count() == 0  # panel 3 has none yet
    page.fill(".overlay-panel input[list='overlay-catalogs']", "panel_stars.csv")
    page.click(".overlay-panel button:has-text('Overlay')")
    page.wait_for_function(f"() => document.querySelector('{_panel(3)}').dataset.overlayCount === '25'")
    page.fill(".overlay-panel input[data-key='size_col']", "0.4")
    page.select_option(".overlay-panel select[data-key='size_unit']", "arcsec")
    page.click(".overlay-panel button:has-text('Apply')")
    page.wait_for_function("() => document.querySelector('.overlay-status')?.textContent.startsWith('25 of')")
    page.fill(".overlay-panel input[type='color']", "#00ffff")
    # a second overlay on panel 3 (yellow 0.2" circles inside the cyan ones)
    page.evaluate(
        """() => window.neloura.ctx.bus.emit('overlay:show', { name: 'panel_stars_b.csv', size_col: '0.2',
        size_unit: 'arcsec', color: '#ffff00' })"""
    )
    page.wait_for_function("() => document.querySelectorAll('.overlay-panel .overlay-tab').length === 2")
    page.wait_for_function(f"() => document.querySelectorAll('{_panel(3)} .overlay-canvas').length === 2")
    # panel 2 (flipped, rotated 37 degrees): contours
    page.click(_panel(2), position={"x": 30, "y": 60})
    assert page.locator(".overlay-panel .overlay-tab").count() == 0
    page.click('.menu-button[data-menu="Analysis"]')
    page.click("#menu-contours")
    page.fill("#contours-panel .ct-smooth", "2")
    page.click("#contours-panel .ct-draw")
    page.wait_for_selector(f"{_panel(2)}[data-contours]")
    page.evaluate("() => window.neloura.ctx.ui.setDrawer(false)")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def check(zoom: str) -> None:
        assert _markers_where_the_wcs_puts_them(page, live_server, 0, paths[0], MAGENTA, 3000) >= 5, zoom
        assert _markers_where_the_wcs_puts_them(page, live_server, 2, paths[2], CYAN, 0) >= 5, zoom
        for i in (1, 3):  # panels 2 and 4 have no markers
            assert page.evaluate(DRAWN, [i, ".overlay-canvas"]) == 0, (zoom, i)
        assert page.evaluate(DRAWN, [1, ".contours-layer"]) > 200, zoom
        for i in (0, 2, 3):
            assert page.evaluate(DRAWN, [i, ".contours-layer"]) == 0, (zoom, i)

    check("fit")
    # the lock moves every panel: each panel's overlays follow its own view
    _synced(page, "window.neloura.ctx.viewer.panTo(200, 220, 1.6, true);")
    page.wait_for_timeout(200)  # heavy-overlay snapshots redraw once the view rests
    check("zoomed")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "overlays_1600.png"))
    page.set_viewport_size({"width": 900, "height": 1000})
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "overlays_900.png"))
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.wait_for_timeout(400)  # the URL is written 150 ms after the last change

    # the URL holds every panel's overlays: panel 1's as the page's keys, the others' inside pN
    url = page.url
    q = parse_qs(urlparse(url).query)
    assert q["catalog"] == ["panel_stars.csv"] and q["filter"] == ["flux > 3000"] and q["color"] == ["#ff00ff"]
    p2, p3, p4 = (parse_qs(q[k][0]) for k in ("p2", "p3", "p4"))
    cyan = p3 if p3["catalog"] == ["panel_stars.csv"] else parse_qs(p3["overlay"][0])
    assert cyan["color"] == ["#00ffff"] and cyan["size_unit"] == ["arcsec"] and cyan["size_col"] == ["0.4"]
    assert "filter" not in p3 and "catalog" not in p2 and "catalog" not in p4 and "contours" not in p4
    assert p3["catalog"] == ["panel_stars.csv"] or p3["catalog"] == ["panel_stars_b.csv"]
    both = [*p3["catalog"], *(parse_qs(t)["catalog"][0] for t in p3["overlay"])]
    assert sorted(both) == ["panel_stars.csv", "panel_stars_b.csv"]
    assert parse_qs(p2["contours"][0])["sigma_levels"] == ["3,5,10,20,50"]
    assert parse_qs(p2["contours"][0])["smooth_px"] == ["2"]
    assert p2["path"] == [panel_fields[1]] and "contours" not in q
    # panel 2 leads turned as it was (the lock turned it while panel 1 led): its orientation is kept
    assert p2["flip"] == ["1"] and 0 < float(p2["rot"][0]) < 360 and "flip" not in q
    before = page.evaluate("() => window.neloura.ctx.state().panels.map((p) => p.orientation)")

    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function(f"() => document.querySelector('{_panel(1)}').dataset.overlayCount === '{n_bright}'")
    page.wait_for_function(f"() => document.querySelector('{_panel(3)}').dataset.overlayCount === '25'")
    page.wait_for_selector(f"{_panel(2)}[data-contours]")
    page.wait_for_function(f"() => document.querySelectorAll('{_panel(3)} .overlay-canvas').length === 2")
    page.wait_for_function("() => document.getElementById('viewer-wrap').dataset.lock === 'synced'")
    for i in range(4):
        _wait_panel_tiles(page, i)
    page.evaluate(
        "() => new Promise((r) => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(r)), 200))"
    )
    check("reloaded")
    # the Contours panel shows the active panel's (panel 2's) request
    page.click('.menu-button[data-menu="Analysis"]')
    page.click("#menu-contours")
    assert page.input_value("#contours-panel .ct-smooth") == "2"
    page.evaluate("() => window.neloura.ctx.ui.setDrawer(false)")
    after = page.evaluate("() => window.neloura.ctx.state().panels.map((p) => p.orientation)")
    for a, b in zip(before, after, strict=True):
        assert a["flip"] == b["flip"] and abs((a["rotation"] - b["rotation"] + 180) % 360 - 180) < 1e-3, (before, after)

    # blink cycles the panels, each with its own overlays
    _blink_cycles(page, 10)
    _export_and_magnifier_of_turned_panel(page)
    # one panel, then 2x2 again: the other panels' overlays come back into the URL with them
    page.keyboard.press("m")  # magnifier off
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.click('#panels-panel button[data-layout="1"]')
    page.wait_for_function("() => !new URLSearchParams(location.search).has('p2')")
    assert parse_qs(urlparse(page.url).query)["catalog"] == ["panel_stars.csv"]
    page.click('#panels-panel button[data-layout="2x2"]')
    page.wait_for_function("() => new URLSearchParams(location.search).has('p3')")
    page.wait_for_timeout(400)
    q = parse_qs(urlparse(page.url).query)
    p3 = parse_qs(q["p3"][0])
    assert p3["path"] == [panel_fields[2]] and len(p3["catalog"]) == 1 and len(p3["overlay"]) == 1
    assert "contours" in parse_qs(q["p2"][0]) and parse_qs(q["p2"][0])["path"] == [panel_fields[1]]


def _export_and_magnifier_of_turned_panel(page) -> None:
    """Panel 2 shows its image flipped and rotated by the lock: the PNG export and the magnifier
    show it as the panel does (compared with a screenshot; the mirror image must not match)."""
    page.click(_panel(2), position={"x": 30, "y": 60})
    assert page.evaluate("() => window.neloura.ctx.viewer.orientation().flip") is True
    page.add_style_tag(content=".navigator, #colorbar, .panel-label { visibility: hidden !important; }")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    box = page.evaluate(
        """() => { const r = window.neloura.ctx.viewer.element.getBoundingClientRect();
        return [r.left, r.top, r.width, r.height]; }"""
    )
    shot = _grey(page.screenshot())
    x0, y0, w, h = (round(v) for v in box)
    panel = shot[y0 : y0 + h, x0 : x0 + w]
    page.click('.menu-button[data-menu="File"]')
    page.click("#menu-export")
    page.uncheck("#export-colorbar")
    with page.expect_download() as info:
        page.click("#export-go")
    png = info.value.path().read_bytes()
    (SHOTS / "export_turned_panel.png").write_bytes(png)
    page.screenshot(path=str(SHOTS / "export_turned_page.png"))
    exported = _grey(png)
    page.keyboard.press("Escape")
    assert abs(exported.shape[0] - h) <= 1 and abs(exported.shape[1] - w) <= 1  # the whole panel, as shown
    hh, ww = min(h, exported.shape[0]) - 8, min(w, exported.shape[1]) - 8
    same = _corr(exported[8:hh, 8:ww], panel[8:hh, 8:ww])
    mirrored = _corr(exported[8:hh, 8:ww][:, ::-1], panel[8:hh, 8:ww])
    assert same > 0.9 and mirrored < 0.5, (same, mirrored)
    # the magnifier: 4x the 36 CSS px around the pointer, placed beside a star (off-centre)
    smooth = ndimage.gaussian_filter(panel, 3)
    sy, sx = np.unravel_index(np.argmax(smooth[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]), (h // 2, w // 2))
    star = {"x": x0 + w // 4 + int(sx) + 7, "y": y0 + h // 4 + int(sy) + 5}  # the brightest star, off-centre
    page.mouse.move(star["x"], star["y"])
    page.keyboard.press("m")
    page.mouse.move(star["x"] + 1, star["y"])
    page.mouse.move(star["x"], star["y"])
    page.wait_for_selector("#magnifier:not([hidden])")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    # beside the pointer, inside the active panel (panel 2 is not at the page's left edge)
    mbox = page.locator("#magnifier").bounding_box()
    right, left = mbox["x"] - (star["x"] + 24), mbox["x"] + mbox["width"] - (star["x"] - 24)
    assert abs(right) <= 2 or abs(left) <= 2, (mbox, star)
    page.screenshot(path=str(SHOTS / "magnifier_turned_panel.png"))
    data = page.evaluate("() => document.getElementById('magnifier').toDataURL('image/png')")
    mag = _grey(base64.b64decode(data.split(",", 1)[1]))
    k = mag.shape[0] // 36
    mag = mag.reshape(36, k, 36, k).mean(axis=(1, 3))
    cx, cy = star["x"], star["y"]
    around = shot[cy - 18 : cy + 18, cx - 18 : cx + 18]
    same = _corr(mag[2:-2, 2:-2], around[2:-2, 2:-2])
    mirrored = _corr(mag[2:-2, 2:-2][:, ::-1], around[2:-2, 2:-2])
    assert same > 0.8 and same - mirrored > 0.3, (same, mirrored)
