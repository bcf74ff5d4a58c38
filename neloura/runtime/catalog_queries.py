"""SQL pieces for catalog queries: filter, computed columns, projection and sort, all whitelisted.

Every column reaching SQL is a quoted identifier from the catalog's own column list (or a
computed column compiled by :mod:`neloura.core.filters`); every value is a bound parameter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from neloura.core.filters import Expression, compile_expression, compile_filter, quote_identifier
from neloura.errors import InvalidFilter, InvalidParameter

ROW = "__row"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Query:
    where: str
    params: dict[str, Any]
    select: str
    order: str
    names: list[str]
    kinds: dict[str, str]  # kind of every selected column (computed ones included)


def parse_computed(entries: Sequence[str] | None, kinds: Mapping[str, str]) -> dict[str, Expression]:
    """``["mag=-2.5*log10(flux)", ...]`` -> compiled expressions; later ones may use earlier ones.

    An entry may hold several definitions, one per line.
    """
    aliases: dict[str, Expression] = {}
    lines = [line for entry in entries or () for line in entry.split("\n") if line.strip()]
    for i, entry in enumerate(lines):
        name, sep, text = entry.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise InvalidParameter(f"computed: {entry!r} is not NAME=EXPRESSION (NAME made of letters, digits, _)")
        if name in kinds or name in aliases:
            raise InvalidParameter(f"computed: {name!r} is already a column name")
        try:
            aliases[name] = compile_expression(text, kinds, prefix=f"c{i}_", aliases=aliases)
        except InvalidFilter as exc:
            raise InvalidFilter(f"computed column {name}: {exc.message}", exc.position, exc.columns) from None
    return aliases


def _column_list(text: Sequence[str] | None) -> list[str]:
    if text is None:
        return []
    return [c.strip() for c in text if c and c.strip()]


def build_query(
    kinds: Mapping[str, str],
    *,
    filter: str | None = None,
    sort: str | None = None,
    columns: Sequence[str] | None = None,
    computed: Sequence[str] | None = None,
) -> Query:
    """Compile filter, computed columns, projection and sort for a catalog whose columns have ``kinds``."""
    aliases = parse_computed(computed, kinds)
    params: dict[str, Any] = {}
    where = "TRUE"
    if filter and filter.strip():
        expression = compile_filter(filter, kinds, prefix="f", aliases=aliases)
        where, params = expression.sql, dict(expression.params)
    wanted = _column_list(columns) or [*kinds, *aliases]
    available = {**{n: k for n, k in kinds.items()}, **{n: a.kind for n, a in aliases.items()}}
    select: list[str] = []
    for name in wanted:
        if name in aliases:
            select.append(f"({aliases[name].sql}) AS {quote_identifier(name)}")
            params.update(aliases[name].params)
        elif name in kinds:
            select.append(quote_identifier(name))
        else:
            raise InvalidParameter(f"columns: unknown column {name!r}; valid columns: {', '.join(available)}")
    order = _order(sort, kinds, aliases, params)
    return Query(where, params, ", ".join(select) or ROW, order, wanted, {n: available[n] for n in wanted})


def _order(
    sort: str | None, kinds: Mapping[str, str], aliases: Mapping[str, Expression], params: dict[str, Any]
) -> str:
    terms: list[str] = []
    for raw in (sort or "").split(","):
        key = raw.strip()
        if not key:
            continue
        descending = key.startswith("-")
        key = key.lstrip("-+").strip()
        if key in aliases:
            sql = f"({aliases[key].sql})"
            params.update(aliases[key].params)
        elif key in kinds and kinds[key] in ("num", "str", "bool"):
            sql = quote_identifier(key)
        else:
            raise InvalidParameter(f"sort: {key!r} is not a sortable column; valid columns: {', '.join(kinds)}")
        terms.append(f"{sql} {'DESC' if descending else 'ASC'} NULLS LAST")
    terms.append(ROW)
    return ", ".join(terms)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, int | str | bool) or value is None:
        return value
    return str(value)


def rows_to_json(table: pa.Table) -> list[list[Any]]:
    """Rows as lists of JSON values: null for missing values, NaN and infinities."""
    columns = [[_clean(v) for v in column.to_pylist()] for column in table.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []
