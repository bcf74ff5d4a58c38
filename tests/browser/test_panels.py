"""Panels in the page: 2x2 viewers locked by WCS on one star field seen at 0.03", 0.06" (rotated 37
degrees, flipped parity) and 0.11" (rotated 180 degrees). The same sky position must land at the
centre of every panel within 0.5 screen px at several zooms, and the drawn stars must coincide on
screen (no mirrored or rotated panel); the URL reproduces the layout; crosshair lock, blink, fade
and contours in panels. Screenshots under /tmp/neloura-panels/."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image
from scipy import ndimage

from tests.browser.helpers import open_view
from tests.core.rgb_fields import star_sky, write_fields

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/neloura-panels")
VISIBLE_PANELS = """() => [...document.querySelectorAll('.viewer-panel')]
  .filter((e) => !e.hidden && e.style.visibility !== 'hidden').map((e) => e.dataset.panel)"""


@pytest.fixture(scope="module")
def fields(live_server) -> list[str]:
    folder = live_server.files_dir / "paneltest"
    folder.mkdir(exist_ok=True)
    return [f"paneltest/{n}" for n in write_fields(folder)]


def _blink_cycles(page, steps: int, shot: str | None = None) -> None:
    """Blink from the Panels menu: one panel shown at a time, at least three of them within
    ``steps`` looks 120 ms apart; then blink off."""
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.fill("#panels-blink-rate", "0.2")
    page.click("#panels-blink")
    page.wait_for_selector('#viewer-wrap[data-panel-mode="blink"]')
    seen = set()
    for _ in range(steps):
        shown = page.evaluate(VISIBLE_PANELS)
        assert len(shown) == 1
        seen.add(shown[0])
        page.wait_for_timeout(120)
    assert len(seen) >= 3
    if shot:
        page.screenshot(path=str(SHOTS / shot))
    page.click("#panels-blink")
    page.wait_for_selector('#viewer-wrap[data-panel-mode=""]')


def _wcs(server, path: str) -> WCS:
    with fits.open(server.files_dir / path) as hdul:
        return WCS(hdul[0].header)


def _panel(i: int) -> str:
    return f'.viewer-panel[data-panel="{i}"]'


def _wait_panel_tiles(page, i: int) -> None:
    page.wait_for_function(
        """(i) => { const p = window.neloura.ctx.panels.list()[i]; if (!p || !p.viewer.image) return false;
        const w = p.viewer.osd.world; if (w.getItemCount() !== 1) return false;
        return w.getItemAt(0).getFullyLoaded(); }""",
        arg=i,
    )


def _open_in(page, i: int, path: str) -> None:
    page.click(_panel(i + 1), position={"x": 30, "y": 60})
    page.evaluate("(p) => window.neloura.ctx.bus.emit('image:open', { path: p })", path)
    page.wait_for_function("([i, p]) => window.neloura.ctx.panels.list()[i].viewer.image?.path === p", arg=[i, path])
    _wait_panel_tiles(page, i)


def _synced(page, action: str) -> None:
    """Run ``action`` (JS) and wait until the lock finished an exact round after it."""
    before = page.evaluate("() => Number(document.getElementById('viewer-wrap').dataset.lockSeq || 0)")
    page.evaluate(f"() => {{ {action} }}")
    page.wait_for_function(
        """(n) => { const d = document.getElementById('viewer-wrap').dataset;
        return Number(d.lockSeq || 0) > n && d.lock === 'synced'; }""",
        arg=before,
    )
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _layout_2x2(page, live_server, fields) -> None:
    open_view(page, live_server, f"/open/{fields[0]}")
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.click('#panels-panel button[data-layout="2x2"]')
    page.wait_for_selector(_panel(4))
    _open_in(page, 1, fields[1])
    _open_in(page, 2, fields[2])
    _open_in(page, 3, fields[1])
    page.click(_panel(1), position={"x": 30, "y": 60})  # panel 1 leads
    page.select_option("#panels-lock", "wcs")
    page.wait_for_function("() => document.getElementById('viewer-wrap').dataset.lock === 'synced'")
    page.evaluate("() => window.neloura.ctx.ui.setDrawer(false)")  # narrow windows: the panels, not the drawer


def _panel_view(page, i: int) -> dict:
    return page.evaluate(
        """(i) => { const p = window.neloura.ctx.panels.list()[i]; const r = p.element.getBoundingClientRect();
        return { view: p.viewer.viewState(), w: r.width, h: r.height, o: p.viewer.orientation() }; }""",
        i,
    )


def _to_screen(page, i: int, x: float, y: float) -> dict:
    return page.evaluate("([i, x, y]) => window.neloura.ctx.panels.list()[i].viewer.imageToScreen(x, y)", [i, x, y])


def _many_to_screen(page, i: int, xs: np.ndarray, ys: np.ndarray) -> list[dict]:
    return page.evaluate(
        """([i, xs, ys]) => { const v = window.neloura.ctx.panels.list()[i].viewer;
        return xs.map((x, k) => v.imageToScreen(x, ys[k])); }""",
        [i, [float(x) for x in xs], [float(y) for y in ys]],
    )


def _stars(page, i: int) -> np.ndarray:
    """Centroids of the bright blobs drawn in panel i, in CSS px from the panel's exact centre (one
    page screenshot: an element screenshot would round the panel's fractional position)."""
    box = page.evaluate(
        """(i) => { const r = window.neloura.ctx.panels.list()[i].element.getBoundingClientRect();
        return [r.left, r.top, r.width, r.height]; }""",
        i,
    )
    grey = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("L")).astype(float)
    x0, y0, w, h = box
    sub = grey[int(np.ceil(y0)) + 24 : int(y0 + h) - 2, int(np.ceil(x0)) + 2 : int(x0 + w) - 2]
    mask = sub > 110
    labels, n = ndimage.label(mask)
    if n == 0:
        return np.zeros((0, 2))
    sizes = ndimage.sum(mask, labels, range(1, n + 1))
    keep = [k + 1 for k in range(n) if sizes[k] >= 6]
    centres = ndimage.center_of_mass(sub, labels, keep)
    # pixel (col, row) of the screenshot covers [col, col + 1): its centre is col + 0.5
    ox = int(np.ceil(x0)) + 2 + 0.5 - (x0 + w / 2)
    oy = int(np.ceil(y0)) + 24 + 0.5 - (y0 + h / 2)
    return np.array([(c[1] + ox, c[0] + oy) for c in centres])


