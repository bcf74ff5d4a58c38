"""Disk cache pruning: entries of changed or vanished sources go, the budget drops the least
recently used, unfinished young builds stay, and nothing outside the cache is touched."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from neloura.core.fitsio import FitsImage
from neloura.runtime import levels as levels_module
from neloura.runtime.catalogs import CatalogStore
from neloura.runtime.disk_cache import ABANDONED_S, entries, prune
from neloura.runtime.levels import LevelStore
from neloura.settings import Settings


def _levels(settings: Settings, name: str, seed: int) -> Path:
    """Build and save the levels of a new image; returns the image path."""
    path = (settings.files_dir / name).resolve()
    fits.PrimaryHDU(np.random.default_rng(seed).normal(size=(120, 100)).astype(np.float32)).writeto(path)
    image = FitsImage(path, 0)
    store = LevelStore(settings)
    assert store.levels((path, path.stat().st_mtime, 0, 0), image.plane(0)).done.wait(30)
    store._pool.shutdown(wait=True)
    store.close()
    image.close()
    return path


def _catalog(settings: Settings, name: str) -> Path:
    path = settings.catalogs_dir / name
    Table({"ra": np.arange(5.0), "dec": np.arange(5.0)}).write(path, format="ascii.csv")
    store = CatalogStore(settings)
    store.open(name)
    store.flush()
    store.close()
    return path


@pytest.fixture
def cached(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(levels_module, "DISK_CACHE_MIN_PIXELS", 0)
    settings.disk_cache = True
    return settings


def _folders(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.cache_dir / "levels").iterdir())


def test_current_entries_are_kept_and_changed_or_vanished_sources_pruned(cached: Settings) -> None:
    keep = _levels(cached, "keep.fits", 1)
    changed = _levels(cached, "changed.fits", 2)
    gone = _levels(cached, "gone.fits", 3)
    table = _catalog(cached, "t.csv")
    _catalog(cached, "u.csv")
    assert len(_folders(cached)) == 3
    assert prune(cached.cache_dir, 1 << 40) == []  # all current, under budget: nothing goes

    st = changed.stat()
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # a new version
    gone.unlink()
    (cached.catalogs_dir / "u.csv").unlink()
    removed = prune(cached.cache_dir, 1 << 40)
    assert len([p for p in removed if p.parent.name == "levels"]) == 2
    assert {p.suffix for p in removed if p.parent.name == "catalogs"} == {".json", ".arrow"}
    assert len(_folders(cached)) == 1
    assert keep.exists() and table.exists() and changed.exists()  # sources are never touched
    store = CatalogStore(cached)  # the kept catalog still opens from its cache
    assert store.open("t.csv").num_rows == 5
    store.close()


def test_budget_drops_the_least_recently_used_first(cached: Settings) -> None:
    for i in range(3):
        _levels(cached, f"im{i}.fits", i)
    folders = _folders(cached)
    by_source = {(f / "complete").read_text(): f for f in folders}
    assert len(by_source) == 3
    now = time.time()
    for age, folder in zip((300, 200, 100), folders, strict=True):  # folders[0] used longest ago
        os.utime(folder / "complete", (now - age, now - age))
    one = entries(cached.cache_dir)[0].nbytes
    removed = prune(cached.cache_dir, int(2.5 * one))
    assert removed == [folders[0]]
    assert _folders(cached) == folders[1:]


def test_unfinished_builds_stay_while_young_and_old_formats_are_stale(cached: Settings) -> None:
    _levels(cached, "a.fits", 1)
    building = cached.cache_dir / "levels" / "half-built"
    building.mkdir()
    (building / "x2.tmp.npy").write_bytes(b"0" * 100)
    old_format = cached.cache_dir / "levels" / "old"
    old_format.mkdir()
    (old_format / "complete").write_text("/some/path.fits")  # the stamp before versions were kept
    (cached.cache_dir / "catalogs").mkdir(parents=True, exist_ok=True)
    tmp = cached.cache_dir / "catalogs" / ".abc.1.tmp"
    tmp.write_bytes(b"partial")
    removed = prune(cached.cache_dir, 1 << 40)
    assert removed == [old_format]
    assert building.exists() and tmp.exists()
    later = time.time() + ABANDONED_S + 60
    assert set(prune(cached.cache_dir, 1 << 40, now=later)) == {building, tmp}


def test_links_out_of_the_cache_are_never_followed(cached: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    (cached.cache_dir / "levels").mkdir(parents=True, exist_ok=True)
    (cached.cache_dir / "levels" / "link").symlink_to(outside, target_is_directory=True)
    prune(cached.cache_dir, 0)
    assert (outside / "precious.txt").read_text() == "keep me"


def test_the_server_prunes_at_start(cached: Settings) -> None:
    from fastapi.testclient import TestClient

    from neloura.app import create_app

    stale = cached.cache_dir / "levels" / "stale"
    stale.mkdir(parents=True)
    (stale / "complete").write_text('{"source": "/nowhere.fits", "size": 1, "mtime": 1.0}')
    with TestClient(create_app(cached)):
        deadline = time.monotonic() + 20
        while stale.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not stale.exists()
