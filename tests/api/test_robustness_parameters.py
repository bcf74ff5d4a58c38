"""API sweep, parameters: every query parameter of every route (read from ``app.routes``) gets
malformed values (wrong types, negative/huge numbers, NaN/inf, empty, 100 KB, NUL), catalog
expressions get hostile text, every JSON body field gets wrong types and huge values, every JSON
route gets broken bodies, /ws gets odd messages: never a 500, always JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.settings import Settings
from tests.api.robustness import (
    BY_KEY,
    ENDPOINTS,
    Endpoint,
    assert_clean_error,
    assert_outside_untouched,
    case,
    query_params,
    send,
)

# --------------------------------------------------------------------------------------------
# Malformed query parameters, from app.routes
# --------------------------------------------------------------------------------------------

BAD_VALUES: dict[str, str] = {
    "word": "abc",
    "negative": "-1",
    "huge_negative": "-99999999999999999999999",
    "huge": "99999999999999999999999",
    "overflow_float": "1e309",
    "nan": "nan",
    "inf": "inf",
    "minus_inf": "-inf",
    "empty": "",
    "spaces": "   ",
    "long": "x" * 60_000,  # httpx refuses longer query strings (64 KiB); bodies get 100 KB
    "nul": "a\x00b",
    "unicode": "\u202e\ud7ff\U0001f600",
    "json": '{"$where": "1"}',
    "sql": "1; DROP TABLE t; --",
}


def _route_query_map() -> dict[str, list[tuple[str, Any]]]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # folders only: the app is never started
        return query_params(create_app(Settings(root=Path(tmp), demo=False, disk_cache=False)))


_ROUTE_QUERY = _route_query_map()  # one app read at collection, for the query and expression cases
QUERY_CASES = [
    case(BY_KEY[key], name, label, id=f"{key}:{name}:{label}")
    for key, params in sorted(_ROUTE_QUERY.items())
    if key in BY_KEY
    for name, _annotation in params
    for label in BAD_VALUES
]


@pytest.mark.parametrize(("ep", "name", "label"), QUERY_CASES)
def test_malformed_query_parameter(api: TestClient, ep: Endpoint, name: str, label: str) -> None:
    response = send(api, ep, query={name: BAD_VALUES[label]})
    assert_clean_error(response, range(200, 500))


@pytest.mark.parametrize(
    ("ep", "name", "label"),
    [
        case(ep, name, label, id=f"{ep.key}:{name}:{label}")
        for ep in ENDPOINTS
        for name in ep.path_params
        for label in BAD_VALUES
        if label != "long"  # covered by the too_long_name path escape (URLs over 64 KiB are refused client-side)
    ],
)
def test_malformed_path_parameter(api: TestClient, ep: Endpoint, name: str, label: str) -> None:
    response = send(api, ep, path_params={name: BAD_VALUES[label] or " "})
    assert_clean_error(response, range(200, 500))


BAD_FILTERS: dict[str, str] = {
    "unbalanced": "(mag_ab < 25",
    "deep_nesting": "(" * 4990 + "mag_ab" + ")" * 4990 + " < 1",  # just under the 10,000-character cap
    "long_chain": " && ".join(["mag_ab < 25"] * 1500),
    "unknown_column": "nosuchcolumn > 1",
    "sql_injection": "1=1; DROP TABLE catalog; --",
    "sql_union": "mag_ab < 25) UNION SELECT * FROM read_csv_auto('/etc/passwd') --",
    "duckdb_function": "read_text('/etc/passwd') != ''",
    "quote_column": '"mag_ab" < 25 OR "a"="a',
    "python": "__import__('os').system('true')",
    "string_compare": "kind == 'star' || kind == \"x\"",
    "division_by_zero": "mag_ab / 0 > 1",
    "huge_number": "mag_ab < 1e99999",
    "nan": "mag_ab < nan",
    "only_operator": "&&",
    "unicode": "mag_ab \u2264 25",
}
FILTER_ROUTES = [
    e
    for e in ENDPOINTS
    if "filter" in e.query
    or e.key
    in (
        "GET /api/catalogs/stats",
        "GET /api/catalogs/export",
        "GET /api/catalogs/cone",
        "GET /api/catalogs/box",
        "GET /api/catalogs/overlay",
    )
]


@pytest.mark.parametrize(
    ("ep", "param", "label"),
    [
        case(ep, param, label, id=f"{ep.key}:{param}:{label}")
        for ep in FILTER_ROUTES
        for param in ("filter", "sort", "columns", "computed")
        if param == "filter" or param in {n for n, _ in _ROUTE_QUERY.get(ep.key, [])}
        for label in BAD_FILTERS
    ],
)
def test_malformed_catalog_expression(api: TestClient, ep: Endpoint, param: str, label: str) -> None:
    """Filter, sort, column and computed-column text is parsed by our grammar, never pasted into SQL."""
    value = BAD_FILTERS[label]
    if param == "computed":
        value = f"c={value}"
    response = send(api, ep, query={param: value})
    assert_clean_error(response, range(200, 500))


# --------------------------------------------------------------------------------------------
# Malformed JSON bodies
# --------------------------------------------------------------------------------------------

BAD_FIELD_VALUES: dict[str, Any] = {
    "string": "abc",
    "negative": -1,
    "huge_int": 10**30,
    "huge_float": 1e308,
    "null": None,
    "list": [1, 2],
    "object": {"a": 1},
    "bool": True,
    "long": "x" * 100_000,
    "long_list": [0.5] * 200_000,
    "nested_list": [[1.0, 2.0]],
}
RAW_NUMBERS = {"nan": "NaN", "inf": "Infinity", "minus_inf": "-Infinity", "big_exponent": "1e999"}
JSON_ROUTES = [e for e in ENDPOINTS if e.body is not None]


@pytest.mark.parametrize(
    ("ep", "name", "label"),
    [
        case(ep, name, label, id=f"{ep.key}:{name}:{label}")
        for ep in JSON_ROUTES
        for name in ep.body or {}
        for label in [*BAD_FIELD_VALUES, *RAW_NUMBERS]
    ],
)
def test_malformed_body_field(api: TestClient, ep: Endpoint, name: str, label: str) -> None:
    assert ep.body is not None
    if label in RAW_NUMBERS:  # JSON extensions that Python's json accepts
        marker = "__RAW__"
        text = json.dumps({**ep.body, name: marker}).replace(f'"{marker}"', RAW_NUMBERS[label])
        response = send(api, ep, raw_body=text.encode(), headers={"content-type": "application/json"})
    else:
        response = send(api, ep, body={**ep.body, name: BAD_FIELD_VALUES[label]})
    assert_clean_error(response, range(200, 500))
    if response.status_code < 300 and ep.key in ("POST /api/detection", "POST /api/completeness"):
        job = response.json().get("id") or response.json().get("job_id")
        if job:
            api.delete(f"/api/jobs/{job}")


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BROKEN_BODIES: dict[str, tuple[bytes, str]] = {
    "not_json": (b"{this is not json", "application/json"),
    "empty": (b"", "application/json"),
    "array": (b"[1, 2, 3]", "application/json"),
    "string": (b'"path"', "application/json"),
    "null": (b"null", "application/json"),
    "deeply_nested": (_nested(100_000), "application/json"),
    "nested_object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    "huge": (b'{"x": [' + b"1.5," * 5_000_000 + b'1.5], "path": "demo/galaxy.fits"}', "application/json"),
    "huge_string": (b'{"path": "' + b"a" * 20_000_000 + b'"}', "application/json"),
    "invalid_utf8": (b'{"path": "\xff\xfe"}', "application/json"),
    "text_plain": (b'{"path": "demo/galaxy.fits"}', "text/plain"),
    "form": (b"path=demo%2Fgalaxy.fits", "application/x-www-form-urlencoded"),
    "xml": (b"<path>demo/galaxy.fits</path>", "application/xml"),
}


@pytest.mark.parametrize(
    ("ep", "label"),
    [case(ep, label, id=f"{ep.key}:{label}") for ep in JSON_ROUTES for label in BROKEN_BODIES],
)
def test_broken_json_body(api: TestClient, ep: Endpoint, label: str) -> None:
    raw, content_type = BROKEN_BODIES[label]
    response = send(api, ep, raw_body=raw, headers={"content-type": content_type})
    gated = (403,) if ep.ok == (403,) else ()  # admin-only routes refuse before reading the body
    assert_clean_error(response, (400, 413, 415, 422, *gated))


WS_MESSAGES: dict[str, Any] = {
    "escape": {"type": "view", "path": "../../etc/passwd"},
    "absolute": {"type": "view", "path": "/etc/passwd"},
    "symlink_out": {"type": "view", "path": "link_out/secret.fits"},
    "loop": {"type": "view", "path": "loop/x"},
    "long": {"type": "view", "path": "x" * 100_000},
    "nul": {"type": "view", "path": "a\x00b"},
    "wrong_type": {"type": "view", "path": 12},
    "list": [1, 2, 3],
    "unknown": {"type": "shutdown"},
    "not_json": "{not json",
}


@pytest.mark.parametrize("label", list(WS_MESSAGES))
def test_websocket_survives_odd_messages(api: TestClient, label: str) -> None:
    """/ws ignores or closes on bad messages; the server keeps answering."""
    message = WS_MESSAGES[label]
    with api.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        if isinstance(message, str):
            ws.send_text(message)
        else:
            ws.send_json(message)
    assert api.get("/api/health").status_code == 200
    with api.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"


def test_the_outside_folder_is_untouched(world: dict[str, Path]) -> None:
    """Nothing in this module's requests deleted or changed the files outside the data root."""
    assert_outside_untouched(world)
