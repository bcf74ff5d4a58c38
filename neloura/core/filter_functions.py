"""The functions of the filter language: arity, argument types, result type and their SQL.

Each entry maps a lower-case name to ``({arity: argument kinds}, result kind, template)``; the
template receives the arguments' compiled SQL and returns SQL. Angles are in degrees; functions
that would give NaN outside their domain (log of a negative, sqrt of a negative) give NULL.
"""

from __future__ import annotations

from collections.abc import Callable

NUM, STR, BOOL, NULL = "num", "str", "bool", "null"


def _nan_null(sql: str) -> str:
    return f"(CASE WHEN isnan({sql}) THEN NULL ELSE {sql} END)"


def _sky(ra1: str, dec1: str, ra2: str, dec2: str, scale: float) -> str:
    hav = (
        f"pow(sin(radians(({dec2}) - ({dec1})) / 2), 2) + cos(radians({dec1})) * cos(radians({dec2})) "
        f"* pow(sin(radians(({ra2}) - ({ra1})) / 2), 2)"
    )
    return f"(degrees(2 * asin(sqrt(least(1.0, greatest(0.0, {hav}))))) * {scale})"


_Arity = dict[int, tuple[str, ...]]
_N1: _Arity = {1: (NUM,)}
_N2: _Arity = {2: (NUM, NUM)}
FUNCTION_SQL: dict[str, tuple[_Arity, str, Callable[..., str]]] = {
    "abs": (_N1, NUM, lambda x: f"abs({x})"),
    "log10": (_N1, NUM, lambda x: f"log10(CASE WHEN {x} > 0 THEN CAST({x} AS DOUBLE) END)"),
    "ln": (_N1, NUM, lambda x: f"ln(CASE WHEN {x} > 0 THEN CAST({x} AS DOUBLE) END)"),
    "log": (_N1, NUM, lambda x: f"ln(CASE WHEN {x} > 0 THEN CAST({x} AS DOUBLE) END)"),
    "sqrt": (_N1, NUM, lambda x: f"sqrt(CASE WHEN {x} >= 0 THEN CAST({x} AS DOUBLE) END)"),
    "exp": (_N1, NUM, lambda x: f"exp(CAST({x} AS DOUBLE))"),
    "pow": (_N2, NUM, lambda x, y: _nan_null(f"pow(CAST({x} AS DOUBLE), CAST({y} AS DOUBLE))")),
    "sin": (_N1, NUM, lambda x: f"sin(radians({x}))"),
    "cos": (_N1, NUM, lambda x: f"cos(radians({x}))"),
    "tan": (_N1, NUM, lambda x: f"tan(radians({x}))"),
    "asin": (_N1, NUM, lambda x: f"degrees(asin(CASE WHEN abs({x}) <= 1 THEN CAST({x} AS DOUBLE) END))"),
    "acos": (_N1, NUM, lambda x: f"degrees(acos(CASE WHEN abs({x}) <= 1 THEN CAST({x} AS DOUBLE) END))"),
    "atan": (_N1, NUM, lambda x: f"degrees(atan({x}))"),
    "atan2": (_N2, NUM, lambda y, x: f"degrees(atan2({y}, {x}))"),
    "floor": (_N1, NUM, lambda x: f"floor({x})"),
    "ceil": (_N1, NUM, lambda x: f"ceil({x})"),
    "round": ({1: (NUM,), 2: (NUM, NUM)}, NUM, lambda x, n="0": f"round(CAST({x} AS DOUBLE), CAST({n} AS INTEGER))"),
    "sign": (_N1, NUM, lambda x: f"sign({x})"),
    "min": (_N2, NUM, lambda x, y: f"least({x}, {y})"),
    "max": (_N2, NUM, lambda x, y: f"greatest({x}, {y})"),
    "hypot": (_N2, NUM, lambda x, y: f"sqrt(CAST({x} AS DOUBLE) * {x} + CAST({y} AS DOUBLE) * {y})"),
    "mod": (_N2, NUM, lambda x, y: f"fmod(CAST({x} AS DOUBLE), NULLIF(CAST({y} AS DOUBLE), 0))"),
    "degrees": (_N1, NUM, lambda x: f"degrees({x})"),
    "radians": (_N1, NUM, lambda x: f"radians({x})"),
    "skydistance": ({4: (NUM,) * 4}, NUM, lambda a, b, c, d: _sky(a, b, c, d, 3600.0)),
    "skydistancedegrees": ({4: (NUM,) * 4}, NUM, lambda a, b, c, d: _sky(a, b, c, d, 1.0)),
    "isnull": ({1: ("any",)}, BOOL, lambda x: f"({x} IS NULL)"),
    "isnan": ({1: (NUM,)}, BOOL, lambda x: f"({x} IS NULL)"),
    "isnotnull": ({1: ("any",)}, BOOL, lambda x: f"({x} IS NOT NULL)"),
    "contains": ({2: (STR, STR)}, BOOL, lambda s, t: f"contains({s}, {t})"),
    "startswith": ({2: (STR, STR)}, BOOL, lambda s, t: f"starts_with({s}, {t})"),
    "endswith": ({2: (STR, STR)}, BOOL, lambda s, t: f"ends_with({s}, {t})"),
    "equalsignorecase": ({2: (STR, STR)}, BOOL, lambda s, t: f"(lower({s}) = lower({t}))"),
    "matches": ({2: (STR, STR)}, BOOL, lambda s, pattern: f"regexp_matches({s}, {pattern})"),  # RE2: no backtracking
    "length": ({1: (STR,)}, NUM, lambda s: f"length({s})"),
    "lower": ({1: (STR,)}, STR, lambda s: f"lower({s})"),
    "upper": ({1: (STR,)}, STR, lambda s: f"upper({s})"),
    "trim": ({1: (STR,)}, STR, lambda s: f"trim({s})"),
}
_NAMES_SHOWN = set(
    "abs log10 ln log sqrt exp pow sin cos tan asin acos atan "
    "atan2 floor ceil round sign min max hypot mod degrees radians skyDistance skyDistanceDegrees "
    "isNull isNaN isNotNull contains startsWith endsWith matches equalsIgnoreCase length lower upper trim".split()
)
FUNCTIONS = tuple(sorted(_NAMES_SHOWN, key=str.lower))
