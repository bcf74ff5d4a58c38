"""The OpenAPI schema tells the truth: schemathesis against the app in-process (ASGI).

Two passes, bounded so that the module stays around a minute and a half on a 2-core machine:

* ``test_valid_request_conforms``: the robustness table's one valid request per route
  (tests/api/robustness_table.py), so that every success response (JSON model, media type) and
  every documented status is checked against the schema with real data; the two multipart
  uploads send a real catalog / FITS file (``UPLOADS``);
* ``test_generated_requests_conform``: schemathesis-generated requests (positive and negative),
  a few per operation, a share of them pointed at the demo image and catalog so that they reach
  past the 404 for an unknown file. Derandomized: the same requests on every run (a gate, not a
  fuzzer; raise ``EXAMPLES_PER_OPERATION`` locally to explore).

Checks: no 5xx, no undocumented status code, the declared content type, the response schema, and
(``positive_data_acceptance``) that a schema-valid request is not refused with 400/413/415/422:
only 2xx/3xx, 403, 404 (no such file/catalog/job) and 409 (not ready) may answer it. Operations
whose schema cannot (yet) say everything they refuse are listed in ``PENDING_REQUESTS``, with why;
``test_pending_requests_are_still_refused`` fails once the pass sees one of them accept every
schema-valid request it sent.

Multipart uploads: schemathesis hands the TestClient ``files=``, which httpx streams, and a
streamed request body cannot be read back when the response is validated; ``_call`` therefore
encodes the multipart body itself (``httpx.Request(...).read()``) and sends the bytes.
"""

from __future__ import annotations

import tempfile
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, reject, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from neloura.app import create_app
from neloura.settings import Settings
from tests.api.robustness_table import CATALOG, ENDPOINTS, IMAGE, Endpoint

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 3

# Operations whose schema-valid requests the route may still refuse with 400/413/415/422 (issue 8
# part 6, not finished): checked without positive_data_acceptance. This set may only shrink; one
# line per operation, with why.
PENDING_REQUESTS: frozenset[str] = frozenset(
    {
        "GET /api/catalogs/box",  # ra_min...dec_max: degrees or sexagesimal text that must parse
        "GET /api/catalogs/cone",  # ra/dec: degrees or sexagesimal text that must parse
        "GET /api/catalogs/overlay",  # the HDU must hold an image (data-dependent)
        "GET /api/catalogs/stats",  # column must be one of the catalog's (data-dependent)
        "GET /api/cubes/spectrum",  # the image must be a cube (data-dependent)
        "GET /api/images/pixel-table",  # a pixel outside this image is 422 (data-dependent)
        "GET /api/images/colorbar",  # an HDU index beyond the file is 422 (data-dependent)
        "GET /api/images/data-tiles/{level}/{name}",  # COL_ROW.u16: no pattern declared
        "GET /api/images/tiles/{level}/{name}",  # COL_ROW.png|jpg: no pattern declared
        "GET /api/rgb/{rgb_id}/tiles/{level}/{name}",  # COL_ROW.png: no pattern declared
        "GET /api/sky/resolve",  # a free-text position that must parse
        "GET /open-rgb",  # 2 to 5 channels: not declared
        "POST /api/catalogs/upload",  # the file must be a readable catalog: bytes no schema describes
        "POST /api/completeness",  # flux_min < flux_max: a cross-field rule JSON Schema cannot state
        "POST /api/figures",  # exactly one of path, rgb or panels: cross-field
        "POST /api/files/upload",  # the file must be a FITS image: bytes no schema describes
        "POST /api/images/pixel-to-world",  # x and y of the same length: cross-field
        "POST /api/images/world-to-pixel",  # ra_deg and dec_deg of the same length: cross-field
        "POST /api/regions/links",  # the region text must parse
        "POST /api/sed",  # radius_arcsec <= annulus inner < outer: cross-field
        "POST /api/sed/plot",  # width_in x height_in x dpi at most 60 Mpixel: cross-field
    }
)

# multipart uploads: the valid-request pass sends a real file (the table has no multipart body)
UPLOADS = {"POST /api/files/upload": ("files", IMAGE), "POST /api/catalogs/upload": ("catalogs", CATALOG)}


def _spec() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as root:
        return create_app(Settings(root=Path(root), demo=False)).openapi()


schema = schemathesis.openapi.from_dict(_spec())


def _key(case: schemathesis.Case) -> str:
    return f"{case.method.upper()} {case.operation.path}"


