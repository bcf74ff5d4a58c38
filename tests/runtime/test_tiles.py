"""TileService: specs and ETags, the rendered-tile LRU, warm-up, mapped-page release."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from neloura.core.fitsio import FitsImage
from neloura.errors import InvalidParameter
from neloura.runtime.images import ImageStore
from neloura.runtime.levels import LevelStore
from neloura.runtime.tiles import MappedPages, TileCache, TileService
from neloura.settings import Settings


@pytest.fixture
def service(settings: Settings):
    data = np.random.default_rng(3).normal(size=(700, 600)).astype(np.float32)
    fits.PrimaryHDU(data).writeto(settings.files_dir / "t.fits")
    images = ImageStore(settings)
    levels = LevelStore(settings)
    yield TileService(settings, images, levels)
    levels.close()
    images.close()


def test_cache_is_bounded_least_recently_used_first() -> None:
    cache = TileCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"90ab")
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert cache.nbytes == 8
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("huge") is None


def test_spec_resolves_defaults_and_etag_names_the_pixels(service: TileService) -> None:
    spec = service.spec("t.fits", 10, 0, 0, "png")
    assert (spec.vmin, spec.vmax) == service.images.default_limits("t.fits", 0, 0)
    assert spec.stretch == "linear" and spec.cmap == "gray" and spec.exponent == 1.0
    assert spec.etag == service.spec("t.fits", 10, 0, 0, "png").etag
    assert spec.etag != service.spec("t.fits", 10, 0, 0, "png", stretch="log").etag
    assert spec.etag != service.spec("t.fits", 10, 1, 0, "png").etag
    assert service.ready("t.fits", 0, 0)
    with pytest.raises(InvalidParameter):
        service.spec("t.fits", 10, 0, 0, "tiff")


def test_render_is_cached_by_etag(service: TileService) -> None:
    spec = service.spec("t.fits", 9, 0, 0, "png")
    first = service.render(spec)
    assert service.cache.get(spec.etag) is first
    assert service.render(spec) is first


def test_warm_starts_the_level_build(service: TileService, settings: Settings) -> None:
    service.warm("t.fits", 0, 0)
    key = service.images.plane_key("t.fits", 0, 0)
    entry = service.levels.levels(key, service.images.get("t.fits", 0).plane(0))
    assert entry.done.wait(30) and 2 in entry.arrays


def test_mapped_pages_release_past_the_budget(settings: Settings) -> None:
    fits.PrimaryHDU(np.ones((512, 512), np.float32)).writeto(settings.files_dir / "m.fits")
    image = FitsImage(settings.files_dir / "m.fits", 0)
    assert image.memory_mapped  # uncompressed data are memory mapped
    pages = MappedPages(budget=600_000)
    pages.touched(image, 0, 256, 2048)  # 512 KB: under budget
    assert pages._estimate == 256 * 2048
    pages.touched(image, 0, 256, 2048)  # same band: not counted twice
    assert pages._estimate == 256 * 2048
    pages.touched(image, 256, 512, 2048)  # over budget: released, estimate restarts
    assert pages._estimate == 0
    assert float(image.plane(0).read(0, 1, 0, 1)[0, 0]) == 1.0  # data still readable
    image.close()


def test_opening_a_plane_builds_its_levels(service: TileService) -> None:
    service.images.default_limits("t.fits", 0, 0)  # what /api/images/info does
    key = service.images.plane_key("t.fits", 0, 0)
    assert key in service.levels._entries
    assert service.levels._entries[key].done.wait(30)


def test_ready_key_needs_the_open_image_and_the_default_limits_only_when_used(service: TileService) -> None:
    """A request naming vmin and vmax is ready (spec on the event loop, no thread hop) as soon
    as the image is open; without them, once the default limits are cached."""
    assert service.ready_key("t.fits", 0, 0, limits_given=True) is None  # not open yet
    service.images.get("t.fits", 0)
    key = service.ready_key("t.fits", 0, 0, limits_given=True)
    assert key is not None and key == service.images.plane_key("t.fits", 0, 0)
    assert service.ready_key("t.fits", 0, 0) is None  # default limits not computed yet
    spec = service.spec("t.fits", 10, 0, 0, "png", vmin=-1.0, vmax=1.0, key=key)
    assert spec.etag == service.spec("t.fits", 10, 0, 0, "png", vmin=-1.0, vmax=1.0).etag
    service.images.default_limits("t.fits", 0, 0)
    assert service.ready_key("t.fits", 0, 0) == key
