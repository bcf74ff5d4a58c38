"""CatalogStore: conversion cache, rebuild on change, queries equal to numpy, RA/Dec, uploads."""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from neloura.errors import (
    CatalogNotFound,
    InvalidFilter,
    InvalidParameter,
    PathOutsideRoot,
    PayloadTooLarge,
    UnsupportedFormat,
)
from neloura.runtime.catalog_stats import column_stats
from neloura.runtime.catalogs import CatalogStore
from neloura.settings import Settings
from tests.conftest import VOTABLE_DATA


def synthetic(n: int = 3000, seed: int = 11) -> Table:
    rng = np.random.default_rng(seed)
    t = Table()
    t["ra"] = rng.uniform(0, 360, n)
    t["dec"] = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    t["flux"] = rng.lognormal(1, 1, n)
    t["flux"][rng.random(n) < 0.05] = np.nan
    t["mag"] = 25 - 2.5 * np.log10(np.nan_to_num(t["flux"], nan=1.0))
    t["kind"] = rng.choice(["star", "galaxy", "qso"], n)
    return t


@pytest.fixture
def store(settings: Settings) -> CatalogStore:
    s = CatalogStore(settings)
    yield s
    s.close()


def _write(settings: Settings, name: str, table: Table) -> Path:
    path = settings.catalogs_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    table.write(path, overwrite=True)
    return path