@pytest.mark.parametrize("width", [1600, 900])
def test_wcs_lock_same_sky_at_every_centre(page, live_server, fields, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    _layout_2x2(page, live_server, fields)
    paths = [fields[0], fields[1], fields[2], fields[1]]
    wcs = [_wcs(live_server, p) for p in paths]
    n0 = round(13.8 / 0.03)
    for cx, cy, zoom in ((n0 / 2, n0 / 2, 0.6), (200.0, 260.0, 2.0), (300.5, 150.25, 7.0)):
        _synced(page, f"window.neloura.ctx.viewer.panTo({cx}, {cy}, {zoom}, true);")
        lead = _panel_view(page, 0)
        sky = wcs[0].pixel_to_world(lead["view"]["cx"], lead["view"]["cy"])
        # a second point 1" east and 1" north of the centre: checks scale, rotation and parity
        off = sky.spherical_offsets_by(1 * u.arcsec, 1 * u.arcsec)
        lx, ly = wcs[0].world_to_pixel(off)
        lead_off = _to_screen(page, 0, float(lx), float(ly))
        for i in range(4):
            v = _panel_view(page, i)
            x, y = wcs[i].world_to_pixel(sky)
            s = _to_screen(page, i, float(x), float(y))
            assert abs(s["x"] - v["w"] / 2) < 0.5 and abs(s["y"] - v["h"] / 2) < 0.5, (i, zoom, s, v)
            ox, oy = wcs[i].world_to_pixel(off)
            so = _to_screen(page, i, float(ox), float(oy))
            dx = (so["x"] - s["x"]) - (lead_off["x"] - lead["w"] / 2)
            dy = (so["y"] - s["y"]) - (lead_off["y"] - lead["h"] / 2)
            assert abs(dx) < 0.5 and abs(dy) < 0.5, (i, zoom, dx, dy)
        assert _panel_view(page, 1)["o"]["flip"] is True  # the flipped-parity image is mirrored back
        assert _panel_view(page, 0)["o"]["flip"] is False
        if zoom == 0.6:
            # the drawn stars coincide on screen in every panel (no mirrored or rotated field)
            for i in range(4):
                _wait_panel_tiles(page, i)
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"lock_{width}.png"))
            page.add_style_tag(content=".navigator, #colorbar { visibility: hidden !important; }")
            # each panel draws the stars where its own WCS puts them (OpenSeadragon's drawing is
            # good to ~0.7 px here), so the panels agree with each other on screen
            ra, dec = star_sky()
            drawn = []
            for j in range(4):
                xs, ys = wcs[j].world_to_pixel_values(ra, dec)
                v = _panel_view(page, j)
                pred = np.array([[q["x"] - v["w"] / 2, q["y"] - v["h"] / 2] for q in _many_to_screen(page, j, xs, ys)])
                got = _stars(page, j)
                assert len(got) >= 15
                drawn.append(got)
                d = np.hypot(*(pred[:, None, :] - got[None, :, :]).transpose(2, 0, 1)).min(axis=1)
                assert np.median(d) < 1.5 and (d < 3).mean() > 0.8, (j, d)
            for j in (1, 2, 3):
                d = np.hypot(*(drawn[0][:, None, :] - drawn[j][None, :, :]).transpose(2, 0, 1)).min(axis=1)
                assert np.median(d) < 2.5 and (d < 4).mean() > 0.8, (j, d)