def _call(api: TestClient, case: schemathesis.Case, filename: str | None = None) -> httpx.Response:
    """Send ``case`` through the module's TestClient (the app in-process, its lifespan running);
    ``filename`` names the multipart ``file`` part."""
    sent = case.as_transport_kwargs(base_url=str(api.base_url))
    kwargs = {key: sent[key] for key in ("headers", "params", "json") if key in sent}
    data = sent.get("data")
    try:
        if sent.get("files") is not None:  # encode multipart here: a streamed body cannot be read back
            encoded = httpx.Request(sent["method"], sent["url"], files=_files(sent["files"], filename), data=data)
            kwargs["content"] = encoded.read()
            kwargs["headers"] = {**kwargs.get("headers", {}), "Content-Type": encoded.headers["Content-Type"]}
        elif isinstance(data, bytes | str):
            kwargs["content"] = data
        elif data is not None:
            kwargs["data"] = data
        return api.request(sent["method"], sent["url"], follow_redirects=False, **kwargs)
    except httpx.InvalidURL:  # a generated query longer than httpx sends (65 kB): not a request at all
        reject()
    except UnicodeEncodeError:  # a generated multipart field name with lone surrogates: not sendable
        reject()


def _files(files: list[tuple[str, tuple[Any, ...]]], filename: str | None) -> list[tuple[str, tuple[Any, ...]]]:
    """schemathesis' multipart parts for httpx: values that are not bytes (numbers, ...) as text,
    as ``requests`` (schemathesis' own transport) would send them; ``filename`` for the file part."""
    parts = []
    for name, (sent_name, value, *rest) in files:
        if filename is not None and name == "file":
            sent_name = filename
        parts.append((name, (sent_name, value if isinstance(value, bytes | str) else str(value), *rest)))
    return parts


@schemathesis.hook
def map_query(ctx: schemathesis.HookContext, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """Point every other generated ``path``/``name`` at the demo image/catalog (a stable hash, so
    that a derandomized run sends the same requests every time)."""
    if query and zlib.crc32(repr(sorted(query.items(), key=str)).encode("utf-8", "replace")) % 2 == 0:
        if isinstance(query.get("path"), str):
            query["path"] = IMAGE
        if isinstance(query.get("name"), str):
            query["name"] = CATALOG
    return query


def _valid_cases() -> list[Endpoint]:
    paths = schema.raw_schema["paths"]
    return [e for e in ENDPOINTS if e.method.lower() in paths.get(e.template.replace("{rest}", "x"), {})]


@pytest.mark.parametrize("endpoint", _valid_cases(), ids=lambda e: e.key)
def test_valid_request_conforms(endpoint: Endpoint, api: TestClient, world: dict[str, Path]) -> None:
    operation = schema[endpoint.template][endpoint.method]
    kwargs: dict[str, Any] = {"path_parameters": endpoint.path_params, "query": endpoint.query}
    if endpoint.key in UPLOADS:
        folder, name = UPLOADS[endpoint.key]
        content = (world["root"] / folder / name).read_bytes()
        kwargs.update(body={"file": content}, media_type="multipart/form-data")
    elif endpoint.body is not None:
        kwargs.update(body=endpoint.body, media_type="application/json")
    case = operation.Case(**kwargs)
    response = _call(api, case, filename=UPLOADS[endpoint.key][1].split("/")[-1] if endpoint.key in UPLOADS else None)
    case.validate_response(response, checks=CHECKS)
    assert response.status_code in endpoint.ok, response.text[:500]
    if endpoint.key in UPLOADS:
        assert response.status_code == 200, response.text[:500]


# What the generated pass saw of the PENDING_REQUESTS operations: those it ran, and their refusals.
PENDING_RAN: set[str] = set()
PENDING_REFUSED: dict[str, list[str]] = {}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_conform(case: schemathesis.Case, api: TestClient) -> None:
    key = _key(case)
    response = _call(api, case)
    if key not in PENDING_REQUESTS:
        case.validate_response(response, checks=[*CHECKS, positive_data_acceptance])
        return
    PENDING_RAN.add(key)
    case.validate_response(response, checks=CHECKS)
    try:
        case.validate_response(response, checks=[positive_data_acceptance])
    except (AssertionError, FailureGroup):
        PENDING_REFUSED.setdefault(key, []).append(f"{response.status_code} {response.text[:200]}")


def test_pending_requests_are_operations() -> None:
    known = {f"{m.upper()} {p}" for p, ops in schema.raw_schema["paths"].items() for m in ops}
    assert not PENDING_REQUESTS - known, f"not operations of the app: {sorted(PENDING_REQUESTS - known)}"


def test_pending_requests_are_still_refused() -> None:
    """Every ``PENDING_REQUESTS`` operation that the generated pass above ran (the same requests
    on every run) still had a schema-valid request refused; one that had none is fixed: remove it."""
    if not PENDING_RAN:
        pytest.skip("the generated pass did not run in this session")
    accepted = sorted(key for key in PENDING_RAN if key not in PENDING_REFUSED)
    assert not accepted, f"these accept their schema-valid requests now: remove them from PENDING_REQUESTS: {accepted}"
