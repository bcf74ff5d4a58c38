"""Sky indexes (KD-trees) built once per catalog and kept, plus recent cross-match results.

Indexes are keyed by the catalog file (resolved path, size, mtime) and the RA/Dec columns used,
so a changed file or another column choice builds a new one. Builds run on a small thread pool
(``sky-index``), one build per key at a time however many requests ask for it; callers are route
handlers already running in FastAPI's threadpool, never on the event loop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from neloura.core.crossmatch import MatchMode, MatchResult, SkyIndex, crossmatch
from neloura.errors import InvalidParameter

CatalogKey = tuple[str, int, int, str, str]


class CatalogSource(Protocol):
    """The part of the catalog store (``services.catalogs``) the spatial side uses."""

    def resolve(self, name: str) -> Path: ...

    def radec_columns(self, name: str) -> tuple[str | None, str | None]: ...

    def radec(
        self, name: str, ra_col: str | None = None, dec_col: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def select(self, name: str, filter: str | None = None, computed: Sequence[str] | None = None) -> np.ndarray: ...

    def table(self, name: str) -> Any: ...


class SkyIndexCache:
    """KD-tree indexes of catalogs, LRU-bounded by memory."""

    def __init__(self, catalogs: CatalogSource, *, max_bytes: int = 2 << 30, workers: int = 1) -> None:
        self.catalogs = catalogs
        self._max_bytes = max_bytes
        self._indexes: OrderedDict[CatalogKey, SkyIndex] = OrderedDict()
        self._building: dict[CatalogKey, Future[SkyIndex]] = {}
        self._matches: OrderedDict[tuple[Any, ...], MatchResult] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sky-index")

    def columns(self, name: str, ra_col: str | None, dec_col: str | None) -> tuple[str, str]:
        """The RA/Dec columns to use: the given ones, else the detected ones (422 when none)."""
        if not ra_col or not dec_col:
            found_ra, found_dec = self.catalogs.radec_columns(name)
            ra_col, dec_col = ra_col or found_ra, dec_col or found_dec
        if not ra_col or not dec_col:
            raise InvalidParameter(f"no RA/Dec columns detected in {name}: pass ra_col and dec_col")
        return ra_col, dec_col

    def key(self, name: str, ra_col: str | None = None, dec_col: str | None = None) -> CatalogKey:
        path = self.catalogs.resolve(name)
        stat = path.stat()
        ra, dec = self.columns(name, ra_col, dec_col)
        return (str(path), int(stat.st_size), int(stat.st_mtime_ns), ra, dec)

    def cached(self, name: str, ra_col: str | None = None, dec_col: str | None = None) -> SkyIndex | None:
        """The index when it is already built (never builds)."""
        key = self.key(name, ra_col, dec_col)
        with self._lock:
            index = self._indexes.get(key)
            if index is not None:
                self._indexes.move_to_end(key)
            return index

    def build_later(self, name: str, ra_col: str | None = None, dec_col: str | None = None) -> Future[SkyIndex]:
        """Start building the index in the background (or return the build under way)."""
        key = self.key(name, ra_col, dec_col)
        with self._lock:
            if key in self._indexes:
                done: Future[SkyIndex] = Future()
                done.set_result(self._indexes[key])
                return done
            future = self._building.get(key)
            if future is None:
                future = self._pool.submit(self._build, key, name)
                self._building[key] = future
            return future

    def prepare(self, name: str, converted: bool) -> None:
        """Index a just-loaded catalog on its detected RA/Dec columns (none detected: nothing).

        After a conversion the build runs here, in the conversion thread, before the catalog is
        announced ready, so the first cone search answers from the index; a reopen of a cached
        catalog (milliseconds) only starts the build in the background."""
        ra_col, dec_col = self.catalogs.radec_columns(name)
        if not ra_col or not dec_col:
            return
        future = self.build_later(name, ra_col, dec_col)
        if converted:
            future.result()

    def get(self, name: str, ra_col: str | None = None, dec_col: str | None = None) -> SkyIndex:
        """The index of a catalog, building it (on the index pool) when needed. Blocking."""
        return self.build_later(name, ra_col, dec_col).result()

    def _build(self, key: CatalogKey, name: str) -> SkyIndex:
        try:
            ra, dec = self.catalogs.radec(name, key[3], key[4])
            index = SkyIndex(ra, dec)
            with self._lock:
                self._indexes[key] = index
                self._evict()
            return index
        finally:
            with self._lock:
                self._building.pop(key, None)

    def _evict(self) -> None:
        while len(self._indexes) > 1 and sum(i.nbytes for i in self._indexes.values()) > self._max_bytes:
            self._indexes.popitem(last=False)

    def match(
        self,
        a: tuple[str, str | None, str | None],
        b: tuple[str, str | None, str | None],
        radius_arcsec: float,
        mode: MatchMode,
    ) -> MatchResult:
        """Cross-match catalog ``a`` against ``b`` (``(name, ra_col, dec_col)`` each); the last
        few results are kept so that paging through pairs does not match again."""
        key = (self.key(*a), self.key(*b), float(radius_arcsec), mode)
        with self._lock:
            result = self._matches.get(key)
            if result is not None:
                self._matches.move_to_end(key)
                return result
        index_a = self.build_later(*a)
        index_b = self.build_later(*b)
        result = crossmatch(index_a.result(), index_b.result(), radius_arcsec, mode)
        with self._lock:
            self._matches[key] = result
            while len(self._matches) > 8:
                self._matches.popitem(last=False)
        return result

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._indexes.clear()
            self._matches.clear()


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def table_rows(table: Any, rows: np.ndarray, columns: list[str] | None = None) -> tuple[list[str], list[list[Any]]]:
    """JSON-ready values of ``rows`` (0-based file order) of a pyarrow table: (columns, rows).

    NaN and missing values become None; unknown columns are a 422 naming the valid ones.
    """
    names = list(table.column_names)
    wanted = columns or names
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise InvalidParameter(f"unknown column(s) {', '.join(unknown)}; columns: {', '.join(names)}")
    taken = table.select(wanted).take(np.asarray(rows, dtype=np.int64))
    values = [[_jsonable(v) for v in taken.column(c).to_pylist()] for c in wanted]
    return wanted, [list(row) for row in zip(*values, strict=True)] if values else []


def split_columns(text: str | None) -> list[str] | None:
    """``"ra,dec,flux"`` -> ``["ra", "dec", "flux"]`` (None for all columns)."""
    if text is None or not text.strip():
        return None
    return [c.strip() for c in text.split(",") if c.strip()]


def joined_names(names_a: list[str], names_b: list[str], suffixes: tuple[str, str]) -> list[str]:
    """Column names of a joined table: A's then B's, a suffix on both sides of a clash (TOPCAT's
    ``_1``/``_2`` by default), then ``separation_arcsec``."""
    clash = set(names_a) & set(names_b)
    out = [n + suffixes[0] if n in clash else n for n in names_a]
    out += [n + suffixes[1] if n in clash else n for n in names_b]
    taken = set(out)
    sep = "separation_arcsec"
    while sep in taken:
        sep += "_"
    if len(taken) != len(out):
        raise InvalidParameter(f"the suffixes {suffixes[0]!r}/{suffixes[1]!r} make column names clash; choose others")
    return [*out, sep]


def joined_table(
    table_a: Any, table_b: Any, rows_a: np.ndarray, rows_b: np.ndarray, sep: np.ndarray, suffixes: tuple[str, str]
) -> Any:
    """The joined pyarrow table: both catalogs' columns at the given rows (-1: null) and the
    separation (null where a side is missing). Column metadata (units...) is kept."""
    import pyarrow as pa

    def side(table: Any, rows: np.ndarray) -> list[Any]:
        index = pa.array(rows, type=pa.int64(), mask=rows < 0)
        return [table.column(i).take(index) for i in range(table.num_columns)]

    names = joined_names(list(table_a.column_names), list(table_b.column_names), suffixes)
    columns = [*side(table_a, rows_a), *side(table_b, rows_b), pa.array(sep, type=pa.float64(), mask=~np.isfinite(sep))]
    fields = [f.with_name(n) for f, n in zip([*table_a.schema, *table_b.schema], names, strict=False)]
    fields.append(pa.field(names[-1], pa.float64(), metadata={"unit": "arcsec"}))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))
