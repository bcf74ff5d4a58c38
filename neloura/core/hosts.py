"""Host names and addresses: parse a ``Host`` header, decide loopback by address (pure)."""

from __future__ import annotations

import ipaddress

WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names, never bound here


def split_host(value: str) -> tuple[str, str]:
    """``"example.org:8000"`` -> ``("example.org", "8000")``; ``"[::1]:80"`` -> ``("::1", "80")``."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, rest.removeprefix(":")
    if value.count(":") > 1:  # a bare IPv6 address
        return value, ""
    host, _, port = value.partition(":")
    return host.rstrip("."), port


def is_loopback_host(host: str) -> bool:
    """True for a loopback address (``127.0.0.0/8``, ``::1``, v4-mapped) or the name ``localhost``.

    Decided by the address itself: ``127.evil.example`` is a name, not a loopback address."""
    host = host.strip().lower().strip("[]").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True  # RFC 6761: resolvers answer loopback for these names
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))