def test_url_reproduces_the_layout(page, live_server, fields) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    _layout_2x2(page, live_server, fields)
    _synced(page, "window.neloura.ctx.viewer.panTo(230, 230, 1.5, true);")
    page.wait_for_timeout(400)  # the URL is written 150 ms after the last change
    url = page.url
    q = parse_qs(urlparse(url).query)
    assert q["layout"] == ["2x2"] and q["lock"] == ["wcs"] and q["path"] == [fields[0]]
    assert parse_qs(q["p2"][0])["path"] == [fields[1]] and parse_qs(q["p3"][0])["path"] == [fields[2]]
    state = page.evaluate("() => window.neloura.ctx.state()")
    assert state["layout"] == "2x2"
    assert [p["path"] for p in state["panels"]] == [fields[0], fields[1], fields[2], fields[1]]
    assert all(set(p["view"]) == {"cx", "cy", "zoom"} for p in state["panels"])
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    for i in range(4):
        page.wait_for_function("(i) => window.neloura.ctx.panels.list()[i]?.viewer.image", arg=i)
    page.wait_for_function("() => document.getElementById('viewer-wrap').dataset.lock === 'synced'")
    again = page.evaluate("() => window.neloura.ctx.state()")
    assert again["layout"] == "2x2" and [p["path"] for p in again["panels"]] == [p["path"] for p in state["panels"]]
    for a, b in zip(state["panels"], again["panels"], strict=True):
        assert abs(a["view"]["cx"] - b["view"]["cx"]) < 0.05 and abs(a["view"]["zoom"] / b["view"]["zoom"] - 1) < 1e-3
    # back to one panel: the single-panel URL of old links
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.click('#panels-panel button[data-layout="1"]')
    page.wait_for_timeout(400)
    single = parse_qs(urlparse(page.url).query)
    assert "layout" not in single and "p2" not in single and single["path"] == [fields[0]]


