"""Regions in the page: draw every shape with the mouse, drag one and see its statistics change,
import a .reg file (10,000 circles too, one canvas layer), unsupported shapes listed, the exact
parameter dialog, undo/delete, the view link restoring the regions, CSV, sources inside -> bus."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import READY, wait_tiles

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/neloura-regions-shots")


def _open(page: Any, live_server: Any, query: str = "") -> None:
    page.goto(f"{live_server.url}/?path=demo/galaxy.fits&hdu=1{query}")
    page.wait_for_selector(READY)
    wait_tiles(page)
    if not page.is_visible("#regions-panel .panel-body"):
        page.click("#regions-panel .panel-head")


def _count(page: Any) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.regionsCount || 0)"))


def _centre(page: Any) -> tuple[float, float]:
    box = page.locator("#viewer").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _drag(page: Any, x0: float, y0: float, x1: float, y1: float) -> None:
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=3)
    page.mouse.move(x1, y1, steps=3)
    page.mouse.up()


def _stat(page: Any, key: str) -> str:
    return page.locator(f'#region-stats td[data-key="{key}"]').inner_text()


def test_draw_every_shape_with_the_mouse_and_drag_changes_statistics(page: Any, live_server: Any) -> None:
    _open(page, live_server)
    cx, cy = _centre(page)
    spots = {
        "circle": (-300, -150),
        "ellipse": (-150, -150),
        "box": (0, -150),
        "annulus": (150, -150),
        "line": (-300, 60),
    }
    for n, (tool, (dx, dy)) in enumerate(spots.items(), start=1):
        page.click(f'[data-tool="{tool}"]')
        _drag(page, cx + dx, cy + dy, cx + dx + 40, cy + dy + 25)
        page.wait_for_function(f"() => Number(document.body.dataset.regionsCount) === {n}")
    page.click('[data-tool="polygon"]')
    for px, py in ((0, 60), (60, 70), (30, 130)):
        page.mouse.click(cx + px, cy + py)
    page.mouse.dblclick(cx + 30, cy + 130)
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 6")
    page.click('[data-tool="point"]')
    page.mouse.click(cx + 150, cy + 60)
    page.click('[data-tool="text"]')
    page.mouse.click(cx + 220, cy + 60)
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 8")
    shapes = page.evaluate(
        "() => [...document.querySelectorAll('#regions-table tbody tr td:nth-child(2)')].map((t) => t.textContent)"
    )
    assert shapes == ["circle", "ellipse", "box", "annulus", "line", "polygon", "point", "text"]
    assert int(page.evaluate("() => Number(document.body.dataset.regionsDrawn)")) == 8
    # select the circle, read its statistics, drag it elsewhere: the statistics change live
    page.click('[data-tool="select"]')
    page.mouse.click(cx - 300, cy - 150)
    page.wait_for_selector('#region-stats td[data-key="mean"]')
    before = _stat(page, "mean")
    npix = int(_stat(page, "pixels"))
    assert npix > 100
    _drag(page, cx - 300, cy - 150, cx - 20, cy + 10)  # onto the galaxy
    page.wait_for_function(
        "(b) => document.querySelector('#region-stats td[data-key=\"mean\"]')?.textContent !== b", arg=before
    )
    assert _stat(page, "mean") != before
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "drawn-1400.png"))
    # delete and undo
    page.click("#region-delete")
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 7")
    page.click("#regions-undo")
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 8")


def test_import_reg_with_unsupported_shapes_and_edit_in_the_dialog(page: Any, live_server: Any, tmp_path: Path) -> None:
    _open(page, live_server)
    reg = tmp_path / "mine.reg"
    reg.write_text(
        "# Region file format: DS9\nimage\ncircle(1025,1025,30) # color=red text={core}\n"
        "vector(10,10,20,0)\nbox(900,1100,60,30,20)\n"
    )
    page.set_input_files("#regions-file", str(reg))
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 2")
    note = page.locator(".notice").last.inner_text()
    assert "line 4 vector" in note
    # the table fills with statistics from the server
    page.wait_for_function(
        "() => document.querySelector('#regions-table tbody tr td:nth-child(3)').textContent !== '—'"
    )
    page.click("#regions-table tbody tr:first-child")
    page.click("#region-edit")
    page.wait_for_selector("#region-dialog")
    page.fill('#region-dialog input[name^="radius"]', "12")
    page.click("#region-apply")
    page.wait_for_function("() => !document.querySelector('#region-dialog')")
    page.wait_for_function(
        "() => Number(document.querySelector('#region-stats td[data-key=\"pixels\"]')?.textContent) > 0"
    )
    assert 400 < int(_stat(page, "pixels")) < 500  # pi * 12^2 = 452
    # sky coordinates in the dialog
    page.click("#region-edit")
    page.select_option('#region-dialog select[name="system"]', "sky")
    page.wait_for_selector('#region-dialog input[name="ra"]')
    assert 20 < float(page.input_value('#region-dialog input[name="ra"]')) < 30
    page.keyboard.press("Escape")


def test_malformed_file_reports_the_line(
    page: Any, live_server: Any, tmp_path: Path, console_allow: list[re.Pattern[str]]
) -> None:
    console_allow.append(re.compile("422"))
    _open(page, live_server)
    bad = tmp_path / "bad.reg"
    bad.write_text("image\ncircle(1,2,3)\ncircle(4,5)\n")
    page.set_input_files("#regions-file", str(bad))
    page.wait_for_selector(".notice.error")
    assert "line 3" in page.locator(".notice.error").last.inner_text()
    assert _count(page) == 0


def test_ten_thousand_circles_load_and_draw_in_one_layer(page: Any, live_server: Any, tmp_path: Path) -> None:
    _open(page, live_server)
    lines = ["image"] + [f"circle({(i * 37) % 2000 + 20},{(i * 53) % 2000 + 20},{3 + i % 7})" for i in range(10_000)]
    big = tmp_path / "big.reg"
    big.write_text("\n".join(lines) + "\n")
    page.set_input_files("#regions-file", str(big))
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 10000", timeout=60_000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert int(page.evaluate("() => Number(document.body.dataset.regionsDrawn)")) > 9000
    assert page.locator("#viewer canvas.regions-layer").count() == 1  # one canvas, no DOM node per region
    page.screenshot(path=str(SHOTS / "ten-thousand.png"))
    # too many for the URL itself: the view link names a copy saved on the server
    page.wait_for_function("() => new URLSearchParams(location.search).has('regions_id')", timeout=30_000)
    page.goto(page.evaluate("() => location.href"))
    page.wait_for_selector(READY)
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 10000", timeout=60_000)


def test_view_link_restores_regions_and_sources_inside_select_rows(page: Any, live_server: Any) -> None:
    _open(page, live_server)
    page.evaluate("() => window.neloura.ctx.bus.emit('catalog:loaded', { name: 'demo_sources.csv' })")
    page.click('[data-tool="circle"]')
    cx, cy = _centre(page)
    _drag(page, cx, cy, cx + 150, cy)
    page.wait_for_function("() => new URLSearchParams(location.search).has('regions')")
    link = page.evaluate("() => location.href")
    page.evaluate(
        """() => { window.__sel = null;
          window.neloura.ctx.bus.on('catalog:rows-selected', (d) => { window.__sel = d; }); }"""
    )
    page.click("#regions-sources")
    page.wait_for_function("() => window.__sel !== null")
    selection = page.evaluate("() => window.__sel")
    assert selection["name"] == "demo_sources.csv" and len(selection["rows"]) > 0
    # the link opens the same view with the region
    page.goto(link)
    page.wait_for_selector(READY)
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 1")
    # a selection elsewhere becomes point regions
    page.evaluate(
        "() => window.neloura.ctx.bus.emit('catalog:rows-selected', { name: 'demo_sources.csv', rows: [0, 1, 2] })"
    )
    if not page.is_visible("#regions-panel .panel-body"):
        page.click("#regions-panel .panel-head")
    page.click("#regions-points")
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) >= 2")
    with page.expect_download() as dl:
        page.click("#regions-csv")
    assert dl.value.suggested_filename == "region_statistics.csv"


def _selected(page: Any) -> tuple[str, list[float], float]:
    shape, sizes, angle = page.evaluate("() => document.body.dataset.regionSelected").split(" ")
    return shape, [float(v) for v in sizes.split(",") if v], float(angle)


def test_resize_and_rotate_with_the_handles(page: Any, live_server: Any) -> None:
    _open(page, live_server)
    cx, cy = _centre(page)
    page.click('[data-tool="ellipse"]')
    _drag(page, cx, cy, cx + 60, cy + 20)  # width 120 px on screen, height 40
    page.wait_for_function("() => Number(document.body.dataset.regionsCount) === 1")
    shape, (w, h), angle = _selected(page)
    scale = page.evaluate("() => window.neloura.ctx.viewer.imageScale()")
    assert shape == "ellipse" and w == pytest.approx(120 / scale, rel=0.05) and h == pytest.approx(40 / scale, rel=0.1)
    assert angle == 0.0
    # the width handle sits at (+w/2, 0) from the centre: drag it outwards
    _drag(page, cx + 60, cy, cx + 100, cy)
    page.wait_for_function(f"() => !document.body.dataset.regionSelected.includes('{w:.2f}')")
    _, (w2, h2), _ = _selected(page)
    assert w2 == pytest.approx(200 / scale, rel=0.05) and h2 == pytest.approx(h, rel=1e-6)
    # the rotate handle sits above the top edge (image y up = screen up): drag it to the right
    _drag(page, cx, cy - 20 - 22, cx + 60, cy)
    page.wait_for_function("() => !document.body.dataset.regionSelected.endsWith(' 0.0')")
    _, _, angle = _selected(page)
    assert angle == pytest.approx(270.0, abs=3.0)  # the height axis now points to screen right
    page.keyboard.press("Control+z")
    page.wait_for_function("() => document.body.dataset.regionSelected.endsWith(' 0.0')")
    page.keyboard.press("Escape")  # deselects
    page.keyboard.press("Escape")  # leaves the drawing tool
    page.wait_for_selector('[data-tool="select"][aria-pressed="true"]')
