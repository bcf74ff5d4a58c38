"""Shared steps of the browser tests (open a view, wait for tiles, compare the canvas with the server)
and the Chromium launch options the benchmarks use too."""

from __future__ import annotations

import io
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# Debian Chromium without a GPU or network chatter; the benchmarks launch it the same way.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

READY = '#viewer[data-image-ready="1"]'

TILES_DRAWN = """() => {
  const n = window.neloura && window.neloura.ctx.viewer;
  if (!n || !n.image || n.element.dataset.imageReady !== '1') return false;
  const w = n.osd.world;
  for (let i = 0; i < w.getItemCount(); i += 1) if (!w.getItemAt(i).getFullyLoaded()) return false;
  return w.getItemCount() === 1;
}"""


def wait_tiles(page: Any) -> None:
    """Wait until the current rendering's visible tiles are loaded and drawn."""
    page.wait_for_function(TILES_DRAWN)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def open_view(page: Any, server: Any, link: str) -> None:
    """Go to ``link`` (e.g. ``/open/demo/galaxy.fits?hdu=1``) and wait for drawn tiles."""
    page.goto(server.url + link)
    page.wait_for_selector(READY)
    wait_tiles(page)


def viewer(page: Any, expression: str) -> Any:
    """Evaluate ``expression`` with ``v`` bound to ctx.viewer."""
    return page.evaluate(f"() => {{ const v = window.neloura.ctx.viewer; return {expression}; }}")


def set_view(page: Any, cx: float, cy: float, zoom: float) -> None:
    page.evaluate(f"() => window.neloura.ctx.viewer.panTo({cx}, {cy}, {zoom}, true)")
    page.wait_for_timeout(50)
    wait_tiles(page)


SAMPLE_CANVAS = """(n) => {
  const v = window.neloura.ctx.viewer; const im = v.image;
  const c = v.osd.drawer.canvas; // a 2d copy: the WebGL drawer's canvas has no 2d context
  const copy = document.createElement('canvas'); copy.width = c.width; copy.height = c.height;
  const g = copy.getContext('2d', { willReadFrequently: true }); g.drawImage(c, 0, 0);
  const dpr = c.width / c.clientWidth;
  const r = v.visibleImageRect();
  const x0 = Math.max(0, Math.ceil(r.x0) + 1), x1 = Math.min(im.width - 1, Math.floor(r.x1) - 1);
  const y0 = Math.max(0, Math.ceil(r.y0) + 1), y1 = Math.min(im.height - 1, Math.floor(r.y1) - 1);
  const out = [];
  for (let i = 0; i < n; i += 1) for (let j = 0; j < n; j += 1) {
    const x = Math.round(x0 + (x1 - x0) * (i + 0.5) / n), y = Math.round(y0 + (y1 - y0) * (j + 0.5) / n);
    const s = v.imageToScreen(x, y);
    const px = g.getImageData(Math.floor(s.x * dpr), Math.floor(s.y * dpr), 1, 1).data;
    const level = im.info.max_level, ts = im.info.tile_size, row = im.height - 1 - y;
    out.push({ x, y, rgba: Array.from(px), url: v.tileUrl(level, Math.floor(x / ts), Math.floor(row / ts)),
               tx: x % ts, ty: row % ts });
  }
  return out;
}"""


def fetch_png(url: str) -> np.ndarray:
    with urllib.request.urlopen(url, timeout=30) as r:
        return np.asarray(Image.open(io.BytesIO(r.read())).convert("RGBA"))


def canvas_vs_server(page: Any, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """RGB of ``n``x``n`` image pixels as drawn on the canvas and as the server renders them
    (full-resolution tiles with the viewer's current display parameters). Only opaque pixels."""
    samples = page.evaluate(SAMPLE_CANVAS, n)
    tiles: dict[str, np.ndarray] = {}
    drawn, served = [], []
    for s in samples:
        tile = tiles.setdefault(s["url"], fetch_png(s["url"]))
        ref = tile[s["ty"], s["tx"]]
        if ref[3] != 255:
            continue
        drawn.append(s["rgba"][:3])
        served.append(ref[:3])
    return np.asarray(drawn, dtype=int), np.asarray(served, dtype=int)


def assert_canvas_matches_server(page: Any, n: int = 8) -> np.ndarray:
    """The drawn pixels equal the server's rendering (within 2 levels, canvas rounding). Returns them."""
    drawn, served = canvas_vs_server(page, n)
    assert len(drawn) >= n * n // 2, "too few opaque pixels sampled"
    diff = np.abs(drawn - served).max(axis=1)
    assert (diff <= 2).mean() >= 0.95, f"canvas differs from server tiles: {np.c_[drawn, served][diff > 2][:5]}"
    return drawn
