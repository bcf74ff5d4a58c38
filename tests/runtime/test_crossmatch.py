"""Sky indexes are built once per catalog file and column choice, in the background, and rebuilt
when the file changes; recent matches are kept; rows come out JSON-ready."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from astropy.table import Table

from neloura.errors import InvalidParameter
from neloura.runtime.catalogs import CatalogStore
from neloura.runtime.crossmatch import SkyIndexCache, table_rows
from neloura.settings import Settings


def _write(settings: Settings, name: str, ra: np.ndarray, dec: np.ndarray) -> None:
    Table({"ra": ra, "dec": dec, "alt_ra": ra + 1.0, "flux": np.arange(ra.size, dtype=float)}).write(
        settings.catalogs_dir / name, format="ascii.csv", overwrite=True
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[CatalogStore]:
    catalogs = CatalogStore(settings)
    yield catalogs
    catalogs.close()


def test_index_is_built_once_and_shared(settings: Settings, store: CatalogStore) -> None:
    rng = np.random.default_rng(1)
    _write(settings, "c.csv", rng.uniform(10, 11, 500), rng.uniform(-1, 1, 500))
    cache = SkyIndexCache(store)
    assert cache.cached("c.csv") is None
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("c.csv"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1
    assert cache.cached("c.csv") is results[0]
    other = cache.get("c.csv", "alt_ra", "dec")
    assert other is not results[0]  # another column choice is another index
    cache.close()


def test_index_follows_file_changes(settings: Settings, store: CatalogStore) -> None:
    _write(settings, "c.csv", np.array([10.0, 10.1]), np.array([0.0, 0.0]))
    cache = SkyIndexCache(store)
    first = cache.get("c.csv")
    assert first.rows.size == 2
    path = settings.catalogs_dir / "c.csv"
    _write(settings, "c.csv", np.array([10.0, 10.1, 10.2]), np.array([0.0, 0.0, 0.0]))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = cache.get("c.csv")
    assert second is not first and second.rows.size == 3
    cache.close()


def test_match_results_are_kept_for_paging(settings: Settings, store: CatalogStore) -> None:
    _write(settings, "a.csv", np.array([10.0, 20.0]), np.array([0.0, 0.0]))
    _write(settings, "b.csv", np.array([10.0 + 0.5 / 3600, 30.0]), np.array([0.0, 0.0]))
    cache = SkyIndexCache(store)
    result = cache.match(("a.csv", None, None), ("b.csv", None, None), 1.0, "best")
    assert result.rows_a.tolist() == [0] and result.rows_b.tolist() == [0]
    assert cache.match(("a.csv", None, None), ("b.csv", None, None), 1.0, "best") is result
    cache.close()


def test_missing_radec_columns_are_a_clear_error(settings: Settings, store: CatalogStore) -> None:
    (settings.catalogs_dir / "plain.csv").write_text("alpha,beta\n1,2\n")
    cache = SkyIndexCache(store)
    with pytest.raises(InvalidParameter, match="ra_col"):
        cache.get("plain.csv")
    cache.close()


def test_table_rows_are_json_ready(settings: Settings, store: CatalogStore) -> None:
    (settings.catalogs_dir / "t.csv").write_text("ra,dec,name,flux\n1.5,2.5,a,\n3.5,4.5,b,nan\n")
    columns, rows = table_rows(store.table("t.csv"), np.array([1, 0]))
    assert columns == ["ra", "dec", "name", "flux"]
    assert rows == [[3.5, 4.5, "b", None], [1.5, 2.5, "a", None]]
    with pytest.raises(InvalidParameter, match="unknown column"):
        table_rows(store.table("t.csv"), np.array([0]), ["nope"])


def test_a_converted_catalog_is_indexed_before_it_is_ready(settings: Settings, store: CatalogStore) -> None:
    """The KD-tree is built while the catalog converts (issue 8: the first cone must not pay for
    it); a reopen from the cache starts the build in the background; no RA/Dec: nothing built."""
    rng = np.random.default_rng(2)
    _write(settings, "fresh.csv", rng.uniform(10, 11, 2000), rng.uniform(-1, 1, 2000))
    Table({"a": np.arange(5.0), "b": np.arange(5.0)}).write(settings.catalogs_dir / "plain.csv", format="ascii.csv")
    cache = SkyIndexCache(store)
    store.on_loaded(cache.prepare)
    store.open("fresh.csv")
    assert cache.cached("fresh.csv") is not None  # no cone asked for yet
    store.open("plain.csv")  # no sky columns: loads, builds nothing, no error
    assert store.state("plain.csv")["state"] == "ready"
    store.flush()
    cache.close()

    reopened = CatalogStore(settings)
    later = SkyIndexCache(reopened)
    reopened.on_loaded(later.prepare)
    reopened.open("fresh.csv")  # from the cache file: the build goes on in the background
    assert later.get("fresh.csv") is later.cached("fresh.csv")
    later.close()
    reopened.close()
