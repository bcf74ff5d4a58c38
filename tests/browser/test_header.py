"""Header modal: every card, searchable, and card contents shown as text (no HTML injection)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from tests.browser.helpers import open_view

pytestmark = pytest.mark.browser

PAYLOAD = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture
def hostile_file(live_server) -> str:
    folder = live_server.files_dir / "tests"
    folder.mkdir(exist_ok=True)
    hdu = fits.PrimaryHDU(np.arange(64 * 48, dtype="f4").reshape(48, 64))
    hdu.header["OBJECT"] = (PAYLOAD, "<script>x=2</script>")
    hdu.header["OBSERVER"] = "Ada & <b>Bob</b>"
    hdu.header.add_history("<svg onload=window.__pwned=3>")
    for i in range(300):
        hdu.header[f"KEY{i}"] = (i, f"filler card {i}")
    hdu.writeto(folder / "hostile.fits", overwrite=True)
    return "tests/hostile.fits"


def test_header_modal_shows_cards_as_text(page, live_server, hostile_file) -> None:
    open_view(page, live_server, f"/open/{hostile_file}")
    page.keyboard.press("h")
    modal = page.locator("#header-modal")
    modal.wait_for()
    page.wait_for_selector("#header-rows tr")
    total = len(fits.getheader(live_server.files_dir / hostile_file).cards)
    assert page.text_content("#header-count") == f"{total} of {total} cards"
    rows = page.locator("#header-rows tr")
    assert rows.count() == total
    obj = rows.filter(has_text="OBJECT")
    assert obj.locator("td").nth(1).text_content() == PAYLOAD
    assert obj.locator("td").nth(2).text_content() == "<script>x=2</script>"
    assert rows.filter(has_text="HISTORY").locator("td").nth(1).text_content() == "<svg onload=window.__pwned=3>"
    assert modal.locator("img, script, svg, b").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    page.fill("#header-search", "filler card 29")
    page.wait_for_function("() => document.querySelector('#header-count').textContent.startsWith('11 of')")
    assert rows.count() == 11  # 29, 290..299
    page.keyboard.press("Escape")
    modal.wait_for(state="detached")


def test_menu_opens_header_of_current_hdu(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.click('.menu-button[data-menu="File"]')
    page.click("#menu-header")
    page.wait_for_selector("#header-rows tr")
    assert "[HDU 1]" in page.text_content("#header-modal h2")
    extname = page.locator("#header-rows tr").filter(has_text="EXTNAME").first
    assert extname.locator("td").nth(1).text_content() == "SCI"
