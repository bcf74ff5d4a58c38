"""CatalogStore: catalogs converted once into a columnar cache, kept hot in memory, queried by DuckDB.

Names are relative to ``settings.catalogs_dir`` (uploads live under ``uploads/``). The first
open of a file converts it (:mod:`neloura.runtime.catalog_cache`) in a background thread that
publishes ``catalog.progress`` events; later opens memory-map the cache file. Tables stay in
memory as Arrow in a memory-bounded LRU; DuckDB scans them in place (one connection per
thread, :mod:`neloura.runtime.catalog_duckdb`). Every in-memory table carries a hidden
``__row`` column: the 0-based row index in file order, used by :meth:`select`, :meth:`rows`
and the overlay.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

from neloura.core.catalog_formats import FITS_SUFFIXES, fits_table_hdus
from neloura.core.catalogs import ColumnInfo, sniff_format, to_degrees
from neloura.core.paths import confine_file, relative_to_root, stays_inside
from neloura.errors import CatalogNotFound, InvalidParameter, UnsupportedFormat
from neloura.runtime.bounded import BoundedRunner
from neloura.runtime.catalog_cache import Catalog, CatalogCache, cache_key, cache_prefix
from neloura.runtime.catalog_duckdb import DuckQueries
from neloura.runtime.catalog_queries import ROW, Query, build_query, rows_to_json
from neloura.runtime.events import EventBus
from neloura.runtime.memory import MemoryBudget
from neloura.settings import Settings

log = logging.getLogger("neloura")

_HDU_SUFFIX = re.compile(r"^(.+)\[(\d{1,4})\]$")
SUFFIXES = (
    ".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".vot", ".votable", ".xml", ".xml.gz", ".csv", ".csv.gz",
    ".tsv", ".tab", ".tsv.gz", ".ecsv", ".parquet", ".pq", ".txt", ".dat",
)  # fmt: skip


class CatalogStore:
    """Catalogs of ``settings.catalogs_dir``: conversion, cache, metadata and queries."""

    def __init__(
        self,
        settings: Settings,
        events: EventBus | None = None,
        *,
        memory_mb: int = 4096,
        runner: BoundedRunner | None = None,
        budget: MemoryBudget | None = None,
    ) -> None:
        self.settings = settings
        self.runner = runner  # FITS header reads (table HDUs) in a bounded worker when given
        self._table_hdus: dict[tuple[Path, int, int], list[int]] = {}
        self.events = events or EventBus()
        self.memory_bytes = memory_mb * 1024 * 1024
        self.cache_dir = settings.cache_dir / "catalogs"
        self.cache = CatalogCache(self.cache_dir)
        self._hot: OrderedDict[str, Catalog] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[str, Future[Catalog]] = {}
        self._progress: dict[str, tuple[float, str]] = {}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="catalog-convert")
        self._duck = DuckQueries(settings.catalog_query_timeout_s, budget)  # queries within the memory budget
        self._hooks: list[Callable[[str, bool], None]] = []

    # -- names and files -----------------------------------------------------------------
    @property
    def uploads_dir(self) -> Path:
        return self.settings.catalogs_dir / "uploads"

    def resolve(self, name: str) -> Path:
        """The absolute path of catalog ``name`` (403 outside catalogs/, 404 when missing).

        ``name`` may end with a FITS HDU number in CFITSIO's way, ``tables.fits[2]``.
        """
        if not name:
            raise InvalidParameter("name: a catalog name is required")
        relative, _ = split_hdu(name)
        return confine_file(self.settings.catalogs_dir, relative, CatalogNotFound, "catalog")

    def list_catalogs(self) -> list[dict[str, Any]]:
        """Every catalog file under catalogs/ (uploads included) with size, format and state."""
        root = self.settings.catalogs_dir
        out: list[dict[str, Any]] = []
        if not root.is_dir():
            return out
        root = root.resolve()
        for path in sorted(root.rglob("*")):
            if not stays_inside(root, path):  # a symlink leading out of catalogs/ is never listed
                continue
            if not path.is_file() or not path.name.lower().endswith(SUFFIXES) or path.name.startswith("."):
                continue
            if path.name.lower() == "readme.txt":
                continue
            name = relative_to_root(root, path)
            try:
                fmt = sniff_format(path)
            except (UnsupportedFormat, OSError):
                continue
            stat = path.stat()
            out.append({"name": name, "size": stat.st_size, "format": fmt, "mtime": stat.st_mtime,
                        "state": self.state(name)["state"]})  # fmt: skip
        return out

    def _tables(self, path: Path, stat: os.stat_result) -> list[int]:
        """The table HDUs of a FITS catalog file (cached per file version; headers only)."""
        key = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            known = self._table_hdus.get(key)
        if known is None:
            if self.runner is not None:
                known = self.runner.run(fits_table_hdus, path, what=f"reading {path.name}")
            else:
                known = fits_table_hdus(path)
            with self._lock:
                self._table_hdus[key] = known
                while len(self._table_hdus) > 1024:
                    self._table_hdus.pop(next(iter(self._table_hdus)))
        return known

    def _hdu_of(self, name: str, path: Path, stat: os.stat_result) -> int | None:
        """The real table HDU ``name`` reads: ``[N]`` only for FITS files and only for a table
        HDU that exists (422 otherwise); a FITS file without ``[N]`` reads its first table, so
        ``t.fits`` and ``t.fits[1]`` share one cache. None for other formats. A FITS HDU that is
        not a table: 415, as the reader would say."""
        relative, hdu = split_hdu(name)
        if not relative.lower().endswith(FITS_SUFFIXES):
            if hdu is not None:
                raise InvalidParameter(f"{name}: [N] selects a table HDU of a FITS file; {relative} is not FITS")
            return None
        tables = self._tables(path, stat)
        if hdu is None:
            return tables[0] if tables else None
        if hdu not in tables:
            where = f"its tables are HDUs {tables}" if tables else "it holds no table HDU"
            raise UnsupportedFormat(f"{name}: HDU {hdu} of {relative} is not a table ({where})")
        return hdu

    def _keys(self, name: str) -> tuple[Path, str, str, int | None]:
        """The file of ``name``, its path key (file and real HDU), its cache key (path key +
        version) and the real table HDU (None for non-FITS formats)."""
        path = self.resolve(name)
        stat = path.stat()
        hdu = self._hdu_of(name, path, stat)
        prefix = cache_prefix(str(path) if hdu is None else f"{path}[{hdu}]")
        return path, prefix, cache_key(prefix, stat.st_size, stat.st_mtime_ns), hdu

    # -- opening ---------------------------------------------------------------------------
    def state(self, name: str) -> dict[str, Any]:
        """``{"state": "ready"|"converting"|"cached"|"new", "fraction", "message"}``, never blocking."""
        _, _, key, _ = self._keys(name)
        with self._lock:
            if key in self._pending:  # converting, or in memory and being indexed
                fraction, message = self._progress.get(key, (0.0, "queued"))
                return {"state": "converting", "fraction": fraction, "message": message}
            if key in self._hot:
                return {"state": "ready", "fraction": 1.0, "message": "", "rows": self._hot[key].num_rows}
        cached = self.cache.has(key)
        return {"state": "cached" if cached else "new", "fraction": 1.0 if cached else 0.0, "message": ""}

    def start(self, name: str) -> dict[str, Any]:
        """Start opening ``name`` in the background; return its state at once."""
        self._future(name)
        return self.state(name)

    def open(self, name: str) -> Catalog:
        """The catalog, converted (in the conversion thread) and loaded if needed; waits for it."""
        return self._future(name).result()

    def _future(self, name: str) -> Future[Catalog]:
        path, path_key, key, hdu = self._keys(name)
        with self._lock:
            hot = self._hot.get(key)
            if hot is not None:
                self._hot.move_to_end(key)
                done: Future[Catalog] = Future()
                done.set_result(hot)
                return done
            pending = self._pending.get(key)
            if pending is not None:
                return pending
            future = self._pool.submit(self._load, name, path, path_key, key, hdu)
            self._pending[key] = future
            self._progress[key] = (0.0, "queued")
        return future

    def on_loaded(self, hook: Callable[[str, bool], None]) -> None:
        """Call ``hook(name, converted)`` in the loading thread once a catalog is in memory, before
        ``catalog.ready`` is published (``converted``: this load built the cache). The sky index
        uses it so that the first cone search does not pay for the KD-tree. A hook's error is
        logged, never fails the load."""
        self._hooks.append(hook)

    def _load(self, name: str, path: Path, path_key: str, key: str, hdu: int | None) -> Catalog:
        try:
            try:
                catalog, converted = self._load_or_convert(name, path, path_key, key, hdu)
            except Exception as exc:
                self.events.publish({"type": "catalog.error", "name": name, "detail": str(exc)})
                raise
            with self._lock:  # hot first: the hooks (and any caller) open it without waiting
                self._hot[key] = catalog
                self._evict()
                self._progress[key] = (1.0, "indexing")
            for hook in self._hooks:
                try:
                    hook(name, converted)
                except Exception:  # a hook must never fail the load
                    log.exception("catalog hook failed for %s", name)
        finally:  # until here state() says "converting"
            with self._lock:
                self._pending.pop(key, None)
                self._progress.pop(key, None)
        self.events.publish({"type": "catalog.ready", "name": name, "rows": catalog.num_rows})
        return catalog

    def _load_or_convert(self, name: str, path: Path, path_key: str, key: str, hdu: int | None) -> tuple[Catalog, bool]:
        cached = self.cache.load(name, path, key)
        if cached is not None:
            return cached, False

        def progress(fraction: float, message: str) -> None:
            with self._lock:
                self._progress[key] = (fraction, message)
            self.events.publish({"type": "catalog.progress", "name": name, "fraction": round(fraction, 3),
                                 "message": message})  # fmt: skip

        return self.cache.convert(name, path, (path_key, key), hdu, progress), True

    def flush(self) -> None:
        """Wait until every pending cache file is written."""
        self.cache.flush()

    def _evict(self) -> None:
        total = sum(c.table.nbytes for c in self._hot.values())
        while len(self._hot) > 1 and total > self.memory_bytes:
            _, oldest = self._hot.popitem(last=False)
            total -= oldest.table.nbytes

    def save_upload(self, stream: BinaryIO, filename: str) -> dict[str, Any]:
        """Keep an uploaded catalog under uploads/ (see :func:`save_catalog_upload`)."""
        from neloura.runtime.catalog_uploads import save_catalog_upload

        return save_catalog_upload(self, stream, filename)

    def forget(self, path: Path) -> None:
        """Drop the caches (memory and disk) of the file at ``path``, every table HDU of it."""
        with self._lock:
            hdus = {i for (p, _, _), tables in self._table_hdus.items() if p == path for i in tables}
        for prefix in [cache_prefix(str(path)), *(cache_prefix(f"{path}[{i}]") for i in sorted(hdus))]:
            with self._lock:
                for key in [k for k in self._hot if k.startswith(prefix)]:
                    del self._hot[key]
            self.cache.forget(prefix)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.cache.close()
        with self._lock:
            self._hot.clear()
        self._duck.close()

    # -- the agreed interface ------------------------------------------------------------------
    def table(self, name: str) -> pa.Table:
        """The converted table (without the hidden row-index column)."""
        catalog = self.open(name)
        return catalog.table.drop_columns([ROW])

    def columns(self, name: str) -> list[ColumnInfo]:
        return list(self.open(name).infos)

    def radec_columns(self, name: str) -> tuple[str | None, str | None]:
        return self.open(name).radec_cols

    def radec(self, name: str, ra_col: str | None = None, dec_col: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """RA and Dec in float64 degrees (NaN where missing), from the detected or the given columns."""
        catalog = self.open(name)
        ra = ra_col or catalog.radec_cols[0]
        dec = dec_col or catalog.radec_cols[1]
        if not ra or not dec:
            raise InvalidParameter(f"{name}: no RA/Dec columns found; give ra_col and dec_col")
        infos = {c.name: c for c in catalog.infos}
        for label, col in (("ra_col", ra), ("dec_col", dec)):
            if col not in infos or infos[col].kind not in ("num", "str"):
                raise InvalidParameter(f"{label}: {col!r} is not a numeric or text column of {name}")
        cached = catalog.radec_cache.get((ra, dec))
        if cached is None:
            ra_deg = to_degrees(catalog.table.column(ra), unit=infos[ra].unit, is_ra=True)
            dec_deg = to_degrees(catalog.table.column(dec), unit=infos[dec].unit, is_ra=False)
            cached = (ra_deg, dec_deg)
            catalog.radec_cache[(ra, dec)] = cached
        return cached

    def select(self, name: str, filter: str | None = None, computed: Sequence[str] | None = None) -> np.ndarray:
        """0-based row indices (int64, file order) of the rows matching ``filter`` (which may
        name ``computed`` columns)."""
        catalog = self.open(name)
        return self._select(catalog, build_query(catalog.kinds, filter=filter, columns=[], computed=computed))

    def _select(self, catalog: Catalog, query: Query) -> np.ndarray:
        if query.where == "TRUE":
            return np.arange(catalog.num_rows, dtype=np.int64)
        # no ORDER BY: DuckDB keeps insertion order for a filtered scan; sorted below if ever not
        sql = query.sql(ROW, f"WHERE {query.where}")
        result = self._run(catalog, sql, query.params)
        rows = result.column(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        if rows.size > 1 and not bool(np.all(rows[1:] > rows[:-1])):
            rows = np.sort(rows)
        return rows

    def rows(
        self,
        name: str,
        filter: str | None = None,
        sort: str | None = None,
        columns: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 100,
        computed: Sequence[str] | None = None,
        around: int | None = None,
    ) -> dict[str, Any]:
        """A page of rows: ``{"total", "columns", "rows", "index", "offset", "limit"}``.

        ``index`` holds the 0-based file-order row index of each row. With ``around`` (a row
        index), the page is the one holding that row under the filter and sort, if it matches.
        """
        if offset < 0 or not 0 <= limit <= 100_000:
            raise InvalidParameter("offset must be >= 0 and limit between 0 and 100000")
        catalog = self.open(name)
        query = build_query(catalog.kinds, filter=filter, sort=sort, columns=columns, computed=computed)
        # whitelisted identifiers, values bound as parameters
        head = query.sql(f"{ROW}, {query.select}", f"WHERE {query.where} ")
        if sort and sort.strip():
            source = catalog.table
            if query.where == "TRUE":
                total = catalog.num_rows
            else:  # sort only the matching rows when they are few (one fast filtered scan first)
                matching = self._select(catalog, query)
                total = int(matching.size)
                if total <= catalog.num_rows // 4:
                    source = catalog.table.take(pa.array(matching))
            if around is not None and limit > 0:
                rank = self._rank(source, query, around)
                offset = offset if rank is None else rank // limit * limit
            sql = f"{head} ORDER BY {query.order} LIMIT {int(limit)} OFFSET {int(offset)}"
            page = self.arrow_query(source, sql, query.params)
        else:  # file order: one filtered scan for the indices, then the page from those rows only
            matching = self._select(catalog, query)
            total = int(matching.size)
            if around is not None and limit > 0:
                at = int(np.searchsorted(matching, around))
                offset = at // limit * limit if at < total and matching[at] == around else offset
            subset = catalog.table.take(pa.array(matching[offset : offset + limit]))
            page = self.arrow_query(subset, f"{head} ORDER BY {ROW}", query.params)
        index = page.column(0).to_pylist()
        return {
            "total": total,
            "columns": query.names,
            "rows": rows_to_json(page.drop_columns([ROW])),
            "index": index,
            "offset": offset,
            "limit": limit,
        }

    def _rank(self, table: pa.Table, query: Query, row: int) -> int | None:
        """Position of file row ``row`` among the filtered, sorted rows; None when filtered out."""
        ranked = f"SELECT {ROW}, row_number() OVER (ORDER BY {query.order}) - 1 AS rank FROM {query.source}"  # noqa: S608
        sql = f"{query.with_}SELECT rank FROM ({ranked} WHERE {query.where}) WHERE {ROW} = $around_row"  # noqa: S608
        result = self.arrow_query(table, sql, {**query.params, "around_row": int(row)})
        return int(result.column(0)[0].as_py()) if result.num_rows else None

    # -- DuckDB ---------------------------------------------------------------------------------
    def _run(self, catalog: Catalog, sql: str, params: dict[str, Any]) -> pa.Table:
        return self._duck.query(catalog.table, sql, params)

    def arrow_query(self, table: pa.Table, sql: str, params: dict[str, Any]) -> pa.Table:
        """Run ``sql`` (which names the table ``cat``) over ``table`` within the query deadline."""
        return self._duck.query(table, sql, params)

    def reader(self, name: str, sql: str, params: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        """Stream ``sql`` over catalog ``name`` as record batches (for exports)."""
        return self._duck.stream(self.open(name).table, sql, params)


def split_hdu(name: str) -> tuple[str, int | None]:
    """``"a/b.fits[2]"`` -> ``("a/b.fits", 2)``; other names -> ``(name, None)``."""
    match = _HDU_SUFFIX.match(name)
    return (match.group(1), int(match.group(2))) if match else (name, None)
