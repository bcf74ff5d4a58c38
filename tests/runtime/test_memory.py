"""The server's memory budget: caches evicted largest first, work refused (507) when it cannot fit,
and the open-image LRU of compressed images kept under the budget."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from astropy.io import fits

import neloura.core.fits_compressed as fits_compressed
from neloura.errors import MemoryBudgetExceeded, status_for
from neloura.runtime.images import ImageStore
from neloura.runtime.levels import LevelStore
from neloura.runtime.memory import MB, MemoryBudget, array_bytes, resident_bytes, unique_bytes
from neloura.runtime.tiles import TileService
from neloura.settings import Settings


class _Lru:
    """A cache of named byte counts (a stand-in for a real cache's entries)."""

    def __init__(self, **entries: int) -> None:
        self.entries: OrderedDict[str, int] = OrderedDict(entries)

    def nbytes(self) -> int:
        return sum(self.entries.values())

    def evict_one(self) -> int:
        if len(self.entries) <= 1:  # never the most recent
            return 0
        return self.entries.popitem(last=False)[1]


def _budget(mb: int, resident: int = 0) -> MemoryBudget:
    """A budget for the caches alone (this test process's own size left out)."""
    return MemoryBudget(mb, resident=lambda: resident)


def test_make_room_evicts_the_largest_cache_first_then_refuses_with_507() -> None:
    budget = _budget(100)
    small, large = _Lru(a=10 * MB, b=10 * MB), _Lru(x=30 * MB, y=30 * MB, z=10 * MB)
    budget.register("small", small.nbytes, small.evict_one)
    budget.register("large", large.nbytes, large.evict_one)
    budget.make_room(20 * MB)  # 90 MB in use + 20 MB: 10 MB over
    assert list(large.entries) == ["y", "z"] and list(small.entries) == ["a", "b"]
    budget.make_room(70 * MB)  # 60 MB in use, 30 over: the large cache's oldest is enough
    assert list(large.entries) == ["z"] and list(small.entries) == ["a", "b"]
    with pytest.raises(MemoryBudgetExceeded, match=r"needs 95 MB.*NELOURA_MEMORY_MB.*20 MB in use") as refused:
        budget.make_room(95 * MB)  # each cache down to its most recent entry: 20 MB cannot be freed
    assert list(large.entries) == ["z"] and list(small.entries) == ["b"]
    assert status_for(refused.value) == 507


def test_a_process_over_budget_empties_caches_but_refuses_nothing() -> None:
    """Memory no cache accounts for (transient reads, heap fragmentation) makes room; the
    refusal is decided on what the caches hold, never on the process's size alone."""
    budget = _budget(100, resident=150 * MB)
    cache = _Lru(a=10 * MB, b=10 * MB, c=10 * MB)
    budget.register("c", cache.nbytes, cache.evict_one)
    budget.make_room(0)
    assert list(cache.entries) == ["c"]


def test_no_budget_never_evicts() -> None:
    budget = MemoryBudget(0)
    cache = _Lru(a=10**12, b=10**12)
    budget.register("c", cache.nbytes, cache.evict_one)
    budget.make_room(10**13)
    assert len(cache.entries) == 2


def test_the_process_memory_is_read() -> None:
    assert resident_bytes() > 10 * MB and unique_bytes() > 10 * MB


def test_open_compressed_images_stay_under_the_budget(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve compressed images read whole in turn: the store's bands and samples are evicted
    (least recently used first) to stay within the budget; the newest image keeps its bands."""
    monkeypatch.setattr(fits_compressed, "IN_MEMORY_MAX_PIXELS", 0)
    settings.limits_sample_size = 10_000
    rng = np.random.default_rng(5)
    for i in range(12):
        data = rng.normal(100, 5, (512, 512)).astype(np.float32)  # 1 MB decompressed
        fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data)]).writeto(settings.files_dir / f"c{i}.fits.fz")
    budget = _budget(4)  # four images' worth of bands
    store = ImageStore(settings, budget=budget)
    held = []
    for i in range(12):
        image = store.get(f"c{i}.fits.fz", 1)
        image.plane().full()  # every band decompressed and kept
        store.default_limits(f"c{i}.fits.fz", 1)
        held.append(store.nbytes())
    store.get("c11.fits.fz", 1)  # the next request makes room again
    assert max(held[:4]) < 4 * MB and store.nbytes() <= 4 * MB
    assert store.get("c11.fits.fz", 1).nbytes == 512 * 512 * 4  # the most recent keeps its bands
    assert store.get("c0.fits.fz", 1).nbytes == 0  # the oldest gave them back
    assert float(store.get("c0.fits.fz", 1).plane().read(0, 1, 0, 1)[0, 0]) > 50  # and reads again
    store.close()


def test_levels_that_cannot_fit_are_refused_but_full_resolution_tiles_are_served(settings: Settings) -> None:
    settings.limits_sample_size = 10_000
    data = np.random.default_rng(2).normal(0, 1, (1024, 1024)).astype(np.float32)
    fits.PrimaryHDU(data).writeto(settings.files_dir / "a.fits")
    budget = _budget(1)  # 1 MB: the levels need 1.3 MB
    images = ImageStore(settings, budget=budget)
    levels = LevelStore(settings, budget)
    tiles = TileService(settings, images, levels)
    try:
        top = 10  # full resolution of 1024²
        assert tiles.render(tiles.spec("a.fits", top, 1, 1, "png"))[:4] == b"\x89PNG"
        with pytest.raises(MemoryBudgetExceeded, match=r"overview levels of a\.fits"):
            tiles.render(tiles.spec("a.fits", top - 2, 0, 0, "png"))
    finally:
        levels.close()
        images.close()


def test_a_reservation_evicts_first_holds_its_bytes_and_gives_them_back() -> None:
    budget = _budget(100)
    cache = _Lru(a=30 * MB, b=30 * MB, c=10 * MB)
    budget.register("c", cache.nbytes, cache.evict_one)
    with budget.reserve(50 * MB, "a region's pixels"):
        assert list(cache.entries) == ["b", "c"]  # 70 + 50 > 100: the oldest entry made room
        assert budget.reserved == 50 * MB and budget.usage()["reserved"] == 50 * MB
        # held bytes are never evictable: a second reservation that needs them is refused
        with pytest.raises(MemoryBudgetExceeded, match=r"another read needs 45 MB.*60 MB in use"):
            with budget.reserve(45 * MB, "another read"):
                pass
        assert budget.reserved == 50 * MB
    assert budget.reserved == 0
    with pytest.raises(ValueError), budget.reserve(40 * MB):
        raise ValueError("the work failed")
    assert budget.reserved == 0  # given back on failure too


def test_a_reservation_larger_than_the_budget_is_refused_before_the_work_runs() -> None:
    budget = _budget(100)
    ran = []
    with pytest.raises(MemoryBudgetExceeded, match=r"contours of a\.fits needs 200 MB") as refused:
        with budget.reserve(array_bytes((10 * 1024, 5 * 1024), np.float32), "contours of a.fits"):
            ran.append(True)
    assert not ran and budget.reserved == 0 and status_for(refused.value) == 507
    with MemoryBudget(0).reserve(10**15):  # no budget: nothing held, nothing refused
        pass


def test_array_bytes_is_shape_times_itemsize_times_copies() -> None:
    assert array_bytes((1000, 2000), np.float64) == 16_000_000
    assert array_bytes((10, 10, 4), np.uint8, copies=2.5) == 1000
