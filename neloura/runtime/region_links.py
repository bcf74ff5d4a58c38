"""Saved region sets behind short view links: content-addressed text files under
``cache_dir/region-links/<id>.reg`` (the id is the first 24 hex digits of the text's SHA-256, so
saving the same regions twice gives the same link and nothing is ever overwritten by other text).

Bounded: a set holds at most ``MAX_TEXT_BYTES``; once the folder holds ``MAX_TOTAL_BYTES``, new
sets are refused (413) rather than old ones deleted. Writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

from neloura.errors import InvalidParameter, NotFound, PayloadTooLarge
from neloura.settings import Settings

MAX_TEXT_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
_ID = re.compile(r"[0-9a-f]{24}")
_lock = threading.Lock()


class RegionLinkNotFound(NotFound):
    pass


def _folder(settings: Settings) -> Path:
    return settings.cache_dir / "region-links"


def save(settings: Settings, text: str) -> str:
    """Store ``text`` (idempotent) and return its id."""
    data = text.encode("utf-8")
    if len(data) > MAX_TEXT_BYTES:
        raise PayloadTooLarge(f"region text over {MAX_TEXT_BYTES // (1024 * 1024)} MB")
    link = hashlib.sha256(data).hexdigest()[:24]
    folder = _folder(settings)
    target = folder / f"{link}.reg"
    with _lock:
        if target.exists():
            return link
        folder.mkdir(parents=True, exist_ok=True)
        used = sum(p.stat().st_size for p in folder.glob("*.reg"))
        if used + len(data) > MAX_TOTAL_BYTES:
            raise PayloadTooLarge("the saved region sets fill their quota; export a .reg file instead")
        part = folder / f".{link}.{os.getpid()}.part"
        part.write_bytes(data)
        part.replace(target)
    return link


def load(settings: Settings, link: str) -> str:
    """The text saved under ``link`` (422 for a malformed id, 404 for an unknown one)."""
    if not _ID.fullmatch(link):
        raise InvalidParameter("a region link id is 24 hexadecimal digits")
    path = _folder(settings) / f"{link}.reg"
    if not path.is_file():
        raise RegionLinkNotFound(f"no saved regions {link}")
    return path.read_text("utf-8")
