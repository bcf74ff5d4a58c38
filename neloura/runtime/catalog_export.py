"""Export a catalog selection (filter + columns) as CSV, FITS, VOTable or Parquet, streamed.

CSV and Parquet are written batch by batch while DuckDB produces them; FITS and VOTable
need the whole selection in memory (astropy writes them from a Table), then go out in chunks.
Units, UCDs and descriptions of the source columns are carried into every format.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from neloura.core.catalogs import ColumnInfo
from neloura.errors import InvalidParameter
from neloura.runtime.catalog_queries import ROW, build_query

EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", ".csv"),
    "parquet": ("application/vnd.apache.parquet", ".parquet"),
    "fits": ("application/fits", ".fits"),
    "votable": ("application/x-votable+xml", ".vot"),
}
_CHUNK = 1 << 20


class _Sink:
    """A write-only file object whose bytes are drained after each batch."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _with_metadata(batch_schema: pa.Schema, infos: dict[str, ColumnInfo]) -> pa.Schema:
    fields = []
    for f in batch_schema:
        info = infos.get(f.name)
        meta = {}
        if info is not None:
            meta = {k: v for k, v in (("unit", info.unit), ("ucd", info.ucd), ("description", info.description)) if v}
        fields.append(f.with_metadata(meta or None))
    return pa.schema(fields)


def export_stream(
    store: Any,
    name: str,
    fmt: str,
    *,
    filter: str | None = None,
    columns: Sequence[str] | None = None,
    sort: str | None = None,
    computed: Sequence[str] | None = None,
) -> Iterator[bytes]:
    """Bytes of the export of ``name`` in ``fmt``; the query is compiled (and checked) before the first byte."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidParameter(f"format: {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    catalog = store.open(name)
    query = build_query(catalog.kinds, filter=filter, sort=sort, columns=columns, computed=computed)
    sql = query.sql(query.select, f"WHERE {query.where} ORDER BY {query.order}")
    infos = {c.name: c for c in catalog.infos}
    batches = store.reader(name, sql, query.params)
    if fmt == "csv":
        return _csv(batches)
    if fmt == "parquet":
        return _parquet(batches, infos)
    return _astropy(batches, infos, fmt, query.names)


def export_batches(
    batches: Iterator[pa.RecordBatch], infos: dict[str, ColumnInfo], fmt: str, names: list[str]
) -> Iterator[bytes]:
    """Bytes of ``batches`` (columns ``names``) in ``fmt``, with the units, UCDs and descriptions of ``infos``."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidParameter(f"format: {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "csv":
        return _csv(batches)
    if fmt == "parquet":
        return _parquet(batches, infos)
    return _astropy(batches, infos, fmt, names)


def table_stream(table: pa.Table, infos: dict[str, ColumnInfo], fmt: str) -> Iterator[bytes]:
    """Bytes of an in-memory table (e.g. a cross-match's joined table) in ``fmt``, with the
    units, UCDs and descriptions of ``infos`` (by column name)."""
    batches = iter(table.to_batches(max_chunksize=65_536) or [pa.RecordBatch.from_pylist([], schema=table.schema)])
    return export_batches(batches, infos, fmt, list(table.column_names))


def _csv(batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    sink = _Sink()
    writer: pacsv.CSVWriter | None = None
    for batch in batches:
        batch = _csv_safe(batch)
        if writer is None:
            writer = pacsv.CSVWriter(sink, batch.schema)
        writer.write_batch(batch)
        yield sink.drain()
    if writer is not None:
        writer.close()
    yield sink.drain()


def _csv_safe(batch: pa.RecordBatch) -> pa.RecordBatch:
    """CSV cannot hold lists: write them as their text."""
    arrays = []
    for column in batch.columns:
        if pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
            column = pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _parquet(batches: Iterator[pa.RecordBatch], infos: dict[str, ColumnInfo]) -> Iterator[bytes]:
    sink = _Sink()
    writer: pq.ParquetWriter | None = None
    for batch in batches:
        if writer is None:
            writer = pq.ParquetWriter(sink, _with_metadata(batch.schema, infos), compression="zstd")
        writer.write_batch(batch.cast(writer.schema) if batch.schema != writer.schema else batch)
        yield sink.drain()
    if writer is None:
        return
    writer.close()
    yield sink.drain()


def _astropy(
    batches: Iterator[pa.RecordBatch], infos: dict[str, ColumnInfo], fmt: str, names: list[str]
) -> Iterator[bytes]:
    chunks = list(batches)
    table = pa.Table.from_batches(chunks) if chunks else None
    buffer = io.BytesIO()
    astro = _to_astropy(table, infos, names)
    if fmt == "fits":
        astro.write(buffer, format="fits")
    else:
        from astropy.io.votable import from_table

        votable = from_table(astro)
        binary = len(astro) > 100_000
        votable.to_xml(buffer, tabledata_format="binary2" if binary else "tabledata")
    data = buffer.getbuffer()
    for start in range(0, len(data), _CHUNK):
        yield bytes(data[start : start + _CHUNK])


def _to_astropy(table: pa.Table | None, infos: dict[str, ColumnInfo], names: list[str]) -> Any:
    from astropy.table import Column, MaskedColumn, Table

    out = Table()
    if table is None:
        return out
    for name in table.column_names:
        if name == ROW:
            continue
        column = table.column(name).combine_chunks() if table.num_rows else table.column(name)
        kind = column.type
        mask = np.asarray(column.is_null().to_numpy(zero_copy_only=False)) if column.null_count else None
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            filler = pa.scalar(False if pa.types.is_boolean(kind) else 0, kind)
            values = (
                column.fill_null(filler).to_numpy(zero_copy_only=False)
                if mask is not None
                else column.to_numpy(zero_copy_only=False)
            )
            if mask is not None and pa.types.is_floating(kind):
                values = np.where(mask, np.nan, values)
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            values = np.asarray(column.fill_null("").to_pylist(), dtype=str)
        else:
            values = np.asarray([str(v) if v is not None else "" for v in column.to_pylist()], dtype=str)
        cls = MaskedColumn if mask is not None else Column
        col = cls(values, name=name, mask=mask) if mask is not None else cls(values, name=name)
        info = infos.get(name)
        if info is not None:
            if info.unit:
                try:
                    col.unit = info.unit
                except ValueError:
                    col.description = f"{info.description or ''} [{info.unit}]".strip()
            if info.description:
                col.description = info.description
            if info.ucd:
                col.meta["ucd"] = info.ucd
        out.add_column(col)
    return out


def export_filename(name: str, fmt: str) -> str:
    base = name.rsplit("/", 1)[-1]
    for suffix in (".gz", ".fits", ".fit", ".fts", ".xml", ".vot", ".csv", ".tsv", ".ecsv", ".parquet", ".txt"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    return (base or "catalog") + "-selection" + EXPORT_FORMATS[fmt][1]
