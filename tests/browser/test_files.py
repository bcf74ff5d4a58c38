"""Uploads in the browser: a good FITS is kept and opens; a non-FITS file and a truncated FITS
get a clear message and nothing is kept. Drag-and-drop uses the same path."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from astropy.io import fits

from tests.browser.helpers import READY, wait_tiles

pytestmark = pytest.mark.browser


def _fits(shape=(40, 50), seed=1) -> bytes:
    buf = io.BytesIO()
    fits.PrimaryHDU(np.random.default_rng(seed).normal(size=shape).astype("f4")).writeto(buf)
    return buf.getvalue()


def _browser(page, live_server) -> None:
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.click('.menu-button[data-menu="File"]')
    page.click("#menu-open")
    page.wait_for_selector("#file-list[data-loaded='1']")


def _uploads(live_server) -> set[str]:
    return {p.name for p in (live_server.files_dir / "uploads").iterdir()}


def test_upload_good_fits_then_open(page, live_server) -> None:
    _browser(page, live_server)
    assert "temporary" in page.text_content("#upload-dropzone")
    before = _uploads(live_server)
    good = {"name": "my field.fits", "mimeType": "application/fits", "buffer": _fits()}
    page.set_input_files("#upload-input", files=[good])
    page.wait_for_selector(".notice.success")
    assert "Uploaded my_field.fits" in page.text_content(".notice.success")
    assert _uploads(live_server) - before == {"my_field.fits"}
    row = page.locator('#file-list .file-row[data-path="uploads/my_field.fits"]')
    row.wait_for()
    row.click()
    # the HDU listing is fetched before the open starts: wait for this image, not any drawn one
    # (a first visit has already drawn the demo galaxy)
    page.wait_for_function("() => window.neloura.ctx.viewer.image?.path === 'uploads/my_field.fits'")
    page.wait_for_selector(READY)
    wait_tiles(page)
    assert page.evaluate("() => window.neloura.ctx.viewer.image.path") == "uploads/my_field.fits"
    assert page.evaluate("() => [window.neloura.ctx.viewer.image.width, window.neloura.ctx.viewer.image.height]") == [
        50,
        40,
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.fits", b"these are not the pixels you are looking for\n" * 100, "is not a FITS file"),
        ("cut.fits", _fits((200, 200))[:50_000], "is truncated"),
    ],
)
def test_bad_uploads_are_refused_and_not_kept(page, live_server, console_allow, name, content, message) -> None:
    console_allow.append(re.compile(r"status of 415"))
    _browser(page, live_server)
    before = _uploads(live_server)
    bad = {"name": name, "mimeType": "application/octet-stream", "buffer": content}
    page.set_input_files("#upload-input", files=[bad])
    error = page.locator(".notice.error")
    error.wait_for()
    text = error.text_content()
    assert f"Upload of {name} refused" in text and message in text
    assert _uploads(live_server) == before
    assert page.locator(".progress").count() == 0


def test_drag_and_drop_upload(page, live_server) -> None:
    _browser(page, live_server)
    data = list(_fits((16, 16), seed=5))
    page.evaluate(
        """(bytes) => {
          const dt = new DataTransfer();
          dt.items.add(new File([new Uint8Array(bytes)], 'dropped.fits', { type: 'application/fits' }));
          const zone = document.querySelector('#upload-dropzone');
          zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
          zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        data,
    )
    page.wait_for_selector(".notice.success")
    assert "dropped.fits" in _uploads(live_server)
    page.locator('#file-list .file-row[data-path="uploads/dropped.fits"]').wait_for()
