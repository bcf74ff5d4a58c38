"""Catalog columns: their metadata (type, unit, UCD, description, nulls, range) and kinds.

Reading the formats lives in :mod:`neloura.core.catalog_formats`; RA/Dec detection and
conversion in :mod:`neloura.core.radec`; the filter language in :mod:`neloura.core.filters`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from neloura.core.catalog_formats import FORMATS, read_catalog, sniff_format
from neloura.core.radec import detect_radec, to_degrees

__all__ = [
    "FORMATS",
    "ColumnInfo",
    "column_infos",
    "column_kind",
    "detect_radec",
    "read_catalog",
    "sniff_format",
    "to_degrees",
]


@dataclass(frozen=True)
class ColumnInfo:
    """What the table view and the filter language know about one column."""

    name: str
    dtype: str
    kind: str  # "num", "str", "bool" or "other" (lists, binary): the filter language's types
    unit: str | None
    ucd: str | None
    description: str | None
    null_count: int
    min: float | int | str | None
    max: float | int | str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def column_kind(dtype: pa.DataType) -> str:
    """The filter language's type of an Arrow type."""
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "num"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "str"
    if pa.types.is_boolean(dtype):
        return "bool"
    return "other"


def _meta(field: pa.Field, key: str) -> str | None:
    if not field.metadata:
        return None
    value = field.metadata.get(key.encode())
    return value.decode("utf-8", "replace") if value else None


def _plain(value: Any) -> float | int | str | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | str):
        return value
    return str(value)


def column_infos(table: pa.Table) -> list[ColumnInfo]:
    """Metadata of every column, with null counts and min/max computed over the whole table."""
    infos: list[ColumnInfo] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = column_kind(field.type)
        low = high = None
        if kind in ("num", "str") and len(column) > column.null_count:
            extremes = pc.min_max(column)
            low, high = _plain(extremes["min"].as_py()), _plain(extremes["max"].as_py())
        elif kind == "bool" and len(column) > column.null_count:
            low, high = int(pc.min(column).as_py()), int(pc.max(column).as_py())
        infos.append(
            ColumnInfo(
                name=field.name,
                dtype=str(field.type),
                kind=kind,
                unit=_meta(field, "unit"),
                ucd=_meta(field, "ucd"),
                description=_meta(field, "description"),
                null_count=int(column.null_count),
                min=low,
                max=high,
            )
        )
    return infos


def detect_table_radec(infos: list[ColumnInfo]) -> tuple[str | None, str | None]:
    """:func:`detect_radec` applied to a table's column metadata."""
    return detect_radec(
        [c.name for c in infos],
        {c.name: c.ucd or "" for c in infos},
        {c.name: c.kind for c in infos},
    )
