"""LevelStore: background-built levels equal numpy block means; LRU budget; disk cache."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits

from neloura.core.fitsio import FitsImage
from neloura.core.pyramid import block_mean
from neloura.core.tiles import Pyramid
from neloura.runtime import levels as levels_module
from neloura.runtime.levels import LevelStore
from neloura.settings import Settings


def _image(settings: Settings, name: str, data: np.ndarray) -> tuple[FitsImage, tuple[Path, float, int, int]]:
    path = settings.files_dir / name
    fits.PrimaryHDU(data).writeto(path, overwrite=True)
    path = path.resolve()
    return FitsImage(path, 0), (path, path.stat().st_mtime, 0, 0)


def test_levels_equal_numpy_block_means(settings: Settings) -> None:
    rng = np.random.default_rng(11)
    data = rng.normal(50, 5, size=(300, 520)).astype(np.float32)
    data[rng.random(data.shape) < 0.2] = np.nan
    image, key = _image(settings, "l.fits", data)
    store = LevelStore(settings)
    entry = store.levels(key, image.plane(0))
    g = Pyramid(520, 300)
    for level in range(g.max_level):
        k = g.factor(level)
        np.testing.assert_allclose(entry.get(k, timeout=30), block_mean(data[::-1], k), rtol=2e-6, equal_nan=True)
    assert entry.done.wait(30)
    assert store.levels(key, image.plane(0)) is entry  # cached
    store.close()
    image.close()


def test_cube_planes_have_their_own_levels(settings: Settings) -> None:
    cube = np.stack([np.full((64, 64), float(i), np.float32) for i in range(3)])
    path = settings.files_dir / "cube.fits"
    fits.PrimaryHDU(cube).writeto(path)
    path = path.resolve()
    image = FitsImage(path, 0)
    store = LevelStore(settings)
    for plane in range(3):
        key = (path, path.stat().st_mtime, 0, plane)
        assert (store.level(key, image.plane(plane), 4) == plane).all()
    store.close()
    image.close()


def test_budget_evicts_least_recently_used(settings: Settings) -> None:
    settings.level_cache_mb = 1  # each image below has ~1.4 MB of levels
    store = LevelStore(settings)
    keys = []
    for name in ("a.fits", "b.fits"):
        image, key = _image(settings, name, np.ones((2048, 600), np.float32))
        store.levels(key, image.plane(0)).done.wait(30)
        keys.append(key)
        image.close()
    assert keys[0] not in store._entries and keys[1] in store._entries
    store.close()


def test_disk_cache_round_trip(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(levels_module, "DISK_CACHE_MIN_PIXELS", 0)
    settings.disk_cache = True
    data = np.random.default_rng(2).normal(size=(130, 90)).astype(np.float32)
    image, key = _image(settings, "d.fits", data)
    first = LevelStore(settings)
    built = first.levels(key, image.plane(0))
    assert built.done.wait(30)
    first._pool.shutdown(wait=True)
    files = sorted((settings.cache_dir / "levels").glob("*/x*.npy"))
    assert len(files) == Pyramid(90, 130).max_level
    second = LevelStore(settings)
    loaded = second.levels(key, image.plane(0))
    assert loaded.done.is_set() and loaded.build_seconds[2] == 0.0  # read back, not rebuilt
    for k, array in built.arrays.items():
        np.testing.assert_array_equal(loaded.get(k), array)
    first.close()
    second.close()
    image.close()


def test_two_workers_build_the_same_levels_once(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two stores on one cache folder (two server workers): the lock on the cache entry makes the
    second wait for the first build and load its files; no temporary file is left behind."""
    monkeypatch.setattr(levels_module, "DISK_CACHE_MIN_PIXELS", 0)
    settings.disk_cache = True
    data = np.random.default_rng(5).normal(size=(700, 500)).astype(np.float32)
    image, key = _image(settings, "w.fits", data)
    stores = [LevelStore(settings), LevelStore(settings)]
    entries = [store.levels(key, image.plane(0)) for store in stores]
    assert all(entry.done.wait(60) for entry in entries)
    built = [any(seconds > 0 for seconds in entry.build_seconds.values()) for entry in entries]
    assert sorted(built) == [False, True]  # one built, the other read the first one's files
    for k, array in entries[0].arrays.items():
        np.testing.assert_array_equal(entries[1].get(k), array)
    folder = next((settings.cache_dir / "levels").iterdir())
    assert not list(folder.glob("*tmp*")) and not list(folder.glob(".*part*"))
    for store in stores:
        store.close()
    image.close()


def test_build_errors_reach_the_waiting_request(settings: Settings) -> None:
    image, key = _image(settings, "e.fits", np.ones((64, 64), np.float32))

    class Broken:
        width = height = 64
        image = SimpleNamespace(compressed=True)  # read through this object, which fails

        def read(self, *args: int) -> np.ndarray:
            raise OSError("disk on fire")

    store = LevelStore(settings)
    entry = store.levels(key, Broken())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="disk on fire"):
        entry.get(2, timeout=30)
    store.close()
    image.close()


