"""One in-process event bus: job progress and server events, fanned out to WebSocket clients.

``publish`` may be called from any thread (job threads, process-pool callbacks); subscribers
are asyncio queues living on the server's event loop. An event published with an ``audience``
(a session's owner key, see ``neloura.api.session``) reaches only the subscribers of that user.

With several server workers, a relay (:class:`neloura.runtime.broker.SqliteBroker`) also sends each
event to the other workers, which hand it to their own bus with :meth:`EventBus.publish_local`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

Event = dict[str, Any]


class EventBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[asyncio.Queue[Event], str | None] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._relay: Callable[[Event, str | None], None] | None = None

    def relay_to(self, relay: Callable[[Event, str | None], None] | None) -> None:
        """Also hand every event published here to ``relay`` (the broker to the other workers)."""
        self._relay = relay

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the server loop so that other threads can publish into it."""
        self._loop = loop

    def publish(self, event: Event, audience: str | None = None) -> None:
        """Send ``event`` (a JSON-serialisable dict with a ``type``) to every subscriber, or only
        to the subscribers of user ``audience``; with a relay, on every worker."""
        relay = self._relay
        if relay is not None:
            relay(event, audience)
        self.publish_local(event, audience)

    def publish_local(self, event: Event, audience: str | None = None) -> None:
        """Deliver ``event`` to this process's subscribers only (any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(event, audience)
        else:
            loop.call_soon_threadsafe(self._deliver, event, audience)

    def _deliver(self, event: Event, audience: str | None = None) -> None:
        with self._lock:
            subscribers = [q for q, user in self._subscribers.items() if audience is None or user == audience]
        for queue in subscribers:
            if queue.full():  # a slow client loses its oldest event, never blocks the others
                queue.get_nowait()
            queue.put_nowait(event)

    async def subscribe(self, user: str | None = None) -> AsyncIterator[Event]:
        """Yield events (those for everyone, and those for ``user``) until the consumer stops."""
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        with self._lock:
            self._subscribers[queue] = user
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                self._subscribers.pop(queue, None)
