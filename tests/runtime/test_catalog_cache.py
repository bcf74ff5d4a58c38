"""Catalog conversion cache: keys per file version, the hidden row column, unreadable caches rebuilt."""

from __future__ import annotations

import json
import threading

import numpy as np
import pyarrow as pa
from astropy.table import Table

from neloura.runtime.catalog_cache import CatalogCache, cache_key, cache_prefix, with_rows
from neloura.runtime.catalog_queries import ROW
from neloura.runtime.catalogs import CatalogStore
from neloura.settings import Settings


def test_cache_keys_follow_the_file_version() -> None:
    prefix = cache_prefix("/data/catalogs/a.fits")
    assert prefix != cache_prefix("/data/catalogs/a.fits[2]") and len(prefix) == 16
    key = cache_key(prefix, 100, 5)
    assert key.startswith(prefix + "-") and key == cache_key(prefix, 100, 5)
    assert key not in (cache_key(prefix, 101, 5), cache_key(prefix, 100, 6))


def test_with_rows_appends_one_file_order_index_last() -> None:
    chunked = pa.Table.from_batches([pa.record_batch({"a": [1.0, 2.0]}), pa.record_batch({"a": [3.0]})])
    table = with_rows(chunked)
    assert table.column_names == ["a", ROW] and table.column(0).num_chunks == 1
    np.testing.assert_array_equal(table.column(ROW).to_numpy(), [0, 1, 2])
    again = with_rows(table.slice(1))  # an old index column is replaced, not kept
    assert again.column_names == ["a", ROW]
    np.testing.assert_array_equal(again.column(ROW).to_numpy(), [0, 1])


def test_an_unreadable_cache_is_rebuilt(settings: Settings) -> None:
    path = settings.catalogs_dir / "t.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    Table({"ra": np.arange(5.0), "dec": np.zeros(5)}).write(path, format="ascii.csv")
    first = CatalogStore(settings)
    first.open("t.csv")
    first.flush()
    first.close()
    cache = CatalogCache(settings.cache_dir / "catalogs")
    sidecar = next(cache.cache_dir.glob("*.json"))
    key = sidecar.name.removesuffix(".json")
    assert cache.has(key) and cache.load("t.csv", path, key) is not None
    sidecar.write_text("{not json")
    assert cache.load("t.csv", path, key) is None
    second = CatalogStore(settings)
    assert second.open("t.csv").num_rows == 5
    second.flush()
    assert json.loads(sidecar.read_text())["radec"] == ["ra", "dec"]
    second.close()
    cache.close()


def test_two_workers_convert_a_catalog_once(settings: Settings) -> None:
    """Two caches on one folder (two server workers) asked for the same file at once: the conversion
    lock makes one convert and write, the other wait and load the cache file."""
    path = settings.catalogs_dir / "both.csv"
    Table({"ra": np.arange(2000.0), "dec": np.zeros(2000)}).write(path, format="ascii.csv")
    st = path.stat()
    prefix = cache_prefix(str(path))
    keys = (prefix, cache_key(prefix, st.st_size, st.st_mtime_ns))
    caches = [CatalogCache(settings.cache_dir / "catalogs"), CatalogCache(settings.cache_dir / "catalogs")]
    messages: list[list[str]] = [[], []]
    results: list[object] = [None, None]

    def open_in(i: int) -> None:
        results[i] = caches[i].convert("both.csv", path, keys, None, lambda f, m: messages[i].append(m))
        caches[i].flush()

    threads = [threading.Thread(target=open_in, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted("converting" in m for m in messages) == [False, True]  # one conversion
    assert all(r is not None and r.num_rows == 2000 for r in results)  # type: ignore[attr-defined]
    for cache in caches:
        cache.close()