def test_row_reader_equals_the_plane_for_scaled_integer_cubes(settings: Settings) -> None:
    from neloura.runtime.levels import RowReader

    rng = np.random.default_rng(4)
    raw = rng.integers(-30000, 30000, size=(3, 70, 50), dtype=np.int16)
    raw[1, 5, 7] = -32768
    hdu = fits.ImageHDU(raw)
    hdu.header["BSCALE"] = 0.25
    hdu.header["BZERO"] = 32768.0
    hdu.header["BLANK"] = -32768
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(settings.files_dir / "ints.fits")
    image = FitsImage(settings.files_dir / "ints.fits", 1)
    for index in range(3):
        plane = image.plane(index)
        with RowReader(plane) as rows:
            np.testing.assert_array_equal(rows.read(3, 60, 4, 45), plane.read(3, 60, 4, 45))
            whole = rows.read(0, 70, 0, 50)
        expected = raw[index] * 0.25 + 32768.0
        if index == 1:
            expected[5, 7] = np.nan
        np.testing.assert_allclose(whole, expected, equal_nan=True)
    image.close()


def test_levels_of_a_bzero_image_are_means_of_physical_values(settings: Settings) -> None:
    raw = np.arange(64 * 64, dtype=np.int16).reshape(64, 64)
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BZERO"] = 1000.0
    hdu.writeto(settings.files_dir / "bz.fits")
    path = (settings.files_dir / "bz.fits").resolve()
    image = FitsImage(path, 0)
    store = LevelStore(settings)
    level = store.level((path, path.stat().st_mtime, 0, 0), image.plane(0), 8)
    np.testing.assert_allclose(level, block_mean((raw + 1000.0)[::-1], 8), rtol=1e-6)
    store.close()
    image.close()


def test_gzipped_fits_levels_come_from_the_decompressed_data(settings: Settings) -> None:
    from neloura.runtime.levels import RowReader

    data = np.random.default_rng(6).normal(size=(90, 70)).astype(np.float32)
    fits.PrimaryHDU(data).writeto(settings.files_dir / "z.fits.gz")
    path = (settings.files_dir / "z.fits.gz").resolve()
    image = FitsImage(path, 0)
    assert not RowReader.supports(image.plane(0))
    store = LevelStore(settings)
    level = store.level((path, path.stat().st_mtime, 0, 0), image.plane(0), 4)
    np.testing.assert_allclose(level, block_mean(data[::-1], 4), rtol=1e-5, atol=1e-6)
    store.close()
    image.close()


def test_infinities_are_no_data_in_levels(settings: Settings) -> None:
    data = np.ones((64, 64), np.float32)
    data[::3, ::5] = np.inf
    data[1::7, ::2] = -np.inf
    data[10:20] = np.nan
    image, key = _image(settings, "inf.fits", data)
    store = LevelStore(settings)
    entry = store.levels(key, image.plane(0))
    for k in (2, 8, 64):
        level = entry.get(k, timeout=30)
        finite = level[np.isfinite(level)]
        assert finite.size and (finite == 1.0).all()
        np.testing.assert_array_equal(
            np.isnan(level), np.isnan(block_mean(np.where(np.isinf(data), np.nan, data)[::-1], k))
        )
    store.close()
    image.close()


def test_large_levels_are_built_straight_into_their_cache_file(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(levels_module, "DISK_CACHE_MIN_PIXELS", 0)
    monkeypatch.setattr(levels_module, "DISK_LEVEL_MIN_BYTES", 4000)  # x2 and x4 of a 200x150 image
    settings.disk_cache = True
    data = np.random.default_rng(12).normal(size=(150, 200)).astype(np.float32)
    data[:30] = np.nan
    image, key = _image(settings, "big.fits", data)
    store = LevelStore(settings)
    entry = store.levels(key, image.plane(0))
    assert entry.done.wait(30)
    store._pool.shutdown(wait=True)
    assert entry.in_file == {2, 4}
    for k in (2, 4, 8):
        assert isinstance(entry.arrays[k], np.memmap)  # served from the cache file
        np.testing.assert_allclose(entry.arrays[k], block_mean(data[::-1], k), rtol=2e-6, atol=1e-6, equal_nan=True)
    folder = next((settings.cache_dir / "levels").iterdir())
    assert not list(folder.glob("*.tmp.npy")) and (folder / "complete").is_file()
    reloaded = LevelStore(settings).levels(key, image.plane(0))
    np.testing.assert_array_equal(reloaded.get(2), entry.arrays[2])
    store.close()
    image.close()


def test_build_threads_run_at_a_lower_cpu_priority() -> None:
    """Level builds are background work: their threads are reniced, the caller's thread is not."""
    import os
    import threading

    from neloura.runtime.levels import BACKGROUND_NICE, background_priority

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []

    def thread() -> None:
        background_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    worker = threading.Thread(target=thread)
    worker.start()
    worker.join()
    assert seen == [max(mine, BACKGROUND_NICE)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
