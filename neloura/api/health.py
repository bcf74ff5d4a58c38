"""Liveness probe."""

from __future__ import annotations

from fastapi import APIRouter

from neloura import __version__

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The server is up."""
    return {"status": "ok", "version": __version__}
