"""Steps shared by the panel browser tests (test_panels.py, test_panels_overlays.py): the star
field in three WCS orientations, opening images in panels, panel views and screen positions."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image
from scipy import ndimage

from tests.browser.helpers import open_view
from tests.core.rgb_fields import write_fields

SHOTS = Path("/tmp/neloura-panels")
VISIBLE_PANELS = """() => [...document.querySelectorAll('.viewer-panel')]
  .filter((e) => !e.hidden && e.style.visibility !== 'hidden').map((e) => e.dataset.panel)"""
# pixels (alpha > 100) drawn by panel i's canvases matching the selector cls
DRAWN = """([i, cls]) => {
  const p = window.neloura.ctx.panels.list()[i];
  let n = 0;
  for (const c of p.element.querySelectorAll(cls)) {
    if (c.hidden || !c.width) continue;
    const t = document.createElement('canvas'); t.width = c.width; t.height = c.height;
    const g = t.getContext('2d'); g.drawImage(c, 0, 0);
    const d = g.getImageData(0, 0, t.width, t.height).data;
    for (let j = 3; j < d.length; j += 4) if (d[j] > 100) n += 1;
  }
  return n;
}"""


def write_panel_fields(live_server) -> list[str]:
    folder = live_server.files_dir / "paneltest"
    folder.mkdir(exist_ok=True)
    return [f"paneltest/{n}" for n in write_fields(folder)]


def _blink_cycles(page, steps: int, shot: str | None = None) -> None:
    """Blink from the Panels menu: one panel shown at a time, at least three of them within
    ``steps`` looks 120 ms apart; then blink off."""
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.fill("#panels-blink-rate", "0.2")
    page.click("#panels-blink")
    page.wait_for_selector('#viewer-wrap[data-panel-mode="blink"]')
    seen = set()
    for _ in range(steps):
        shown = page.evaluate(VISIBLE_PANELS)
        assert len(shown) == 1
        seen.add(shown[0])
        page.wait_for_timeout(120)
    assert len(seen) >= 3
    if shot:
        page.screenshot(path=str(SHOTS / shot))
    page.click("#panels-blink")
    page.wait_for_selector('#viewer-wrap[data-panel-mode=""]')


def _wcs(server, path: str) -> WCS:
    with fits.open(server.files_dir / path) as hdul:
        return WCS(hdul[0].header)


def _panel(i: int) -> str:
    return f'.viewer-panel[data-panel="{i}"]'


def _wait_panel_tiles(page, i: int) -> None:
    page.wait_for_function(
        """(i) => { const p = window.neloura.ctx.panels.list()[i]; if (!p || !p.viewer.image) return false;
        const w = p.viewer.osd.world; if (w.getItemCount() !== 1) return false;
        return w.getItemAt(0).getFullyLoaded(); }""",
        arg=i,
    )


def _open_in(page, i: int, path: str) -> None:
    page.click(_panel(i + 1), position={"x": 30, "y": 60})
    page.evaluate("(p) => window.neloura.ctx.bus.emit('image:open', { path: p })", path)
    page.wait_for_function("([i, p]) => window.neloura.ctx.panels.list()[i].viewer.image?.path === p", arg=[i, path])
    _wait_panel_tiles(page, i)


def _synced(page, action: str) -> None:
    """Run ``action`` (JS) and wait until the lock finished an exact round after it."""
    before = page.evaluate("() => Number(document.getElementById('viewer-wrap').dataset.lockSeq || 0)")
    page.evaluate(f"() => {{ {action} }}")
    page.wait_for_function(
        """(n) => { const d = document.getElementById('viewer-wrap').dataset;
        return Number(d.lockSeq || 0) > n && d.lock === 'synced'; }""",
        arg=before,
    )
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _layout_2x2(page, live_server, fields) -> None:
    open_view(page, live_server, f"/open/{fields[0]}")
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-panels")
    page.click('#panels-panel button[data-layout="2x2"]')
    page.wait_for_selector(_panel(4))
    _open_in(page, 1, fields[1])
    _open_in(page, 2, fields[2])
    _open_in(page, 3, fields[1])
    page.click(_panel(1), position={"x": 30, "y": 60})  # panel 1 leads
    page.select_option("#panels-lock", "wcs")
    page.wait_for_function("() => document.getElementById('viewer-wrap').dataset.lock === 'synced'")
    page.evaluate("() => window.neloura.ctx.ui.setDrawer(false)")  # narrow windows: the panels, not the drawer


def _panel_view(page, i: int) -> dict:
    return page.evaluate(
        """(i) => { const p = window.neloura.ctx.panels.list()[i]; const r = p.element.getBoundingClientRect();
        return { view: p.viewer.viewState(), w: r.width, h: r.height, o: p.viewer.orientation() }; }""",
        i,
    )


def _to_screen(page, i: int, x: float, y: float) -> dict:
    return page.evaluate("([i, x, y]) => window.neloura.ctx.panels.list()[i].viewer.imageToScreen(x, y)", [i, x, y])


def _many_to_screen(page, i: int, xs: np.ndarray, ys: np.ndarray) -> list[dict]:
    return page.evaluate(
        """([i, xs, ys]) => { const v = window.neloura.ctx.panels.list()[i].viewer;
        return xs.map((x, k) => v.imageToScreen(x, ys[k])); }""",
        [i, [float(x) for x in xs], [float(y) for y in ys]],
    )


def _stars(page, i: int) -> np.ndarray:
    """Centroids of the bright blobs drawn in panel i, in CSS px from the panel's exact centre (one
    page screenshot: an element screenshot would round the panel's fractional position)."""
    box = page.evaluate(
        """(i) => { const r = window.neloura.ctx.panels.list()[i].element.getBoundingClientRect();
        return [r.left, r.top, r.width, r.height]; }""",
        i,
    )
    grey = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("L")).astype(float)
    x0, y0, w, h = box
    sub = grey[int(np.ceil(y0)) + 24 : int(y0 + h) - 2, int(np.ceil(x0)) + 2 : int(x0 + w) - 2]
    mask = sub > 110
    labels, n = ndimage.label(mask)
    if n == 0:
        return np.zeros((0, 2))
    sizes = ndimage.sum(mask, labels, range(1, n + 1))
    keep = [k + 1 for k in range(n) if sizes[k] >= 6]
    centres = ndimage.center_of_mass(sub, labels, keep)
    # pixel (col, row) of the screenshot covers [col, col + 1): its centre is col + 0.5
    ox = int(np.ceil(x0)) + 2 + 0.5 - (x0 + w / 2)
    oy = int(np.ceil(y0)) + 24 + 0.5 - (y0 + h / 2)
    return np.array([(c[1] + ox, c[0] + oy) for c in centres])
