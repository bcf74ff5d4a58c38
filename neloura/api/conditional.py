"""Conditional and encoded responses shared by routes: the cache headers of a tile-like answer,
ETag matching (``If-None-Match`` -> 304) and whether the client accepts a gzip-encoded body
(``Accept-Encoding``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

CACHE_CONTROL = "public, max-age=600"


def cache_headers(etag: str, *, provisional: bool = False, vary: str | None = None) -> dict[str, str]:
    """``ETag`` and ``Cache-Control`` of bytes named by ``etag`` (``no-store`` when
    ``provisional``: drawn before its data exists, asked again later), with ``Vary`` if given."""
    headers = {"ETag": etag, "Cache-Control": "no-store" if provisional else CACHE_CONTROL}
    if vary:
        headers["Vary"] = vary
    return headers


def not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    """A 304 carrying ``headers`` when the request's ``If-None-Match`` names ``headers["ETag"]``."""
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return None


def etag_matches(header: str | None, etag: str) -> bool:
    """True when ``If-None-Match`` names ``etag`` (weak or strong form) or is ``*``."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def accepts_gzip(header: str | None) -> bool:
    """True when ``Accept-Encoding`` lists gzip (or ``*``) without ``q=0``."""
    for item in (header or "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().lower().removeprefix("q=")
        try:
            return not params.strip() or float(quality) > 0
        except ValueError:
            return False
    return False
