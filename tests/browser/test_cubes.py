"""Cube spectra in the page: hover -> spectrum, drag the plane marker, velocity axis, a region,
limits per plane / whole cube, moment 0 computed as a job and opened in the viewer."""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode

import numpy as np
import pytest

from tests.browser.helpers import open_view, set_view, viewer, wait_tiles

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("NELOURA_SHOTS", "")  # a folder: save screenshots there (looked at by hand)


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png")


def _updated(page) -> int:
    return int(page.get_attribute("#cubes-chart", "data-updated") or 0)


def _hover(page, x: float, y: float) -> None:
    s = viewer(page, f"v.imageToScreen({x}, {y})")
    box = page.locator("#viewer").bounding_box()
    page.mouse.move(box["x"] + s["x"], box["y"] + s["y"])


def _spectrum(live_server, **params) -> dict:
    return json.loads(live_server.get("/api/cubes/spectrum?" + urlencode({"path": "demo/cube.fits", **params})))


def test_hover_drag_velocity_and_moment(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/cube.fits")
    assert page.is_visible("#cubes-panel")
    page.wait_for_function("() => document.querySelector('#cubes-unit').value === 'km/s'")
    page.wait_for_function("() => (document.querySelector('#cube-velocity').textContent || '').includes('km/s')")
    assert "LSRK" in page.text_content("#cubes-frame") and "radio" in page.text_content("#cube-velocity")
    set_view(page, 128, 128, 2)
    before = _updated(page)
    _hover(page, 100, 140)
    page.wait_for_function(f"() => Number(document.querySelector('#cubes-chart').dataset.updated) > {before}")
    page.wait_for_function("() => document.querySelector('#cubes-chart').dataset.where === 'x 100, y 140'")
    expected = _spectrum(live_server, x=100, y=140, unit="km/s")
    shown = page.evaluate("() => document.querySelector('#cubes-chart').data[0].y")
    np.testing.assert_allclose(shown, expected["values"], rtol=1e-6)
    xs = page.evaluate("() => document.querySelector('#cubes-chart').data[0].x")
    np.testing.assert_allclose(xs, expected["spectral"], rtol=1e-9)
    page.locator("#cubes-panel").scroll_into_view_if_needed()
    _shot(page, "cubes-hover")

    # drag the plane marker to about plane 40
    marker = page.locator("#cubes-chart .shapelayer path").first
    box = marker.bounding_box()
    target_x = page.evaluate(
        """() => { const el = document.querySelector('#cubes-chart'); const xa = el._fullLayout.xaxis;
                   const r = el.getBoundingClientRect(); return r.left + xa._offset + xa.l2p(el.data[0].x[40]); }"""
    )
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(target_x, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function("() => Math.abs(Number(document.querySelector('#cube-label').dataset.plane) - 40) <= 1")
    plane = int(page.get_attribute("#cube-label", "data-plane"))
    page.wait_for_function(f"() => document.querySelector('#cubes-readout').dataset.plane === '{plane}'")
    wait_tiles(page)
    assert viewer(page, "v.image.plane") == plane

    # optical convention and frequency axis follow into the chart and the slider label
    page.select_option("#cubes-convention", "optical")
    page.wait_for_function("() => (document.querySelector('#cube-velocity').textContent || '').includes('optical')")
    page.select_option("#cubes-unit", "GHz")
    page.wait_for_function("() => (document.querySelector('#cube-velocity').textContent || '').includes('GHz')")
    page.select_option("#cubes-unit", "km/s")
    page.wait_for_function("() => (document.querySelector('#cube-velocity').textContent || '').includes('km/s')")

    # moment 0 over a velocity range: the job runs and the map opens in the viewer
    page.click("#cubes-moment-panel .panel-head")
    page.fill("#cubes-lo", "400")
    page.fill("#cubes-hi", "700")
    page.click("#cubes-moment-run")
    page.wait_for_function("() => (window.neloura.ctx.viewer.image?.path || '').startsWith('results/')", timeout=90_000)
    open_path = viewer(page, "v.image.path")
    assert "mom0" in open_path
    info = json.loads(live_server.get("/api/images/info?" + urlencode({"path": open_path})))
    assert info["bunit"].replace(" ", "").lower().startswith("jy") and info["plane_count"] == 1
    page.wait_for_selector('#viewer[data-image-ready="1"]')
    wait_tiles(page)
    _shot(page, "cubes-moment0")
    page.click("#cubes-back")
    page.wait_for_function("() => window.neloura.ctx.viewer.image?.path === 'demo/cube.fits'")


def test_region_spectrum_limits_and_beam(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/cube.fits?plane=32")
    page.wait_for_function("() => document.querySelector('#cubes-unit').value === 'km/s'")
    # whole-cube limits by default: equal to the server's cube limits
    cube_limits = json.loads(live_server.get("/api/cubes/limits?path=demo/cube.fits"))
    page.wait_for_function(f"() => Math.abs(window.neloura.ctx.viewer.display.vmax - {cube_limits['vmax']}) < 1e-9")
    page.select_option("#cube-limits", "plane")
    plane_limits = json.loads(live_server.get("/api/images/limits?path=demo/cube.fits&plane=32&low=0.5&high=99.5"))
    page.wait_for_function(f"() => Math.abs(window.neloura.ctx.viewer.display.vmax - {plane_limits['vmax']}) < 1e-9")
    major, minor, pa = (float(v) for v in page.get_attribute("#cubes-beam", "data-beam").split(","))
    assert major == pytest.approx(1.25) and minor == pytest.approx(1.25) and pa == 0
    set_view(page, 128, 128, 2)
    page.fill("#cubes-size", "10")
    page.click("#cubes-place")
    s = viewer(page, "v.imageToScreen(128, 128)")
    box = page.locator("#viewer").bounding_box()
    page.mouse.click(box["x"] + s["x"], box["y"] + s["y"])
    page.wait_for_function(
        "() => (document.querySelector('#cubes-chart').dataset.where || '').startsWith('circle 10 px')"
    )
    where = page.get_attribute("#cubes-chart", "data-where")
    shown = page.evaluate("() => document.querySelector('#cubes-chart').data[0].y")
    cx, cy = (float(v) for v in where.split(" at ")[1].split(" (")[0].split(", "))
    centre = viewer(page, f"v.screenToImage({s['x']}, {s['y']})")
    region = f"image; circle({centre['x'] + 1:.2f},{centre['y'] + 1:.2f},10)"
    expected = _spectrum(live_server, region=region, stat="mean", unit="km/s")
    np.testing.assert_allclose(shown, expected["values"], rtol=1e-6)
    assert abs(cx - 128) <= 1 and abs(cy - 128) <= 1
    assert page.get_attribute("#cubes-csv", "href").endswith("format=csv")
    _shot(page, "cubes-region")
    # another feature (regions) asks for a region's spectrum through the bus
    page.evaluate(
        "() => window.neloura.ctx.bus.emit('cubes:spectrum', { region: 'image; box(60,60,20,10,0)', label: 'box A' })"
    )
    page.wait_for_function("() => (document.querySelector('#cubes-chart').dataset.where || '').startsWith('box A')")
    # the regions feature's Spectrum button: the sum inside a drawn region
    page.evaluate(
        """() => window.neloura.ctx.bus.emit('region:spectrum',
             { path: 'demo/cube.fits', hdu: 0, plane: 32, regions: 'image; circle(129,129,10)', index: 1 })"""
    )
    page.wait_for_function(
        "() => (document.querySelector('#cubes-chart').dataset.where || '').startsWith('region 2 (sum')"
    )
    summed = _spectrum(live_server, region="image; circle(129,129,10)", stat="sum", unit="km/s")
    np.testing.assert_allclose(
        page.evaluate("() => document.querySelector('#cubes-chart').data[0].y"), summed["values"], rtol=1e-6
    )


def test_channel_maps_and_narrow_layout(page, live_server) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    open_view(page, live_server, "/open/demo/cube.fits")
    page.wait_for_function("() => document.querySelector('#cubes-unit').value === 'km/s'")
    page.evaluate("() => document.querySelector('#menu-cubes-channels').click()")
    page.wait_for_function(
        "() => { const i = document.querySelector('#cubes-ch-img'); return i && i.complete && i.naturalWidth > 100; }",
        timeout=30_000,
    )
    _shot(page, "cubes-channels-1600")
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 900, "height": 1000})
    page.wait_for_timeout(300)
    _shot(page, "cubes-900")


BEAM_PIXELS = """(id) => { const c = document.getElementById(id); if (!c) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1; return n; }"""


def test_beam_per_panel(page, live_server) -> None:
    """A cube in panel 2 keeps its beam ellipse while panel 1 (a plain image) is active; panel 1 shows none."""
    page.set_viewport_size({"width": 1600, "height": 1000})
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.evaluate("() => window.neloura.ctx.panels.setLayout('1x2')")
    page.wait_for_selector('.viewer-panel[data-panel="2"]')
    page.evaluate("() => window.neloura.ctx.panels.activate(1)")
    page.evaluate("() => window.neloura.ctx.bus.emit('image:open', { path: 'demo/cube.fits' })")
    page.wait_for_function("() => document.getElementById('cubes-beam-2')?.dataset.beam")
    page.evaluate("() => window.neloura.ctx.panels.activate(0)")
    page.wait_for_function("() => window.neloura.ctx.viewer.image?.path === 'demo/galaxy.fits'")
    page.evaluate("() => new Promise((r) => setTimeout(() => requestAnimationFrame(r), 300))")
    major, minor, pa = (float(v) for v in page.get_attribute("#cubes-beam-2", "data-beam").split(","))
    assert major == pytest.approx(1.25) and minor == pytest.approx(1.25) and pa == 0
    assert page.evaluate(BEAM_PIXELS, "cubes-beam-2") > 100
    assert page.evaluate(BEAM_PIXELS, "cubes-beam") == 0
    assert page.get_attribute("#cubes-beam", "data-beam") is None
    page.screenshot(path="/tmp/cubes_beam_panels_1600.png")
