"""``/ws``: one WebSocket per page. Server -> page: the events of ``services.events`` for everyone
and for the page's session (its cookie, sent with the handshake: job progress, run output) as
JSON. Page -> server: ``{"type": "view", "path": "..."}`` says which file the page shows, so that
the cleanup worker keeps it."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from neloura.api.session import socket_owner
from neloura.core.paths import confine
from neloura.errors import NelouraError
from neloura.runtime.services import Services

router = APIRouter(tags=["events"])


async def _forward(ws: WebSocket, services: Services) -> None:
    async for event in services.events.subscribe(socket_owner(ws)):
        await ws.send_json(event)


def _record_view(services: Services, client_id: str, message: Any) -> None:
    if not isinstance(message, dict) or message.get("type") != "view":
        return
    path = message.get("path")
    if not isinstance(path, str) or not path:
        services.views.update(client_id, None)
        return
    try:
        services.views.update(client_id, confine(services.settings.files_dir, path))
    except NelouraError:  # a view of a missing or outside file protects nothing
        services.views.update(client_id, None)


@router.websocket("/ws")
async def events(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    await ws.accept()
    client_id = secrets.token_hex(8)
    # "worker": which server process holds this socket (NELOURA_WORKERS > 1: events of every worker reach it)
    await ws.send_json({"type": "hello", "client": client_id, "worker": services.worker_id})
    forward = asyncio.create_task(_forward(ws, services))
    try:
        while True:
            _record_view(services, client_id, await ws.receive_json())
    except (WebSocketDisconnect, ValueError, RuntimeError):
        pass
    finally:
        services.views.update(client_id, None)
        forward.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await forward
