"""ImageStore: confined paths, open-image LRU, cached sample and default limits."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from neloura.errors import ImageNotFound, PathOutsideRoot
from neloura.runtime.images import ImageStore
from neloura.settings import Settings


def _write(settings: Settings, name: str, data: np.ndarray) -> Path:
    path = settings.files_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(data).writeto(path, overwrite=True)
    return path


def test_sample_spans_the_whole_plane_and_limits_are_its_percentiles(settings: Settings) -> None:
    data = np.zeros((400, 300), np.float32)
    data[:, 150:] = 10.0  # a centre-only sample would miss one half
    data[:20] = np.nan
    _write(settings, "a.fits", data)
    store = ImageStore(settings)
    sample = store.sample("a.fits", 0, 0)
    assert np.isfinite(sample).all() and sample.size > 0.8 * 380 * 300
    assert 0.4 < (sample == 10.0).mean() < 0.6
    assert store.default_limits("a.fits", 0, 0) == pytest.approx(tuple(np.percentile(sample, [0.5, 99.5])))
    assert store.sample("a.fits", 0, 0) is sample  # cached
    assert not sample.flags.writeable
    store.close()


def test_limits_follow_bzero_scaled_integers(settings: Settings) -> None:
    raw = np.arange(200 * 100, dtype=np.int16).reshape(200, 100) - 10_000
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BSCALE"] = 0.5
    hdu.header["BZERO"] = 1000.0
    hdu.writeto(settings.files_dir / "s.fits")
    store = ImageStore(settings)
    physical = raw.astype(np.float64) * 0.5 + 1000.0
    lo, hi = store.default_limits("s.fits", 0, 0)
    assert lo == pytest.approx(np.percentile(physical, 0.5), rel=1e-3)
    assert hi == pytest.approx(np.percentile(physical, 99.5), rel=1e-3)
    store.close()


def test_file_changed_on_disk_gets_new_values(settings: Settings) -> None:
    path = _write(settings, "c.fits", np.ones((50, 50), np.float32))
    store = ImageStore(settings)
    assert store.default_limits("c.fits", 0, 0)[0] < 1.0 < store.default_limits("c.fits", 0, 0)[1]
    _write(settings, "c.fits", np.full((50, 50), 7.0, np.float32))
    os.utime(path, (1e9, 1e9))
    assert store.default_limits("c.fits", 0, 0)[0] < 7.0 < store.default_limits("c.fits", 0, 0)[1]
    assert store.get("c.fits", 0).plane(0).value(3, 3) == 7.0
    store.close()


def test_is_ready_only_after_limits(settings: Settings) -> None:
    _write(settings, "r.fits", np.ones((20, 20), np.float32))
    store = ImageStore(settings)
    assert not store.is_ready("r.fits", 0, 0)
    store.default_limits("r.fits", 0, 0)
    store.get("r.fits", 0)
    assert store.is_ready("r.fits", 0, 0)
    store.close()


def test_paths_are_confined(settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "outside.fits"
    fits.PrimaryHDU(np.ones((4, 4), np.float32)).writeto(outside)
    (settings.files_dir / "link.fits").symlink_to(outside)
    store = ImageStore(settings)
    for bad in ("../outside.fits", str(outside), "link.fits"):
        with pytest.raises(PathOutsideRoot):
            store.sample(bad, 0, 0)
    with pytest.raises(ImageNotFound):
        store.sample("missing.fits", 0, 0)


def test_open_listeners_hear_each_plane_once(settings: Settings) -> None:
    _write(settings, "o.fits", np.ones((20, 20), np.float32))
    store = ImageStore(settings)
    heard: list[tuple[str, int, int]] = []
    store.on_open.append(lambda *args: heard.append(args))
    store.on_open.append(lambda *args: 1 / 0)  # a failing listener does not fail the request
    store.default_limits("o.fits", 0, 0)
    store.default_limits("o.fits", 0, 0)
    assert heard == [("o.fits", 0, 0)]
    store.close()


@pytest.mark.parametrize("kind", ["float", "scaled", "inf", "compressed", "gzip"])
def test_sample_grid_is_the_regular_grid_of_physical_values(settings: Settings, kind: str) -> None:
    """The sample is read from a regular grid (pread rows for plain files, strided reads else);
    its values equal the plane's own sample, and the grid keeps NaN in place for provisional tiles."""
    import gzip

    from neloura.core.fitsio import FitsImage

    settings.limits_sample_size = 5000
    rng = np.random.default_rng(5)
    raw = rng.integers(-1000, 1000, (301, 257)).astype(np.int16 if kind == "scaled" else np.float32)
    if kind == "inf":
        raw[::7, ::5] = np.inf
    if kind == "float":
        raw[:30] = np.nan
    hdu = fits.PrimaryHDU(raw)
    if kind == "scaled":
        hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 2.0, 32768.0, -1000
    name = {"compressed": "c.fits", "gzip": "g.fits.gz"}.get(kind, "p.fits")
    path = settings.files_dir / name
    if kind == "compressed":
        fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(raw.astype(np.int32))]).writeto(path)
    elif kind == "gzip":
        with gzip.open(path, "wb") as out:
            hdu.writeto(out)
    else:
        hdu.writeto(path)
    index = 1 if kind == "compressed" else 0
    store = ImageStore(settings)
    sample = store.sample(name, index, 0)
    grid = store.sample_grid(name, index, 0)
    assert grid is not None
    plane = FitsImage(path, index).plane(0)
    first, step = plane.sample_grid(5000)
    assert (grid.first, grid.step) == (first, step)
    physical = plane.full()
    np.testing.assert_array_equal(grid.values, physical[first::step, first::step])
    np.testing.assert_array_equal(sample, plane.sample(5000))
    assert np.isfinite(sample).all()
    store.close()


def test_a_resolved_path_that_vanishes_is_a_404_and_a_replacement_is_found(settings: Settings) -> None:
    """The confined path is remembered for a second: a file removed meanwhile is resolved again
    (404, not an OS error), and one put back in its place is found with its new mtime."""
    path = _write(settings, "gone.fits", np.ones((8, 8), np.float32))
    store = ImageStore(settings)
    first = store.plane_key("gone.fits", 0, 0)
    path.unlink()
    with pytest.raises(ImageNotFound):
        store.plane_key("gone.fits", 0, 0)
    _write(settings, "gone.fits", np.zeros((8, 8), np.float32))
    os.utime(path, (first[1] + 10, first[1] + 10))
    again = store.plane_key("gone.fits", 0, 0)
    assert again[0] == first[0] and again[1] == first[1] + 10
    store.close()
