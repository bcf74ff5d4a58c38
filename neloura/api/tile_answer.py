"""What a tile request answers, prepared once for the two ways a tile request is served: the
FastAPI routes (``api/tiles.py``, ``api/data_tiles.py``) and their lean ASGI path
(``api/fast_tiles.py``). A preparer validates the request and resolves its display, names the
bytes (``ETag``) and says how to get them; the caller answers 304, the cached bytes or the
bytes rendered in the tile service's thread pool."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response

from neloura.api.conditional import etag_matches
from neloura.runtime.tiles import TileService


@dataclass(frozen=True)
class TileAnswer:
    """A tile's cache headers (``ETag`` first), media type, and its bytes or how to render them."""

    headers: dict[str, str]
    media_type: str
    cached: bytes | None
    render: Callable[[], bytes]
    content_encoding: str | None = None  # sent with the bytes, not with a 304

    def body_headers(self) -> dict[str, str]:
        """The headers of the 200 besides its length and media type."""
        if self.content_encoding is None:
            return self.headers
        return {**self.headers, "Content-Encoding": self.content_encoding}

    def unchanged(self, if_none_match: str | None) -> bool:
        """True when ``If-None-Match`` names these bytes (the answer is a 304)."""
        return etag_matches(if_none_match, self.headers["ETag"])


async def respond(tiles: TileService, answer: TileAnswer, if_none_match: str | None) -> Response:
    """The route's response: 304, the cached bytes, or the bytes rendered off the event loop."""
    if answer.unchanged(if_none_match):
        return Response(status_code=304, headers=answer.headers)
    body = answer.cached if answer.cached is not None else await tiles.run(answer.render)
    return Response(content=body, media_type=answer.media_type, headers=answer.body_headers())
