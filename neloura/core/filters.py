"""A TOPCAT-like expression language compiled into safe, parameterised DuckDB SQL.

The text is tokenised and parsed by recursive descent; nothing is ever evaluated by Python
and no user text is ever pasted into SQL: literals become named parameters (``$p0``...),
columns become double-quoted identifiers taken from a whitelist, functions from a fixed table.

Language (case-insensitive keywords)::

    expr     := or
    or       := and (('||' | 'or') and)*
    and      := not (('&&' | 'and') not)*
    not      := ('!' | 'not') not | compare
    compare  := sum [('==' | '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | 'contains') sum]
                | sum 'is' ['not'] 'null'
    sum      := product (('+' | '-') product)*
    product  := unary (('*' | '/' | '%') unary)*
    unary    := ('-' | '+') unary | primary
    primary  := number | 'string' | "string" | true | false | null | PI | E
                | column | `any column name` | $N (1-based column index) | NULL_column
                | function '(' [expr (',' expr)*] ')' | '(' expr ')'

Values are typed (number, string, boolean): comparing a string with a number, or adding
strings, is a 422 at the operator's position. Missing values (null, and NaN which the loader
turns into null) make a comparison false, as in TOPCAT and as a numpy mask would: SQL's NULL
drops the row at WHERE, and ``!``/``not`` first turn NULL into false. AND/OR without a NOT
above them are monotone, so that three-valued result equals the two-valued one. Angles of
trigonometric functions are in degrees; ``skyDistance(ra1, dec1, ra2, dec2)`` is in arcsec.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neloura.core.filter_functions import BOOL, FUNCTION_SQL, FUNCTIONS, NULL, NUM, STR
from neloura.core.filter_tokens import KEYWORDS, Token, tokenize
from neloura.errors import InvalidFilter

__all__ = ["FUNCTIONS", "Expression", "compile_expression", "compile_filter", "quote_identifier"]

MAX_LENGTH = 10_000
# nesting of parentheses, function calls and unary operators; each level costs ~11 Python frames
# of the recursive descent, so this stays well inside the interpreter's recursion limit
MAX_DEPTH = 50


@dataclass(frozen=True)
class Expression:
    """Compiled SQL with its named parameters and its value type (num, str or bool)."""

    sql: str
    params: dict[str, Any]
    kind: str
    columns: frozenset[str] = field(default_factory=frozenset)


_COMPARE = {"==": "=", "=": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def quote_identifier(name: str) -> str:
    """A DuckDB identifier for a whitelisted column name."""
    return '"' + name.replace('"', '""') + '"'


class _Parser:
    def __init__(self, text: str, columns: Mapping[str, str], prefix: str, aliases: Mapping[str, Expression]) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.columns = dict(columns)
        self.names = list(columns)
        self.lower = {name.lower(): name for name in reversed(self.names)}
        self.aliases = dict(aliases)
        self.prefix = prefix
        self.params: dict[str, Any] = {}
        self.used: set[str] = set()
        self.alias_params: dict[str, Any] = {}
        self.depth = 0

    # -- helpers ---------------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def word(self, token: Token) -> str:
        return token.text.lower() if token.kind == "ident" else ""

    def at(self, *ops: str) -> bool:
        token = self.peek()
        return (token.kind == "op" and token.text in ops) or self.word(token) in ops

    def error(self, message: str, token: Token | None = None, columns: bool = False) -> InvalidFilter:
        pos = (token or self.peek()).pos
        if columns:
            shown = ", ".join(self.names[:40]) + (", ..." if len(self.names) > 40 else "")
            message = f"{message}; valid columns: {shown}"
        return InvalidFilter(f"{message} (at position {pos})", position=pos, columns=self.names)

    def expect(self, op: str) -> Token:
        if not self.at(op):
            found = self.peek().text or "end of expression"
            raise self.error(f"expected {op!r} but found {found!r}")
        return self.advance()

    def param(self, value: Any) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    # -- grammar -----------------------------------------------------------------------
    def parse(self) -> tuple[str, str]:
        if not self.text.strip():
            raise InvalidFilter("the expression is empty", position=0)
        sql, kind = self.or_()
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.peek().text!r}")
        return sql, kind

    def or_(self) -> tuple[str, str]:
        sql, kind = self.and_()
        while self.at("||", "or"):
            token = self.advance()
            right, rkind = self.and_()
            sql = f"({self.truth(sql, kind, token)} OR {self.truth(right, rkind, token)})"
            kind = BOOL
        return sql, kind

    def and_(self) -> tuple[str, str]:
        sql, kind = self.not_()
        while self.at("&&", "and"):
            token = self.advance()
            right, rkind = self.not_()
            sql = f"({self.truth(sql, kind, token)} AND {self.truth(right, rkind, token)})"
            kind = BOOL
        return sql, kind

    def not_(self) -> tuple[str, str]:
        if self.at("!", "not"):
            token = self.advance()
            self.enter(token)
            sql, kind = self.not_()
            self.depth -= 1
            # NULL (a missing value) counts as false before negating, as a numpy mask would
            return f"(NOT coalesce({self.truth(sql, kind, token)}, false))", BOOL
        return self.compare()

    def truth(self, sql: str, kind: str, token: Token) -> str:
        if kind != BOOL:
            raise self.error(f"{token.text!r} needs conditions (true/false) on both sides, not a {_NAMES[kind]}", token)
        return sql

    def compare(self) -> tuple[str, str]:
        left, lkind = self.sum_()
        token = self.peek()
        if self.word(token) == "is":
            self.advance()
            negate = self.at("not")
            if negate:
                self.advance()
            if self.word(self.peek()) != "null":
                raise self.error("expected 'null' after 'is'")
            self.advance()
            return f"({left} IS {'NOT ' if negate else ''}NULL)", BOOL
        if self.word(token) == "contains":
            self.advance()
            right, rkind = self.sum_()
            if lkind != STR or rkind != STR:
                raise self.error("'contains' needs strings on both sides", token)
            return f"contains({left}, {right})", BOOL
        if token.kind == "op" and token.text in _COMPARE:
            self.advance()
            right, rkind = self.sum_()
            return self.comparison(left, lkind, right, rkind, token), BOOL
        return left, lkind

    def comparison(self, left: str, lkind: str, right: str, rkind: str, token: Token) -> str:
        op = _COMPARE[token.text]
        if NULL in (lkind, rkind) and op in ("=", "<>"):
            other = right if lkind == NULL else left
            return f"({other} IS {'' if op == '=' else 'NOT '}NULL)"
        if lkind != rkind or NULL in (lkind, rkind):
            raise self.error(f"cannot compare a {_NAMES[lkind]} with a {_NAMES[rkind]} using {token.text!r}", token)
        if lkind == BOOL:
            left, right = f"coalesce({left}, false)", f"coalesce({right}, false)"
        # plain comparisons (no coalesce) let DuckDB push the filter into the Arrow scan; a NULL
        # result is dropped by WHERE, and NOT coalesces its operand first (see ``not_``)
        return f"({left} {op} {right})"

    def sum_(self) -> tuple[str, str]:
        sql, kind = self.product()
        while self.at("+", "-"):
            token = self.advance()
            right, rkind = self.product()
            self.numbers(kind, rkind, token)
            sql, kind = f"(CAST({sql} AS DOUBLE) {token.text} {right})", NUM
        return sql, kind

    def product(self) -> tuple[str, str]:
        sql, kind = self.unary()
        while self.at("*", "/", "%"):
            token = self.advance()
            right, rkind = self.unary()
            self.numbers(kind, rkind, token)
            if token.text == "*":
                sql = f"(CAST({sql} AS DOUBLE) * {right})"
            elif token.text == "/":
                sql = f"(CAST({sql} AS DOUBLE) / NULLIF(CAST({right} AS DOUBLE), 0))"
            else:
                sql = f"fmod(CAST({sql} AS DOUBLE), NULLIF(CAST({right} AS DOUBLE), 0))"
            kind = NUM
        return sql, kind

    def numbers(self, lkind: str, rkind: str, token: Token) -> None:
        if lkind != NUM or rkind != NUM:
            bad = lkind if lkind != NUM else rkind
            raise self.error(f"{token.text!r} needs numbers, not a {_NAMES[bad]}", token)

    def unary(self) -> tuple[str, str]:
        if self.at("-", "+"):
            token = self.advance()
            self.enter(token)
            sql, kind = self.unary()
            self.depth -= 1
            self.numbers(kind, NUM, token)
            return (f"(- CAST({sql} AS DOUBLE))" if token.text == "-" else sql), NUM
        return self.primary()

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression is nested more than {MAX_DEPTH} levels deep", token)

    def primary(self) -> tuple[str, str]:
        token = self.advance()
        if token.kind == "num":
            return self.param(token.value), NUM
        if token.kind == "str":
            return self.param(token.value), STR
        if token.kind == "quoted":
            return self.column(token.value, token)
        if token.kind == "index":
            if not 1 <= token.value <= len(self.names):
                raise self.error(f"no column {token.text} (columns are $1 to ${len(self.names)})", token, True)
            return self.column(self.names[token.value - 1], token)
        if token.kind == "op" and token.text == "(":
            self.enter(token)
            inner = self.or_()
            self.depth -= 1
            self.expect(")")
            return inner
        if token.kind == "ident":
            return self.identifier(token)
        found = token.text or "end of expression"
        raise self.error(f"expected a value, a column or '(' but found {found!r}", token)

    def identifier(self, token: Token) -> tuple[str, str]:
        low = token.text.lower()
        if self.at("("):
            return self.call(token)
        if low in ("true", "false"):
            return low.upper(), BOOL
        if low == "null":
            return "NULL", NULL
        if token.text in self.columns or token.text in self.aliases or low in self.lower:
            return self.column(token.text, token)
        if low == "pi":
            return "pi()", NUM
        if low == "e":
            return "exp(1)", NUM
        if low.startswith("null_") and (token.text[5:] in self.columns or low[5:] in self.lower):
            sql, _ = self.column(token.text[5:], token)
            return f"({sql} IS NULL)", BOOL
        if low in KEYWORDS:
            raise self.error(f"unexpected keyword {token.text!r}", token)
        hint = difflib.get_close_matches(token.text, self.names, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise self.error(f"unknown column {token.text!r}{suggestion}", token, columns=True)

    def column(self, name: str, token: Token) -> tuple[str, str]:
        if name in self.aliases:
            alias = self.aliases[name]
            self.used |= alias.columns
            self.alias_params.update(alias.params)
            return f"({alias.sql})", alias.kind
        if name not in self.columns:
            if name.lower() not in self.lower:
                raise self.error(f"unknown column {name!r}", token, columns=True)
            name = self.lower[name.lower()]
        kind = self.columns[name]
        if kind not in (NUM, STR, BOOL):
            raise self.error(f"column {name!r} holds arrays and cannot be used in an expression", token)
        self.used.add(name)
        sql = quote_identifier(name)
        return sql, kind

    def call(self, token: Token) -> tuple[str, str]:
        name = token.text.lower()
        spec = FUNCTION_SQL.get(name)
        if spec is None:
            raise self.error(f"unknown function {token.text!r}; functions are {', '.join(FUNCTIONS)}", token)
        self.expect("(")
        self.enter(token)
        args: list[tuple[str, str]] = []
        if not self.at(")"):
            args.append(self.or_())
            while self.at(","):
                self.advance()
                args.append(self.or_())
        self.expect(")")
        self.depth -= 1
        kinds, result, template = spec
        if len(args) not in kinds:
            counts = " or ".join(str(n) for n in sorted(kinds))
            raise self.error(f"{token.text}() takes {counts} argument(s), got {len(args)}", token)
        wanted = kinds[len(args)]
        for (_, kind), want in zip(args, wanted, strict=True):
            if want != "any" and kind != want:
                raise self.error(f"{token.text}() needs {_NAMES[want]} arguments, not a {_NAMES[kind]}", token)
        return template(*[sql for sql, _ in args]), result


_NAMES = {NUM: "number", STR: "string", BOOL: "condition", NULL: "null", "any": "value"}


def compile_expression(
    text: str,
    columns: Mapping[str, str],
    *,
    prefix: str = "p",
    aliases: Mapping[str, Expression] | None = None,
) -> Expression:
    """Compile an expression of any type (used for computed columns).

    ``columns`` maps each allowed column name to its kind (``num``, ``str``, ``bool`` or
    ``other``); ``aliases`` maps computed-column names to already compiled expressions.
    Parameter names start with ``prefix`` so that several expressions can share one query.
    """
    if len(text) > MAX_LENGTH:
        raise InvalidFilter(f"the expression is longer than {MAX_LENGTH} characters", position=MAX_LENGTH)
    try:
        parser = _Parser(text, columns, prefix, aliases or {})
    except InvalidFilter as exc:  # a tokenizer error: name the columns all the same
        raise InvalidFilter(exc.message, position=exc.position, columns=list(columns)) from None
    try:
        sql, kind = parser.parse()
    except RecursionError:
        raise InvalidFilter(f"the expression is nested more than {MAX_DEPTH} levels deep", position=0) from None
    params = {**parser.alias_params, **parser.params}
    if kind == NULL:
        raise InvalidFilter("the expression is only null", position=0)
    return Expression(sql, params, kind, frozenset(parser.used))


def compile_filter(
    text: str,
    columns: Mapping[str, str],
    *,
    prefix: str = "p",
    aliases: Mapping[str, Expression] | None = None,
) -> Expression:
    """Compile a filter: an expression that must be a condition (true/false)."""
    expression = compile_expression(text, columns, prefix=prefix, aliases=aliases)
    if expression.kind != BOOL:
        raise InvalidFilter(
            f"a filter must be a condition (e.g. flux > 10), but this is a {_NAMES[expression.kind]}", position=0
        )
    return expression
