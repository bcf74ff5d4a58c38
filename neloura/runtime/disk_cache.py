"""Pruning of the on-disk caches under ``settings.cache_dir``: block-mean levels (``levels/``) and
converted catalogs (``catalogs/``).

Every cache entry records the source file version it was made from (a *stamp*: resolved path,
size, modification time). :func:`prune` removes entries whose source changed or vanished, builds
abandoned half-way, and then, while the caches together exceed the disk budget, the entries used
least recently (an entry's use time is refreshed by :func:`touch` when it is loaded). It only
ever deletes inside ``levels/`` and ``catalogs/`` of the cache folder, never a source file.
Memory-mapped entries may be deleted while mapped: on POSIX the mapping stays valid until closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("neloura.cache")

LEVEL_STAMP = "complete"  # written last in a levels folder: its presence means the folder is whole
ABANDONED_S = 6 * 3600.0  # a build or write without its stamp after this long was abandoned


def source_stamp(path: Path, mtime: float | None = None) -> dict[str, Any]:
    """The version of ``path`` a cache entry is made from (``mtime``: the one the entry's key used)."""
    st = path.stat()
    return {"source": str(path), "size": st.st_size, "mtime": st.st_mtime if mtime is None else mtime}


def stamp_is_current(stamp: dict[str, Any]) -> bool:
    """True when the stamp's source still exists with the same size and modification time."""
    try:
        st = Path(str(stamp["source"])).stat()
        return bool(st.st_size == int(stamp["size"]) and st.st_mtime == float(stamp["mtime"]))
    except (KeyError, TypeError, ValueError, OSError):
        return False


def touch(path: Path) -> None:
    """Mark a cache entry used now (its stamp file's modification time orders the LRU)."""
    with contextlib.suppress(OSError):
        os.utime(path)


@dataclass
class Entry:
    """One cache entry: the files or folder that make it, its size, last use, and whether its
    source is still the version it was made from (None: not finished, left alone while young)."""

    paths: tuple[Path, ...]
    nbytes: int
    used: float
    current: bool | None


def _size(path: Path) -> int:
    if path.is_dir() and not path.is_symlink():
        return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() or f.is_symlink())
    return path.lstat().st_size


def _read_stamp(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _level_entries(folder: Path) -> Iterator[Entry]:
    for entry in folder.iterdir():
        if not entry.is_dir() or entry.is_symlink():
            continue
        stamp_file = entry / LEVEL_STAMP
        if stamp_file.is_file():
            stamp = _read_stamp(stamp_file)  # an older plain-text stamp has no version: stale
            used = stamp_file.stat().st_mtime
            yield Entry((entry,), _size(entry), used, stamp is not None and stamp_is_current(stamp))
        else:
            yield Entry((entry,), _size(entry), entry.stat().st_mtime, None)


def _catalog_entries(folder: Path) -> Iterator[Entry]:
    for sidecar in folder.glob("*.json"):
        data = sidecar.with_suffix(".arrow")
        meta = _read_stamp(sidecar)
        stamp = meta.get("stamp") if meta else None
        current = isinstance(stamp, dict) and stamp_is_current(stamp)
        paths = (sidecar, data) if data.exists() else (sidecar,)
        yield Entry(paths, sum(_size(p) for p in paths), sidecar.stat().st_mtime, current)
    for tmp in folder.glob(".*.tmp"):  # a write in progress, or one a crash left behind
        yield Entry((tmp,), _size(tmp), tmp.stat().st_mtime, None)


def entries(cache_dir: Path) -> list[Entry]:
    """Every entry of the level and catalog caches under ``cache_dir``."""
    found: list[Entry] = []
    for name, lister in (("levels", _level_entries), ("catalogs", _catalog_entries)):
        folder = cache_dir / name
        if folder.is_dir() and not folder.is_symlink():
            try:
                found.extend(lister(folder))
            except OSError as exc:  # a file vanishing mid-listing: the next sweep sees the rest
                log.warning("cache listing of %s stopped: %s", folder, exc)
    return found


def _remove(entry: Entry, cache_dir: Path) -> list[Path]:
    removed = []
    root = cache_dir.resolve()
    for path in entry.paths:
        if root not in path.resolve().parents:  # never outside levels/ or catalogs/
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("cache: could not remove %s: %s", path, exc)
            continue
        removed.append(path)
    return removed


def prune(cache_dir: Path, max_bytes: int, now: float | None = None) -> list[Path]:
    """Remove stale entries, then least-recently-used ones until the caches fit ``max_bytes``.

    Returns the removed paths (each is logged). Unfinished entries younger than
    :data:`ABANDONED_S` are kept and counted.
    """
    now = time.time() if now is None else now
    kept: list[Entry] = []
    removed: list[Path] = []
    for entry in entries(cache_dir):
        abandoned = entry.current is None and now - entry.used > ABANDONED_S
        if entry.current is False or abandoned:
            removed += _remove(entry, cache_dir)
        else:
            kept.append(entry)
    total = sum(e.nbytes for e in kept)
    for entry in sorted((e for e in kept if e.current), key=lambda e: e.used):
        if total <= max_bytes:
            break
        removed += _remove(entry, cache_dir)
        total -= entry.nbytes
    for path in removed:
        log.info("cache: removed %s", path)
    return removed
