"""The tile routes' common case, served without FastAPI's per-request machinery (issue 16).

A browser showing an image asks for hundreds of tiles a second; for a fresh tile FastAPI's
routing (a regular expression per route until one matches), its parameter and dependency
machinery, the ``Request``/``Response`` objects and anyio's thread-pool hop held the GIL about
twice as long as rendering the tile did. This ASGI middleware sits inside the Host/Origin and
session middleware (so every answer still gets the security headers and the session cookie)
and answers ``GET /api/images/tiles/...`` and ``GET /api/images/data-tiles/...`` itself when the
plane is open and its limits are known, through the routes' own preparers
(:func:`neloura.api.tiles.prepare_tile`, :func:`neloura.api.data_tiles.prepare_data_tile`):
the same validation, ETag, headers and bytes. Anything else goes on to the routes: the first
tiles of a plane (file I/O in the thread pool), and every refusal, which the route words as a
4xx JSON error the usual way (the lean path never answers an error of its own).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi.exceptions import RequestValidationError

from neloura.api.data_tiles import prepare_data_tile
from neloura.api.origin import ASGIApp, Receive, Send
from neloura.api.tile_answer import TileAnswer
from neloura.api.tiles import prepare_tile
from neloura.errors import NelouraError
from neloura.runtime.tiles import TileService

Preparer = Callable[..., TileAnswer | None]
ROUTES: tuple[tuple[str, Preparer], ...] = (
    ("/api/images/tiles/", prepare_tile),
    ("/api/images/data-tiles/", prepare_data_tile),
)


# what a preparer or a render raises for a request it refuses; anything else is a bug and is
# raised as it would be by the route
REFUSALS = (NelouraError, RequestValidationError, OSError, ValueError)


class TileFastPath:
    """ASGI middleware answering ready tiles directly; every other request goes on to ``app``."""

    def __init__(self, app: ASGIApp, *, tiles: TileService) -> None:
        self.app = app
        self.tiles = tiles

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET" and not scope.get("root_path"):
            request = _request_headers(scope)
            answer = self._prepared(scope, request)
            if answer is not None and await self._answered(answer, request.get(b"if-none-match"), send):
                return
        await self.app(scope, receive, send)

    def _prepared(self, scope: MutableMapping[str, Any], request: Mapping[bytes, str]) -> TileAnswer | None:
        path: str = scope["path"]
        route = next(((prefix, prepare) for prefix, prepare in ROUTES if path.startswith(prefix)), None)
        if route is None:
            return None
        prefix, prepare = route
        level, slash, name = path[len(prefix) :].partition("/")
        if not (slash and name and "/" not in name and level.isascii() and level.isdigit()):
            return None
        # as Starlette reads a query string (the last of a repeated parameter wins)
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        try:
            return prepare(self.tiles, int(level), name, params, request.get(b"accept-encoding"), may_block=False)
        except REFUSALS:  # the route refuses it again, as a 4xx JSON error in its own words
            return None

    async def _answered(self, answer: TileAnswer, if_none_match: str | None, send: Send) -> bool:
        """Send the answer; False (nothing sent) when the render failed: the route answers."""
        if answer.unchanged(if_none_match):
            await _send(send, 304, answer.headers, b"", None)
            return True
        body = answer.cached
        if body is None:
            try:
                body = await self.tiles.run(answer.render)
            except REFUSALS:  # e.g. the memory budget: the route renders again and answers the 507
                return False
        await _send(send, 200, answer.body_headers(), body, answer.media_type)
        return True


def _request_headers(scope: MutableMapping[str, Any]) -> dict[bytes, str]:
    """The request headers a tile answer depends on (the first of each, as Starlette reads them)."""
    out: dict[bytes, str] = {}
    for name, value in scope.get("headers") or ():
        if name in (b"if-none-match", b"accept-encoding") and name not in out:
            out[name] = value.decode("latin-1")
    return out


async def _send(send: Send, status: int, headers: dict[str, str], body: bytes, media_type: str | None) -> None:
    """The response as Starlette's ``Response`` writes it: the given headers, then the length and
    type of a body (a 304 has neither)."""
    raw = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()]
    if media_type is not None:
        raw += [(b"content-length", str(len(body)).encode()), (b"content-type", media_type.encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
