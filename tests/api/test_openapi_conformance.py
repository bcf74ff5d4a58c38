"""The OpenAPI schema tells the truth: schemathesis against the app in-process (ASGI).

Two passes, bounded so that the module stays around a minute on a 2-core machine:

* ``test_valid_request_conforms``: the robustness table's one valid request per route
  (tests/api/robustness_table.py), so that every success response (JSON model, media type) and
  every documented status is checked against the schema with real data;
* ``test_generated_requests_conform``: schemathesis-generated requests (positive and negative),
  a few per operation, a share of them pointed at the demo image and catalog so that they reach
  past the 404 for an unknown file.

Checks: no 5xx, no undocumented status code, the declared content type, the response schema.
"""

from __future__ import annotations

import tempfile
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
    response_schema_conformance,
    status_code_conformance,
)

from neloura.app import create_app
from neloura.settings import Settings
from tests.api.robustness_table import CATALOG, ENDPOINTS, IMAGE, Endpoint

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 3
# multipart uploads: their own tests (test_files.py, test_catalogs.py, test_hostile_*.py) send them;
# schemathesis cannot read back a streamed multipart body sent through the TestClient
UPLOADS = ("/api/files/upload", "/api/catalogs/upload")
NOT_IN_TABLE_PASS = {f"POST {path}" for path in UPLOADS}


def _spec() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as root:
        return create_app(Settings(root=Path(root), demo=False)).openapi()


schema = schemathesis.openapi.from_dict(_spec())


def _call(api: TestClient, case: schemathesis.Case) -> httpx.Response:
    """Send ``case`` through the module's TestClient (the app in-process, its lifespan running)."""
    sent = case.as_transport_kwargs(base_url=str(api.base_url))
    kwargs = {key: sent[key] for key in ("headers", "params", "json") if key in sent}
    data = sent.get("data")
    if isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    try:
        return api.request(sent["method"], sent["url"], follow_redirects=False, **kwargs)
    except httpx.InvalidURL:  # a generated query longer than httpx sends (65 kB): not a request at all
        reject()


@schemathesis.hook
def map_query(ctx: schemathesis.HookContext, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """Point every other generated ``path``/``name`` at the demo image/catalog."""
    if query and hash(repr(sorted(query.items(), key=str))) % 2 == 0:
        if isinstance(query.get("path"), str):
            query["path"] = IMAGE
        if isinstance(query.get("name"), str):
            query["name"] = CATALOG
    return query


def _valid_cases() -> list[Endpoint]:
    paths = schema.raw_schema["paths"]
    return [
        e
        for e in ENDPOINTS
        if e.key not in NOT_IN_TABLE_PASS and e.method.lower() in paths.get(e.template.replace("{rest}", "x"), {})
    ]


@pytest.mark.parametrize("endpoint", _valid_cases(), ids=lambda e: e.key)
def test_valid_request_conforms(endpoint: Endpoint, api: TestClient) -> None:
    operation = schema[endpoint.template][endpoint.method]
    kwargs: dict[str, Any] = {"path_parameters": endpoint.path_params, "query": endpoint.query}
    if endpoint.body is not None:
        kwargs.update(body=endpoint.body, media_type="application/json")
    case = operation.Case(**kwargs)
    response = _call(api, case)
    case.validate_response(response, checks=CHECKS)
    assert response.status_code in endpoint.ok, response.text[:500]


@schema.exclude(path=list(UPLOADS)).parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_conform(case: schemathesis.Case, api: TestClient) -> None:
    case.validate_response(_call(api, case), checks=CHECKS)
