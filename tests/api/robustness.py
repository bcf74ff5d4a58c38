"""The robustness and security sweep's shared table and tools (tests/api/test_robustness_*.py).

``ENDPOINTS`` holds one valid request per route; the sweep derives its cases from it and from
``app.routes`` itself. The data root every sweep module serves (demo set, the
``BAD_NAMES`` FITS files, symlinks leading out, secrets outside) and its app come from the
``world``/``app_client``/``api`` fixtures in tests/api/conftest.py, one per module: hundreds of
requests share them (a new app and demo set per case would take minutes); every case only reads,
except uploads, which write into uploads/.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from astropy.io import fits
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.robustness_table import (  # noqa: F401  (re-exported for the sweep modules)
    BY_KEY,
    CATALOG,
    ENDPOINTS,
    IMAGE,
    PASSWD_MARK,
    SECRET,
    Endpoint,
)

SKIP_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/ws"}


def _walk(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI wraps included routers
        if inner is not None:
            yield from _walk(inner.routes)
        else:
            yield route


def _template(path: str) -> str:
    return re.sub(r"\{(\w+):path\}", r"{\1}", path)


def route_keys(app: FastAPI) -> set[str]:
    keys = set()
    for route in _walk(app.routes):
        if route.path in SKIP_ROUTES:
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                keys.add(f"{method} {_template(route.path)}")
    return keys


def query_params(app: FastAPI) -> dict[str, list[tuple[str, Any]]]:
    """Every route's query parameters with their annotation, from the route's dependency tree."""
    out: dict[str, list[tuple[str, Any]]] = {}

    def collect(dep: Any) -> list[tuple[str, Any]]:
        found = [(p.alias, p.field_info.annotation) for p in dep.query_params]
        for sub in dep.dependencies:
            found += collect(sub)
        return found

    for route in _walk(app.routes):
        dep = getattr(route, "dependant", None)
        if dep is None or route.path in SKIP_ROUTES:
            continue
        for method in getattr(route, "methods", None) or ():
            out[f"{method} {_template(route.path)}"] = collect(dep)
    return out


# --------------------------------------------------------------------------------------------
# The bad FITS files under files/bad/ (written by the ``world`` fixture of tests/api/conftest.py)
# --------------------------------------------------------------------------------------------


BAD_NAMES = (
    "text.fits",
    "png.fits",
    "empty.fits",
    "half_header.fits",
    "truncated_data.fits",
    "one_block.fits",
    "garbage.fits.gz",
    "table_only.fits",
    "huge_dims.fits",
    "odd_bitpix.fits",
    "naxis_999.fits",
    "nan_axes.fits",
    "sip_order.fits",
    "pv_many.fits",
    "bzero_text.fits",
    "blank_text.fits",
)
# Files whose headers are all intact: listing HDUs and reading cards may succeed.
HEADERS_READABLE = set(BAD_NAMES) - {"text.fits", "png.fits", "empty.fits", "half_header.fits", "garbage.fits.gz"}


# --------------------------------------------------------------------------------------------
# Known bugs in areas whose owners are still at work: strict xfails, listed in the sweep report.
# Remove an entry when its owner fixes it (strict=True turns the fixed case into a failure).
# --------------------------------------------------------------------------------------------

KNOWN_BUGS: dict[str, str] = {}


def case(*values: Any, id: str) -> Any:
    """One parametrized case, marked as a strict xfail when ``KNOWN_BUGS`` lists its id."""
    marks = [pytest.mark.xfail(reason=KNOWN_BUGS[id], strict=True)] if id in KNOWN_BUGS else []
    return pytest.param(*values, id=id, marks=marks)


# --------------------------------------------------------------------------------------------
# Sending requests
# --------------------------------------------------------------------------------------------


def encode_path_value(value: str) -> str:
    """Percent-encode everything, dots too: httpx would otherwise resolve ``..`` client-side."""
    return quote(value, safe="").replace(".", "%2E")


def send(
    client: TestClient,
    ep: Endpoint,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
    body: Any = None,
    raw_body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    params = {**ep.path_params, **(path_params or {})}
    url = ep.template
    for name, value in params.items():
        encoded = encode_path_value(value) if name in (path_params or {}) else quote(value, safe="/")
        url = url.replace("{" + name + "}", encoded)
    q = {**ep.query, **(query or {})}
    q = {k: v for k, v in q.items() if v is not None}
    kwargs: dict[str, Any] = {"params": q, "headers": headers or {}, "follow_redirects": False}
    if raw_body is not None:
        kwargs["content"] = raw_body
    elif body is not None or ep.body is not None:
        kwargs["json"] = ep.body if body is None else body
    return client.request(ep.method, url, **kwargs)


def assert_clean_error(response: Any, allowed: tuple[int, ...] | range) -> None:
    """``allowed`` status, and a 4xx is JSON with a string ``detail``; no outside content."""
    text = response.content[:2_000_000].decode("latin-1")
    assert response.status_code in allowed, f"{response.status_code}: {text[:300]}"
    assert SECRET not in text and PASSWD_MARK not in text, "outside content leaked"
    assert "Traceback" not in text
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), text[:300]
        detail = response.json().get("detail")
        assert isinstance(detail, str) and detail, response.json()


def assert_outside_untouched(world: dict[str, Path]) -> None:
    """Nothing deleted or changed the files outside the data root, nor the data files themselves."""
    assert (world["outside"] / "secret.txt").read_text() == SECRET
    assert sorted(p.name for p in world["outside"].iterdir()) == ["secret.csv", "secret.fits", "secret.txt"]
    assert math.isfinite(float(fits.getdata(world["outside"] / "secret.fits")[0, 0]))
    files = world["root"] / "files"
    for kept in [files / IMAGE, world["root"] / "catalogs" / CATALOG, *(files / "bad" / name for name in BAD_NAMES)]:
        assert kept.is_file(), f"{kept} was deleted by the sweep"
