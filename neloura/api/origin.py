"""Who may drive the server: a Host allow-list, an Origin check and security headers (ASGI).

Every other web page a user visits can send requests to a server on their machine: a form
POST, an upload, a WebSocket. And a DNS name the attacker controls can be re-pointed to
127.0.0.1 ("DNS rebinding") so that their page even reads the answers. This middleware closes
both, for every route present and future (it wraps the whole app):

- **Host allow-list** (every HTTP request and WebSocket): the ``Host`` header must name a
  loopback address (decided by the address: ``127.0.0.0/8``, ``::1``, or the name
  ``localhost``; never by a ``127.`` prefix of a name), the address the server was told to
  listen on (when it is not a wildcard), or an entry of ``NELOURA_ALLOWED_HOSTS``
  (comma-separated names or addresses; ``*.example.org`` matches sub-domains; ``*`` allows
  any host, for a reverse proxy that checks it itself). Otherwise: 403 JSON.
- **Origin check** (state-changing methods POST/PUT/PATCH/DELETE, and every ``/ws``
  handshake): a browser always sends ``Origin`` on these; it must be the server's own origin
  (the same host and port as ``Host``) or a host of ``NELOURA_ALLOWED_HOSTS``. ``Origin: null``
  (sandboxed frames, file: pages) and ``Sec-Fetch-Site: cross-site`` without an Origin are
  refused; a request without either header (curl, scripts, tests) is not a browser and passes.
  Refused: 403 JSON (for ``/ws``, the handshake is answered 403 JSON, never upgraded).
- **Security headers** on every HTTP response: :data:`CONTENT_SECURITY_POLICY`,
  ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy:
  same-origin``. A route may set its own ``Content-Security-Policy``; it is then kept.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from neloura.core.hosts import WILDCARD_ADDRESSES, is_loopback_host, split_host

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# 'unsafe-eval': plotly's WebGL traces (scattergl, via regl) compile their draw calls with
# Function(); no inline script is ever allowed. 'unsafe-inline' styles: plotly and Swagger UI
# insert <style> elements (styles cannot run code).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HOSTS_REMEMBERED = 64
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def _matches(host: str, pattern: str) -> bool:
    pattern = pattern.strip().lower().strip("[]").rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


class HostPolicy:
    """The allow-list: loopback, the bind address, and ``allowed`` (see the module doc)."""

    def __init__(self, allowed: Iterable[str], bind_host: str = "") -> None:
        self.allowed = tuple(a.strip().lower() for a in allowed if a and a.strip())
        bind = bind_host.strip().lower().strip("[]")
        self.bind = "" if bind in WILDCARD_ADDRESSES else bind
        self._decided: dict[str, bool] = {}  # every request asks about the same few Host values

    def host_allowed(self, host: str) -> bool:
        known = self._decided.get(host)
        if known is not None:
            return known
        allowed = is_loopback_host(host) or (bool(self.bind) and host == self.bind) or self.listed(host)
        if len(self._decided) >= HOSTS_REMEMBERED:  # Host is the client's to choose: stay bounded
            self._decided.clear()
        self._decided[host] = allowed
        return allowed

    def listed(self, host: str) -> bool:
        return any(_matches(host, pattern) for pattern in self.allowed)

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        """Same host and port as the request's Host, or a host listed in ``allowed``."""
        if origin == "null":
            return False
        try:
            parts = urlsplit(origin)
            origin_port = str(parts.port or "")
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        origin_host = parts.hostname.lower().rstrip(".")
        default = "443" if parts.scheme == "https" else "80"
        host, port = split_host(host_header)
        if origin_host == host and (origin_port or default) == (port or default):
            return True
        return self.listed(origin_host)


class OriginMiddleware:
    """ASGI middleware applying :class:`HostPolicy` and the security headers to every request."""

    def __init__(self, app: ASGIApp, *, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _policy_headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _refuse(scope, receive, send, refusal)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_security_headers(list(message.get("headers") or []))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: MutableMapping[str, Any], headers: dict[str, str]) -> str | None:
        host_header = headers.get("host", "")
        host, _ = split_host(host_header)
        if not self.policy.host_allowed(host):
            return f"Host {host_header!r} is not allowed (loopback only; add it to NELOURA_ALLOWED_HOSTS)"
        if scope["type"] == "http" and str(scope.get("method", "GET")).upper() not in STATE_CHANGING:
            return None
        origin = headers.get("origin")
        if origin is None:
            if headers.get("sec-fetch-site", "").lower() == "cross-site":
                return "a cross-site request without an Origin is refused"
            return None
        if not self.policy.origin_allowed(origin.strip(), host_header):
            return f"requests from the page at {origin!r} are refused (another site may not drive this server)"
        return None


_POLICY_HEADERS = frozenset({b"host", b"origin", b"sec-fetch-site"})


def _policy_headers(scope: MutableMapping[str, Any]) -> dict[str, str]:
    """The request headers the policy reads (lower-case names; the last of a repeated one)."""
    out = {}
    for key, value in scope.get("headers") or ():
        name = key.lower()
        if name in _POLICY_HEADERS:
            out[name.decode("latin-1")] = value.decode("latin-1")
    return out


def _with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {k.lower() for k, _ in headers}
    extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
    if b"content-security-policy" not in present:
        extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
    return headers + extra


async def _refuse(scope: MutableMapping[str, Any], receive: Receive, send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    start_headers = _with_security_headers(
        [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    )
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 403, "headers": start_headers})
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # the websocket.connect message
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": 403, "headers": start_headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:  # servers without the denial-response extension answer the handshake with a bare 403
        await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
