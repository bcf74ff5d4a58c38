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


def test_panel_url_keys(blank) -> None:
    """A panel's orientation and the keys other features keep per panel (panel 1: the page's own,
    panels 2-4: inside p2..p4); the contours' URL form round-trips onto the panel's image."""
    out = blank.evaluate(
        """async () => {
          const m = await import('/static/js/lib/url-state.js');
          const c = await import('/static/js/features/contours.js');
          const view = { cx: 1, cy: 2, zoom: 3, rotation: -37.5, flip: true };
          const turned = m.readUrl('?' + m.toQuery({ path: 'a.fits', view }));
          const straight = m.toQuery({ path: 'a.fits', view: { cx: 1, cy: 2, zoom: 3, rotation: 360, flip: false } });
          history.replaceState(null, '', '/?path=a.fits&p2=' + encodeURIComponent('path=b.fits&cx=1'));
          m.editPanelQuery(1, (q) => q + '&catalog=s.csv');
          m.editPanelQuery(0, (q) => q + '&contours=x');
          const p2 = m.panelQuery(1).toString();
          const p1 = m.panelQuery(0).get('contours');
          m.editPanelQuery(3, () => '');
          const search = location.search;
          const body = { sigma_levels: [3, 5], smooth_px: 1.5, color: '#00ff00' };
          const shown = c.bodyOf(c.specOf(body, 2), { path: 'a.fits', hdu: 0, plane: 1 });
          const count = { path: 'o.fits', hdu: 2, plane: 0, n_levels: 4, vmin: 0, vmax: 9, spacing: 'log',
                          on: { path: 'a.fits' } };
          const other = c.bodyOf(c.specOf(count, 1), { path: 'a.fits', hdu: 0, plane: 0 });
          const junk = c.bodyOf('n_levels=abc&levels=1,x,2&evil=1', { path: 'a.fits', hdu: 0, plane: 0 });
          return { turned: turned.view, straight, p2, p1, search, shown, other, junk };
        }"""
    )
    assert out["turned"] == {"cx": 1, "cy": 2, "zoom": 3, "rotation": 322.5, "flip": True}
    assert "rot" not in out["straight"] and "flip" not in out["straight"]
    assert out["p2"] == "path=b.fits&cx=1&catalog=s.csv" and out["p1"] == "x"
    assert "p4" not in out["search"]
    assert out["shown"] == {
        "body": {"sigma_levels": [3, 5], "smooth_px": 1.5, "color": "#00ff00", "path": "a.fits", "hdu": 0, "plane": 1},
        "width": 2,
    }
    other = out["other"]["body"]
    assert other["path"] == "o.fits" and other["hdu"] == 2 and other["on"] == {"path": "a.fits", "hdu": 0, "plane": 0}
    assert other["n_levels"] == 4 and other["spacing"] == "log" and other["vmin"] == 0 and other["vmax"] == 9
    assert out["junk"]["body"] == {"levels": [1, 2], "path": "a.fits", "hdu": 0, "plane": 0}


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
