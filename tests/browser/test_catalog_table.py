"""Catalog table in the page: deep link, filter (typed and built), sort, stats, select rows, export."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.browser

N = 300


@pytest.fixture(scope="module")
def table_csv(live_server: Any) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(42)
    cols = {
        "id": np.arange(N),
        "ra": rng.uniform(150.0, 150.2, N),
        "dec": rng.uniform(2.0, 2.2, N),
        "flux": np.round(rng.lognormal(1.0, 1.0, N), 4),
        "kind": rng.choice(["star", "galaxy"], N),
    }
    lines = ["id,ra,dec,flux,kind"] + [
        f"{i},{r:.7f},{d:.7f},{f},{k}" for i, r, d, f, k in zip(*cols.values(), strict=True)
    ]
    (live_server.root / "catalogs" / "table_test.csv").write_text("\n".join(lines) + "\n")
    return cols


def _api(live_server: Any, path: str, **params: Any) -> Any:
    return json.loads(live_server.get(f"{path}?{urllib.parse.urlencode(params)}"))


def _open(page: Any, live_server: Any, query: str) -> None:
    page.goto(f"{live_server.url}/?{query}&table=1")
    page.wait_for_selector(".catalog-dock:not([hidden]) .cat-table tbody tr")


def _wait_total(page: Any, total: int) -> None:
    page.wait_for_function(f"() => document.querySelector('.cat-status').textContent.startsWith('{total} of')")


def _status_total(page: Any) -> int:
    text = page.text_content(".cat-status") or ""
    return int(text.split(" of ")[0].replace(",", ""))


def _record(page: Any, event: str) -> None:
    page.evaluate(
        """(name) => { window.__events = window.__events || {}; window.__events[name] = [];
          window.neloura.ctx.bus.on(name, (d) => window.__events[name].push(d)); }""",
        event,
    )


def test_deep_link_without_table_keeps_it_folded_until_a_marker_click(
    page: Any, live_server: Any, table_csv: Any
) -> None:
    page.goto(f"{live_server.url}/?catalog=table_test.csv&filter=flux%20%3E%203")
    page.wait_for_selector(".catalog-dock .cat-table tbody tr", state="attached")
    assert page.evaluate("() => document.querySelector('.catalog-dock').hidden")
    first = int(np.flatnonzero(table_csv["flux"] > 3)[0])
    page.evaluate(
        f"() => window.neloura.ctx.bus.emit('catalog:row-clicked', {{ name: 'table_test.csv', row: {first} }})"
    )
    page.wait_for_selector(f".catalog-dock:not([hidden]) tr.focus[data-row='{first}']")


def test_deep_link_opens_the_table_with_its_filter(page: Any, live_server: Any, table_csv: Any) -> None:
    _open(page, live_server, "catalog=table_test.csv&filter=flux%20%3E%203")
    expected = int(np.sum(table_csv["flux"] > 3))
    page.wait_for_function(f"() => document.querySelector('.cat-status').textContent.startsWith('{expected} of')")
    assert _status_total(page) == expected
    assert page.input_value(".cat-filter") == "flux > 3"
    headers = page.eval_on_selector_all(".cat-table th .cat-sort", "els => els.map((e) => e.textContent)")
    assert headers == ["id", "ra", "dec", "flux", "kind"]


def test_typed_filter_sort_and_error(page: Any, live_server: Any, table_csv: Any, console_allow: Any) -> None:
    console_allow.append(re.compile(r"status of 422"))  # the deliberately bad filter
    _open(page, live_server, "catalog=table_test.csv")
    _record(page, "catalog:filter-changed")
    page.fill(".cat-filter", "flux > 2 && kind == 'star'")
    page.click(".cat-filter-row button[type=submit]")
    expected = int(np.sum((table_csv["flux"] > 2) & (table_csv["kind"] == "star")))
    page.wait_for_function(f"() => document.querySelector('.cat-status').textContent.startsWith('{expected} of')")
    events = page.evaluate("() => window.__events['catalog:filter-changed']")
    assert events[-1] == {"name": "table_test.csv", "filter": "flux > 2 && kind == 'star'", "computed": ""}
    page.click(".cat-table th .cat-sort[data-column=flux]")  # ascending
    page.wait_for_function(
        "() => document.querySelector('.cat-table th .cat-sort[data-column=flux]').textContent.endsWith('▲')"
    )
    first = float(page.text_content(".cat-table tbody tr:first-child td:nth-child(5)"))
    chosen = table_csv["flux"][(table_csv["flux"] > 2) & (table_csv["kind"] == "star")]
    assert first == pytest.approx(chosen.min())
    page.fill(".cat-filter", "flux >> 2")
    page.click(".cat-filter-row button[type=submit]")
    page.wait_for_selector(".cat-error:not([hidden])")
    assert "position 6" in page.text_content(".cat-error")
    assert page.evaluate("() => document.querySelector('.cat-filter').selectionStart") == 6


def test_condition_builder_writes_the_same_expression(page: Any, live_server: Any, table_csv: Any) -> None:
    _open(page, live_server, "catalog=table_test.csv")
    page.click(".cat-tools-toggle")  # the builder row is folded until asked for
    page.select_option(".cb-column", "kind")
    page.select_option(".cb-op", "==")
    page.fill(".cb-value", "galaxy")
    page.click(".cb-add")
    page.select_option(".cb-column", "dec")
    page.select_option(".cb-op", ">")
    page.fill(".cb-value", "2.1")
    page.select_option(".cb-join", "AND")
    page.click(".cb-add")
    assert page.input_value(".cat-filter") == '(kind == "galaxy") && dec > 2.1'
    expected = _api(live_server, "/api/catalogs/rows", name="table_test.csv", filter='kind == "galaxy" && dec > 2.1')
    assert expected["total"] == int(np.sum((table_csv["kind"] == "galaxy") & (table_csv["dec"] > 2.1)))
    page.wait_for_function(
        f"() => document.querySelector('.cat-status').textContent.startsWith('{expected['total']} of')"
    )


def test_select_rows_emits_and_marker_click_highlights(page: Any, live_server: Any, table_csv: Any) -> None:
    _open(page, live_server, "catalog=table_test.csv")
    _record(page, "catalog:rows-selected")
    page.click(".cat-table tbody tr[data-row='3']")
    page.click(".cat-table tbody tr[data-row='5']", modifiers=["Control"])
    events = page.evaluate("() => window.__events['catalog:rows-selected']")
    assert events[-1] == {"name": "table_test.csv", "rows": [3, 5], "source": "table"}
    assert page.eval_on_selector_all(".cat-table tr.selected", "els => els.map((e) => e.dataset.row)") == ["3", "5"]
    # a marker click on the image for a row on another page: the table jumps there and highlights it
    page.evaluate("() => window.neloura.ctx.bus.emit('catalog:row-clicked', { name: 'table_test.csv', row: 237 })")
    page.wait_for_selector(".cat-table tr.focus[data-row='237']")
    assert page.input_value(".cat-page") == str(237 // 50 + 1)


def test_stats_and_export(page: Any, live_server: Any, table_csv: Any) -> None:
    _open(page, live_server, "catalog=table_test.csv&filter=kind%20%3D%3D%20%27star%27")
    page.click(".cat-table th:nth-child(5) .cat-stat-btn")
    page.wait_for_selector(".cat-stats .cat-hist")
    facts = page.eval_on_selector_all(".cat-facts dd", "els => els.map((e) => e.textContent)")
    star = table_csv["flux"][table_csv["kind"] == "star"]
    assert int(facts[0]) == star.size
    assert float(facts[4]) == pytest.approx(star.mean(), rel=1e-6)
    href = page.get_attribute(".cat-export", "href")
    assert "format=csv" in href and "filter=kind" in href
    with page.expect_download() as download:
        page.click(".cat-export")
    text = open(download.value.path()).read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == star.size
    assert {r["kind"] for r in rows} == {"star"}


def test_radec_choice_is_remembered_per_catalog(page: Any, live_server: Any, table_csv: Any) -> None:
    _open(page, live_server, "catalog=table_test.csv")
    assert page.input_value(".cat-ra") == "ra" and page.input_value(".cat-dec") == "dec"
    page.select_option(".cat-ra", "flux")
    _open(page, live_server, "catalog=table_test.csv")
    assert page.input_value(".cat-ra") == "flux"  # this browser remembers it ...
    columns = _api(live_server, "/api/catalogs/columns", name="table_test.csv")
    assert columns["ra_col"] == "ra"  # ... the server (everyone else) does not
    page.evaluate("() => localStorage.clear()")


def test_upload_from_the_page_opens_it(page: Any, live_server: Any, table_csv: Any, console_allow: Any) -> None:
    console_allow.append(re.compile(r"status of 415"))  # the deliberately bad file
    page.goto(f"{live_server.url}/")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.evaluate("() => document.querySelector('.catalog-dock').hidden = false")
    body = "ra,dec,mag\n150.01,2.01,20.5\n150.02,2.02,21.5\n150.03,2.03,19.0\n"
    page.set_input_files(
        ".catalog-dock input[type=file]", files=[{"name": "mine.csv", "mimeType": "text/csv", "buffer": body.encode()}]
    )
    page.wait_for_function("() => document.querySelector('.cat-name').value === 'uploads/mine.csv'")
    _wait_total(page, 3)
    page.set_input_files(
        ".catalog-dock input[type=file]",
        files=[{"name": "bad.fits", "mimeType": "application/fits", "buffer": b"nope" * 100}],
    )
    # an earlier notification (the good upload) may still be shown: wait for the one about bad.fits
    page.wait_for_function("() => (document.querySelector('#notifications')?.textContent || '').includes('bad.fits')")
    assert not (live_server.root / "catalogs" / "uploads" / "bad.fits").exists()


def test_pager_shows_no_stray_null(page: Any, live_server: Any, table_csv: Any) -> None:
    """Issue 14 point 15: without a selection the pager held the text "null"."""
    _open(page, live_server, "catalog=table_test.csv")
    assert "null" not in page.text_content(".cat-pager")
