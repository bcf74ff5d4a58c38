"""The plotter with 1 M points: server payload, time to the first plot, frame time while panning and
zooming, and brushing (a lasso drawn with the mouse -> points, table rows and markers selected).

Prints medians of ``--runs`` runs against the real server (uvicorn subprocess, loopback) on a
seeded ``--rows``-row catalog (FITS table: x, y, mag, colour columns), in Debian Chromium
(software WebGL, as in the browser tests):

* ``GET /api/plotter/data`` of x, y and a colour column: server time and bytes per point, beside
  the same values as JSON (``/api/catalogs/rows``-style lists) encoded in the same process;
* ``plotter:show`` -> plot drawn, with the plot type on auto (1 M points: the 2-D density binned in
  the page for the current ranges) and, with ``--scatter``, a forced scattergl of every point; the
  first show in a fresh page (plotly.js loaded then) and a second one (plotly.js loaded, as after
  a re-plot or once the page has preloaded it when a catalog was opened), with the time from the
  start to plotter.js's marks (plotly loaded, payload decoded, figure binned, drawn);
* frame time while panning/zooming: ``--steps`` successive axis-range changes (``Plotly.relayout``,
  what a drag or a wheel does), each until the next animation frame (the density: until re-binned
  for the new ranges and redrawn); median and p95;
* brushing: a lasso with the mouse -> ``catalog:rows-selected`` emitted and the plot restyled;
* baseline: plotly.js called directly on a blank page with the same arrays (no Neloura code):
  histogram2d (plotly binning every point once, 200x200) and, with ``--scatter``, scattergl.

``--before REF`` measures the plotter JS of a git ref too (its modules routed into the page), run
by run beside the current ones (which goes first alternates): before and after in the same run, on
the same server and load.

Usage: ``python benchmarks/bench_plotter.py [--rows 1000000] [--runs 3] [--steps 30] [--scatter] [--before REF]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from _common import Server, pct
from astropy.table import Table
from playwright.sync_api import sync_playwright

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS

# Pan/zoom: `steps` relayouts, each awaited and followed by one animation frame; per-step times (ms).
PAN_ZOOM = """async ([steps, selector]) => {
  const g = document.querySelector(selector);
  const P = window.Plotly, L = g._fullLayout;
  const [x0, x1] = L.xaxis.range.slice(), [y0, y1] = L.yaxis.range.slice();
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const rebins = () => Number(g.dataset.rebins || 0);
  const out = [];
  for (let i = 0; i < steps; i++) {
    const z = 1 - 0.4 * Math.sin((i / steps) * Math.PI), s = 0.2 * Math.sin((i / steps) * 2 * Math.PI);
    const cx = (x0 + x1) / 2 + s * (x1 - x0), cy = (y0 + y1) / 2 - s * (y1 - y0);
    const seen = rebins();
    const t = performance.now();
    await P.relayout(g, { 'xaxis.range': [cx - z * (x1 - x0) / 2, cx + z * (x1 - x0) / 2],
                          'yaxis.range': [cy - z * (y1 - y0) / 2, cy + z * (y1 - y0) / 2] });
    await frame();
    if (g.dataset.rebins !== undefined) {  // the density view: until it is re-binned for the new ranges
      while (rebins() === seen && performance.now() - t < 60000) await frame();
    }
    out.push(performance.now() - t);
  }
  return out;
}"""
BASELINE = """async ([n, kind]) => {
  const rnd = (seed) => () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296; };
  const r = rnd(7), x = new Float64Array(n), y = new Float64Array(n), c = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() || 1e-9, v = r(), m = Math.sqrt(-2 * Math.log(u));
    x[i] = m * Math.cos(2 * Math.PI * v); y[i] = m * Math.sin(2 * Math.PI * v); c[i] = r();
  }
  const g = document.createElement('div'); g.id = 'plot'; g.style.cssText = 'width:600px;height:420px';
  document.body.append(g);
  const t = performance.now();
  const trace = kind === 'density' ? { type: 'histogram2d', x, y, nbinsx: 200, nbinsy: 200 }
    : { type: 'scattergl', mode: 'markers', x, y,
        marker: { size: 2, color: c, colorscale: 'Viridis', showscale: true } };
  await Plotly.newPlot(g, [trace], { dragmode: 'lasso', hovermode: false }, {});
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t;
}"""
TO_PAGE = """([fx, fy]) => {
  const g = document.querySelector('.plot-graph'), L = g._fullLayout, b = g.getBoundingClientRect();
  const X = L.xaxis, Y = L.yaxis;
  const x = X.range[0] + fx * (X.range[1] - X.range[0]), y = Y.range[0] + fy * (Y.range[1] - Y.range[0]);
  return [b.left + L._size.l + X.d2p(x), b.top + L._size.t + Y.d2p(y)]; }"""


def write_catalog(root: Path, n: int) -> Path:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=n), rng.normal(size=n)
    table = Table({"x": x, "y": y + 0.3 * x, "mag": 20 + rng.normal(size=n), "colour": rng.uniform(size=n)})
    (root / "catalogs").mkdir(parents=True, exist_ok=True)
    (root / "files").mkdir(exist_ok=True)
    path = root / "catalogs" / "big.fits"
    table.write(path)
    return path


def plot_in_page(page, spec: dict) -> float:
    page.evaluate(
        "() => { window.__plotted = null; "
        "window.neloura.ctx.bus.once('plotter:plotted', (d) => { window.__plotted = d; }); }"
    )
    t = page.evaluate(
        "(spec) => { const t = performance.now(); window.neloura.ctx.bus.emit('plotter:show', spec); return t; }", spec
    )
    page.wait_for_function("() => window.__plotted !== null", timeout=180_000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
    return page.evaluate("() => performance.now()") - t


PHASES = ("plotly", "data", "figure", "drawn")


def phases(page) -> dict[str, float]:
    """ms from the plot's start to each of its marks (plotter.js: plotly loaded, data decoded,
    figure built (binned), drawn by Plotly.react)."""
    marks = page.evaluate(
        "() => Object.fromEntries(performance.getEntriesByType('mark')"
        ".filter((m) => m.name.startsWith('plotter:')).map((m) => [m.name.slice(8), m.startTime]))"
    )
    return {k: marks[k] - marks["start"] for k in PHASES if k in marks and "start" in marks}


def lasso(page) -> float:
    """A lasso through the middle of the plot with the mouse; ms from mouse-up to the selection on the bus."""
    page.evaluate(
        "() => { window.__sel = null; "
        "window.neloura.ctx.bus.once('catalog:rows-selected', (d) => { window.__sel = d.rows.length; }); }"
    )
    corners = [(0.35, 0.35), (0.65, 0.38), (0.6, 0.65), (0.38, 0.6)]
    path = [page.evaluate(TO_PAGE, list(c)) for c in corners]
    page.mouse.move(*path[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(path, path[1:] + path[:1], strict=True):
        for k in range(1, 7):
            page.mouse.move(x0 + (x1 - x0) * k / 6, y0 + (y1 - y0) * k / 6)
    t = page.evaluate("() => performance.now()")
    page.mouse.up()
    page.wait_for_function("() => window.__sel !== null", timeout=120_000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
    return page.evaluate("() => performance.now()") - t


PLOTTER_JS = re.compile(r"/js/features/(plotter(?:-data|-figure)?\.js)(\?.*)?$")
PLOTTER_MODULES = ("plotter.js", "plotter-data.js", "plotter-figure.js")


def sources_at(ref: str) -> dict[str, bytes]:
    """The plotter's JS modules as they are at git ``ref`` (routed into the page for --before);
    those the ref does not have are left out (before plotter-figure.js, plotter.js held it)."""
    root = Path(__file__).resolve().parent.parent
    folder = "static/js/features/"
    there = subprocess.check_output(["git", "-C", str(root), "ls-tree", "--name-only", ref, folder], text=True).split()
    show = ["git", "-C", str(root), "show"]
    return {n: subprocess.check_output([*show, f"{ref}:{folder}{n}"]) for n in PLOTTER_MODULES if folder + n in there}


def measure_page(browser, url: str, args, add, prefix: str, sources: dict[str, bytes] | None = None) -> None:
    """One fresh page: the density shown (cold, then again), pan/zoom, lasso; keys prefixed."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    if sources is not None:
        context.route(PLOTTER_JS, lambda route: route.fulfill(
            body=sources[PLOTTER_JS.search(route.request.url).group(1)], content_type="text/javascript"))  # fmt: skip
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='1']")
    spec = {"name": "big.fits", "x": "x", "y": "y", "color": "colour", "kind": "auto"}
    add(f"{prefix}plot_density_ms", plot_in_page(page, spec))  # auto: > 100k points -> binned density
    for key, value in phases(page).items():
        add(f"{prefix}phase_{key}_ms", value)
    add(f"{prefix}frame_density_ms", page.evaluate(PAN_ZOOM, [args.steps, ".plot-graph"]))
    add(f"{prefix}lasso_density_ms", lasso(page))
    add(f"{prefix}selected_density", float(page.evaluate("() => window.__sel")))
    add(f"{prefix}frame_density_selected_ms", page.evaluate(PAN_ZOOM, [args.steps, ".plot-graph"]))
    # plotly.js loaded (a re-plot; or a first plot after a catalog was opened: preloaded)
    add(f"{prefix}replot_density_ms", plot_in_page(page, {**spec, "color": "mag"}))
    for key, value in phases(page).items():
        add(f"{prefix}rephase_{key}_ms", value)
    if args.scatter:
        spec = {**spec, "kind": "scatter"}
        add(f"{prefix}plot_scatter_ms", plot_in_page(page, spec))
        add(f"{prefix}frame_scatter_ms", page.evaluate(PAN_ZOOM, [args.steps, ".plot-graph"]))
        add(f"{prefix}lasso_ms", lasso(page))
        add(f"{prefix}frame_selected_ms", page.evaluate(PAN_ZOOM, [args.steps, ".plot-graph"]))
        add(f"{prefix}selected", float(page.evaluate("() => window.__sel")))
    context.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--scatter", action="store_true", help="also a forced scattergl of every point (minutes at 1 M)")
    ap.add_argument("--before", metavar="REF", help="also the plotter JS of this git ref, interleaved in the same run")
    ap.add_argument("--verbose", action="store_true", help="print each figure as it is measured")
    args = ap.parse_args()
    med = statistics.median
    results: dict[str, list[float]] = {}
    before = None if args.before is None else sources_at(args.before)

    def add(key: str, value: float | list[float]) -> None:
        results.setdefault(key, []).extend(value if isinstance(value, list) else [value])
        if args.verbose:
            print(f"  {key}: {value if not isinstance(value, list) else statistics.median(value)}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = write_catalog(root, args.rows)
        table = Table.read(path)
        for _ in range(args.runs):  # the JSON baseline: the same three columns as lists of numbers
            t = time.perf_counter()
            text = json.dumps({"x": table["x"].tolist(), "y": table["y"].tolist(), "c": table["colour"].tolist()})
            add("json_s", time.perf_counter() - t)
        json_bytes = len(text)
        with Server(root, disk_cache=False) as server:
            query = f"{server.url}/api/plotter/data?name=big.fits&x=x&y=y&color=colour"
            urllib.request.urlopen(query, timeout=300).read()  # converts the catalog once
            for _ in range(args.runs):
                t = time.perf_counter()
                payload = urllib.request.urlopen(query, timeout=300).read()
                add("server_s", time.perf_counter() - t)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                for run in range(args.runs):
                    variants: list[tuple[str, dict[str, bytes] | None]] = [("", None)]
                    if before is not None:  # the same run, the same server: the plotter JS of --before,
                        variants.append(("before_", before))  # first in every other run (no order effect)
                    for prefix, sources in variants if run % 2 == 0 else variants[::-1]:
                        measure_page(browser, server.url, args, add, prefix, sources)
                    base = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                    base.goto(server.url + "/api/health")  # a blank page of the same origin
                    base.add_script_tag(url=server.url + "/vendor/plotly.js-dist-min/plotly.min.js")
                    if args.scatter:
                        add("base_plot_scatter_ms", base.evaluate(BASELINE, [args.rows, "scatter"]))
                        add("base_frame_scatter_ms", base.evaluate(PAN_ZOOM, [args.steps, "#plot"]))
                        base.evaluate("() => document.querySelector('#plot').remove()")
                    add("base_plot_density_ms", base.evaluate(BASELINE, [args.rows, "density"]))
                    add("base_frame_density_ms", base.evaluate(PAN_ZOOM, [args.steps, "#plot"]))
                    base.context.close()
                browser.close()
    n, r = args.rows, results

    def frames(key: str) -> str:
        return f"{med(r[key]):.0f} / {pct(r[key], 95):.0f}" if key in r else ""

    def ms(key: str) -> str:
        return f"{med(r[key]):.0f}" if key in r else ""

    def row(label: str, key: str, base: str = "", frame: bool = False) -> tuple[str, str, str, str]:
        ours = frames(key) if frame else ms(key)
        before_key = f"before_{key}"
        was = (frames(before_key) if frame else ms(before_key)) if before_key in r else ""
        return label, ours, was, base

    rows = [
        ("GET /api/plotter/data x, y, colour (s) | JSON encode baseline", f"{med(r['server_s']):.3f}", "",
         f"{med(r['json_s']):.3f}"),
        ("bytes per point | as JSON", f"{len(payload) / n:.1f}", "", f"{json_bytes / n:.1f}"),
        row("auto -> density (200x200 bins, page-binned): show -> drawn (ms)", "plot_density_ms",
            ms("base_plot_density_ms")),
        row("  of which: plotly.js loaded (ms from the start)", "phase_plotly_ms"),
        row("  of which: payload fetched and decoded (ms from the start)", "phase_data_ms"),
        row("  of which: figure built, binned (ms from the start)", "phase_figure_ms"),
        row("  of which: Plotly.react done (ms from the start)", "phase_drawn_ms"),
        row("density again, plotly.js loaded: show -> drawn (ms)", "replot_density_ms", ms("base_plot_density_ms")),
        row("  of which: payload fetched and decoded (ms from the start)", "rephase_data_ms"),
        row("  of which: figure built, binned (ms from the start)", "rephase_figure_ms"),
        row("density pan/zoom frame (re-binned) median / p95 (ms)", "frame_density_ms",
            frames("base_frame_density_ms"), frame=True),
        row("density lasso mouse-up -> rows on the bus, bins drawn (ms)", "lasso_density_ms"),
        ("  points selected by the lasso", f"{med(r['selected_density']):,.0f}", "", ""),
        row("density with a selection: frame median / p95 (ms)", "frame_density_selected_ms", frame=True),
        row("forced scatter (scattergl + colorbar): show -> drawn (ms)", "plot_scatter_ms", ms("base_plot_scatter_ms")),
        row("scatter pan/zoom frame time median / p95 (ms)", "frame_scatter_ms", frames("base_frame_scatter_ms"),
            frame=True),
        row("scatter lasso mouse-up -> rows on the bus, points restyled (ms)", "lasso_ms"),
        row("scatter with a selection: pan/zoom frame median / p95 (ms)", "frame_selected_ms", frame=True),
    ]  # fmt: skip
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"machine: 2 shared cores (noisy), load average {load} (1/5/15 min) at the end; Chromium software "
          f"WebGL; {n:,} points; {args.runs} runs, {args.steps} pan/zoom steps")  # fmt: skip
    print(f"{'measure':<62} {'Neloura':>14} {'before ' + (args.before or '')[:7]:>14} {'plotly alone':>14}")
    for label, ours, was, base in rows:
        print(f"{label:<62} {ours:>14} {was:>14} {base:>14}")


if __name__ == "__main__":
    main()
