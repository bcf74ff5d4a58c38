"""Conditional and encoded responses shared by routes: ETag matching (``If-None-Match`` -> 304)
and whether the client accepts a gzip-encoded body (``Accept-Encoding``)."""

from __future__ import annotations


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
