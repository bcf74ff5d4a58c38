"""Per-column statistics and histograms of a catalog selection, computed by DuckDB in one pass each."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from neloura.core.filters import quote_identifier
from neloura.errors import InvalidParameter
from neloura.runtime.catalog_queries import Query, build_query


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def column_stats(
    store: Any,
    name: str,
    column: str,
    *,
    filter: str | None = None,
    bins: int = 50,
    computed: Sequence[str] | None = None,
) -> dict[str, Any]:
    """count, nulls, min, max, mean, std, median and a histogram (numbers) or top values (text)."""
    if not 1 <= bins <= 10_000:
        raise InvalidParameter("bins must be between 1 and 10000")
    catalog = store.open(name)
    query = build_query(catalog.kinds, filter=filter, columns=[column], computed=computed)
    if query.names != [column]:  # an empty or blank name selects nothing
        raise InvalidParameter(f"column: unknown column {column!r}; valid columns: {', '.join(query.kinds)}")
    x, kind = quote_identifier(column), query.kinds[column]
    if kind == "num":
        return _numeric(store, catalog, query, x, bins, column)
    if kind in ("str", "bool"):
        return _values(store, catalog, query, x, column)
    raise InvalidParameter(f"column: {column!r} holds arrays; statistics need numbers or text")


def _numeric(store: Any, catalog: Any, query: Query, x: str, bins: int, column: str) -> Any:
    where, params = query.where, query.params
    sql = query.sql(
        f"count({x}), count(*) - count({x}), min({x}), max({x}), avg({x}), stddev_samp({x}), quantile_cont({x}, 0.5)",
        f"WHERE {where}",
    )
    row = store.arrow_query(catalog.table, sql, params).to_pylist()[0]
    count, nulls, low, high, mean, std, median = row.values()
    out: dict[str, Any] = {
        "column": column,
        "kind": "num",
        "count": int(count),
        "nulls": int(nulls),
        "min": _finite(low),
        "max": _finite(high),
        "mean": _finite(mean),
        "std": _finite(std),
        "median": _finite(median),
        "histogram": {"edges": [], "counts": []},
    }
    if count == 0 or low is None or high is None:
        return out
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return out
    if high == low:
        out["histogram"] = {"edges": [low - 0.5, low + 0.5], "counts": [int(count)]}
        return out
    width = (high - low) / bins
    hist_params = {**params, "h_lo": low, "h_w": width, "h_n": bins - 1}
    sql = query.sql(
        f"least(CAST(floor((CAST({x} AS DOUBLE) - $h_lo) / $h_w) AS BIGINT), $h_n) AS b, count(*) AS n",
        f"WHERE ({where}) AND {x} IS NOT NULL GROUP BY b",
    )
    counts = [0] * bins
    for record in store.arrow_query(catalog.table, sql, hist_params).to_pylist():
        bucket = record["b"]
        if bucket is not None and 0 <= bucket < bins:
            counts[int(bucket)] += int(record["n"])
    out["histogram"] = {"edges": [low + i * width for i in range(bins)] + [high], "counts": counts}
    return out


def _values(store: Any, catalog: Any, query: Query, x: str, column: str) -> Any:
    where, params = query.where, query.params
    sql = query.sql(f"count({x}), count(*) - count({x}), count(DISTINCT {x})", f"WHERE {where}")
    count, nulls, distinct = store.arrow_query(catalog.table, sql, params).to_pylist()[0].values()
    top_sql = query.sql(
        f"CAST({x} AS VARCHAR) AS v, count(*) AS n",
        f"WHERE ({where}) AND {x} IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT 20",
    )
    top = [[r["v"], int(r["n"])] for r in store.arrow_query(catalog.table, top_sql, params).to_pylist()]
    return {
        "column": column,
        "kind": "str",
        "count": int(count),
        "nulls": int(nulls),
        "distinct": int(distinct),
        "top": top,
    }
