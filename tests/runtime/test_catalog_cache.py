"""Catalog conversion cache: keys per file version, the hidden row column, unreadable caches rebuilt."""

from __future__ import annotations

import json

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
