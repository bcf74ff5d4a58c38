"""Catalog conversion and its on-disk columnar cache.

The first open of a catalog file reads it (``neloura.core.catalogs.read_catalog``), computes
column metadata and the RA/Dec columns, and hands the table back at once; the cache file
``cache_dir/catalogs/<path-key>-<version-key>.arrow`` (plus a ``.json`` sidecar with the
metadata) is written meanwhile by one background writer, for the next open or server start.
The version key hashes size and mtime, so a changed file is rebuilt. The cache is an
uncompressed Arrow IPC file rather than Parquet: reopening 10M rows x 12 columns maps it in
milliseconds with one chunk per column (zero copy), where Parquet must decode and re-chunk
(0.3-1 s measured; see benchmarks/README.md).

Every :class:`Catalog` table carries a hidden ``__row`` column, last: the 0-based row index in
file order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from neloura.core.catalogs import ColumnInfo, column_infos, detect_table_radec, read_catalog
from neloura.runtime.catalog_queries import ROW
from neloura.runtime.disk_cache import source_stamp, touch
from neloura.runtime.file_lock import exclusive, private_name

log = logging.getLogger("neloura.catalogs")

CACHE_VERSION = "2"


@dataclass
class Catalog:
    """One converted catalog held in memory."""

    name: str
    path: Path
    key: str
    fmt: str
    table: pa.Table  # with the hidden __row column last
    infos: list[ColumnInfo]
    radec_cols: tuple[str | None, str | None]
    radec_cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def kinds(self) -> dict[str, str]:
        return {c.name: c.kind for c in self.infos}


class CatalogCache:
    """Converted catalogs as Arrow IPC files under ``cache_dir``, written in the background."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-cache")
        self._writes: list[Future[None]] = []

    def has(self, key: str) -> bool:
        return (self.cache_dir / f"{key}.arrow").exists()

    def load(self, name: str, path: Path, key: str) -> Catalog | None:
        """The cached catalog of cache key ``key`` (memory-mapped, zero copy); None when absent or unreadable."""
        cache = self.cache_dir / f"{key}.arrow"
        sidecar = self.cache_dir / f"{key}.json"
        if not (cache.exists() and sidecar.exists()):
            return None
        try:
            meta = json.loads(sidecar.read_text())
            touch(sidecar)  # recently used: the disk budget prunes others first
            table = pa.ipc.open_file(pa.memory_map(str(cache))).read_all()  # zero copy
            infos = [ColumnInfo(**info) for info in meta["infos"]]
            ra, dec = meta.get("radec", [None, None])
            return Catalog(name, path, key, meta["format"], with_rows(table), infos, (ra, dec))
        except (OSError, ValueError, KeyError, pa.ArrowException):
            log.warning("rebuilding unreadable cache for %s", name)
            return None

    def convert(
        self,
        name: str,
        path: Path,
        keys: tuple[str, str],
        hdu: int | None,
        progress: Callable[[float, str], None],
    ) -> Catalog:
        """Read the catalog file, and queue its cache file; ``keys`` = (path key, cache key).

        Under a lock on the cache key until the cache file is written: another server worker
        converting the same file makes this one wait, then load its cache file instead."""
        key = keys[1]
        held = contextlib.ExitStack()
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            held.enter_context(exclusive(self.cache_dir / f".{key}.lock"))
        except OSError as exc:  # a read-only cache: convert without it
            log.warning("no conversion lock for %s: %s", name, exc)
        cached = self.load(name, path, key)  # written by another worker while this one waited
        if cached is not None:
            held.close()
            return cached
        try:
            return self._convert(name, path, keys, hdu, progress, held)
        except BaseException:
            held.close()
            raise

    def _convert(
        self,
        name: str,
        path: Path,
        keys: tuple[str, str],
        hdu: int | None,
        progress: Callable[[float, str], None],
        held: contextlib.ExitStack,
    ) -> Catalog:
        path_key, key = keys
        progress(0.0, "converting")
        table, fmt = read_catalog(path, hdu=hdu, progress=progress)
        progress(0.9, "column statistics")
        infos = column_infos(table)
        radec = detect_table_radec(infos)
        meta = {
            "format": fmt,
            "source": str(path),
            "stamp": source_stamp(path),  # the file version: the pruner drops the entry once it changes
            "infos": [i.to_dict() for i in infos],
            "radec": list(radec),
        }
        # the table is usable now: the cache file is written meanwhile, for the next server start
        table = single_chunks(table)
        self._writes.append(self._writer.submit(self._write_then_release, path_key, key, table, meta, held))
        progress(1.0, "done")
        return Catalog(name, path, key, fmt, with_rows(table), infos, radec)

    def flush(self) -> None:
        """Wait until every pending cache file is written."""
        while self._writes:
            self._writes.pop().result()

    def _write_then_release(
        self, path_key: str, key: str, table: pa.Table, meta: dict[str, Any], held: contextlib.ExitStack
    ) -> None:
        with held:  # the conversion lock is released once the cache file is in place (or failed)
            self._write(path_key, key, table, meta)

    def _write(self, path_key: str, key: str, table: pa.Table, meta: dict[str, Any]) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        for old in self.cache_dir.glob(f"{path_key}-*"):  # an older version of the same file
            if not old.name.startswith(key):
                old.unlink(missing_ok=True)
        tmp = self.cache_dir / private_name(f".{key}", ".tmp")  # another server worker may write the same key
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)  # one record batch per chunk: one chunk per column when mapped back
        # before the data file (a reader needs both), whole or not at all
        sidecar = self.cache_dir / private_name(f".{key}", ".tmp")
        sidecar.write_text(json.dumps(meta))
        os.replace(sidecar, self.cache_dir / f"{key}.json")
        os.replace(tmp, self.cache_dir / f"{key}.arrow")

    def forget(self, path_key: str) -> None:
        """Delete every cache file of one catalog file (all versions)."""
        for old in self.cache_dir.glob(f"{path_key}-*"):
            old.unlink(missing_ok=True)

    def close(self) -> None:
        self._writer.shutdown(wait=True)  # a half-written cache is never renamed into place anyway


def cache_prefix(where: str) -> str:
    """Cache-file prefix of one catalog file (or one HDU of it)."""
    return hashlib.sha256(where.encode()).hexdigest()[:16]


def cache_key(prefix: str, size: int, mtime_ns: int) -> str:
    """Cache key of one version of a catalog file: its prefix and a hash of size and mtime."""
    version = f"{size}:{mtime_ns}:{CACHE_VERSION}"
    return f"{prefix}-{hashlib.sha256(version.encode()).hexdigest()[:12]}"


def single_chunks(table: pa.Table) -> pa.Table:
    """One chunk per column: Arrow's take() on chunked columns concatenates them on every call."""
    if any(column.num_chunks > 1 for column in table.columns):
        return table.combine_chunks()
    return table


def with_rows(table: pa.Table) -> pa.Table:
    """The table with the hidden ``__row`` column (0-based file-order index) last."""
    if ROW in table.column_names:
        table = table.drop_columns([ROW])
    table = single_chunks(table)
    return table.append_column(ROW, pa.array(np.arange(table.num_rows, dtype=np.int64)))
