"""The plotter's server side: columns or filter-language expressions of the filtered rows as one
binary payload (:mod:`neloura.core.plotter`), and a row selection exported as a catalog file.

Axes are a column name or any expression of the filter language (``-2.5*log10(flux) + 23.9``),
compiled by :mod:`neloura.runtime.catalog_queries` like the table's computed columns: every column
is whitelisted, every literal a bound parameter. A plot is refused (413) above ``max_points``
matching rows rather than sent half-drawn.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from neloura.core.plotter import pack_plot
from neloura.errors import InvalidParameter, PayloadTooLarge
from neloura.runtime.catalog_export import export_batches
from neloura.runtime.catalog_queries import ROW, build_query, parse_computed
from neloura.runtime.catalogs import CatalogStore

MAX_POINTS = 5_000_000
AXES = ("x", "y", "color", "size")


def _axis_columns(
    kinds: dict[str, str], axes: dict[str, str | None], computed: Sequence[str] | None
) -> tuple[list[str], list[str], dict[str, str]]:
    """(computed entries, selected names, axis -> selected name) for the axes that are given.

    A plain column (or a computed column of ``computed``) is selected as it is; any other text
    is compiled as an expression under a name that no column uses.
    """
    entries = [line for entry in computed or () for line in entry.split("\n") if line.strip()]
    known = set(kinds) | set(parse_computed(entries, kinds))
    names: list[str] = []
    by_axis: dict[str, str] = {}
    for axis, text in axes.items():
        if text is None or not text.strip():
            continue
        text = text.strip()
        if text in known:
            name = text
        else:
            name = f"plot_{axis}"
            while name in known:
                name += "_"
            known.add(name)
            entries.append(f"{name}={text}")
        by_axis[axis] = name
        if name not in names:
            names.append(name)
    return entries, names, by_axis


def _as_float(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if pa.types.is_boolean(column.type):
        column = pc.cast(column, pa.int8())
    values = pc.cast(column, pa.float64(), safe=False).fill_null(np.nan)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def plot_data(
    store: CatalogStore,
    name: str,
    *,
    x: str,
    y: str | None = None,
    color: str | None = None,
    size: str | None = None,
    filter: str | None = None,
    computed: Sequence[str] | None = None,
    max_points: int = MAX_POINTS,
) -> bytes:
    """The binary plot payload of the rows of ``name`` matching ``filter`` (file order)."""
    catalog = store.open(name)
    kinds = catalog.kinds
    entries, names, by_axis = _axis_columns(kinds, {"x": x, "y": y, "color": color, "size": size}, computed)
    if "x" not in by_axis:
        raise InvalidParameter("x: a column or an expression is required")
    query = build_query(kinds, filter=filter, columns=names, computed=entries)
    for axis, column in by_axis.items():
        if query.kinds[column] not in ("num", "bool"):
            raise InvalidParameter(f"{axis}: {column!r} is {query.kinds[column]}, a plot needs numbers")
    if catalog.num_rows > max_points:  # refuse before computing when the filter keeps too many
        count_sql = query.sql("count(*)", f"WHERE {query.where}")  # compiled, parameterised
        matching = int(store.arrow_query(catalog.table, count_sql, query.params).column(0)[0].as_py())
        _check_size(matching, max_points)
    sql = query.sql(f"{ROW}, {query.select}", f"WHERE {query.where}")  # computed columns: Query.sql's CTEs
    table = store.arrow_query(catalog.table, sql, query.params)
    _check_size(table.num_rows, max_points)
    rows = table.column(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    order = None if rows.size < 2 or bool(np.all(rows[1:] > rows[:-1])) else np.argsort(rows, kind="stable")
    values: dict[str, np.ndarray | None] = dict.fromkeys(AXES)
    for axis, column in by_axis.items():
        array = _as_float(table.column(column))
        values[axis] = array if order is None else array[order]
    rows = rows if order is None else rows[order]
    assert values["x"] is not None
    return pack_plot(rows, values["x"], values["y"], values["color"], values["size"], catalog_rows=catalog.num_rows)


def _check_size(matching: int, max_points: int) -> None:
    if matching > max_points:
        raise PayloadTooLarge(f"{matching:,} rows match; a plot takes at most {max_points:,} points: add a filter")


def export_rows(
    store: CatalogStore, name: str, rows: Sequence[int], fmt: str, columns: Sequence[str] | None = None
) -> Iterator[bytes]:
    """The given 0-based rows of ``name`` (in the order given, file order for a sorted list) as a
    catalog file in ``fmt`` (csv, fits, votable, parquet) with its units and descriptions."""
    catalog = store.open(name)
    index = np.asarray(rows, dtype=np.int64)
    if index.size and (index.min() < 0 or index.max() >= catalog.num_rows):
        raise InvalidParameter(f"rows: indices must be within 0..{catalog.num_rows - 1}")
    names = [n for n in catalog.table.column_names if n != ROW]
    if columns:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise InvalidParameter(f"columns: unknown column {unknown[0]!r}; valid columns: {', '.join(names)}")
        names = list(columns)
    subset = catalog.table.select(names).take(pa.array(index))
    infos = {c.name: c for c in catalog.infos}
    batches: Iterator[pa.RecordBatch] = iter(subset.to_batches(max_chunksize=65_536) or _empty(subset))
    return export_batches(batches, infos, fmt, names)


def _empty(table: pa.Table) -> list[pa.RecordBatch]:
    return [pa.RecordBatch.from_pylist([], schema=table.schema)]
