"""Segmentation maps per panel: a map opened on panel 2 of a 2x2 layout (the flipped, rotated star
field) is drawn on that panel's view where its segments are, stays there when panel 1 is active,
is in panel 2's part of the URL and comes back from it after a reload, and is cleared when that
panel opens another image. Screenshots /tmp/neloura-panels/segmentation_panels_{1600,900}.png."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from astropy.io import fits
from scipy import ndimage

from tests.browser.panel_steps import DRAWN, _layout_2x2, _many_to_screen, _panel, _wait_panel_tiles
from tests.core.rgb_fields import write_fields

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/neloura-panels")
# alpha of panel i's segmentation layer at CSS points of that panel
ALPHA_AT = """([i, pts]) => {
  const c = window.neloura.ctx.panels.list()[i].element.querySelector('.segmentation-canvas');
  const dpr = c.width / c.clientWidth;
  const g = c.getContext('2d');
  return pts.map((s) => {
    const x = Math.round(s.x * dpr), y = Math.round(s.y * dpr);
    if (x < 0 || y < 0 || x >= c.width || y >= c.height) return null;
    return g.getImageData(x, y, 1, 1).data[3];
  });
}"""


@pytest.fixture(scope="module")
def segfields(live_server) -> dict:
    folder = live_server.files_dir / "segpanels"
    folder.mkdir(exist_ok=True)
    names = [f"segpanels/{n}" for n in write_fields(folder)]
    with fits.open(live_server.files_dir / names[1]) as hdul:
        data, header = np.asarray(hdul[0].data, dtype=float), hdul[0].header.copy()
    labels, n = ndimage.label(data > np.nanpercentile(data, 99))
    fits.PrimaryHDU(labels.astype(np.int32), header).writeto(folder / "b_segm.fits", overwrite=True)
    return {"fields": names, "seg": "segpanels/b_segm.fits", "labels": labels, "n": n}


def _on_segments(page, segfields: dict) -> tuple[int, int]:
    """(segment centres painted, background points painted) in panel 2, through its own view."""
    labels, n = segfields["labels"], segfields["n"]
    cy, cx = np.array(ndimage.center_of_mass(labels > 0, labels, range(1, n + 1))).T
    inside = labels[np.round(cy).astype(int), np.round(cx).astype(int)] > 0
    far = ndimage.distance_transform_edt(labels == 0) > 6
    by, bx = np.nonzero(far)
    pick = np.linspace(0, len(bx) - 1, 40).astype(int)
    on = page.evaluate(ALPHA_AT, [1, _many_to_screen(page, 1, cx[inside], cy[inside])])
    off = page.evaluate(ALPHA_AT, [1, _many_to_screen(page, 1, bx[pick], by[pick])])
    seen = [a for a in on if a is not None]
    assert len(seen) >= 5
    return sum(a > 100 for a in seen), sum(a > 0 for a in off if a is not None)


def test_segmentation_stays_with_its_panel_and_the_url(page, live_server, segfields) -> None:
    fields = segfields["fields"]
    page.set_viewport_size({"width": 1600, "height": 1000})
    _layout_2x2(page, live_server, fields)
    # panel 2 (flipped, rotated 37 degrees) active: its map opens there
    page.click(_panel(2), position={"x": 30, "y": 60})
    page.evaluate("(s) => window.neloura.ctx.bus.emit('segmentation:open', { seg: s })", segfields["seg"])
    page.wait_for_selector(f"{_panel(2)}[data-segmentation-drawn]")
    page.locator(".seg-opacity").evaluate("(o) => { o.value = '0.8'; o.dispatchEvent(new Event('input')); }")
    assert page.get_attribute(_panel(2), "data-segmentation") == str(segfields["n"])
    # panel 1 active: panel 2 keeps its map, panel 1 has none, the side panel shows panel 1's (none)
    page.click(_panel(1), position={"x": 30, "y": 60})
    page.wait_for_function("() => window.neloura.ctx.panels.active === 0")
    page.wait_for_timeout(300)
    assert page.evaluate(DRAWN, [1, ".segmentation-canvas"]) > 100
    for i in (0, 2, 3):
        assert page.evaluate(DRAWN, [i, ".segmentation-canvas"]) == 0, i
    assert page.input_value(".seg-path") == ""
    painted, background = _on_segments(page, segfields)
    assert painted >= 5 and background == 0
    page.screenshot(path=str(SHOTS / "segmentation_panels_1600.png"))
    page.set_viewport_size({"width": 900, "height": 1000})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "segmentation_panels_900.png"))
    page.set_viewport_size({"width": 1600, "height": 1000})
    # the URL: panel 2's map inside p2, none on the page's keys
    page.wait_for_timeout(300)
    url = page.url
    q = parse_qs(urlparse(url).query)
    p2 = parse_qs(q["p2"][0])
    assert p2["seg"] == [segfields["seg"]] and p2["seg_opacity"] == ["0.8"] and "seg" not in q

    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    page.wait_for_selector(f"{_panel(2)}[data-segmentation-drawn]")
    for i in range(4):
        _wait_panel_tiles(page, i)
    page.wait_for_timeout(300)
    assert page.evaluate(DRAWN, [0, ".segmentation-canvas"]) == 0
    painted, background = _on_segments(page, segfields)
    assert painted >= 5 and background == 0
    page.click(_panel(2), position={"x": 30, "y": 60})
    page.wait_for_function("(s) => document.querySelector('.seg-path').value === s", arg=segfields["seg"])
    assert page.input_value(".seg-opacity") == "0.8"
    # panel 2 opens another image: its map goes, from the URL too
    page.mouse.move(5, 5)  # off the panels: the pointer readout would ask the new image for the old pixel
    page.evaluate("(p) => window.neloura.ctx.bus.emit('image:open', { path: p })", fields[2])
    _wait_panel_tiles(page, 1)
    page.wait_for_function(f"() => document.querySelector('{_panel(2)}').dataset.segmentation === undefined")
    p2_has_seg = "() => new URLSearchParams(new URLSearchParams(location.search).get('p2') || '').has('seg')"
    page.wait_for_function(f"() => !({p2_has_seg})()")
    assert "seg" not in parse_qs(parse_qs(urlparse(page.url).query)["p2"][0])
