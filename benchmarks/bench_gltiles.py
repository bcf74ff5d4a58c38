"""Display changes with the WebGL tile renderer (data tiles coloured in a shader) against the PNG
tiles (``?gl=0``), in a real browser (Debian Chromium, software WebGL: SwiftShader).

On a seeded ``--size``² float32 sky (noise, stars, a NaN border) and a 1600x1000 page (the viewer
is ~1280x930 CSS px beside the side panels), at 1:1 (full-resolution tiles), for each renderer:

* stretch / limits / colormap change -> redrawn: wall time from the ``display:set`` event to the
  end of the frame that shows it (WebGL: the drawer's draw after the tables are applied; PNG: the
  new tiles loaded and drawn), and the tile requests each change made (WebGL: none);
* WebGL frame time of a display change: the draw that recolours every visible tile, measured with
  a 1-pixel ``readPixels`` at its end so that it includes the (software) GPU's work; the budget of
  one frame at 60 Hz is 16.7 ms;
* bytes per tile over the wire (gzip for data tiles, as browsers ask), data tile vs PNG tile, over
  the tiles of the view, and the server time of an uncached tile of each kind.

With ``--baseline-project DIR`` (another checkout, e.g. ``git archive`` of an earlier commit), only
the recolour frame, of this checkout's drawer against DIR's, interleaved in one run.

Usage: ``python benchmarks/bench_gltiles.py [--size 4096] [--runs 5] [--baseline-project DIR]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from _common import Server
from astropy.io import fits
from playwright.sync_api import sync_playwright

from neloura.core.synthetic import make_wcs_header
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS

DRAWN = """() => { const v = window.neloura && window.neloura.ctx.viewer; if (!v || !v.image) return false;
  const w = v.osd.world; if (w.getItemCount() !== 1 || v.element.dataset.imageReady !== '1') return false;
  return w.getItemAt(0).getFullyLoaded(); }"""
VISIBLE = "() => window.neloura.ctx.viewer.osd.world.getItemAt(0).getTilesToDraw().map((t) => t.tile.getUrl())"
TILE_URLS = ("/api/images/tiles/", "/api/images/data-tiles/")
CHANGES = [
    {"stretch": "log"},
    {"vmin": 90, "vmax": 160},
    {"cmap": "viridis"},
    {"stretch": "asinh", "cmap": "magma"},
    {"invert": True},
    {"stretch": "sqrt", "vmin": 95, "vmax": 130},
    {"cmap": "gray", "invert": False},
    {"stretch": "linear"},
]


def sky(size: int) -> np.ndarray:
    """Noise around 100, size/8 Gaussian stars with a heavy-tailed flux, a NaN border."""
    rng = np.random.default_rng(5)
    data = (100 + 5 * rng.standard_normal((size, size))).astype("f4")
    ys, xs = rng.integers(3, size - 3, (2, size // 8))
    flux = (rng.pareto(1.5, size // 8) * 200).astype("f4")
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            np.add.at(data, (ys + dy, xs + dx), flux * np.float32(np.exp(-(dy * dy + dx * dx) / 2)))
    data[:, :40] = np.nan
    return data


def emit(page: Any, patch: dict[str, Any]) -> float:
    """Emit ``display:set`` with ``patch``; the page's clock at that moment (ms)."""
    send = f"window.neloura.ctx.bus.emit('display:set', {json.dumps(patch)})"
    code = f"() => {{ const t = performance.now(); {send}; return t; }}"
    return float(page.evaluate(code))


def gl_change(page: Any, patch: dict[str, Any]) -> tuple[float, float, int, int]:
    """(wall ms event -> recoloured frame drawn, that frame's ms, tiles recoloured, frames the
    drawer drew from the event to that one included: 1 when the first frame shows the change)."""
    draws = page.evaluate("() => window.neloura.ctx.viewer.osd.drawer.stats.draws")
    t0 = emit(page, patch)
    page.wait_for_function(
        f"() => {{ const s = window.neloura.ctx.viewer.osd.drawer.stats; return s.draws > {draws} && s.coloured > 0; }}"
    )
    stats = page.evaluate("() => ({ ...window.neloura.ctx.viewer.osd.drawer.stats })")
    return stats["at"] - t0, stats["ms"], stats["coloured"], stats["draws"] - draws


def png_change(page: Any, patch: dict[str, Any]) -> float:
    before = page.evaluate("() => window.neloura.ctx.viewer.element.dataset.tileQuery")
    t0 = emit(page, patch)
    page.wait_for_function(f"() => window.neloura.ctx.viewer.element.dataset.tileQuery !== {before!r}")
    page.wait_for_function(DRAWN)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(r))")
    return float(page.evaluate("() => performance.now()")) - t0


def fetch(url: str) -> tuple[int, float]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    t = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as r:
        body = r.read()
    return len(body), time.perf_counter() - t


def open_at_centre(browser: Any, url: str, size: int) -> Any:
    """A 1600x1000 page on ``url`` at 1:1 on the image centre, tiles drawn, draws GPU-synchronous."""
    page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    page.goto(url)
    page.wait_for_function(DRAWN, timeout=120_000)
    page.evaluate(f"() => window.neloura.ctx.viewer.panTo({size // 2}, {size // 2}, 1, true)")
    page.wait_for_timeout(300)
    page.wait_for_function(DRAWN, timeout=120_000)
    page.evaluate("() => { window.__nelouraSyncDraw = true; }")
    return page


