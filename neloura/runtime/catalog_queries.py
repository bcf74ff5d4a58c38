"""SQL pieces for catalog queries: filter, computed columns, projection and sort, all whitelisted.

Every column reaching SQL is a quoted identifier from the catalog's own column list (or a
computed column compiled by :mod:`neloura.core.filters`); every value is a bound parameter.

Computed columns form a DAG, compiled once: each expression refers to earlier computed columns
by name (never by pasting their SQL, which doubled the query at each step of
``c1=c0+c0, c2=c1+c1...``), and the columns a query needs are projected level by level in
common table expressions::

    WITH "__c1" AS (SELECT *, (...) AS "a", (...) AS "b" FROM cat),
         "__c2" AS (SELECT *, ("a" + "b") AS "c" FROM "__c1")
    SELECT ... FROM "__c2" WHERE ...

so the SQL grows linearly with the definitions. Limits (422 naming the limit):
``MAX_COMPUTED`` definitions, ``MAX_COMPUTED_DEPTH`` levels of columns built on columns, and
each expression's own length and nesting (:data:`neloura.core.filters.MAX_LENGTH`,
:data:`~neloura.core.filters.MAX_DEPTH`). Build the SQL with :meth:`Query.sql`; run it through
:func:`bound_params` so that exactly the parameters it uses are bound.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from neloura.core.filters import Expression, compile_expression, compile_filter, quote_identifier
from neloura.errors import InvalidFilter, InvalidParameter

ROW = "__row"
MAX_COMPUTED = 64
MAX_COMPUTED_DEPTH = 16
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Computed:
    """One computed column: its compiled expression (naming earlier computed columns by
    identifier), the computed columns it uses directly, and its level in the DAG (1 = only
    catalog columns)."""

    name: str
    expression: Expression
    uses: frozenset[str]
    level: int


@dataclass(frozen=True)
class Query:
    where: str
    params: dict[str, Any]
    select: str
    order: str
    names: list[str]
    kinds: dict[str, str]  # kind of every selected column (computed ones included)
    source: str = "cat"  # the relation to select from ("cat", or the last computed level)
    with_: str = ""  # "WITH ... " defining ``source``, or ""
    computed: dict[str, Computed] = field(default_factory=dict)

    def sql(self, select: str, tail: str = "") -> str:
        """``WITH ... SELECT {select} FROM {source} {tail}`` (the table is registered as ``cat``)."""
        return f"{self.with_}SELECT {select} FROM {self.source} {tail}".rstrip()  # noqa: S608 (compiled)


def bound_params(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that ``sql`` uses (DuckDB refuses a query given unused ones)."""
    used = set(_PARAM.findall(_QUOTED.sub("", sql)))
    return {k: v for k, v in params.items() if k in used}


def parse_computed(entries: Sequence[str] | None, kinds: Mapping[str, str]) -> dict[str, Computed]:
    """``["mag=-2.5*log10(flux)", ...]`` -> the computed columns; later ones may use earlier ones.

    An entry may hold several definitions, one per line.
    """
    lines = [line for entry in entries or () for line in entry.split("\n") if line.strip()]
    if len(lines) > MAX_COMPUTED:
        raise InvalidParameter(f"computed: {len(lines)} definitions, more than the limit of {MAX_COMPUTED}")
    taken = {name.lower() for name in kinds} | {ROW}
    out: dict[str, Computed] = {}
    refs: dict[str, Expression] = {}  # computed columns as plain identifiers for later expressions
    for i, entry in enumerate(lines):
        name, sep, text = entry.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise InvalidParameter(f"computed: {entry!r} is not NAME=EXPRESSION (NAME made of letters, digits, _)")
        if name.startswith("__"):
            raise InvalidParameter(f"computed: {name!r}: names starting with '__' are reserved")
        if name.lower() in taken:
            raise InvalidParameter(f"computed: {name!r} is already a column name")
        try:
            expression = compile_expression(text, kinds, prefix=f"c{i}_", aliases=refs)
        except InvalidFilter as exc:
            raise InvalidFilter(f"computed column {name}: {exc.message}", exc.position, exc.columns) from None
        uses = frozenset(c for c in expression.columns if c in out)
        level = 1 + max((out[c].level for c in uses), default=0)
        if level > MAX_COMPUTED_DEPTH:
            raise InvalidParameter(
                f"computed column {name}: built on {level - 1} levels of computed columns, "
                f"more than the limit of {MAX_COMPUTED_DEPTH}"
            )
        out[name] = Computed(name, expression, uses, level)
        refs[name] = Expression(quote_identifier(name), {}, expression.kind, frozenset({name}))
        taken.add(name.lower())
    return out


def _needed(computed: Mapping[str, Computed], wanted: set[str]) -> list[Computed]:
    """The computed columns ``wanted`` names and those they are built on, in definition order."""
    todo, seen = [n for n in wanted if n in computed], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(computed[name].uses)
    return [c for n, c in computed.items() if n in seen]


def _levels(columns: list[Computed]) -> tuple[str, str, dict[str, Any]]:
    """``(with_, source, params)``: one CTE per DAG level holding that level's columns."""
    if not columns:
        return "", "cat", {}
    params: dict[str, Any] = {}
    ctes, source = [], "cat"
    for level in range(1, max(c.level for c in columns) + 1):
        here = [c for c in columns if c.level == level]
        if not here:
            continue
        name = quote_identifier(f"__c{level}")
        projections = ", ".join(f"({c.expression.sql}) AS {quote_identifier(c.name)}" for c in here)
        ctes.append(f"{name} AS (SELECT *, {projections} FROM {source})")  # noqa: S608 (compiled)
        for c in here:
            params.update(c.expression.params)
        source = name
    return "WITH " + ", ".join(ctes) + " ", source, params


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
    defined = parse_computed(computed, kinds)
    refs = {n: Expression(quote_identifier(n), {}, c.expression.kind, frozenset({n})) for n, c in defined.items()}
    params: dict[str, Any] = {}
    where = "TRUE"
    used: set[str] = set()
    if filter and filter.strip():
        expression = compile_filter(filter, kinds, prefix="f", aliases=refs)
        where, params = expression.sql, dict(expression.params)
        used |= expression.columns
    wanted = _column_list(columns) or [*kinds, *defined]
    available = {**dict(kinds.items()), **{n: c.expression.kind for n, c in defined.items()}}
    select: list[str] = []
    for name in wanted:
        if name not in available:
            raise InvalidParameter(f"columns: unknown column {name!r}; valid columns: {', '.join(available)}")
        select.append(quote_identifier(name))
    order, sorted_by = _order(sort, kinds, defined)
    with_, source, computed_params = _levels(_needed(defined, used | set(wanted) | sorted_by))
    params.update(computed_params)
    names = {n: available[n] for n in wanted}
    return Query(where, params, ", ".join(select) or ROW, order, wanted, names, source, with_, defined)


def _order(sort: str | None, kinds: Mapping[str, str], computed: Mapping[str, Computed]) -> tuple[str, set[str]]:
    terms: list[str] = []
    used: set[str] = set()
    for raw in (sort or "").split(","):
        key = raw.strip()
        if not key:
            continue
        descending = key.startswith("-")
        key = key.lstrip("-+").strip()
        if key in computed or (key in kinds and kinds[key] in ("num", "str", "bool")):
            used.add(key)
        else:
            raise InvalidParameter(f"sort: {key!r} is not a sortable column; valid columns: {', '.join(kinds)}")
        terms.append(f"{quote_identifier(key)} {'DESC' if descending else 'ASC'} NULLS LAST")
    terms.append(ROW)
    return ", ".join(terms), used


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
