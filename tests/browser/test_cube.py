"""Cube plane slider: spectral value and unit, step, keyboard, play; tiles follow the plane."""

from __future__ import annotations

import json

import pytest
from astropy import units as u

from tests.browser.helpers import assert_canvas_matches_server, open_view, set_view, viewer, wait_tiles

pytestmark = pytest.mark.browser


def _hz(label: str) -> float:
    number, unit = label.split()[4:6]
    return float((float(number) * u.Unit(unit)).to_value(u.Hz))


def _plane(page, n: int) -> None:
    page.wait_for_function(f"() => document.querySelector('#cube-label').dataset.plane === '{n}'")
    page.wait_for_function(f"() => (document.querySelector('#viewer').dataset.tileQuery || '').includes('plane={n}&')")
    wait_tiles(page)


def test_cube_slider(page, live_server) -> None:
    info = json.loads(live_server.get("/api/images/info?path=demo/cube.fits"))
    open_view(page, live_server, "/open/demo/cube.fits")
    assert page.is_visible("#cube-panel")
    label = page.text_content("#cube-label")
    first = info["planes"][0]
    assert label.startswith(f"plane 1 / {info['plane_count']}")
    assert _hz(label) == pytest.approx(first["value"], abs=100.0)  # shown to 100 Hz; channels are MHz apart
    set_view(page, 128, 128, 2)
    before = assert_canvas_matches_server(page)
    page.click("#cube-next")
    _plane(page, 1)
    assert "plane=1" in page.url
    page.keyboard.press("ArrowRight")
    _plane(page, 2)
    page.locator("#cube-slider").fill("40")
    _plane(page, 40)
    after = assert_canvas_matches_server(page)
    assert (before != after).any()
    assert _hz(page.text_content("#cube-label")) == pytest.approx(info["planes"][40]["value"], abs=100.0)
    page.click("#cube-prev")
    _plane(page, 39)
    page.select_option("#cube-fps", "10")
    page.click("#cube-play")
    page.wait_for_function("() => Number(document.querySelector('#cube-label').dataset.plane) >= 41")
    page.click("#cube-play")
    assert page.text_content("#cube-play").strip().endswith("Play")


def test_cube_plane_from_the_url_and_no_slider_for_2d(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/cube.fits?plane=7")
    assert viewer(page, "v.image.plane") == 7
    assert page.get_attribute("#cube-label", "data-plane") == "7"
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    assert not page.is_visible("#cube-panel")
