"""Deep links: /open/<path>?hdu=N shows tiles equal to the server's rendering; /search/<text>;
unknown files give a visible error; the escape helper."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.helpers import assert_canvas_matches_server, open_view, set_view, viewer

pytestmark = pytest.mark.browser


def test_open_deep_link_draws_the_servers_tiles(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    query = parse_qs(urlsplit(page.url).query)
    assert query["path"] == ["demo/galaxy.fits"] and query["hdu"] == ["1"]
    assert viewer(page, "v.image.hdu") == 1
    assert "demo/galaxy.fits [1" in page.text_content("#image-title")
    set_view(page, 1000.0, 1100.0, 4)  # full resolution, 4 screen px per image px
    assert_canvas_matches_server(page)


def test_open_without_hdu_uses_the_recommended_one(page, live_server) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits")
    assert viewer(page, "v.image.hdu") == 1


def test_unknown_file_shows_a_visible_error(page, live_server, console_allow) -> None:
    console_allow.append(re.compile(r"status of 404"))
    page.goto(live_server.url + "/open/demo/nope.fits?hdu=1")
    page.wait_for_function("() => document.querySelector('#viewer-message').textContent.includes('Cannot open')")
    message = page.locator("#viewer-message")
    assert message.is_visible()
    assert "Cannot open demo/nope.fits [HDU 1]: no such image" in message.text_content()
    assert page.locator(".notice.error").count() >= 1


def test_search_deep_link_fills_the_file_search(page, live_server) -> None:
    nested = live_server.files_dir / "search-test" / "Deep"
    nested.mkdir(parents=True, exist_ok=True)
    (nested / "old_GaLaXy_notes.txt").write_text("x")
    page.goto(live_server.url + "/search/GALAXY")
    assert page.input_value("#file-search") == "GALAXY"
    page.wait_for_selector('#file-list .file-row[data-path="demo/galaxy.fits"]')
    page.wait_for_selector('#file-list .file-row[data-path="search-test/Deep/old_GaLaXy_notes.txt"]')
    names = page.locator("#file-list .file-row .name").all_text_contents()
    assert all("galaxy" in n.lower() for n in names)  # other tests may add more matches to the shared server


def test_escape_helper(page, live_server) -> None:
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    out = page.evaluate(
        """async () => {
          const m = await import('/static/js/lib/escape.js');
          const node = m.el('div', { title: '"><b>' }, '<img src=x onerror=alert(1)>');
          return [m.escapeHtml(`<img src=x onerror="a('1')">&\\``), node.getAttribute('title'), node.textContent,
                  node.children.length, node.attributes.length];
        }"""
    )
    assert out[0] == "&lt;img src=x onerror=&quot;a(&#39;1&#39;)&quot;&gt;&amp;&#96;"
    assert out[1:] == ['"><b>', "<img src=x onerror=alert(1)>", 0, 1]
