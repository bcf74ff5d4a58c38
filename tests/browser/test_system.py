"""Admin mode in the page: the System panel (psutil figures) and "Erase uploads"."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_system_panel_and_erase_uploads(page, live_server) -> None:
    uploads = live_server.files_dir / "uploads"
    (uploads / "old.fits").write_bytes(b"SIMPLE  =                    T")
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.click('.menu-button[data-menu="View"]')
    page.click("#menu-system")
    page.wait_for_function("() => /\\d+%/.test(document.querySelector('#system-memory').textContent)")
    assert re.fullmatch(r"\d+%", page.text_content("#system-disk"))
    assert "CPUs" in page.text_content("#system-detail")
    page.click('.menu-button[data-menu="Help"]')
    page.click("#menu-settings")
    assert "temporary" in page.text_content("#settings-modal")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#erase-uploads")
    page.wait_for_selector(".notice.success")
    assert "Erased" in page.text_content(".notice.success")
    assert list(uploads.iterdir()) == []
