"""Liveness probe."""

from __future__ import annotations

from fastapi import APIRouter

from neloura import __version__
from neloura.api.openapi import Out, errors

router = APIRouter(responses=errors(), prefix="/api", tags=["health"])


class HealthOut(Out):
    status: str
    version: str


@router.get("/health")
async def health() -> HealthOut:
    """The server is up. Answered on the event loop itself (no thread): its latency is the loop's."""
    return HealthOut(status="ok", version=__version__)
