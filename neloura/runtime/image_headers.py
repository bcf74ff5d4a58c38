"""Header cards of an image HDU, read in the bounded parse worker (or in the server for a small
file), and paged and searched there: the server process never holds or unpickles a huge header.

The functions here run in :class:`~neloura.runtime.bounded.BoundedRunner` workers (they are
pickled by reference: keep them module-level).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from neloura.core.fitsio import HeaderCard, header_cards

FileKey = tuple[Path, int, int]  # path, mtime_ns, size
HEADERS_KEPT = 8


def header_rows(path: Path, hdu: int) -> list[tuple[str, object, str]]:
    """Header cards as plain tuples (pickled back from the worker several times faster)."""
    return [(c.key, c.value, c.comment) for c in header_cards(path, hdu)]


# Runs in the bounded worker: each worker keeps the last headers it parsed, so paging through a
# 100,000-card header parses it once and sends back only the page (the server process never
# holds or unpickles the whole header).
_WORKER_HEADERS: OrderedDict[tuple[FileKey, int], list[HeaderCard]] = OrderedDict()


def header_page(key: FileKey, hdu: int, offset: int, limit: int | None, q: str) -> dict[str, object]:
    """``{"count", "total", "rows": [(index, key, value, comment)]}``: the cards of HDU ``hdu`` of
    file version ``key`` matching ``q`` (case-insensitive, key, value or comment) from ``offset``,
    at most ``limit``; the parsed header is kept for the next page."""
    cache_key = (key, hdu)
    cards = _WORKER_HEADERS.get(cache_key)
    if cards is None:
        cards = header_cards(key[0], hdu)
        _WORKER_HEADERS[cache_key] = cards
        while len(_WORKER_HEADERS) > HEADERS_KEPT:
            _WORKER_HEADERS.popitem(last=False)
    needle = q.strip().lower()
    if needle:
        matches = [i for i, c in enumerate(cards) if needle in f"{c.key}\0{c.value}\0{c.comment}".lower()]
    else:
        matches = range(len(cards))  # type: ignore[assignment]
    end = len(matches) if limit is None else min(len(matches), offset + limit)
    rows = [(i, cards[i].key, cards[i].value, cards[i].comment) for i in matches[offset:end]]
    return {"count": len(cards), "total": len(matches), "rows": rows}
