"""Plotter in the page: a lasso drawn with the mouse selects the points inside it, their table
rows and their image markers (one selection on the bus); a selection made elsewhere highlights
the points; histogram and density plots; the bad-expression message; exports."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pytest

from tests.browser.helpers import READY, wait_tiles
from tests.browser.test_catalog_overlay import COUNT_MARKER_PIXELS

pytestmark = pytest.mark.browser

CATALOG = "demo_sources.csv"
EMIT = "(detail) => window.neloura.ctx.bus.emit('catalog:rows-selected', detail)"
SHOW = "(detail) => window.neloura.ctx.bus.emit('plotter:show', detail)"
DOCK_SELECTED = "(n) => document.querySelector('.plotter-dock').dataset.selected === String(n)"
FRAME = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
# the points counted in a heatmap trace of the density view (z holds log10(count), empty bins null)
BINNED = """(k) => document.querySelector('.plot-graph').data[k].z.flat()
  .reduce((a, v) => a + (v === null ? 0 : Math.round(10 ** v)), 0)"""
RELAYOUT = """([xr, yr]) => window.Plotly.relayout(document.querySelector('.plot-graph'),
  {'xaxis.range': xr, 'yaxis.range': yr})"""
# data -> page pixels through plotly's own axes
TO_PAGE = """([x, y]) => {
  const g = document.querySelector('.plot-graph');
  const L = g._fullLayout, box = g.getBoundingClientRect();
  return [box.left + L._size.l + L.xaxis.d2p(x), box.top + L._size.t + L.yaxis.d2p(y)];
}"""


def _truth(live_server: Any) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(io.StringIO((live_server.root / "catalogs" / CATALOG).read_text())))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("ra", "dec", "mag_ab", "flux_ujy")}


def _open(page: Any, live_server: Any, spec: str) -> None:
    page.goto(f"{live_server.url}/?path=demo/galaxy.fits&hdu=1&catalog={CATALOG}&size_col=6&size_unit=px&table=1")
    page.wait_for_selector(READY)
    wait_tiles(page)
    page.wait_for_function("() => document.body.dataset.overlayCount !== undefined")
    page.evaluate(f"() => window.neloura.ctx.bus.emit('plotter:show', {spec})")
    page.wait_for_function("() => Number(document.querySelector('.plotter-dock')?.dataset.points) > 0")
    page.evaluate(FRAME)


def _lasso(page: Any, corners: list[tuple[float, float]], steps: int = 12) -> None:
    """Drag a lasso through ``corners`` (data units), straight segments sampled in ``steps``."""
    path = [page.evaluate(TO_PAGE, list(c)) for c in corners]
    page.mouse.move(*path[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(path, path[1:] + path[:1], strict=True):
        for k in range(1, steps + 1):
            page.mouse.move(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
    page.mouse.up()


def test_lasso_selects_points_rows_and_markers(page: Any, live_server: Any) -> None:
    truth = _truth(live_server)
    _open(page, live_server, "{name: 'demo_sources.csv', x: 'ra', y: 'dec', kind: 'scatter'}")
    ra, dec = truth["ra"], truth["dec"]
    r0, r1 = np.percentile(ra, [30, 70])
    d0, d1 = np.percentile(dec, [30, 70])
    events: list[Any] = []
    page.expose_function("__sel", lambda d: events.append(d))
    page.evaluate("() => window.neloura.ctx.bus.on('catalog:rows-selected', (d) => window.__sel(d))")
    _lasso(page, [(r0, d0), (r1, d0), (r1, d1), (r0, d1)])
    page.wait_for_function("() => Number(document.querySelector('.plotter-dock').dataset.selected) > 0")
    # inside a slightly smaller box: surely selected; outside a slightly larger one: surely not
    er, ed = 0.02 * (r1 - r0), 0.02 * (d1 - d0)
    sure = set(np.flatnonzero((ra > r0 + er) & (ra < r1 - er) & (dec > d0 + ed) & (dec < d1 - ed)).tolist())
    maybe = set(np.flatnonzero((ra > r0 - er) & (ra < r1 + er) & (dec > d0 - ed) & (dec < d1 + ed)).tolist())
    page.wait_for_timeout(200)
    event = events[-1]
    assert event["name"] == CATALOG and event["source"] == "plotter"
    chosen = set(event["rows"])
    assert sure <= chosen <= maybe and len(sure) > 20
    assert page.locator(".plotter-dock").get_attribute("data-selected") == str(len(chosen))
    # the table follows: its selected rows are the plot's, the page shows one of them
    count = "(n) => document.querySelector('.cat-selected-count')?.textContent === `${n} selected`"
    page.wait_for_function(count, arg=len(chosen))
    rows = "() => [...document.querySelectorAll('.cat-table tr.selected')].map((t) => Number(t.dataset.row))"
    shown = page.evaluate(rows)
    assert shown and set(shown) <= chosen
    # the overlay follows: red markers on the image
    page.evaluate(FRAME)
    assert page.evaluate(COUNT_MARKER_PIXELS, [255, 48, 48]) > 0
    page.screenshot(path="/tmp/plotter_lasso.png")
    # a selection made elsewhere (the table) highlights the points in the plot
    page.evaluate(EMIT, {"name": CATALOG, "rows": [1, 2, 3], "source": "table"})
    page.wait_for_function(DOCK_SELECTED, arg=3)
    selected = page.evaluate("() => document.querySelector('.plot-graph').data[0].selectedpoints")
    assert sorted(selected) == [1, 2, 3]  # the demo catalog: point i is row i (no filter)


def test_histogram_density_colour_and_errors(page: Any, live_server: Any, console_allow: list[Any]) -> None:
    import re

    console_allow.append(re.compile(r"Failed to load resource.*422"))
    truth = _truth(live_server)
    _open(page, live_server, "{name: 'demo_sources.csv', x: 'mag_ab', kind: 'histogram', filter: 'mag_ab < 26'}")
    kept = int((truth["mag_ab"] < 26).sum())
    assert page.locator(".plotter-dock").get_attribute("data-points") == str(kept)
    assert page.evaluate("() => document.querySelector('.plot-graph').data[0].type") == "histogram"
    page.evaluate(
        "() => window.neloura.ctx.bus.emit('plotter:show', {name: 'demo_sources.csv', x: 'ra', y: 'dec', "
        "color: 'mag_ab', size: 'log10(flux_ujy)', kind: 'scatter', filter: ''})"
    )
    page.wait_for_function("() => document.querySelector('.plot-graph').data[0].marker.showscale === true")
    assert page.locator(".plot-graph .colorbar").count() == 1
    page.screenshot(path="/tmp/plotter_colour.png")
    with page.expect_request(lambda r: "/api/plotter/data" in r.url) as asked:
        page.evaluate(SHOW, {"name": CATALOG, "x": "ra", "y": "dec", "color": "mag_ab", "kind": "density"})
    page.wait_for_function("() => document.querySelector('.plot-graph').data[0].type === 'heatmap'")
    assert "y=dec" in asked.value.url and "color=mag_ab" not in asked.value.url  # a density draws no colour
    ra, dec = truth["ra"], truth["dec"]
    # binned in the page over the full extent: every point counted once
    assert page.evaluate(BINNED, 0) == len(ra)
    # a zoom re-bins for the new ranges: the counts are the points inside them
    r0, r1 = np.percentile(ra, [10, 70])
    d0, d1 = np.percentile(dec, [10, 70])
    page.evaluate(RELAYOUT, [[r0, r1], [d0, d1]])
    page.wait_for_function("() => Number(document.querySelector('.plot-graph').dataset.rebins) > 0")
    inside = int(((ra >= r0) & (ra <= r1) & (dec >= d0) & (dec <= d1)).sum())
    assert page.evaluate(BINNED, 0) == inside
    trace = "() => document.querySelector('.plot-graph').data[0]"
    dx = page.evaluate(f"() => ({trace})().dx")
    bins = page.evaluate(f"() => ({trace})().z[0].length")
    assert bins == round(len(ra) ** 0.5) and dx == pytest.approx((r1 - r0) / bins)  # ~sqrt(n) bins a side
    # a lasso on the density selects the points inside it (computed on the data, their bins drawn on top)
    r0, r1 = np.percentile(ra, [20, 60])
    d0, d1 = np.percentile(dec, [20, 60])
    _lasso(page, [(r0, d0), (r1, d0), (r1, d1), (r0, d1)])
    page.wait_for_function("() => Number(document.querySelector('.plotter-dock').dataset.selected) > 0")
    er, ed = 0.02 * (r1 - r0), 0.02 * (d1 - d0)
    sure = int(((ra > r0 + er) & (ra < r1 - er) & (dec > d0 + ed) & (dec < d1 - ed)).sum())
    maybe = int(((ra > r0 - er) & (ra < r1 + er) & (dec > d0 - ed) & (dec < d1 + ed)).sum())
    shown = int(page.locator(".plotter-dock").get_attribute("data-selected"))
    assert sure <= shown <= maybe
    page.wait_for_function(f"() => ({BINNED})(1) === {shown}")
    page.screenshot(path="/tmp/plotter_density.png")
    # a zoom with a selection re-bins both grids (one pass): all the selected points inside a view
    # that holds the lasso, none in one beside it, while the all-points grid counts that view's points
    rebins = "() => Number(document.querySelector('.plot-graph').dataset.rebins)"
    for (p0, p1), selected_inside in (((10, 70), shown), ((75, 98), 0)):
        seen = page.evaluate(rebins)
        r0, r1 = np.percentile(ra, [p0, p1])
        d0, d1 = np.percentile(dec, [p0, p1])
        page.evaluate(RELAYOUT, [[r0, r1], [d0, d1]])
        page.wait_for_function(f"() => ({rebins})() > {seen}")
        assert page.evaluate(BINNED, 1) == selected_inside
        assert page.evaluate(BINNED, 0) == int(((ra >= r0) & (ra <= r1) & (dec >= d0) & (dec <= d1)).sum())
    page.fill(".plot-x", "nosuchcolumn * 2")
    page.click(".plot-go")
    page.wait_for_selector(".plot-error:not([hidden])")
    assert "nosuchcolumn" in page.locator(".plot-error").text_content()


def test_exports(page: Any, live_server: Any) -> None:
    _open(page, live_server, "{name: 'demo_sources.csv', x: 'ra', y: 'dec', kind: 'scatter'}")
    with page.expect_download() as png:
        page.click(".plot-png")
    assert png.value.suggested_filename.endswith(".png")
    assert png.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as svg:
        page.click(".plot-svg")
    assert b"<svg" in svg.value.path().read_bytes()[:2000]
    page.evaluate(EMIT, {"name": CATALOG, "rows": [4, 9], "source": "table"})
    page.wait_for_function(DOCK_SELECTED, arg=2)
    with page.expect_download() as sel:
        page.click(".plot-export")
    lines = sel.value.path().read_text().strip().splitlines()
    truth = list(csv.DictReader(io.StringIO((live_server.root / "catalogs" / CATALOG).read_text())))
    assert len(lines) == 3 and lines[1].split(",")[0].strip('"') == truth[4]["id"]
