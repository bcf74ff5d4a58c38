"""Liveness probe."""

from __future__ import annotations

from fastapi import APIRouter

from neloura import __version__
from neloura.api.openapi import errors

router = APIRouter(responses=errors(), prefix="/api", tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The server is up. Answered on the event loop itself (no thread): its latency is the loop's."""
    return {"status": "ok", "version": __version__}
