"""What the OpenAPI schema says about responses: the one error model, the ``responses=`` helpers
and the base class of every JSON response model.

Adding a route (README, "Adding a route"): give it a response model (a subclass of ``Out``) or,
for bytes, ``response_class=Response`` with ``responses=binary(...)``; declare the 4xx it can give
with ``errors(...)`` on the router (the codes every route of the module shares) and on the route
(its own). ``tests/api/test_openapi_routes.py`` walks the app and fails on a route that does not,
and ``tests/api/test_openapi_conformance.py`` (schemathesis) checks that the schema tells the truth.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from neloura.runtime.catalog_export import EXPORT_FORMATS


class ErrorOut(BaseModel):
    """Every 4xx/5xx body: ``{"detail": "what went wrong"}`` (neloura.app's handlers)."""

    detail: str = Field(description="what went wrong, for a person to read")
    position: int | None = Field(default=None, description="filter errors only: 0-based offset of the fault")
    columns: list[str] | None = Field(default=None, description="filter errors only: the columns a filter may name")


class Out(BaseModel):
    """Base of JSON response models: the fields listed are always there (typed); a response may
    carry more keys than a model lists (``extra="allow"``), which are passed through unchanged."""

    model_config = ConfigDict(extra="allow")


# Why each status happens, shown in /docs next to the error model.
ERROR_REASONS: dict[int, str] = {
    400: "Bad request: the body is not valid JSON",
    403: "Forbidden: a path outside its data folder, an admin-only route, or a foreign Host/Origin",
    404: "Not found: no such file, HDU, catalog, job or result",
    409: "Conflict: not ready yet, or too many queued jobs of yours",
    413: "Payload too large: the body, upload or result is over its limit",
    415: "Unsupported media: not a FITS image (corrupt, truncated, no image HDU) or an unreadable format",
    422: "Invalid parameter: out of range, malformed, or the work ran past its deadline",
    503: "Busy: every bounded worker is busy, or the server is stopping; retry",
    507: "Insufficient storage: the server's memory budget (NELOURA_MEMORY_MB) cannot make room, even after evicting",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the 4xx/5xx ``codes``, each with the ``ErrorOut`` model.

    403 is always included: the Host/Origin middleware answers it for every route."""
    return {code: {"model": ErrorOut, "description": ERROR_REASONS[code]} for code in sorted({403, *codes})}


# The codes every route that opens an image through ImageDep/PlaneDep (or the image store) can give
# (507: opening or reading makes room in the memory budget, neloura.runtime.memory).
IMAGE_ERRORS = (403, 404, 413, 415, 422, 503, 507)


BINARY_SCHEMA: dict[str, Any] = {"type": "string", "format": "binary"}


def binary(*media_types: str, description: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry for a route answering bytes (use with ``response_class=Response``)."""
    content = {media: {"schema": BINARY_SCHEMA} for media in media_types}
    return {status: {"description": description, "content": content}}


def text(*media_types: str, description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry for a route answering text (CSV, DS9 regions, SVG...)."""
    content = {media: {"schema": {"type": "string"}} for media in media_types}
    return {200: {"description": description, "content": content}}


# Media types of catalog exports (csv, parquet, fits, votable), without their parameters.
EXPORT_MEDIA: tuple[str, ...] = tuple(media.split(";")[0] for media, _ in EXPORT_FORMATS.values())

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "Not modified (If-None-Match matched the ETag)"}}


def redirect(description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry for a route answering a redirect."""
    return {307: {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}}


# Every operation with a request body can give these, whatever the route: FastAPI answers 400 to a
# body that is not valid JSON, BodyLimitMiddleware answers 413 to one over NELOURA_REQUEST_MAX_MB.
BODY_ERRORS = (400, 413)
_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the responses every operation of a kind shares (``BODY_ERRORS``
    to operations with a body), so that no route has to repeat them."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        spec = generate()  # FastAPI caches it; the additions below are idempotent
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}"))
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                if "requestBody" not in operation:
                    continue
                for code in BODY_ERRORS:
                    operation["responses"].setdefault(
                        str(code),
                        {"description": ERROR_REASONS[code], "content": {"application/json": {"schema": _ERROR_REF}}},
                    )
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
