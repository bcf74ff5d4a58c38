"""The page's small libraries, run in the browser: URL state round trip, coordinate formatting,
the event bus refusing unknown event names."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def blank(page, live_server):
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    return page


def test_url_state_round_trip(blank) -> None:
    out = blank.evaluate(
        """async () => {
          const m = await import('/static/js/lib/url-state.js');
          const state = { path: 'a b/c&d.fits', hdu: 2, plane: 3,
                          display: { stretch: 'power', cmap: 'RdBu_r', vmin: -1.5e-7, vmax: 42, invert: true,
                                     exponent: 3,
                                     nan_color: '#ff0000' },
                          view: { cx: 10.25, cy: 20.5, zoom: 2.5 } };
          const back = m.readUrl('?' + m.toQuery(state));
          const junk = m.readUrl('?path=x.fits&hdu=-1&plane=1.5&vmin=abc&zoom=0&cx=1&cy=2&invert=0');
          history.replaceState(null, '', '/?catalog=cat.csv&hdu=9&size_col=5');
          m.writeUrl({ path: 'p.fits', hdu: 1, display: { cmap: 'gray' } });
          return [back, junk, location.search];
        }"""
    )
    back, junk, search = out
    assert search == "?path=p.fits&hdu=1&cmap=gray&catalog=cat.csv&size_col=5"  # other features' keys kept
    assert back["path"] == "a b/c&d.fits" and back["hdu"] == 2 and back["plane"] == 3
    assert back["display"] == {
        "stretch": "power",
        "cmap": "RdBu_r",
        "vmin": -1.5e-7,
        "vmax": 42,
        "exponent": 3,
        "invert": True,
        "nan_color": "#ff0000",
    }
    assert back["view"] == {"cx": 10.25, "cy": 20.5, "zoom": 2.5}
    assert junk["hdu"] is None and junk["plane"] is None and "vmin" not in junk["display"]
    assert junk["view"] is None and junk["display"]["invert"] is False


def test_formatting(blank) -> None:
    out = blank.evaluate(
        """async () => {
          const f = await import('/static/js/lib/format.js');
          return [f.raToHms(150.1), f.raToHms(359.9999999999), f.decToDms(-0.5), f.decToDms(89.99999999),
                  f.lonToDms(5.5), f.fromIcrs(266.40499, -28.93617, 'galactic'), f.formatSpectral(1.42040575e9, 'Hz'),
                  f.formatSpectral(-12345.6, 'm/s'), f.formatSpectral(2.1e-6, 'm'), f.formatValue(1234567.8)];
        }"""
    )
    assert out[:5] == ["10:00:24.000", "00:00:00.000", "-00:30:00.00", "+90:00:00.00", "005:30:00.00"]
    lon, lat = out[5]  # Sgr A* is near the Galactic centre
    assert (lon > 359.9 or lon < 0.1) and abs(lat) < 0.1
    assert out[6:] == ["1.4204058 GHz", "-12.3456 km/s", "2.100000 um", "1.2346e+6"]


def test_bus_refuses_unknown_events(blank) -> None:
    message = blank.evaluate(
        """async () => {
          const { createBus } = await import('/static/js/lib/bus.js');
          try { createBus().emit('no-such-event', {}); return 'emitted'; } catch (e) { return e.message; }
        }"""
    )
    assert "unknown bus event" in message
