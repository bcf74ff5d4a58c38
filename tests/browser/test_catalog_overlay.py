"""Catalog overlay in the page: both deep-link forms draw markers (WebGL and the 2-D fallback),
clicking a marker pops up its row and announces it on the bus."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pytest

from neloura.core.overlay import decode_overlay
from tests.browser.helpers import READY, wait_tiles

pytestmark = pytest.mark.browser

# Pixels of the overlay canvases that are drawn (alpha) and close to the marker colour.
COUNT_MARKER_PIXELS = """(rgb) => {
  let n = 0;
  for (const c of document.querySelectorAll('.overlay-canvas')) {
    const t = document.createElement('canvas');
    t.width = c.width; t.height = c.height;
    const g = t.getContext('2d');
    g.drawImage(c, 0, 0);
    const d = g.getImageData(0, 0, t.width, t.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] < 100) continue;
      const a = d[i + 3] / 255;
      const near = (k) => Math.abs(d[i + k] / a - rgb[k]) < 60;
      if (near(0) && near(1) && near(2)) n += 1;
    }
  }
  return n;
}"""


def _open(page: Any, live_server: Any, query: str, *, via_open: bool = False) -> int:
    """Load the demo image with an overlay deep link (``/?path=...`` or the ``/open/<path>`` form)."""
    if via_open:
        page.goto(f"{live_server.url}/open/demo/galaxy.fits?hdu=1&{query}")
    else:
        page.goto(f"{live_server.url}/?path=demo/galaxy.fits&hdu=1&{query}")
    page.wait_for_selector(READY)
    wait_tiles(page)
    page.wait_for_function("() => document.body.dataset.overlayCount !== undefined")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return int(page.evaluate("() => Number(document.body.dataset.overlayCount)"))


def _payload(live_server: Any, query: str) -> Any:
    return decode_overlay(live_server.get(f"/api/catalogs/overlay?path=demo/galaxy.fits&hdu=1&{query}"))


@pytest.mark.parametrize("renderer", ["webgl", "canvas"])
def test_deep_link_with_constant_pixel_size_draws_markers(page: Any, live_server: Any, renderer: str) -> None:
    query = "catalog=demo_sources.csv&ra_col=ra&dec_col=dec&size_col=5&size_unit=px&color=%23ff00ff"
    count = _open(page, live_server, f"{query}&renderer={renderer}", via_open=renderer == "webgl")
    expected = _payload(live_server, "name=demo_sources.csv&ra_col=ra&dec_col=dec&size_col=5&size_unit=px")
    assert count == expected.rows.size > 100
    assert page.evaluate("() => document.body.dataset.overlayRenderer") == renderer
    drawn = page.evaluate(COUNT_MARKER_PIXELS, [255, 0, 255])
    assert drawn > count  # every visible marker draws a ring of several pixels
    # a marker is drawn where the WCS puts it: sample the canvas at one marker's ring
    x, y, r = float(expected.x_pix[0]), float(expected.y_pix[0]), 5.0
    assert page.evaluate(
        """([x, y, r]) => {
          const v = window.neloura.ctx.viewer;
          const c = document.querySelector('.overlay-canvas');
          const dpr = c.width / c.clientWidth;
          const t = document.createElement('canvas'); t.width = c.width; t.height = c.height;
          const g = t.getContext('2d'); g.drawImage(c, 0, 0);
          const s = v.imageToScreen(x, y);
          const rad = Math.max(r * v.imageScale(), 2);
          const box = g.getImageData(Math.floor((s.x - rad - 2) * dpr), Math.floor((s.y - rad - 2) * dpr),
                                     Math.ceil((2 * rad + 4) * dpr), Math.ceil((2 * rad + 4) * dpr)).data;
          let n = 0; for (let i = 3; i < box.length; i += 4) if (box[i] > 100) n += 1;
          return n > 0;
        }""",
        [x, y, r],
    )


def test_deep_link_with_size_column_in_arcsec(page: Any, live_server: Any) -> None:
    source = (live_server.root / "catalogs" / "demo_sources.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(source)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "ra", "dec", "r_arcsec"])
    for i, row in enumerate(rows):
        writer.writerow([row["id"], row["ra"], row["dec"], 0.5 + (i % 5)])
    (live_server.root / "catalogs" / "sized_sources.csv").write_text(out.getvalue())
    query = "catalog=sized_sources.csv&ra_col=ra&dec_col=dec&size_col=r_arcsec&size_unit=arcsec&color=%23ff00ff"
    count = _open(page, live_server, query)
    payload = _payload(live_server, "name=sized_sources.csv&ra_col=ra&dec_col=dec&size_col=r_arcsec&size_unit=arcsec")
    assert count == payload.rows.size > 100
    radii_arcsec = payload.size_px * payload.pixel_scale_arcsec
    np.testing.assert_allclose(radii_arcsec, 0.5 + (payload.rows % 5), rtol=1e-3)
    assert page.evaluate(COUNT_MARKER_PIXELS, [255, 0, 255]) > count


def test_click_a_marker_shows_its_row(page: Any, live_server: Any) -> None:
    _open(page, live_server, "catalog=demo_sources.csv&size_col=6&size_unit=px")
    payload = _payload(live_server, "name=demo_sources.csv&size_col=6&size_unit=px")
    i = int(np.argmin(np.hypot(payload.x_pix - 1024, payload.y_pix - 1024)))
    x, y, row = float(payload.x_pix[i]), float(payload.y_pix[i]), int(payload.rows[i])
    page.evaluate(f"() => window.neloura.ctx.viewer.panTo({x}, {y}, 3, true)")
    page.wait_for_timeout(100)
    wait_tiles(page)
    page.evaluate(
        """() => { window.__clicked = null;
                   window.neloura.ctx.bus.on('catalog:row-clicked', (d) => { window.__clicked = d; }); }"""
    )
    box = page.locator("#viewer").bounding_box()
    screen = page.evaluate(f"() => window.neloura.ctx.viewer.imageToScreen({x}, {y})")
    page.mouse.click(box["x"] + screen["x"], box["y"] + screen["y"])
    popup = page.locator(".overlay-popup")
    popup.wait_for(state="visible")
    assert popup.get_attribute("data-row") == str(row)
    truth = list(csv.DictReader(io.StringIO((live_server.root / "catalogs" / "demo_sources.csv").read_text())))[row]
    cells = dict(zip(popup.locator("th").all_text_contents(), popup.locator("td").all_text_contents(), strict=True))
    assert cells["id"] == truth["id"]
    assert float(cells["ra"]) == pytest.approx(float(truth["ra"]))
    assert cells["kind"] == truth["kind"]
    clicked = page.evaluate("() => window.__clicked")
    assert clicked["name"] == "demo_sources.csv" and clicked["row"] == row
    # selecting rows elsewhere (the table) highlights them on the image in red
    select = "(rows) => window.neloura.ctx.bus.emit('catalog:rows-selected', { name: 'demo_sources.csv', rows })"
    frame = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
    page.evaluate(select, [])
    page.evaluate(frame)
    assert page.evaluate(COUNT_MARKER_PIXELS, [255, 48, 48]) == 0
    page.evaluate(select, [row])
    page.evaluate(frame)
    assert page.evaluate(COUNT_MARKER_PIXELS, [255, 48, 48]) > 0


def test_labels_from_a_column_when_zoomed_in(page: Any, live_server: Any) -> None:
    _open(page, live_server, "catalog=demo_sources.csv&size_col=4&label_col=id&color=%23ff00ff")
    label_pixels = """() => {
      const c = document.querySelector('.overlay-labels');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 100) n += 1;
      return n;
    }"""
    assert page.evaluate(label_pixels) == 0  # too many markers in view for labels
    page.evaluate("() => window.neloura.ctx.viewer.panTo(1024, 1024, 4, true)")
    page.wait_for_function(f"({label_pixels})() > 50")


def test_cone_search_dialog_finds_rows_and_shows_them(page: Any, live_server: Any) -> None:
    _open(page, live_server, "catalog=demo_sources.csv&size_col=4")
    truth = list(csv.DictReader(io.StringIO((live_server.root / "catalogs" / "demo_sources.csv").read_text())))
    ra, dec = float(truth[0]["ra"]), float(truth[0]["dec"])
    page.click('.menu-button[data-menu="Catalogs"]')
    page.click("#menu-cone")
    dialog = page.locator("#cone-dialog")
    dialog.locator("select").select_option("demo_sources.csv")
    dialog.locator("input[name=ra]").fill(f"{ra:.7f}")
    dialog.locator("input[name=dec]").fill(f"{dec:.7f}")
    dialog.locator("input[name=radius]").fill("5")
    dialog.locator("button.primary").click()
    dialog.locator(".xm-summary").wait_for()
    expected = [i for i, row in enumerate(truth) if _sep_arcsec(ra, dec, float(row["ra"]), float(row["dec"])) <= 5]
    assert dialog.locator(".xm-summary").text_content().startswith(f"{len(expected)} rows within 5")
    first_cells = dialog.locator(".xm-table tbody tr").first.locator("td").all_text_contents()
    assert first_cells[0] == "0" and first_cells[1] == truth[0]["id"]


def test_crossmatch_dialog(page: Any, live_server: Any) -> None:
    _open(page, live_server, "catalog=demo_sources.csv&size_col=4")
    page.click('.menu-button[data-menu="Catalogs"]')
    page.click("#menu-crossmatch")
    dialog = page.locator("#crossmatch-dialog")
    selects = dialog.locator("select")
    selects.nth(0).select_option("demo_sources.csv")
    selects.nth(1).select_option("demo_sources.csv")
    dialog.locator("input[name=radius]").fill("0.5")
    dialog.locator("button.primary").click()
    dialog.locator(".xm-summary").wait_for()
    n = len((live_server.root / "catalogs" / "demo_sources.csv").read_text().strip().splitlines()) - 1
    assert dialog.locator(".xm-summary").text_content().startswith(f"{n} pairs; {n} rows")
    # the joined table (TOPCAT-style): A row, B row, A's columns _1, B's columns _2, separation
    heads = dialog.locator(".xm-table thead th").all_text_contents()
    assert heads[:4] == ["A row", "B row", "id_1", "ra_1"] and "kind_2" in heads and heads[-1] == "separation_arcsec"
    first = dialog.locator(".xm-table tbody tr").first.locator("td").all_text_contents()
    assert first[:2] == ["0", "0"] and first[2] == first[2 + 8] and float(first[-1]) == 0.0
    dialog.locator("#crossmatch-join").select_option("none")  # the bare pairs, as before
    dialog.locator("button.primary").click()
    page.wait_for_function("() => document.querySelectorAll('#crossmatch-dialog .xm-table thead th').length === 3")
    first = dialog.locator(".xm-table tbody tr").first.locator("td").all_text_contents()
    assert first[:2] == ["0", "0"] and float(first[2]) == 0.0


def _sep_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    from neloura.core.crossmatch import separation_arcsec

    return float(separation_arcsec(ra1, dec1, ra2, dec2))


def test_filter_applies_live(page: Any, live_server: Any) -> None:
    count = _open(page, live_server, "catalog=demo_sources.csv&size_col=4")
    expected = _payload(live_server, "name=demo_sources.csv&size_col=4&filter=flux_ujy%20%3E%2020")
    assert 0 < expected.rows.size < count
    emit = "(d) => window.neloura.ctx.bus.emit('catalog:filter-changed', d)"
    page.evaluate(emit, {"name": "demo_sources.csv", "filter": "flux_ujy > 20"})
    page.wait_for_function(f"() => document.body.dataset.overlayCount === '{expected.rows.size}'")
    assert "filter=flux_ujy" in page.url
    # the address bar now reproduces the overlay (shareable view): open it again
    page.evaluate("() => window.neloura.ctx.viewer.panTo(1000, 1000, 1, true)")
    page.wait_for_function("() => new URLSearchParams(location.search).get('cx') === '1000.00'")  # written 150 ms later
    link = page.url
    assert "catalog=demo_sources.csv" in link and "path=demo" in link
    page.goto(link)
    page.wait_for_function(f"() => document.body.dataset.overlayCount === '{expected.rows.size}'")


def test_colour_by_column_with_a_chosen_range(page: Any, live_server: Any) -> None:
    base = "catalog=demo_sources.csv&size_col=4&color_col=flux_ujy&marker_cmap=gray&renderer=canvas"
    _open(page, live_server, base)
    assert page.evaluate(COUNT_MARKER_PIXELS, [255, 255, 255]) > 0  # the brightest sources are white
    assert page.locator(".overlay-colorbar").is_visible()
    _open(page, live_server, base + "&color_min=1e9&color_max=2e9")  # above every flux: all black
    assert page.evaluate(COUNT_MARKER_PIXELS, [255, 255, 255]) == 0
    assert page.evaluate(COUNT_MARKER_PIXELS, [0, 0, 0]) > 0
    assert page.locator('.overlay-range[data-key="color_min"]').input_value() == "1000000000"
    assert "color_min=1000000000" in page.url


# Marker-coloured pixels on the overlay canvases the user can see (hidden canvases do not count),
# and whether a marker ring is drawn around given screen points (within +-2 px of its radius).
VISIBLE_MARKER_PIXELS = COUNT_MARKER_PIXELS.replace(
    "for (const c of document.querySelectorAll('.overlay-canvas')) {",
    "for (const c of document.querySelectorAll('.overlay-canvas')) { if (c.hidden || !c.offsetParent) continue;",
)
RING_AT = """([points, radius]) => {
  const v = window.neloura.ctx.viewer;
  const c = [...document.querySelectorAll('.overlay-canvas')].find((k) => !k.hidden);
  const t = document.createElement('canvas'); t.width = c.width; t.height = c.height;
  const g = t.getContext('2d'); g.drawImage(c, 0, 0);
  const dpr = c.width / c.clientWidth;
  return points.map(([x, y]) => {
    const s = v.imageToScreen(x, y);
    let hit = 0;
    for (let dx = -2; dx <= 2; dx += 1) for (let dy = -2; dy <= 2; dy += 1) {
      const px = g.getImageData(Math.round((s.x + radius + dx) * dpr), Math.round((s.y + dy) * dpr), 1, 1).data;
      if (px[3] > 100) hit += 1;
    }
    return hit > 0;
  });
}"""


@pytest.mark.parametrize("renderer", ["webgl", "canvas"])
def test_hidden_overlay_leaves_no_stale_markers_and_comes_back_on_the_stars(
    page: Any, live_server: Any, renderer: str
) -> None:
    """Issue 14 point 1: unchecking "visible" then zooming must not leave circles frozen on the
    screen; checking it again draws them on the sources at the new zoom."""
    page.goto(
        f"{live_server.url}/open/demo/galaxy.fits?hdu=1&catalog=demo_sources.csv&size_col=5"
        f"&cx=1100&cy=1100&zoom=1.5&renderer={renderer}"
    )
    page.wait_for_selector(READY)
    page.wait_for_function("() => Number(document.body.dataset.overlayCount || 0) > 0")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    green = [0, 255, 102]
    assert page.evaluate(VISIBLE_MARKER_PIXELS, green) > 100
    box = page.locator("#overlay input[type=checkbox][title=visible]")
    box.uncheck()
    page.evaluate("() => window.neloura.ctx.viewer.panTo(1100, 1100, 3, true)")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.evaluate(VISIBLE_MARKER_PIXELS, green) == 0
    box.check()
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    rows = list(csv.DictReader(io.StringIO((live_server.root / "catalogs" / "demo_sources.csv").read_text())))
    rect = page.evaluate("() => window.neloura.ctx.viewer.visibleImageRect()")
    inside = [
        (float(r["x_pix"]), float(r["y_pix"]))
        for r in rows
        if rect["x0"] + 20 < float(r["x_pix"]) < rect["x1"] - 20
        and rect["y0"] + 20 < float(r["y_pix"]) < rect["y1"] - 20
    ][:20]
    assert len(inside) >= 5
    scale = page.evaluate("() => window.neloura.ctx.viewer.imageScale()")
    assert scale == pytest.approx(3, rel=0.01)
    rings = page.evaluate(RING_AT, [inside, 5 * scale])
    assert sum(rings) >= 0.9 * len(rings)  # the circles are around the sources at the new zoom


def test_markers_keep_a_minimum_on_screen_size_at_fit_zoom(page: Any, live_server: Any) -> None:
    """Issue 14 point 15: 5-px markers are >= 4 CSS px in radius when the whole image is shown."""
    _open(page, live_server, "catalog=demo_sources.csv&size_col=5&renderer=canvas")
    scale = page.evaluate("() => window.neloura.ctx.viewer.imageScale()")
    assert 5 * scale < 3  # the image is fitted: a 5 px radius would be a speck
    rows = list(csv.DictReader(io.StringIO((live_server.root / "catalogs" / "demo_sources.csv").read_text())))
    xy = np.array([[float(r["x_pix"]), float(r["y_pix"])] for r in rows])
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)) + np.eye(len(xy)) * 1e9
    lonely = xy[dist.min(axis=1) > 60][:10]  # no neighbour within 60 image px (> 15 screen px here)
    rings = page.evaluate(RING_AT, [lonely.tolist(), 4])
    assert sum(rings) >= 0.8 * len(rings)