def test_first_open_converts_then_cache_is_reused_and_rebuilt_on_change(settings: Settings) -> None:
    path = _write(settings, "cat.fits", synthetic())
    first = CatalogStore(settings)
    assert first.state("cat.fits")["state"] == "new"
    assert first.open("cat.fits").num_rows == 3000
    first.flush()  # the cache is written in the background
    cached = sorted((settings.cache_dir / "catalogs").glob("*.arrow"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    second = CatalogStore(settings)  # a new server: maps the cache file, converts nothing
    assert second.state("cat.fits")["state"] == "cached"
    assert second.open("cat.fits").num_rows == 3000
    assert cached[0].stat().st_mtime_ns == stamp
    _write(settings, "cat.fits", synthetic(n=1200, seed=5))  # the file changes: rebuilt, old cache gone
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert second.open("cat.fits").num_rows == 1200
    second.flush()
    assert len(list((settings.cache_dir / "catalogs").glob("*.arrow"))) == 1
    first.close()
    second.close()


def test_select_and_rows_equal_numpy(settings: Settings, store: CatalogStore) -> None:
    table = synthetic()
    _write(settings, "cat.fits", table)
    flux = np.asarray(table["flux"])
    mask = (flux > 3) & (table["dec"] < 20) & (np.asarray(table["kind"]) != "qso")
    got = store.select("cat.fits", "flux > 3 && dec < 20 && kind != 'qso'")
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.flatnonzero(mask))
    np.testing.assert_array_equal(store.select("cat.fits"), np.arange(len(table)))

    page = store.rows("cat.fits", filter="flux > 3", sort="-flux", columns=["ra", "flux"], offset=5, limit=10)
    order = np.flatnonzero(flux > 3)[np.argsort(-flux[flux > 3], kind="stable")]
    assert page["total"] == int(np.sum(flux > 3))
    assert page["columns"] == ["ra", "flux"]
    assert page["index"] == order[5:15].tolist()
    np.testing.assert_allclose([r[1] for r in page["rows"]], flux[order[5:15]])

    ascending = store.rows("cat.fits", sort="flux", columns=["flux"], offset=len(table) - 3, limit=10)
    assert [r[0] for r in ascending["rows"]] == [None, None, None]  # nulls (NaN) sort last, as null


def test_computed_columns_and_stats(settings: Settings, store: CatalogStore) -> None:
    table = synthetic()
    _write(settings, "cat.fits", table)
    page = store.rows(
        "cat.fits", columns=["flux", "m2"], computed=["m2=-2.5*log10(flux) + 25"], sort="m2", limit=5,
        filter="m2 < 24",
    )  # fmt: skip
    flux = np.asarray(table["flux"])
    m2 = -2.5 * np.log10(flux) + 25
    assert page["total"] == int(np.sum(m2 < 24))
    np.testing.assert_allclose([r[1] for r in page["rows"]], np.sort(m2[m2 < 24])[:5])
    stats = column_stats(store, "cat.fits", "flux", filter="dec > 0", bins=10)
    selected = flux[(table["dec"] > 0) & np.isfinite(flux)]
    assert stats["count"] == len(selected)
    assert stats["nulls"] == int(np.sum((table["dec"] > 0) & np.isnan(flux)))
    np.testing.assert_allclose(
        [stats["mean"], stats["std"], stats["median"], stats["min"], stats["max"]],
        [selected.mean(), selected.std(ddof=1), np.median(selected), selected.min(), selected.max()],
    )
    counts, edges = np.histogram(selected, bins=10, range=(selected.min(), selected.max()))
    assert stats["histogram"]["counts"] == counts.tolist()
    np.testing.assert_allclose(stats["histogram"]["edges"], edges)
    text = column_stats(store, "cat.fits", "kind")
    assert text["distinct"] == 3 and sum(n for _, n in text["top"]) == len(table)


def test_radec_from_detection_sexagesimal_and_override(settings: Settings, store: CatalogStore) -> None:
    csv = "name,RA_hms,DE_dms,ra_deg,dec_deg\na,12:30:00,-45:30:00,187.5,-45.5\nb,00:00:36,+00:06:00,0.15,0.1\nc,,,,\n"
    (settings.catalogs_dir / "sexa.csv").write_text(csv)
    assert store.radec_columns("sexa.csv") == ("RA_hms", "DE_dms")
    ra, dec = store.radec("sexa.csv")
    np.testing.assert_allclose(ra[:2], [187.5, 0.15])
    np.testing.assert_allclose(dec[:2], [-45.5, 0.1])
    assert np.isnan(ra[2]) and np.isnan(dec[2])
    ra2, dec2 = store.radec("sexa.csv", "ra_deg", "dec_deg")
    np.testing.assert_allclose(ra2[:2], ra[:2])
    np.testing.assert_allclose(dec2[:2], dec[:2])
    with pytest.raises(InvalidParameter, match="ra_col"):
        store.radec("sexa.csv", "nope", "dec_deg")


def test_names_are_confined_and_errors_are_domain_errors(settings: Settings, store: CatalogStore) -> None:
    shutil.copy(VOTABLE_DATA / "vizier_b2_votable.xml", settings.catalogs_dir / "viz.xml")
    with pytest.raises(PathOutsideRoot):
        store.resolve("../settings.json")
    with pytest.raises(PathOutsideRoot):
        store.resolve("/etc/passwd")
    with pytest.raises(CatalogNotFound):
        store.open("missing.csv")
    with pytest.raises(InvalidFilter) as info:
        store.rows("viz.xml", filter="MajDiam > 1; DROP TABLE cat")
    assert "MajDiam" in info.value.columns
    with pytest.raises(InvalidParameter, match="sort"):
        store.rows("viz.xml", sort="nope")
    with pytest.raises(InvalidParameter, match="unknown column"):
        store.rows("viz.xml", columns=["nope"])
    assert store.rows("viz.xml", limit=1)["total"] == 20  # nothing was changed by the attempts


def test_upload_is_validated_and_a_bad_one_leaves_nothing(settings: Settings, store: CatalogStore) -> None:
    kept = store.save_upload(io.BytesIO(b"ra,dec,flux\n1,2,3\n4,5,6\n"), "my cat!.csv")
    assert kept["name"] == "uploads/my_cat_.csv" and kept["rows"] == 2
    again = store.save_upload(io.BytesIO(b"ra,dec\n1,2\n"), "my cat!.csv")
    assert again["name"] == "uploads/my_cat_-1.csv"
    with pytest.raises(UnsupportedFormat):
        store.save_upload(io.BytesIO(b"\x00garbage" * 50), "broken.fits")
    with pytest.raises(UnsupportedFormat, match="not a catalog file name"):
        store.save_upload(io.BytesIO(b"x"), "script.sh")
    settings.upload_max_mb = 1
    with pytest.raises(PayloadTooLarge):
        store.save_upload(io.BytesIO(b"a,b\n" + b"1,2\n" * 400_000), "big.csv")
    names = sorted(p.name for p in (settings.catalogs_dir / "uploads").iterdir())
    assert names == ["my_cat_-1.csv", "my_cat_.csv"]


def test_memory_lru_keeps_the_budget(settings: Settings) -> None:
    for i in range(3):
        _write(settings, f"c{i}.fits", synthetic(seed=i))
    store = CatalogStore(settings, memory_mb=0)  # budget below one table: only the newest stays hot
    for i in range(3):
        store.open(f"c{i}.fits")
    store.flush()
    assert [store.state(f"c{i}.fits")["state"] for i in range(3)] == ["cached", "cached", "ready"]
    assert store.rows("c0.fits", limit=1)["total"] == 3000  # reloaded from the cache on demand
    store.close()


def test_rows_around_a_row_finds_its_page(settings: Settings, store: CatalogStore) -> None:
    table = synthetic()
    _write(settings, "cat.fits", table)
    flux = np.asarray(table["flux"])
    target = int(np.flatnonzero(flux > 3)[40])
    page = store.rows("cat.fits", filter="flux > 3", sort="-flux", limit=25, around=target)
    assert target in page["index"] and page["offset"] % 25 == 0
    missing = int(np.flatnonzero(~(flux > 3))[0])
    assert store.rows("cat.fits", filter="flux > 3", limit=25, around=missing)["offset"] == 0


def test_several_computed_columns_in_one_entry(settings: Settings, store: CatalogStore) -> None:
    _write(settings, "cat.fits", synthetic())
    page = store.rows("cat.fits", columns=["a", "b"], computed=["a=dec*2\nb=a+1"], limit=3)
    assert [row[1] - row[0] for row in page["rows"]] == pytest.approx([1.0, 1.0, 1.0])


@pytest.mark.parametrize("cut", [3.0, 8.0])  # 8: few rows match, so only they are sorted
def test_sorted_filtered_pages_and_around_equal_numpy(settings: Settings, store: CatalogStore, cut: float) -> None:
    table = synthetic()
    _write(settings, "cat.fits", table)
    flux = np.asarray(table["flux"])
    order = np.flatnonzero(flux > cut)[np.argsort(-flux[flux > cut], kind="stable")]
    page = store.rows("cat.fits", filter=f"flux > {cut}", sort="-flux", offset=20, limit=20)
    assert page["total"] == order.size and page["index"] == order[20:40].tolist()
    target = int(order[-3])
    near = store.rows("cat.fits", filter=f"flux > {cut}", sort="-flux", limit=20, around=target)
    assert target in near["index"] and near["offset"] == (order.size - 3) // 20 * 20


def test_fits_hdu_in_the_name(settings: Settings, store: CatalogStore) -> None:
    from astropy.io import fits

    hdus = [fits.PrimaryHDU(), fits.BinTableHDU(Table({"x": [1.0, 2.0]})), fits.BinTableHDU(Table({"y": [1, 2, 3]}))]
    fits.HDUList(hdus).writeto(settings.catalogs_dir / "multi.fits")
    assert store.rows("multi.fits")["columns"] == ["x"]
    assert store.rows("multi.fits[2]")["columns"] == ["y"] and store.rows("multi.fits[2]")["total"] == 3
    with pytest.raises(UnsupportedFormat, match="not a table"):
        store.open("multi.fits[0]")
