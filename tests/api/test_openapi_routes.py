"""Every route of the app declares what it answers (README, "Adding a route"):

* a JSON success response described by a model (a ``$ref`` to a component schema), or a
  non-JSON media type (tiles, FITS, CSV, ...) with its schema, or a redirect;
* every 4xx/5xx it declares uses the one error model ``ErrorOut`` (``{"detail": ...}``), 422 is
  declared wherever the request has parameters or a body, and FastAPI's list-shaped
  ``HTTPValidationError`` (which our handler never answers) appears nowhere.

A route added without them fails here; ``test_openapi_conformance.py`` then checks that what is
declared is true.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from neloura.api.openapi import ErrorOut, Out
from neloura.app import create_app
from neloura.settings import Settings
from tests.api.robustness import _walk

ERROR_REF = "#/components/schemas/ErrorOut"

# JSON routes still answering an object without a model: none left (issue 8 part 6); the set
# may only shrink. A route listed here that gains a model fails the test until it is removed.
PENDING_MODELS: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def spec_and_routes() -> tuple[dict[str, Any], list[APIRoute]]:
    with tempfile.TemporaryDirectory() as root:
        app = create_app(Settings(root=Path(root), demo=False))
        routes = [r for r in _walk(app.routes) if isinstance(r, APIRoute) and r.include_in_schema]
        return app.openapi(), routes


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{m.upper()} {path}", op) for path, ops in spec["paths"].items() for m, op in ops.items()]


def test_the_error_model_is_the_only_error_schema(spec_and_routes: tuple[dict[str, Any], list[APIRoute]]) -> None:
    spec, _ = spec_and_routes
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ErrorOut"]["required"] == ["detail"]
    bad = []
    for key, op in _operations(spec):
        for code, response in op["responses"].items():
            if code[0] in "45":
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") != ERROR_REF:
                    bad.append(f"{key} {code}")
    assert not bad, f"error responses without ErrorOut: {bad}"


def test_requests_with_input_declare_422(spec_and_routes: tuple[dict[str, Any], list[APIRoute]]) -> None:
    spec, _ = spec_and_routes
    missing = [
        key
        for key, op in _operations(spec)
        if (op.get("parameters") or op.get("requestBody")) and "422" not in op["responses"]
    ]
    assert not missing, f"routes with input but no 422 declared: {missing}"


def _success_problem(op: dict[str, Any]) -> str | None:
    success = {code: r for code, r in op["responses"].items() if code[0] in "23"}
    if not success:
        return "no 2xx/3xx response declared"
    for code, response in success.items():
        if code[0] == "3" or code == "204":
            continue
        content = response.get("content")
        if not content:
            return f"{code} declares no media type"
        for media, entry in content.items():
            schema = entry.get("schema")
            if not schema:
                return f"{code} {media} has no schema"
            if media == "application/json" and "$ref" not in schema:
                return f"{code} JSON without a response model"
    return None


def test_every_route_declares_its_success_response(
    spec_and_routes: tuple[dict[str, Any], list[APIRoute]],
) -> None:
    spec, _ = spec_and_routes
    problems = {key: _success_problem(op) for key, op in _operations(spec)}
    failing = {key: why for key, why in problems.items() if why and key not in PENDING_MODELS}
    assert not failing, f"declare a response model or binary(...)/text(...)/redirect(...): {failing}"
    fixed = sorted(key for key in PENDING_MODELS if problems.get(key) is None)
    assert not fixed, f"these routes have a model now: remove them from PENDING_MODELS: {fixed}"


def test_json_routes_use_the_response_base(spec_and_routes: tuple[dict[str, Any], list[APIRoute]]) -> None:
    """Response models derive from ``Out`` (extra keys pass through) or are the error model."""
    _, routes = spec_and_routes
    odd = []
    for route in routes:
        model = route.response_model
        if isinstance(model, type) and issubclass(model, ErrorOut | Out):
            continue
        key = f"{sorted(route.methods)[0]} {route.path}"
        if model is not None and key not in PENDING_MODELS:
            odd.append(f"{key}: {model!r}")
    assert not odd, f"response models that do not derive from neloura.api.openapi.Out: {odd}"


def test_component_names_are_unique(spec_and_routes: tuple[dict[str, Any], list[APIRoute]]) -> None:
    """Two models of one name in different modules become ``neloura__api__x__Name`` components:
    give each model its own name."""
    spec, _ = spec_and_routes
    clashing = sorted(name for name in spec["components"]["schemas"] if "__" in name)
    assert not clashing, f"models sharing a name: {clashing}"
