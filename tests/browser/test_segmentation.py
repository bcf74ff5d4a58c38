"""Segmentation overlay in the page: a photutils map of the demo galaxy drawn over it, the label
under the cursor, a click on a segment showing its SourceCatalog properties (equal to photutils)
and selecting the catalog row on it, the selected segment kept in the link, outlines, and the
clear refusal of a non-integer image."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from astropy.wcs import WCS
from photutils.segmentation import SourceCatalog, detect_sources

from tests.browser.helpers import READY, wait_tiles

pytestmark = pytest.mark.browser

PAINTED = """() => {
  const c = document.querySelector('.segmentation-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1;
  return n;
}"""
DRAWN = "(n) => Number(document.body.dataset.segmentationDrawn || 0) > n"


@pytest.fixture(scope="module")
def segmap(live_server: Any) -> dict[str, Any]:
    with fits.open(live_server.files_dir / "demo" / "galaxy.fits") as hdul:
        data = np.asarray(hdul["SCI"].data, dtype=np.float64)
        header = WCS(hdul["SCI"].header).to_header()
    _, median, std = sigma_clipped_stats(data[np.isfinite(data)])
    segm = detect_sources(np.nan_to_num(data, nan=median), median + 5 * std, n_pixels=12)
    labels = segm.data.astype(np.int32)
    folder = live_server.files_dir / "segtest"
    folder.mkdir(exist_ok=True)
    fits.PrimaryHDU(labels, header).writeto(folder / "galaxy_segm.fits", overwrite=True)
    fits.PrimaryHDU(data.astype(np.float32), header).writeto(folder / "float.fits", overwrite=True)
    reference = SourceCatalog(data, segm, mask=~np.isfinite(data))
    return {"labels": labels, "reference": reference}


def _open(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/?path=demo/galaxy.fits&hdu=1&catalog=demo_sources.csv&seg=segtest/galaxy_segm.fits")
    page.wait_for_selector(READY)
    wait_tiles(page)
    page.wait_for_function("() => document.body.dataset.segmentation !== undefined")
    page.wait_for_function(DRAWN, arg=0)


def test_segment_click_shows_properties_and_selects_the_row(page: Any, live_server: Any, segmap: dict) -> None:
    _open(page, live_server)
    labels, reference = segmap["labels"], segmap["reference"]
    assert page.locator("body").get_attribute("data-segmentation") == str(len(np.unique(labels)) - 1)
    assert page.evaluate(PAINTED) > 1000
    # a catalog source sitting on a segment of its own
    rows = list(csv.DictReader(io.StringIO((live_server.root / "catalogs" / "demo_sources.csv").read_text())))
    chosen = None
    for i, r in enumerate(rows):
        x, y = float(r["x_pix"]), float(r["y_pix"])
        label = int(labels[int(np.floor(y + 0.5)), int(np.floor(x + 0.5))])
        if label and 30 < (labels == label).sum() < 2000:
            chosen = (i, x, y, label)
            break
    assert chosen is not None
    row, x, y, label = chosen
    # the draw count before the pan: the overlay may redraw before the tiles are all in
    seq = int(page.locator("body").get_attribute("data-segmentation-drawn"))
    page.evaluate(f"() => window.neloura.ctx.viewer.panTo({x}, {y}, 4, true)")
    wait_tiles(page)
    page.wait_for_function(DRAWN, arg=seq)
    box = page.locator("#viewer").bounding_box()
    screen = page.evaluate(f"() => window.neloura.ctx.viewer.imageToScreen({x}, {y})")
    page.mouse.move(box["x"] + screen["x"], box["y"] + screen["y"])
    page.wait_for_function("(l) => document.querySelector('.seg-hover').dataset.label === String(l)", arg=label)
    page.mouse.click(box["x"] + screen["x"], box["y"] + screen["y"])
    page.wait_for_selector(f'.seg-props[data-label="{label}"]')
    want = reference.select_label(label)
    area = page.locator('.seg-props dd[data-key="area"]').text_content()
    assert area.startswith(f"{int(want.area.value)} px")
    centroid = page.locator('.seg-props dd[data-key="centroid"]').text_content()
    xs = [float(v) for v in re.findall(r"[xy] ([-0-9.]+)", centroid)]
    assert xs == pytest.approx([want.x_centroid + 1, want.y_centroid + 1], abs=1e-3)
    assert str(row + 1) in page.locator('.seg-props dd[data-key="catalog rows"]').text_content()
    # the matching catalog row is selected in the table (one selection on the bus)
    count = "() => /\\d+ selected/.test(document.querySelector('.cat-selected-count')?.textContent || '')"
    page.wait_for_function(count)
    # the selected segment is in the link, and the link selects it again
    page.wait_for_function("(l) => new URLSearchParams(location.search).get('seg_label') === String(l)", arg=label)
    # (with the segmentation module arriving late: the catalog opens once every feature listens)
    late = "**/static/js/features/segmentation.js"
    page.route(late, lambda route: (time.sleep(2), route.continue_()))
    page.goto(page.url)
    page.wait_for_selector(READY)
    page.unroute(late)
    page.wait_for_selector(f'.seg-props[data-label="{label}"]')
    assert page.locator('.seg-props dd[data-key="area"]').text_content() == area
    page.wait_for_function(count, timeout=60_000)  # the catalog opens again with the page: slow on a busy machine
    # the same link with the catalog opening late: the segment is selected first, its row once it is in
    page.route("**/api/catalogs/columns*", lambda route: (time.sleep(2), route.continue_()))
    page.goto(page.url)
    page.wait_for_selector(f'.seg-props[data-label="{label}"]')
    page.wait_for_function(count, timeout=60_000)
    assert str(row + 1) in page.locator('.seg-props dd[data-key="catalog rows"]').text_content()
    page.unroute("**/api/catalogs/columns*")
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.wait_for_timeout(400)
    page.screenshot(path="/tmp/segmentation_1600.png")
    filled = page.evaluate(PAINTED)
    seq = int(page.locator("body").get_attribute("data-segmentation-drawn"))
    page.check(".seg-outline")
    page.wait_for_function(DRAWN, arg=seq)
    assert 0 < page.evaluate(PAINTED) < filled
    page.set_viewport_size({"width": 900, "height": 1000})
    page.wait_for_timeout(400)
    page.screenshot(path="/tmp/segmentation_900.png")


def test_a_non_integer_image_is_refused_clearly(
    page: Any, live_server: Any, segmap: dict, console_allow: list[Any]
) -> None:
    console_allow.append(re.compile(r"Failed to load resource.*422"))
    _open(page, live_server)
    page.fill(".seg-path", "segtest/float.fits")
    page.click(".seg-open")
    note = page.locator("#notifications").get_by_text(re.compile("not an integer segmentation map"))
    note.wait_for()
    assert "fractional values" in note.first.text_content()
