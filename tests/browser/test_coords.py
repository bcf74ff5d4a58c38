"""The coordinate panel shows the right pixel, value and sky position under the cursor."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from tests.browser.helpers import open_view, set_view, viewer

pytestmark = pytest.mark.browser


def _hover(page, x: int, y: int) -> None:
    s = viewer(page, f"v.imageToScreen({x}, {y})")
    box = page.locator("#viewer").bounding_box()
    page.mouse.move(box["x"] + s["x"], box["y"] + s["y"])
    page.wait_for_function(f"() => document.querySelector('#coords-pixel').textContent === '{x + 1}, {y + 1}'")


def test_readout_matches_astropy(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    set_view(page, 1200, 800, 3)
    x, y = 1234, 777
    _hover(page, x, y)
    page.wait_for_function("() => document.querySelector('#coords-deg').textContent !== '—'")
    with fits.open(live_server.files_dir / "demo" / "galaxy.fits") as hdul:
        header = hdul[1].header
        value = float(hdul[1].data[y, x])
    wcs = WCS(header)
    ra, dec = wcs.all_pix2world([[x, y]], 0)[0]
    lon, lat = (float(t) for t in page.text_content("#coords-deg").split())
    assert lon == pytest.approx(ra, abs=2e-6) and lat == pytest.approx(dec, abs=2e-6)  # 6 decimals shown
    coord = SkyCoord(ra * u.deg, dec * u.deg, frame=wcs.celestial.wcs.radesys.lower() or "icrs").icrs
    ra_s = coord.ra.to_string(unit=u.hourangle, sep=":", precision=3, pad=True)
    dec_s = coord.dec.to_string(sep=":", precision=2, pad=True, alwayssign=True)
    assert page.text_content("#coords-sexa") == f"{ra_s} {dec_s}"
    shown_value, unit = page.text_content("#coords-value").split(" ", 1)
    assert float(shown_value) == pytest.approx(value, rel=1e-5)
    assert unit == header["BUNIT"]
    # the panel agrees with the API's pixel endpoint as well
    api = json.loads(live_server.get(f"/api/images/pixel?path=demo/galaxy.fits&hdu=1&x={x}&y={y}"))
    assert api["ra_deg"] == pytest.approx(ra, abs=1e-9)


def test_galactic_frame(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    set_view(page, 300, 1500, 2)
    x, y = 310, 1490
    _hover(page, x, y)
    page.select_option("#coords-frame", "galactic")
    page.wait_for_function("() => document.querySelector('#coords-deg').textContent !== '—'")
    with fits.open(live_server.files_dir / "demo" / "galaxy.fits") as hdul:
        wcs = WCS(hdul[1].header)
    sky = wcs.pixel_to_world(x, y).galactic
    lon, lat = (float(t) for t in page.text_content("#coords-deg").split())
    assert lon == pytest.approx(sky.l.deg, abs=2e-6) and lat == pytest.approx(sky.b.deg, abs=2e-6)


def test_cube_readout_shows_spectral_value(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/cube.fits?plane=5")
    set_view(page, 128, 128, 2)
    _hover(page, 100, 140)
    page.wait_for_function("() => document.querySelector('#coords-spectral').textContent !== '—'")
    with fits.open(live_server.files_dir / "demo" / "cube.fits") as hdul:
        wcs = WCS(hdul[0].header)
        value = float(hdul[0].data[5, 140, 100])
    freq = wcs.spectral.pixel_to_world(5)
    text = page.text_content("#coords-spectral")
    number, unit = text.split(" ", 1)
    assert float(number) == pytest.approx(freq.to_value(u.Unit(unit)), rel=1e-5)
    assert float(page.text_content("#coords-value").split()[0]) == pytest.approx(value, rel=1e-5, abs=1e-6)
    assert np.isfinite(value)


def test_readout_keeps_up_without_a_request_storm(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    set_view(page, 1024, 1024, 1)
    in_flight, peak, total = 0, 0, 0

    def started(request) -> None:
        nonlocal in_flight, peak, total
        if "/api/images/pixel" in request.url:
            in_flight += 1
            total += 1
            peak = max(peak, in_flight)

    def finished(request) -> None:
        nonlocal in_flight
        if "/api/images/pixel" in request.url:
            in_flight -= 1

    page.on("request", started)
    page.on("requestfinished", finished)
    page.on("requestfailed", finished)
    box = page.locator("#viewer").bounding_box()
    for i in range(80):
        page.mouse.move(box["x"] + 200 + i * 5, box["y"] + 300 + i * 2)
    x, y = 1234, 1111
    _hover(page, x, y)  # the readout ends on the last position
    assert peak == 1
    assert total <= 82


def test_readout_follows_a_still_pointer_while_the_view_zooms(page, live_server) -> None:
    """Issue 14 point 15: zooming with the wheel (the pointer does not move) updates the readout."""
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    set_view(page, 1000, 1000, 1)
    _hover(page, 1100, 1050)  # 100 px right of and 50 above the centre, at 1 screen px per image px
    page.evaluate("() => window.neloura.ctx.viewer.panTo(1000, 1000, 2, true)")  # zoom about the centre
    page.wait_for_function("() => document.querySelector('#coords-pixel').textContent === '1051, 1026'")


def test_another_image_opened_during_a_readout_request(page, live_server) -> None:
    """The pointer's pixel asked, another image opened and the pointer moved before the answer
    came: the readout goes on for the new image (no page error when the old answer lands)."""
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    set_view(page, 100, 100, 2)
    held: list = []
    page.route("**/api/images/pixel*", lambda route: held.append(route))
    box = page.locator("#viewer").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "no pixel request was made"
    page.evaluate("() => window.neloura.ctx.bus.emit('image:open', { path: 'demo/galaxy.fits', hdu: 2 })")
    page.wait_for_function("() => window.neloura.ctx.viewer.image?.hdu === 2")
    page.wait_for_function("() => document.querySelector('#viewer').dataset.imageReady === '1'")
    s = viewer(page, "v.imageToScreen(97, 103)")
    page.mouse.move(box["x"] + s["x"], box["y"] + s["y"])  # the first request still in flight
    for route in list(held):
        route.continue_()
    page.unroute("**/api/images/pixel*")  # (a request held meanwhile goes on)
    page.wait_for_function("() => document.querySelector('#coords-pixel').textContent === '98, 104'")
