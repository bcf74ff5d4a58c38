"""The filter language: parsing, typing, errors with positions, and refusal of injections."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from neloura.core.filter_tokens import tokenize
from neloura.core.filters import compile_expression, compile_filter
from neloura.errors import InvalidFilter

KINDS = {"ra": "num", "dec": "num", "flux": "num", "name": "str", "flag": "bool", "count": "num", "vec": "other"}


def _table(n: int = 2000) -> pa.Table:
    rng = np.random.default_rng(7)
    flux = rng.lognormal(1.0, 1.0, n)
    flux[rng.random(n) < 0.1] = np.nan
    names = np.array([f"src{i:04d}" if i % 3 else f"gal{i:04d}" for i in range(n)])
    return pa.table(
        {
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-90, 90, n),
            "flux": pa.array(flux, from_pandas=True),  # NaN -> null, as the loader does
            "name": names,
            "flag": rng.random(n) < 0.5,
            "count": rng.integers(-5, 100, n),
        }
    )


def _run(table: pa.Table, text: str) -> np.ndarray:
    expr = compile_filter(text, KINDS)
    con = duckdb.connect()
    con.register("cat", table.append_column("__i", pa.array(np.arange(table.num_rows))))
    out = con.sql(f"SELECT __i FROM cat WHERE {expr.sql} ORDER BY __i", params=expr.params or None).fetchnumpy()
    con.close()
    mask = np.zeros(table.num_rows, bool)
    mask[out["__i"]] = True
    return mask


@pytest.fixture(scope="module")
def data() -> tuple[pa.Table, dict[str, np.ndarray]]:
    table = _table()
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in ("ra", "dec", "count", "flag")}
    cols["flux"] = table.column("flux").to_numpy(zero_copy_only=False).astype(float)
    cols["name"] = np.array(table.column("name").to_pylist())
    return table, cols


def _sky(ra1, dec1, ra2, dec2):  # haversine, arcsec
    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))) * 3600


CASES = [
    ("flux > 5", lambda c: c["flux"] > 5),
    ("flux > 5 && dec < 0 && ra >= 100", lambda c: (c["flux"] > 5) & (c["dec"] < 0) & (c["ra"] >= 100)),
    ("flux > 5 and dec < 0 or count == 3", lambda c: ((c["flux"] > 5) & (c["dec"] < 0)) | (c["count"] == 3)),
    ("!(flux > 5)", lambda c: ~(c["flux"] > 5)),
    ("not flag", lambda c: ~c["flag"]),
    ("flag && count % 2 == 0", lambda c: c["flag"] & (np.fmod(c["count"], 2) == 0)),
    ("(ra + dec) * 2 - 1 > 100 / 4", lambda c: (c["ra"] + c["dec"]) * 2 - 1 > 25),
    ("-dec > 10", lambda c: -c["dec"] > 10),
    ("abs(dec) < 10", lambda c: np.abs(c["dec"]) < 10),
    ("log10(flux) > 0.5", lambda c: np.log10(c["flux"]) > 0.5),
    ("ln(flux) < 1 && sqrt(flux) > 1", lambda c: (np.log(c["flux"]) < 1) & (np.sqrt(c["flux"]) > 1)),
    ("sqrt(count) > 3", lambda c: np.sqrt(np.where(c["count"] >= 0, c["count"], np.nan)) > 3),
    ("exp(flux) > 20", lambda c: np.exp(c["flux"]) > 20),
    ("pow(flux, 2) >= 30", lambda c: c["flux"] ** 2 >= 30),
    ("sin(dec) > 0.5", lambda c: np.sin(np.radians(c["dec"])) > 0.5),
    ("cos(ra) < 0 && tan(dec) > 1", lambda c: (np.cos(np.radians(c["ra"])) < 0) & (np.tan(np.radians(c["dec"])) > 1)),
    ("skyDistance(ra, dec, 180, 30) < 3600*40", lambda c: _sky(c["ra"], c["dec"], 180, 30) < 144000),
    ("name == 'src0001'", lambda c: c["name"] == "src0001"),
    ('name != "src0001" && count = 7', lambda c: (c["name"] != "src0001") & (c["count"] == 7)),
    ("name contains 'gal'", lambda c: np.char.find(c["name"], "gal") >= 0),
    (
        "startsWith(name, 'gal00') || endsWith(name, '99')",
        lambda c: np.char.startswith(c["name"], "gal00") | np.char.endswith(c["name"], "99"),
    ),
    ("flux is null", lambda c: np.isnan(c["flux"])),
    ("NULL_flux || isNull(flux)", lambda c: np.isnan(c["flux"])),
    ("flux is not null && flux != null", lambda c: ~np.isnan(c["flux"])),
    ("$3 > 5", lambda c: c["flux"] > 5),
    ("`flux` > 5 AND DEC < 0", lambda c: (c["flux"] > 5) & (c["dec"] < 0)),
    ("count / 0 > 1", lambda c: np.zeros_like(c["flag"])),
    ("1e1 < flux", lambda c: c["flux"] > 10),
    (
        "round(flux) == 3 || floor(flux) == 7 || ceil(flux) == 12",
        lambda c: (np.round(c["flux"]) == 3) | (np.floor(c["flux"]) == 7) | (np.ceil(c["flux"]) == 12),
    ),
    (
        "min(ra, dec) > 0 && max(ra, dec) < 200",
        lambda c: (np.minimum(c["ra"], c["dec"]) > 0) & (np.maximum(c["ra"], c["dec"]) < 200),
    ),
    ("true", lambda c: np.ones_like(c["flag"])),
    (
        "matches(name, '^gal00[0-4]')",
        lambda c: np.array([n.startswith(("gal000", "gal001", "gal002", "gal003", "gal004")) for n in c["name"]]),
    ),
    ("!(flux > 5 || dec > 0)", lambda c: ~((c["flux"] > 5) | (c["dec"] > 0))),
    ("not (flux > 5 and dec > 0)", lambda c: ~((c["flux"] > 5) & (c["dec"] > 0))),
    ("!!(flux < 2) || !flag", lambda c: (c["flux"] < 2) | ~c["flag"]),
    ("(flux > 5) == (dec > 0)", lambda c: (c["flux"] > 5) == (c["dec"] > 0)),
    ("(flux > 5) != flag", lambda c: (c["flux"] > 5) != c["flag"]),
    (
        "!(log10(flux) > 0.5 && name contains 'gal')",
        lambda c: ~((np.log10(c["flux"]) > 0.5) & (np.char.find(c["name"], "gal") >= 0)),
    ),
]


@pytest.mark.parametrize(("text", "reference"), CASES, ids=[c[0] for c in CASES])
def test_filter_matches_numpy_reference(data, text, reference) -> None:
    table, cols = data
    with np.errstate(all="ignore"):
        expected = np.asarray(reference(cols), dtype=bool)
    got = _run(table, text)
    assert got.sum() == expected.sum()
    assert np.array_equal(got, expected)


def test_values_are_parameters_never_sql_text() -> None:
    expr = compile_filter("name == 'x'' OR 1=1 --' && flux > 3", KINDS)
    assert "OR 1=1" not in expr.sql
    assert list(expr.params.values()) == ["x' OR 1=1 --", 3]
    assert '"name"' in expr.sql and "$p0" in expr.sql


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("flux > ", 7, "expected a value"),
        ("flx > 3", 0, "unknown column 'flx'"),
        ("flux > 3 &&& dec", 11, "unexpected character '&'"),
        ("1; DROP TABLE cat", 1, "unexpected character ';'"),
        ("') OR 1=1 --", 0, "unexpected character"),
        ("read_csv('/etc/passwd') > 0", 0, "unknown function 'read_csv'"),
        ("flux > 3 UNION SELECT 1", 9, "unexpected 'UNION'"),
        ("name > 3", 5, "cannot compare a string with a number"),
        ("flux + name > 1", 5, "'+' needs numbers"),
        ("vec > 1", 0, "holds arrays"),
        ("flux > 3 && ", 12, "expected a value"),
        ("(flux > 3", 9, "expected ')'"),
        ("abs(flux, 2) > 1", 0, "takes 1 argument"),
        ("flux contains 'a'", 5, "'contains' needs strings"),
        ("$99 > 1", 0, "no column $99"),
        ("flux && dec > 1", 5, "needs conditions"),
    ],
)
def test_errors_point_at_the_position_and_name_columns(text, position, fragment) -> None:
    with pytest.raises(InvalidFilter) as info:
        compile_filter(text, KINDS)
    assert info.value.position == position, info.value.message
    assert fragment in info.value.message
    assert info.value.columns == list(KINDS)


def test_unknown_column_lists_valid_columns_and_suggests() -> None:
    with pytest.raises(InvalidFilter) as info:
        compile_filter("fluxx > 1", KINDS)
    assert "did you mean 'flux'" in info.value.message
    assert "valid columns: ra, dec, flux, name" in info.value.message


def test_filter_must_be_a_condition_and_expression_may_be_a_number() -> None:
    with pytest.raises(InvalidFilter, match="must be a condition"):
        compile_filter("flux * 2", KINDS)
    assert compile_expression("flux * 2", KINDS).kind == "num"
    assert compile_expression("upper(name)", KINDS).kind == "str"


def test_deep_nesting_and_huge_input_are_refused_cleanly() -> None:
    with pytest.raises(InvalidFilter, match="nested more than 50 levels"):
        compile_filter("(" * 500 + "flux > 1" + ")" * 500, KINDS)
    for depth in (99, 200):  # nested function calls (issue 13.6: a RecursionError, a 500, before)
        with pytest.raises(InvalidFilter, match="nested more than 50 levels"):
            compile_filter("abs(" * depth + "flux" + ")" * depth + " > 0", KINDS)
    assert compile_filter("abs(" * 40 + "flux" + ")" * 40 + " > 0", KINDS).kind == "bool"
    with pytest.raises(InvalidFilter, match="longer than"):
        compile_filter("flux > 1 && " * 2000 + "flux > 1", KINDS)
    with pytest.raises(InvalidFilter, match="empty"):
        compile_filter("   ", KINDS)


def test_tokenizer_handles_escapes_and_numbers() -> None:
    tokens = tokenize(r"""'it''s' "a\"b" 1.5e3 .5 $2""")
    assert [t.value for t in tokens[:-1]] == ["it's", 'a"b', 1500.0, 0.5, 2]
