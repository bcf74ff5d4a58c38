"""Panels in the page: 2x2 viewers locked by WCS on one star field seen at 0.03", 0.06" (rotated 37
degrees, flipped parity) and 0.11" (rotated 180 degrees). The same sky position must land at the
centre of every panel within 0.5 screen px at several zooms, and the drawn stars must coincide on
screen (no mirrored or rotated panel); the URL reproduces the layout; crosshair lock, blink, fade
and contours in panels. Screenshots under /tmp/neloura-panels/."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from tests.browser.helpers import open_view
from tests.browser.panel_steps import (
    SHOTS,
    VISIBLE_PANELS,
    _blink_cycles,
    _layout_2x2,
    _many_to_screen,
    _open_in,
    _panel,
    _panel_view,
    _stars,
    _synced,
    _to_screen,
    _wait_panel_tiles,
    _wcs,
)
from tests.core.rgb_fields import star_sky

pytestmark = pytest.mark.browser

SAME_VIEWS = """(want) => window.neloura.ctx.state().panels.every((p, i) => p.view
  && Math.abs(p.view.cx - want[i].cx) < 0.05 && Math.abs(p.view.cy - want[i].cy) < 0.05
  && Math.abs(p.view.zoom / want[i].zoom - 1) < 1e-3)"""


@pytest.mark.parametrize("width", [1600, 900])
def test_wcs_lock_same_sky_at_every_centre(page, live_server, panel_fields, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    _layout_2x2(page, live_server, panel_fields)
    paths = [panel_fields[0], panel_fields[1], panel_fields[2], panel_fields[1]]
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


def test_url_reproduces_the_layout(page, live_server, panel_fields) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    _layout_2x2(page, live_server, panel_fields)
    _synced(page, "window.neloura.ctx.viewer.panTo(230, 230, 1.5, true);")
    page.wait_for_timeout(400)  # the URL is written 150 ms after the last change
    url = page.url
    q = parse_qs(urlparse(url).query)
    assert q["layout"] == ["2x2"] and q["lock"] == ["wcs"] and q["path"] == [panel_fields[0]]
    assert parse_qs(q["p2"][0])["path"] == [panel_fields[1]] and parse_qs(q["p3"][0])["path"] == [panel_fields[2]]
    state = page.evaluate("() => window.neloura.ctx.state()")
    assert state["layout"] == "2x2"
    assert [p["path"] for p in state["panels"]] == [panel_fields[0], panel_fields[1], panel_fields[2], panel_fields[1]]
    assert all(set(p["view"]) == {"cx", "cy", "zoom"} for p in state["panels"])
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    for i in range(4):
        page.wait_for_function("(i) => window.neloura.ctx.panels.list()[i]?.viewer.image", arg=i)
    page.wait_for_function("() => document.getElementById('viewer-wrap').dataset.lock === 'synced'")
    # every panel at the view it had (the views settle once the layout and the lock are done)
    views = [p["view"] for p in state["panels"]]
    for _ in range(100):  # up to 10 s; the assertions below name the panel and the views
        if page.evaluate(SAME_VIEWS, views):
            break
        page.wait_for_timeout(100)
    again = page.evaluate("() => window.neloura.ctx.state()")
    assert again["layout"] == "2x2" and [p["path"] for p in again["panels"]] == [p["path"] for p in state["panels"]]
    for i, (a, b) in enumerate(zip(state["panels"], again["panels"], strict=True)):
        va, vb = a["view"], b["view"]
        assert abs(va["cx"] - vb["cx"]) < 0.05 and abs(va["cy"] - vb["cy"]) < 0.05, (i, va, vb)
        assert abs(va["zoom"] / vb["zoom"] - 1) < 1e-3, (i, va, vb)
    # back to one panel: the single-panel URL of old links
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.click('#panels-panel button[data-layout="1"]')
    page.wait_for_timeout(400)
    single = parse_qs(urlparse(page.url).query)
    assert "layout" not in single and "p2" not in single and single["path"] == [panel_fields[0]]


def test_crosshair_lock_blink_fade_and_contours(page, live_server, panel_fields) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    _layout_2x2(page, live_server, panel_fields)
    _synced(page, "window.neloura.ctx.viewer.panTo(230, 230, 1.2, true);")
    page.check("#panels-xlock")
    box = page.locator(_panel(2)).bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)  # panel 2 becomes active
    for i in range(1, 5):
        page.wait_for_selector(f"{_panel(i)}[data-xlock]")
    skies = []
    paths = [panel_fields[0], panel_fields[1], panel_fields[2], panel_fields[1]]
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


def test_regions_drawn_in_panel_2_stay_with_it(page, live_server, panel_fields) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    open_view(page, live_server, f"/open/{panel_fields[0]}")
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.click('#panels-panel button[data-layout="1x2"]')
    _open_in(page, 1, panel_fields[2])
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
