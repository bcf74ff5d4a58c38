"""DuckDB over in-memory Arrow tables: one connection per thread, every query under a deadline.

A query names its table ``cat`` (registered for the query only) and binds exactly the
parameters it uses (:func:`neloura.runtime.catalog_queries.bound_params`). A query running past
``NELOURA_CATALOG_QUERY_TIMEOUT_S`` is interrupted by a watchdog thread and answers 422
(:class:`~neloura.errors.DeadlineExceeded`); DuckDB errors become 422s naming the first line.

Memory: with a server budget (``NELOURA_MEMORY_MB``), each connection gets a DuckDB
``memory_limit`` of an eighth of the caches' share (at least 64 MB or half the share; no spilling), and a
query holds that much of the budget (:meth:`~neloura.runtime.memory.MemoryBudget.reserve`: caches
evicted first, 507 when even that cannot make room) while it runs. A query that needs more than
its limit is stopped by DuckDB and answers 507 too, naming the limit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa

from neloura.errors import DeadlineExceeded, InvalidParameter, MemoryBudgetExceeded
from neloura.runtime.catalog_queries import bound_params
from neloura.runtime.memory import MB, MemoryBudget
from neloura.runtime.watchdog import Watchdog

QUERY_MIN_BYTES = 64 * MB


def query_memory_bytes(budget: MemoryBudget) -> int:
    """DuckDB's ``memory_limit`` for one connection under ``budget`` (0: DuckDB's default)."""
    share = budget.cache_budget
    return max(min(QUERY_MIN_BYTES, share // 2), share // 8) if budget.budget else 0


class DuckQueries:
    """Per-thread DuckDB connections with a query deadline of ``query_timeout_s`` seconds, each
    query within its share of ``budget`` (see the module doc)."""

    def __init__(self, query_timeout_s: float, budget: MemoryBudget | None = None) -> None:
        self.query_timeout_s = query_timeout_s
        self.budget = budget or MemoryBudget(0)
        self.memory_bytes = query_memory_bytes(self.budget)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[duckdb.DuckDBPyConnection] = []
        self._watchdog = Watchdog("catalog-query-deadline")

    def connection(self) -> duckdb.DuckDBPyConnection:
        """This thread's DuckDB connection (in memory; tables are registered per query)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect(max(1, min(4, os.cpu_count() or 1)))
            self._local.con = con
            with self._lock:
                self._connections.append(con)
        return con

    def _connect(self, threads: int) -> duckdb.DuckDBPyConnection:
        config: dict[str, Any] = {"threads": threads}
        if self.memory_bytes:
            config.update(memory_limit=f"{self.memory_bytes // MB}MB", temp_directory="")
        return duckdb.connect(config=config)

    def query(self, table: pa.Table, sql: str, params: dict[str, Any]) -> pa.Table:
        """Run ``sql`` (which names the table ``cat``) over ``table``, with exactly the parameters
        it uses, stopped after ``NELOURA_CATALOG_QUERY_TIMEOUT_S`` (422); errors become 422s,
        a query past its memory (see the module doc) 507."""
        con = self.connection()
        con.register("cat", table)
        try:
            with (
                self.budget.reserve(self.memory_bytes, "a catalog query"),
                self._watchdog.guard(con.interrupt, self.query_timeout_s) as guard,
            ):
                try:
                    return con.sql(sql, params=bound_params(sql, params) or None).to_arrow_table()
                except duckdb.Error as exc:
                    raise self._query_error(exc, guard.fired) from None
        finally:
            con.unregister("cat")

    def _query_error(self, exc: Exception, fired: bool) -> Exception:
        if fired or isinstance(exc, duckdb.InterruptException):
            return DeadlineExceeded(
                f"the catalog query took longer than {self.query_timeout_s:g} s and was stopped "
                "(NELOURA_CATALOG_QUERY_TIMEOUT_S)"
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            return MemoryBudgetExceeded(
                f"the catalog query needs more than the {self.memory_bytes // MB:,} MB a query may use "
                "(its share of this server's memory budget, NELOURA_MEMORY_MB): filter first, or "
                "sort, group or join fewer rows"
            )
        return InvalidParameter(f"the query could not be evaluated: {_first_line(exc)}")

    def stream(self, table: pa.Table, sql: str, params: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        """Stream ``sql`` (which names the table ``cat``, e.g. from :meth:`Query.sql`) as record
        batches (for exports); each batch is produced within the query deadline."""
        with self.budget.reserve(self.memory_bytes, "a catalog export"):
            yield from self._stream(table, sql, params)

    def _stream(self, table: pa.Table, sql: str, params: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        con = self._connect(2)  # its own connection: the stream outlives the request thread
        con.register("cat", table)
        try:
            with self._watchdog.guard(con.interrupt, self.query_timeout_s) as guard:
                try:
                    stream = con.sql(sql, params=bound_params(sql, params) or None).to_arrow_reader(65_536)
                except duckdb.Error as exc:
                    raise self._query_error(exc, guard.fired) from None
            while True:
                with self._watchdog.guard(con.interrupt, self.query_timeout_s) as guard:
                    try:
                        batch = stream.read_next_batch()
                    except StopIteration:
                        return
                    except (duckdb.Error, pa.ArrowException) as exc:
                        raise self._query_error(exc, guard.fired) from None
                yield batch
        finally:
            con.close()

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for con in connections:  # close them here: DuckDB aborts when torn down at interpreter exit
            con.close()


def _first_line(exc: Exception) -> str:
    """DuckDB's message without the generated SQL it quotes below."""
    return (str(exc).strip().splitlines() or ["error"])[0]