def test_crosshair_lock_blink_fade_and_contours(page, live_server, fields) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    _layout_2x2(page, live_server, fields)
    _synced(page, "window.neloura.ctx.viewer.panTo(230, 230, 1.2, true);")
    page.check("#panels-xlock")
    box = page.locator(_panel(2)).bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)  # panel 2 becomes active
    for i in range(1, 5):
        page.wait_for_selector(f"{_panel(i)}[data-xlock]")
    skies = []
    paths = [fields[0], fields[1], fields[2], fields[1]]
    for i in range(4):
        x, y = (float(t) for t in str(page.get_attribute(_panel(i + 1), "data-xlock")).split(","))
        skies.append(_wcs(live_server, paths[i]).pixel_to_world(x, y))
    for s in skies[1:]:
        assert s.separation(skies[0]).arcsec < 1e-3  # the marks are written to 0.001 px
    # contours on the active panel, drawn with the lock on
    page.click('.menu-button[data-menu="Analysis"]')
    page.click("#menu-contours")
    page.click("#contours-panel .ct-draw")
    page.wait_for_function("() => window.neloura.ctx.viewer.element.dataset.contours")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "xlock_contours.png"))
    # blink: one panel at a time, cycling
    _blink_cycles(page, 12, shot="blink.png")
    # fade: panel 2 over panel 1 at the chosen opacity
    page.check("#panels-fade")
    page.locator("#panels-fade-level").fill("0.3")
    page.wait_for_function("() => document.querySelector('.viewer-panel[data-panel=\"2\"]').style.opacity === '0.3'")
    visible = page.evaluate(VISIBLE_PANELS)
    assert visible == ["1", "2"]
    page.screenshot(path=str(SHOTS / "fade.png"))
    assert json.loads(json.dumps(page.evaluate("() => window.neloura.ctx.state().layout"))) == "2x2"


def _regions(page) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.regionsCount || 0)"))


def test_regions_drawn_in_panel_2_stay_with_it(page, live_server, fields) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    open_view(page, live_server, f"/open/{fields[0]}")
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.click('#panels-panel button[data-layout="1x2"]')
    _open_in(page, 1, fields[2])
    page.click('.menu-button[data-menu="Analysis"]')
    page.click("#menu-regions")
    page.click('[data-tool="circle"]')
    box = page.locator(_panel(2)).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 20, y + 15, steps=3)
    page.mouse.move(x + 40, y + 25, steps=3)
    page.mouse.up()
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 1")
    assert page.evaluate("() => window.neloura.ctx.panels.active") == 1  # drawn in panel 2
    page.keyboard.press("Escape")  # deselect, then back to the select tool: the clicks below only pick panels
    page.keyboard.press("Escape")
    page.click(_panel(1), position={"x": 30, "y": 60})
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 0")  # panel 1 has none
    page.click(_panel(2), position={"x": 30, "y": 60})
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 1")  # panel 2's came back
    assert _regions(page) == 1


def test_view_from_jacobian_recovers_scale_rotation_and_parity(page, live_server) -> None:
    """The lock's decomposition, on exact maps: a follower rotated by r (and mirrored) gets the view
    that undoes it, at the zoom that keeps the angular scale."""
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    out = page.evaluate(
        """async () => {
          const m = await import('/static/js/features/panels-lock.js');
          const rad = (d) => d * Math.PI / 180;
          // leader drawn at zoom 2, no rotation: screen = 2 * diag(1, -1) * pixel
          const lead = [[2, 0], [0, -2]];
          const cases = [];
          for (const [rot, flip, k] of [[0, false, 1], [37, true, 0.5], [180, false, 0.03 / 0.11], [-90, true, 3]]) {
            const c = Math.cos(rad(rot)), s = Math.sin(rad(rot));
            // follower pixel = k * R(rot) * F * leader pixel
            const f = flip ? -1 : 1;
            const map = [[k * c * f, -k * s], [k * s * f, k * c]];
            const v = m.viewFromJacobian(lead, map);
            // check: the follower's screen Jacobian times the map equals the leader's
            const zr = rad(v.rotation), cz = Math.cos(zr), sz = Math.sin(zr), fl = v.flip ? -1 : 1;
            const a = [[v.zoom * fl * cz, -v.zoom * fl * -sz], [v.zoom * sz, -v.zoom * cz]];
            const prod = [[a[0][0] * map[0][0] + a[0][1] * map[1][0], a[0][0] * map[0][1] + a[0][1] * map[1][1]],
                          [a[1][0] * map[0][0] + a[1][1] * map[1][0], a[1][0] * map[0][1] + a[1][1] * map[1][1]]];
            cases.push({ v, prod, flip, k });
          }
          return cases;
        }"""
    )
    for case in out:
        assert case["v"]["flip"] is case["flip"]
        assert abs(case["v"]["zoom"] - 2 / case["k"]) < 1e-9
        for got, want in zip(np.ravel(case["prod"]), [2, 0, 0, -2], strict=True):
            assert abs(got - want) < 1e-9, case


