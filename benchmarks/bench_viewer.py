"""The page in a real browser (Debian Chromium, software rendering): how fast a view appears and
follows the user's changes.

Prints medians of ``--runs`` runs against the real server (uvicorn subprocess, loopback) on a
seeded ``--size``² float32 image:

* deep link ``/open/<file>?hdu=0`` to visible tiles drawn: cold (first open on the server) and warm;
* stretch change and colormap change to re-rendered visible tiles, with the number of tile
  requests each change made (only the visible tiles should be fetched);
* pixel readout: mouse move to the coordinate panel updated.

Usage: ``python benchmarks/bench_viewer.py [--size 8192] [--runs 5]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import Server
from astropy.io import fits
from playwright.sync_api import sync_playwright

from neloura.core.synthetic import make_wcs_header
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS

DRAWN = """() => { const v = window.neloura && window.neloura.ctx.viewer; if (!v || !v.image) return false;
  const w = v.osd.world; if (w.getItemCount() !== 1 || v.element.dataset.imageReady !== '1') return false;
  return w.getItemAt(0).getFullyLoaded(); }"""


def timed_change(page, action: str, needle: str) -> tuple[float, int]:
    """Run ``action`` (JS) and time it until the new rendering's visible tiles are drawn."""
    count = page.evaluate("() => performance.getEntriesByType('resource').length")
    t0 = page.evaluate(f"() => {{ const t = performance.now(); {action}; return t; }}")
    page.wait_for_function(f"() => (document.querySelector('#viewer').dataset.tileQuery || '').includes('{needle}')")
    page.wait_for_function(DRAWN)
    t1 = page.evaluate("() => performance.now()")
    tiles = page.evaluate(
        f"() => performance.getEntriesByType('resource').slice({count}).filter(e => e.name.includes('/tiles/')).length"
    )
    return (t1 - t0) / 1e3, tiles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "files").mkdir()
        rng = np.random.default_rng(1)
        data = (100 + 5 * rng.standard_normal((args.size, args.size))).astype("f4")
        header = make_wcs_header((args.size, args.size), 150.1, 2.2, 0.05)
        fits.PrimaryHDU(data, header=header).writeto(root / "files" / "sky.fits")
        server = Server(root)
        url = server.url
        opens, stretch, cmap, readout, n_stretch, n_cmap, visible = [], [], [], [], [], [], []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                for run in range(args.runs):
                    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                    t = time.perf_counter()
                    page.goto(f"{url}/open/sky.fits?hdu=0")
                    page.wait_for_function(DRAWN, timeout=120_000)
                    opens.append(time.perf_counter() - t)
                    page.evaluate("() => window.neloura.ctx.viewer.panTo(4000, 4000, 1, true)")
                    page.wait_for_function(DRAWN)
                    visible.append(page.evaluate("() => window.neloura.ctx.viewer.osd.world.getItemAt(0)"
                                                 ".getTilesToDraw().length"))  # fmt: skip
                    name = ["log", "sqrt", "asinh", "squared", "sinh"][run % 5]
                    dt, n = timed_change(page, f"window.neloura.ctx.bus.emit('display:set', {{stretch: '{name}'}})",
                                         f"stretch={name}")  # fmt: skip
                    stretch.append(dt)
                    n_stretch.append(n)
                    cm = ["viridis", "magma", "inferno", "plasma", "cividis"][run % 5]
                    dt, n = timed_change(page, f"window.neloura.ctx.bus.emit('display:set', {{cmap: '{cm}'}})",
                                         f"cmap={cm}")  # fmt: skip
                    cmap.append(dt)
                    n_cmap.append(n)
                    box = page.locator("#viewer").bounding_box()
                    page.mouse.move(box["x"] + 300 + run, box["y"] + 300)
                    t = time.perf_counter()
                    page.mouse.move(box["x"] + 420 + run, box["y"] + 333)
                    page.wait_for_function("() => document.querySelector('#coords-deg').textContent !== '—'")
                    page.wait_for_function(
                        "(p) => document.querySelector('#coords-pixel').textContent === p",
                        arg=page.evaluate("""([x, y]) => { const v = window.neloura.ctx.viewer;
                          const r = v.element.getBoundingClientRect(); const p = v.screenToImage(x - r.left, y - r.top);
                          return `${Math.floor(p.x + 0.5) + 1}, ${Math.floor(p.y + 0.5) + 1}`; }""",
                                          [box["x"] + 420 + run, box["y"] + 333]),
                    )  # fmt: skip
                    readout.append(time.perf_counter() - t)
                    page.context.close()
                browser.close()
        finally:
            server.stop()
    print(f"machine: 2 shared cores (noisy), Chromium software rendering; {args.size}² float32; {args.runs} runs")
    print(f"{'measure':<58} {'median':>10} {'first':>10}")
    print(f"{'deep link -> visible tiles drawn (s)':<58} {med(opens[1:] or opens):>10.2f} {opens[0]:>10.2f}")
    print(f"{'stretch change -> visible tiles re-drawn (ms)':<58} {med(stretch) * 1e3:>10.0f}")
    print(f"{'colormap change -> visible tiles re-drawn (ms)':<58} {med(cmap) * 1e3:>10.0f}")
    print(f"{'tiles drawn in the view at 1:1':<58} {med(visible):>10.0f}")
    print(f"{'tile requests per stretch change / colormap change':<58} {med(n_stretch):>5.0f} / {med(n_cmap):<4.0f}")
    print(f"{'mouse move -> coordinate panel updated (ms)':<58} {med(readout) * 1e3:>10.0f}")


if __name__ == "__main__":
    main()