def shader_ab(root: Path, size: int, runs: int, baseline: Path) -> None:
    """The WebGL recolour frame of this checkout against ``baseline``'s (another checkout, its own
    server), both pages open in one browser, each display change applied to one then the other
    (the order flipping every pass), so that both see the same load."""
    servers = {"this": Server(root, disk_cache=False), "baseline": Server(root, disk_cache=False, project=baseline)}
    frames: dict[str, list[float]] = {name: [] for name in servers}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            pages = {name: open_at_centre(browser, f"{s.url}/open/sky.fits?hdu=0", size) for name, s in servers.items()}
            for run in range(runs):
                for patch in CHANGES:
                    for name in ("this", "baseline") if run % 2 == 0 else ("baseline", "this"):
                        frames[name].append(gl_change(pages[name], patch)[1])
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
    this, base = statistics.median(frames["this"]), statistics.median(frames["baseline"])
    print(f"WebGL recolour frame, {size}² at 1:1, {len(frames['this'])} changes each, interleaved (ms, median):")
    print(f"  this checkout {this:.1f}   baseline {baseline} {base:.1f}   ratio {base / this:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--runs", type=int, default=3, help="passes over the 8 display changes")
    ap.add_argument(
        "--baseline-project", type=Path, default=None, help="only the recolour frame, against this other checkout's"
    )
    args = ap.parse_args()
    if args.baseline_project is not None:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "files").mkdir()
            header = make_wcs_header((args.size, args.size), 150.1, 2.2, 0.05)
            fits.PrimaryHDU(sky(args.size), header=header).writeto(root / "files" / "sky.fits")
            shader_ab(root, args.size, args.runs, args.baseline_project)
        return
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "files").mkdir()
        header = make_wcs_header((args.size, args.size), 150.1, 2.2, 0.05)
        fits.PrimaryHDU(sky(args.size), header=header).writeto(root / "files" / "sky.fits")
        server = Server(root, disk_cache=False)
        results: dict[str, Any] = {}
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                for renderer, flag in (("webgl", ""), ("png", "&gl=0")):
                    page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
                    urls: list[str] = []
                    page.on("request", lambda r, urls=urls: urls.append(r.url))
                    page.goto(f"{server.url}/open/sky.fits?hdu=0{flag}")
                    page.wait_for_function(DRAWN, timeout=120_000)
                    assert page.evaluate("() => window.neloura.ctx.viewer.element.dataset.renderer") == renderer
                    c = args.size // 2
                    page.evaluate(f"() => window.neloura.ctx.viewer.panTo({c}, {c}, 1, true)")
                    page.wait_for_timeout(300)
                    page.wait_for_function(DRAWN, timeout=120_000)
                    visible = page.evaluate(VISIBLE)
                    page.evaluate("() => { window.__nelouraSyncDraw = true; }")
                    walls, frames, counts, draws = [], [], [], []
                    start = len(urls)
                    for _ in range(args.runs):
                        for patch in CHANGES:
                            if renderer == "webgl":
                                wall, frame, n, drawn = gl_change(page, patch)
                                frames.append(frame)
                                counts.append(n)
                                draws.append(drawn)
                            else:
                                wall = png_change(page, patch)
                            walls.append(wall)
                    tile_requests = [u for u in urls[start:] if any(t in u for t in TILE_URLS)]
                    results[renderer] = dict(
                        wall=med(walls),
                        frame=med(frames) if frames else None,
                        coloured=med(counts) if counts else None,
                        draws=max(draws) if draws else None,
                        requests=len(tile_requests) / len(walls),
                        visible=visible,
                    )
                    page.context.close()
                browser.close()
            full = [u for u in results["webgl"]["visible"] if "/data-tiles/" in u]
            data_bytes, data_s, png_bytes, png_s = [], [], [], []
            for u in full:
                n, s = fetch(u)
                data_bytes.append(n)
                data_s.append(s)
                png_url = (
                    u.replace("/data-tiles/", "/tiles/").replace(".u16", ".png") + "&stretch=asinh&vmin=91.5&vmax=140"
                )
                n, s = fetch(png_url)
                png_bytes.append(n)
                png_s.append(s)
        finally:
            server.stop()
    gl, png = results["webgl"], results["png"]
    data_kb, png_kb = np.mean(data_bytes) / 1e3, np.mean(png_bytes) / 1e3
    print(
        f"machine: 2 shared cores (loaded), Chromium --disable-gpu (WebGL2 on SwiftShader); {args.size}² float32 sky;"
    )
    print(f"page 1600x1000 at 1:1, {len(full)} full-resolution tiles in view; {len(CHANGES) * args.runs} changes each")
    print(f"{'measure':<62} {'WebGL':>10} {'PNG':>10} {'ratio':>8}")
    rows = [
        ("display change -> redrawn, wall (ms, median)", gl["wall"], png["wall"], f"{png['wall'] / gl['wall']:.1f}x"),
        ("tile requests per display change", gl["requests"], png["requests"], ""),
        ("WebGL frame that recolours the view (ms, median; budget 16.7)", gl["frame"], None, ""),
        ("  tiles recoloured in that frame", gl["coloured"], None, f"of {len(full)}"),
        ("  frames drawn from the change to the recoloured view (most)", gl["draws"], None, ""),
        ("bytes per tile on the wire (KB, mean; data gzip vs PNG)", data_kb, png_kb, f"{data_kb / png_kb:.2f}x"),
        ("server time, uncached tile (ms, median)", med(data_s) * 1e3, med(png_s) * 1e3, ""),
    ]
    for label, a, b, ratio in rows:
        right = f"{b:>10.1f}" if b is not None else f"{'':>10}"
        print(f"{label:<62} {a:>10.1f} {right} {ratio:>8}")


if __name__ == "__main__":
    main()
