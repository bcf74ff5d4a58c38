"""The page and its static assets: ``/``, deep links ``/open/<path>`` and ``/search/<text>``,
``/static/*`` (our front end) and ``/vendor/*`` (npm packages from node_modules/)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse

from neloura.api.openapi import errors, redirect
from neloura.core.paths import confine
from neloura.errors import NotFound
from neloura.settings import PROJECT_DIR

STATIC_DIR = PROJECT_DIR / "static"
VENDOR_DIR = PROJECT_DIR / "node_modules"

router = APIRouter(responses=errors(422), tags=["pages"])

# The front end changes with the server: browsers revalidate (ETag) instead of caching blindly.
_NO_STALE = {"Cache-Control": "no-cache"}


def _asset(root: Path, relative: str) -> FileResponse:
    path = confine(root, relative)
    if not path.is_file():
        raise NotFound(f"no such file: {relative}")
    return FileResponse(path, headers=_NO_STALE)


def _page_url(request: Request, extra: dict[str, str]) -> str:
    """``/?<extra>&<original query>``: every query parameter of the request is kept."""
    pairs = list(extra.items()) + [(k, v) for k, v in request.query_params.multi_items() if k not in extra]
    return "/?" + urlencode(pairs)


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=_NO_STALE)


@router.get(
    "/open/{path:path}",
    response_class=RedirectResponse,
    status_code=307,
    responses={**redirect("to the page, with the file to open in its query"), **errors(404)},
    summary="Deep link: open a file (query parameters kept: hdu, plane, ...)",
)
def open_link(path: str, request: Request) -> RedirectResponse:
    return RedirectResponse(_page_url(request, {"path": path}), status_code=307)


@router.get(
    "/search/{text:path}",
    response_class=RedirectResponse,
    status_code=307,
    responses={**redirect("to the page, with the search filled in"), **errors(404)},
    summary="Deep link: the file browser with this search filled in",
)
def search_link(text: str, request: Request) -> RedirectResponse:
    return RedirectResponse(_page_url(request, {"search": text}), status_code=307)


@router.get("/static/{relative:path}", include_in_schema=False)
def static_file(relative: str) -> FileResponse:
    return _asset(STATIC_DIR, relative)


@router.get("/vendor/{relative:path}", include_in_schema=False)
def vendor_file(relative: str) -> FileResponse:
    return _asset(VENDOR_DIR, relative)