def test_pixel_lock_for_images_without_wcs(page, live_server) -> None:
    folder = live_server.files_dir / "paneltest"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(3)
    for name in ("nowcs_a.fits", "nowcs_b.fits"):
        fits.PrimaryHDU(rng.normal(0, 1, (200, 300)).astype(np.float32)).writeto(folder / name, overwrite=True)
    page.set_viewport_size({"width": 1600, "height": 1000})
    open_view(page, live_server, "/open/paneltest/nowcs_a.fits")
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.click('#panels-panel button[data-layout="2x1"]')
    _open_in(page, 1, "paneltest/nowcs_b.fits")
    page.click(_panel(1), position={"x": 30, "y": 60})
    page.select_option("#panels-lock", "wcs")  # no celestial WCS in either: the pixel map is used
    page.wait_for_function("() => document.getElementById('viewer-wrap').dataset.lock === 'synced'")
    _synced(page, "window.neloura.ctx.viewer.panTo(50.5, 70.25, 3, true);")
    follower = _panel_view(page, 1)
    assert abs(follower["view"]["cx"] - 50.5) < 1e-6 and abs(follower["view"]["cy"] - 70.25) < 1e-6
    assert abs(follower["view"]["zoom"] - 3) < 1e-9 and follower["o"]["flip"] is False
    assert abs(follower["o"]["rotation"]) < 1e-9


# --- overlays per panel (catalog markers, contours), the export and magnifier of a turned panel ----

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
DRAWN = """([i, cls]) => {
  const p = window.neloura.ctx.panels.list()[i];
  let n = 0;
  for (const c of p.element.querySelectorAll(cls)) {
    if (c.hidden || !c.width) continue;
    const t = document.createElement('canvas'); t.width = c.width; t.height = c.height;
    const g = t.getContext('2d'); g.drawImage(c, 0, 0);
    const d = g.getImageData(0, 0, t.width, t.height).data;
    for (let j = 3; j < d.length; j += 4) if (d[j] > 100) n += 1;
  }
  return n;
}"""
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


def test_overlays_per_panel_follow_their_view_and_the_url(page, live_server, fields) -> None:
    """Issue 9's acceptance: 2x2 panels locked by WCS, a catalog overlay on two panels at once (each
    its own filter, size, colour), contours on a third, blink; each panel draws its own overlays on
    its own view (the flipped and the 180-degree ones included), keeps them when another panel is
    active, and the URL reproduces them. Then the PNG export and the magnifier of the flipped and
    rotated panel show what it shows."""
    n_bright = _write_star_catalog(live_server)
    page.set_viewport_size({"width": 1600, "height": 1000})
    _layout_2x2(page, live_server, fields)
    paths = [fields[0], fields[1], fields[2], fields[1]]
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
    assert p2["path"] == [fields[1]] and "contours" not in q
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
    assert p3["path"] == [fields[2]] and len(p3["catalog"]) == 1 and len(p3["overlay"]) == 1
    assert "contours" in parse_qs(q["p2"][0]) and parse_qs(q["p2"][0])["path"] == [fields[1]]


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
