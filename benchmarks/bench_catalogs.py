"""Catalog table benchmarks: first-open conversion, 3-condition filter, sort + page (each beside astropy).

    .venv/bin/python benchmarks/bench_catalogs.py                      # 10M rows, FITS and CSV
    .venv/bin/python benchmarks/bench_catalogs.py --rows 1000000 --repeat 3   # quicker

A seeded synthetic catalog (ra, dec and 10 numeric columns, float64) is written to a temporary
folder as FITS and CSV (deleted at the end). For each format the script prints:

- first open: CatalogStore conversion into the columnar cache, then a re-open from the cache by a
  fresh store (a restarted server), beside astropy's ``Table.read`` of the same file;
- a 3-condition filter (count + row indices), beside an astropy Table mask and a numpy mask;
- sort by one column descending + one page of 100 rows, beside astropy ``argsort`` + slice;
- responsiveness: latency of other catalog endpoints while the file converts (target: answers).

Figures are medians of ``--repeat`` runs. Targets (issue 4): filter <= 200 ms.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from _common import timed
from astropy.io import fits
from astropy.table import Table

from neloura.runtime.catalog_stats import column_stats
from neloura.runtime.catalogs import CatalogStore
from neloura.settings import Settings

FILTER = "flux > 5 && dec < 0 && mag < 22"


def line(name: str, ours: float, base: float | None = None, note: str = "") -> None:
    ratio = f"{base / ours:7.2f}x" if base else " " * 8
    base_s = f"{base:10.3f}" if base is not None else " " * 10
    print(f"  {name:42s} {ours:10.3f} {base_s} {ratio}  {note}", flush=True)


def make_columns(rows: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2026)
    cols = {
        "ra": rng.uniform(0, 360, rows),
        "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, rows))),
        "flux": rng.lognormal(1.0, 1.2, rows),
    }
    cols["mag"] = 25.0 - 2.5 * np.log10(cols["flux"]) + rng.normal(0, 0.05, rows)
    for i in range(8):
        cols[f"c{i}"] = rng.normal(i, 1.0, rows)
    return cols


def write_files(folder: Path, cols: dict[str, np.ndarray]) -> dict[str, Path]:
    t0 = time.perf_counter()
    fits_path = folder / "big.fits"
    hdu = fits.BinTableHDU.from_columns([fits.Column(name=k, format="D", array=v) for k, v in cols.items()])
    hdu.writeto(fits_path)
    csv_path = folder / "big.csv"
    pacsv.write_csv(pa.table(cols), csv_path)
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e9:.2f} GB" for p in (fits_path, csv_path))
    print(f"wrote {sizes} in {time.perf_counter() - t0:.1f} s", flush=True)
    return {"fits": fits_path, "csv": csv_path}


def astropy_read(path: Path) -> Table:
    if path.suffix == ".csv":
        return Table.read(path, format="ascii.csv", fast_reader=True)
    return Table.read(path, memmap=False)


def bench_open(settings: Settings, name: str, path: Path, repeat: int) -> tuple[float, Table]:
    print(f"\n== {name}: first open (conversion into the columnar cache) vs astropy Table.read", flush=True)
    cache = settings.cache_dir / "catalogs"
    times, cached = [], []
    for _ in range(max(1, min(repeat, 2))):  # conversions are long: at most 2 runs
        shutil.rmtree(cache, ignore_errors=True)
        store = CatalogStore(settings)
        t0 = time.perf_counter()
        store.open(path.name)
        times.append(time.perf_counter() - t0)
        store.flush()  # the cache file is written in the background once the table is usable
        cached.append(time.perf_counter() - t0)
        store.close()
    convert = statistics.median(times)
    base, table = timed(lambda: astropy_read(path), max(1, min(repeat, 2)))
    line("first open: table usable (s)", convert, base, "baseline: astropy Table.read")
    line("first open: cache file written too (s)", statistics.median(cached), base, "baseline: same")
    reopen, _ = timed(lambda: _reopen(settings, path.name), repeat)
    line("re-open from the cache, new store (s)", reopen, base, "baseline: astropy Table.read")
    return convert, table


def _reopen(settings: Settings, name: str) -> int:
    store = CatalogStore(settings)
    rows = store.open(name).num_rows
    store.close()
    return rows


def bench_queries(store: CatalogStore, name: str, table: Table, repeat: int) -> None:
    print(f"== {name}: filter `{FILTER}` and sort + page", flush=True)
    store.open(name)
    ours, selected = timed(lambda: store.select(name, FILTER), repeat)
    counted, page = timed(lambda: store.rows(name, filter=FILTER, limit=100), repeat)
    flux, dec, mag = (np.asarray(table[c]) for c in ("flux", "dec", "mag"))
    base, masked = timed(lambda: table[(table["flux"] > 5) & (table["dec"] < 0) & (table["mag"] < 22)], repeat)
    numpy_t, mask = timed(lambda: (flux > 5) & (dec < 0) & (mag < 22), repeat)
    assert len(selected) == len(masked) == int(mask.sum()) == page["total"]
    assert np.array_equal(selected, np.flatnonzero(mask))
    line("filter -> row indices (s)", ours, base, f"baseline: astropy Table mask; {len(selected):,} rows")
    line("filter -> count + first page of 100 (s)", counted, base, "baseline: astropy Table mask")
    line("numpy mask alone (s, reference)", numpy_t)
    sort_t, sorted_page = timed(lambda: store.rows(name, sort="-flux", offset=1000, limit=100), repeat)
    base_sort, expected = timed(lambda: table[np.argsort(-np.asarray(table["flux"]), kind="stable")[1000:1100]], repeat)
    assert np.allclose([r[2] for r in sorted_page["rows"]], expected["flux"])
    line("sort by -flux + page 11 of 100 rows (s)", sort_t, base_sort, "baseline: numpy argsort + astropy slice")
    both, _ = timed(lambda: store.rows(name, filter=FILTER, sort="-flux", offset=100, limit=100), repeat)
    line("filter + sort + page (s)", both, None)
    stats_t, stats = timed(lambda: column_stats(store, name, "mag", filter=FILTER, bins=50), repeat)
    where = lambda: (table["flux"] > 5) & (table["dec"] < 0) & (table["mag"] < 22)  # noqa: E731
    base_stats, _ = timed(lambda: _numpy_stats(np.asarray(table["mag"])[where()]), repeat)
    assert stats["count"] == int(mask.sum())
    line("stats + 50-bin histogram of a filtered column (s)", stats_t, base_stats, "baseline: astropy mask + numpy")


def _numpy_stats(values: np.ndarray) -> tuple[Any, ...]:
    return (values.min(), values.max(), values.mean(), values.std(), np.median(values), np.histogram(values, 50))


def bench_responsive(settings: Settings, path: Path) -> None:
    """Latency of other catalog calls while ``path`` converts in the background."""
    from fastapi.testclient import TestClient

    from neloura.app import create_app

    shutil.rmtree(settings.cache_dir / "catalogs", ignore_errors=True)
    small = settings.catalogs_dir / "small.csv"
    small.write_text("ra,dec,flux\n" + "".join(f"{i * 0.1},{i * 0.05},{i}\n" for i in range(1000)))
    print(f"\n== responsiveness while {path.name} converts (TestClient, real app)", flush=True)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:  # loopback Host
        client.get("/api/catalogs/rows", params={"name": "small.csv", "limit": 10})
        t0 = time.perf_counter()
        state = client.get("/api/catalogs/open", params={"name": path.name}).json()
        start_t = time.perf_counter() - t0
        latencies: list[float] = []
        done = threading.Event()
        while not done.is_set():
            t1 = time.perf_counter()
            client.get("/api/catalogs")
            client.get("/api/catalogs/rows", params={"name": "small.csv", "filter": "flux > 500", "limit": 10})
            latencies.append(time.perf_counter() - t1)
            state = client.get("/api/catalogs/open", params={"name": path.name}).json()
            if state["state"] == "ready":
                done.set()
            time.sleep(0.05)
        total = time.perf_counter() - t0
    print(f"  /open returned in {start_t * 1000:.1f} ms; conversion took {total:.1f} s", flush=True)
    lat = np.array(latencies) * 1000
    print(
        f"  list + rows of another catalog meanwhile: {len(lat)} calls, median {np.median(lat):.1f} ms, "
        f"p95 {np.percentile(lat, 95):.1f} ms, max {lat.max():.1f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--formats", default="fits,csv")
    parser.add_argument("--no-responsive", action="store_true", help="skip the responsiveness section")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-catalogs-"))
    try:
        settings = Settings(root=folder / "root", demo=False)
        settings.ensure_folders()
        cols = make_columns(args.rows)
        paths = write_files(settings.catalogs_dir, cols)
        del cols
        print(f"{args.rows:,} rows x 12 float64 columns; medians of {args.repeat}; times in seconds")
        print(f"  {'':42s} {'neloura':>10s} {'baseline':>10s} {'speed-up':>8s}")
        for fmt in args.formats.split(","):
            _, table = bench_open(settings, fmt, paths[fmt], args.repeat)
            store = CatalogStore(settings)
            bench_queries(store, paths[fmt].name, table, args.repeat)
            store.close()
            del table
        if not args.no_responsive:
            bench_responsive(settings, paths["csv"] if "csv" in paths else paths["fits"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
