"""The page with hostile files (issue 8.3, 13, 14.12): a 100,000-card header opens paged and
searched on the server, a truncated HDU says so before it is picked, /docs works offline under
the Content-Security-Policy (any CSP violation is a console error, which fails the test)."""

from __future__ import annotations

import pytest

from tests import hostile_corpus as corpus
from tests.browser.helpers import open_view

pytestmark = pytest.mark.browser


def test_huge_header_is_paged_and_searched(page, live_server) -> None:
    folder = live_server.files_dir / "hostile"
    folder.mkdir(exist_ok=True)
    corpus.huge_header(folder / "header_100k.fits", 100_000)
    page.set_default_timeout(60_000)  # astropy parses 100,000 cards in seconds; a loaded machine takes longer
    open_view(page, live_server, "/open/hostile/header_100k.fits")
    page.keyboard.press("h")
    page.wait_for_selector("#header-rows tr")
    assert page.text_content("#header-count") == "100005 of 100005 cards (first 500 shown)"
    assert page.locator("#header-rows tr").count() == 500
    page.click("#header-more")
    page.wait_for_function("() => document.querySelectorAll('#header-rows tr').length === 1000")
    page.fill("#header-search", "processing step 4999")
    page.wait_for_function("() => document.querySelector('#header-count').textContent.startsWith('11 of 100005')")
    assert page.locator("#header-rows tr").count() == 11
    page.screenshot(path="/tmp/hostile-header.png")


def test_truncated_hdu_is_marked_before_it_is_picked(page, live_server) -> None:
    folder = live_server.files_dir / "hostile"
    folder.mkdir(exist_ok=True)
    corpus.truncated(folder / "cut.fits")
    (folder / "sip.fits").write_bytes(corpus.sip_order(9999))
    open_view(page, live_server, "/open/hostile/cut.fits?hdu=1")
    page.evaluate("() => window.neloura.ctx.bus.emit('hdus:show', {})")
    chooser = page.locator("#hdu-chooser")
    chooser.wait_for()
    cut = chooser.locator('.hdu-card[data-hdu="2"]')
    assert "truncated" in cut.text_content() and cut.evaluate("e => e.tagName") == "DIV"  # not clickable
    assert chooser.locator('.hdu-card[data-hdu="1"]').evaluate("e => e.tagName") == "BUTTON"
    page.screenshot(path="/tmp/hostile-hdus.png")
    page.keyboard.press("Escape")
    page.evaluate("() => window.neloura.ctx.bus.emit('hdus:show', {path: 'hostile/sip.fits'})")
    page.locator('#hdu-chooser .hdu-card[data-hdu="0"]').filter(has_text="A_ORDER = 9999").wait_for()


def test_docs_render_offline(page, live_server) -> None:
    page.goto(live_server.url + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 20
    page.screenshot(path="/tmp/hostile-docs.png")
