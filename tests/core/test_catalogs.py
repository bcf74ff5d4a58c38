"""Reading every catalog format into Arrow, column metadata and RA/Dec detection/conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.coordinates import Angle
from astropy.io import fits
from astropy.table import MaskedColumn, Table

from neloura.core.catalogs import column_infos, detect_table_radec, read_catalog
from neloura.core.radec import detect_radec, to_degrees
from neloura.errors import UnsupportedFormat
from tests.conftest import FITS_DATA, VOTABLE_DATA


def _synthetic(n: int = 500) -> Table:
    rng = np.random.default_rng(3)
    t = Table()
    t["RAJ2000"] = rng.uniform(0, 360, n)
    t["RAJ2000"].unit = "deg"
    t["DEJ2000"] = rng.uniform(-90, 90, n)
    t["flux"] = rng.lognormal(0, 1, n)
    t["flux"][::10] = np.nan
    t["flux"].unit = "mJy"
    t["flux"].description = "total flux"
    t["n"] = MaskedColumn(rng.integers(0, 50, n), mask=np.arange(n) % 7 == 0)
    t["name"] = [f"s{i}" for i in range(n)]
    return t


@pytest.mark.parametrize("suffix", [".fits", ".vot", ".csv", ".ecsv", ".parquet", ".tsv"])
def test_every_format_reads_the_same_values(tmp_path: Path, suffix: str) -> None:
    source = _synthetic()
    path = tmp_path / f"cat{suffix}"
    if suffix == ".vot":
        source.write(path, format="votable")
    elif suffix == ".tsv":
        source.write(path, format="ascii.csv", delimiter="\t")
    elif suffix == ".csv":
        source.write(path, format="ascii.csv")
    elif suffix == ".parquet":
        pq.write_table(pa.table({c: np.asarray(source[c]) for c in ("RAJ2000", "DEJ2000", "flux")}), path)
    else:
        source.write(path)
    table, fmt = read_catalog(path)
    assert fmt == {".vot": "votable", ".fits": "fits"}.get(suffix, suffix[1:])
    assert table.num_rows == len(source)
    np.testing.assert_allclose(table.column("RAJ2000").to_numpy(), source["RAJ2000"], rtol=1e-12)
    flux = table.column("flux")
    assert flux.null_count == 50  # NaN became null in every format
    np.testing.assert_allclose(flux.to_numpy(zero_copy_only=False)[1:10], source["flux"][1:10], rtol=1e-6)
    if suffix in (".fits", ".vot", ".ecsv"):
        infos = {c.name: c for c in column_infos(table)}
        assert infos["flux"].unit == "mJy"
        assert infos["n"].null_count == int(np.sum(np.arange(len(source)) % 7 == 0))
        assert infos["name"].kind == "str" and infos["name"].min == "s0"
    if suffix == ".ecsv" or suffix == ".vot":
        assert {c.name: c for c in column_infos(table)}["flux"].description == "total flux"


@pytest.mark.parametrize(
    ("name", "rows", "first"),
    [("table.fits", 3, "target"), ("tb.fits", 2, "c1"), ("btable.fits", 3, "order"), ("ascii.fits", 5, "a")],
)
def test_astropy_fits_tables(name: str, rows: int, first: str) -> None:
    table, fmt = read_catalog(FITS_DATA / name)
    assert fmt == "fits" and table.num_rows == rows and table.column_names[0] == first
    reference = fits.getdata(FITS_DATA / name, ext=1)
    assert len(reference) == rows


def test_fits_table_in_a_later_hdu_and_hdu_choice(tmp_path: Path) -> None:
    path = tmp_path / "multi.fits"
    hdus = fits.HDUList(
        [
            fits.PrimaryHDU(np.zeros((4, 4))),
            fits.ImageHDU(np.ones((2, 2))),
            fits.BinTableHDU(Table({"x": [1.0, 2.0]})),
            fits.BinTableHDU(Table({"y": [1, 2, 3]})),
        ]
    )
    hdus.writeto(path)
    assert read_catalog(path)[0].column_names == ["x"]
    assert read_catalog(path, hdu=3)[0].column_names == ["y"]
    with pytest.raises(UnsupportedFormat, match="not a table"):
        read_catalog(path, hdu=1)


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("vizier_b2_votable.xml", 20),
        ("regression.xml", 5),  # TABLEDATA with complex, arrays, masks
        ("regression.bin.tabledata.truth.1.3.xml", 5),
        ("binary2_masked_strings.xml", 3),  # BINARY2
        ("irsa-nph-m31.xml", 18),
        ("empty_table.xml", 0),
    ],
)
def test_astropy_votables(name: str, rows: int) -> None:
    table, fmt = read_catalog(VOTABLE_DATA / name)
    assert fmt == "votable" and table.num_rows == rows


def test_vizier_votable_metadata_and_radec() -> None:
    table, _ = read_catalog(VOTABLE_DATA / "vizier_b2_votable.xml")
    infos = column_infos(table)
    by_name = {c.name: c for c in infos}
    assert by_name["RAJ2000"].ucd == "pos.eq.ra;meta.main"
    assert by_name["MajDiam"].unit == "arcsec"
    assert detect_table_radec(infos) == ("RAJ2000", "DEJ2000")


def test_bad_files_are_unsupported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"not a fits file" * 100)
    with pytest.raises(UnsupportedFormat):
        read_catalog(bad)
    image_only = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((3, 3))).writeto(image_only)
    with pytest.raises(UnsupportedFormat, match="no table"):
        read_catalog(image_only)
    weird = tmp_path / "x.bin"
    weird.write_bytes(b"\x00\x01")
    with pytest.raises(UnsupportedFormat, match="not a catalog format"):
        read_catalog(weird)


@pytest.mark.parametrize(
    ("columns", "ucds", "expected"),
    [
        (["id", "ra", "dec", "radius"], {}, ("ra", "dec")),
        (["ALPHA_J2000", "DELTA_J2000", "FLUX_AUTO"], {}, ("ALPHA_J2000", "DELTA_J2000")),
        (["PHANGS_RA", "PHANGS_DEC"], {}, ("PHANGS_RA", "PHANGS_DEC")),
        (["cen_ra", "cen_dec", "rate"], {}, ("cen_ra", "cen_dec")),
        (["_RAJ2000", "_DEJ2000", "RAJ2000", "DEJ2000"], {}, ("_RAJ2000", "_DEJ2000")),
        (["x", "y"], {"x": "pos.eq.ra;meta.main", "y": "pos.eq.dec;meta.main"}, ("x", "y")),
        (["ra_err", "posA", "posB"], {"posA": "pos.eq.ra", "posB": "pos.eq.dec"}, ("posA", "posB")),
        (["ratio", "radius", "decay"], {}, (None, None)),
    ],
)
def test_detect_radec(columns, ucds, expected) -> None:
    assert detect_radec(columns, ucds) == expected


def test_sexagesimal_and_hours_match_astropy() -> None:
    ra_text = ["00:00:00.0", "12:30:45.5", "23 59 59.99", "05h34m31.94s", "180.5", None, "junk"]
    dec_text = ["-00:30:00", "+45:15:10.2", "-89 59 59.9", "+22d00m52.2s", "-12.25", None, "junk"]
    ra = to_degrees(pa.array(ra_text), is_ra=True)
    dec = to_degrees(pa.array(dec_text), is_ra=False)
    expected_ra = [Angle(v, unit="hourangle").deg for v in ra_text[:4]] + [180.5]
    expected_dec = [Angle(v, unit="deg").deg for v in dec_text[:4]] + [-12.25]
    np.testing.assert_allclose(ra[:5], expected_ra, atol=1e-9)
    np.testing.assert_allclose(dec[:5], expected_dec, atol=1e-9)
    assert np.isnan(ra[5:]).all() and np.isnan(dec[5:]).all()
    hours = to_degrees(pa.array([1.5, None, 23.0]), unit="h", is_ra=True)
    np.testing.assert_allclose(hours, [22.5, np.nan, 345.0])
    radians = to_degrees(pa.array([np.pi / 2]), unit="rad", is_ra=False)
    np.testing.assert_allclose(radians, [90.0])
    in_degrees = to_degrees(pa.array(["10:30:00"]), unit="deg", is_ra=True)
    np.testing.assert_allclose(in_degrees, [10.5])


def test_empty_and_repeated_column_names_become_distinct(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a,,__row,b\n1,2,3,4,x\n")
    table, _ = read_catalog(path)
    assert table.column_names == ["a", "a_2", "col3", "__row_2", "b"]
    assert table.column("a_2").to_pylist() == [2]


def test_csv_whose_later_rows_change_type_is_widened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import neloura.core.catalog_formats as formats

    monkeypatch.setattr(formats, "CSV_BLOCK_BYTES", 256)  # small blocks: the first block sees only integers
    lines = ["n,label"] + [f"{i},a{i}" for i in range(200)] + ["2.5,b", "7,c"]
    path = tmp_path / "types.csv"
    path.write_text("\n".join(lines) + "\n")
    table, _ = read_catalog(path)
    assert table.num_rows == 202
    assert table.schema.field("n").type == pa.float64()
    assert table.column("n").to_pylist()[-2:] == [2.5, 7.0]


def test_truncated_and_corrupt_files_are_unsupported_never_a_crash(tmp_path: Path) -> None:
    source = _synthetic(200)
    for suffix, writer in {
        ".fits": lambda p: source.write(p),
        ".vot": lambda p: source.write(p, format="votable"),
        ".ecsv": lambda p: source.write(p),
        ".parquet": lambda p: pq.write_table(pa.table({"x": np.arange(1000.0)}), p),
    }.items():
        whole = tmp_path / f"whole{suffix}"
        writer(whole)
        data = whole.read_bytes()
        for label, broken in {"half": data[: len(data) // 2], "noise": data[:200] + bytes(range(256)) * 20}.items():
            path = tmp_path / f"{label}{suffix}"
            path.write_bytes(broken)
            try:
                table, _ = read_catalog(path)
            except UnsupportedFormat:
                continue
            assert table.num_rows <= len(source) or suffix == ".parquet"  # a reader may keep what it could read
