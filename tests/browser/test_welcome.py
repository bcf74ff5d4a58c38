"""First visit and dropping files (issue 14 points 6 and 7): the empty URL opens the demo galaxy
with its catalog once per browser; a file dropped anywhere on the page is uploaded and opened."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from tests.browser.helpers import READY, wait_tiles

pytestmark = pytest.mark.browser

DROP = """async ([name, b64, type, selector]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  const target = document.querySelector(selector);
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: data }));
  }
}"""


def test_first_visit_opens_the_demo_galaxy_with_its_catalog(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/")
    page.wait_for_selector(READY)
    wait_tiles(page)
    image = page.evaluate("() => window.neloura.ctx.viewer.image")
    assert image["path"] == "demo/galaxy.fits" and image["hdu"] == 1
    page.wait_for_function("() => Number(document.body.dataset.overlayCount || 0) > 1000")
    assert "catalog=demo_sources.csv" in page.url and "path=demo%2Fgalaxy.fits" in page.url
    # the second visit of this browser to an empty URL is left alone: it says what to do instead
    page.goto(live_server.url + "/")
    page.wait_for_selector("#viewer-message:not([hidden])")
    assert "Drop a FITS image" in page.text_content("#viewer-message")
    assert page.evaluate("() => window.neloura.ctx.viewer.image") is None


def test_a_link_naming_a_file_is_never_replaced_by_the_demo(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/open/demo/cube.fits")
    page.wait_for_selector(READY)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.neloura.ctx.viewer.image.path") == "demo/cube.fits"
    assert page.evaluate("() => document.body.dataset.overlayCount") is None


def _fits_b64(shape: tuple[int, int] = (60, 80)) -> str:
    buf = io.BytesIO()
    data = np.random.default_rng(4).normal(10, 1, shape).astype(np.float32)
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, name="SCI")]).writeto(buf)
    return base64.b64encode(buf.getvalue()).decode()


def test_dropping_a_fits_file_anywhere_uploads_and_opens_it(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/open/demo/galaxy.fits?hdu=1")
    page.wait_for_selector(READY)
    page.evaluate(DROP, ["dropped field.fits", _fits_b64(), "application/fits", "#colorbar"])
    page.wait_for_function("() => window.neloura.ctx.viewer.image?.path === 'uploads/dropped_field.fits'")
    page.wait_for_selector(READY)
    image = page.evaluate("() => window.neloura.ctx.viewer.image")
    assert [image["width"], image["height"], image["hdu"]] == [80, 60, 1]  # the recommended HDU
    assert (live_server.files_dir / "uploads" / "dropped_field.fits").is_file()


def test_dropping_a_catalog_uploads_and_overlays_it(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/open/demo/galaxy.fits?hdu=1")
    page.wait_for_selector(READY)
    body = "ra,dec,mag\n24.1739,15.7837,20\n24.1750,15.7840,21\n"
    page.evaluate(DROP, ["dropped_sources.csv", base64.b64encode(body.encode()).decode(), "text/csv", "#viewer"])
    page.wait_for_selector(".overlay-tab:text('uploads/dropped_sources.csv')")
    page.wait_for_function("() => document.body.dataset.overlayCount === '2'")
    assert (live_server.root / "catalogs" / "uploads" / "dropped_sources.csv").is_file()


def test_the_table_dock_keeps_its_own_drop(page: Any, live_server: Any) -> None:
    """A drop on the catalog table's zone is its own (one upload, opened in the table), not also ours."""
    page.goto(live_server.url + "/open/demo/galaxy.fits?hdu=1&catalog=demo_sources.csv&table=1")
    page.wait_for_selector(".catalog-dock:not([hidden])")
    body = "ra,dec\n24.1739,15.7837\n"
    page.evaluate(DROP, ["docked.csv", base64.b64encode(body.encode()).decode(), "text/csv", ".cat-table-wrap"])
    page.wait_for_function("() => document.querySelector('.cat-name').value === 'uploads/docked.csv'")
    page.wait_for_timeout(300)
    assert page.locator(".overlay-tab:text('uploads/docked.csv')").count() == 0
