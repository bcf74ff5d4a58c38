"""The footprint index finds exactly the images covering a position: edges, NaN padding, RA
0/360, the poles, and files that change."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from neloura.core.synthetic import make_wcs_header
from neloura.runtime.footprints import FootprintIndex
from neloura.runtime.images import ImageStore
from neloura.settings import Settings
from tests import hostile_corpus as corpus


def _write(path: Path, shape: tuple[int, int], ra: float, dec: float, scale: float, **kw: object) -> WCS:
    header = make_wcs_header(shape, ra, dec, scale, rotation_deg=float(kw.pop("rotation", 0.0)))  # type: ignore[arg-type]
    data = np.ones(shape, dtype=np.float32)
    nan_box = kw.pop("nan_box", None)
    if nan_box is not None:
        y0, y1, x0, x1 = nan_box  # type: ignore[misc]
        data[y0:y1, x0:x1] = np.nan
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(data, header).writeto(path, overwrite=True)
    return WCS(header)


@pytest.fixture
def index(settings: Settings) -> FootprintIndex:
    return FootprintIndex(settings.files_dir, ImageStore(settings))


def _covering(index: FootprintIndex, ra: float, dec: float) -> set[str]:
    return {c.footprint.path for c in index.covering(ra, dec)}


def test_pixel_edges(index: FootprintIndex, settings: Settings) -> None:
    wcs = _write(settings.files_dir / "edge.fits", (80, 100), 30.0, -20.0, 1.0, rotation=15.0)
    cases = [(-0.49, 40, True), (-0.51, 40, False), (99.49, 40, True), (99.51, 40, False)]
    cases += [(50, -0.49, True), (50, -0.51, False), (50, 79.49, True), (50, 79.51, False)]
    for x, y, inside in cases:
        ra, dec = wcs.all_pix2world([[x, y]], 0)[0]
        assert (_covering(index, ra, dec) == {"edge.fits"}) is inside, (x, y)


def test_nan_padding_is_not_covered(index: FootprintIndex, settings: Settings) -> None:
    wcs = _write(settings.files_dir / "mosaic.fits", (100, 100), 10.0, 5.0, 0.5, nan_box=(0, 40, 0, 40))
    inside_nan = wcs.all_pix2world([[20.0, 20.0]], 0)[0]
    on_data = wcs.all_pix2world([[70.0, 70.0]], 0)[0]
    border = wcs.all_pix2world([[39.4, 20.0]], 0)[0], wcs.all_pix2world([[39.6, 20.0]], 0)[0]
    assert _covering(index, *inside_nan) == set()
    assert _covering(index, *on_data) == {"mosaic.fits"}
    assert _covering(index, *border[0]) == set() and _covering(index, *border[1]) == {"mosaic.fits"}


def test_ra_wrap(index: FootprintIndex, settings: Settings) -> None:
    _write(settings.files_dir / "wrap.fits", (200, 200), 0.0, 10.0, 1.0)  # spans RA 359.97 .. 0.03
    _write(settings.files_dir / "far.fits", (200, 200), 180.0, 10.0, 1.0)
    assert _covering(index, 359.99, 10.0) == {"wrap.fits"}
    assert _covering(index, 0.01, 10.01) == {"wrap.fits"}
    assert _covering(index, 359.9, 10.0) == set()
    assert _covering(index, 180.0, 10.0) == {"far.fits"}


def test_poles(index: FootprintIndex, settings: Settings) -> None:
    _write(settings.files_dir / "north.fits", (200, 200), 0.0, 90.0, 3.6)  # 0.2 deg square on the pole
    _write(settings.files_dir / "south.fits", (200, 200), 123.0, -89.95, 3.6)
    for ra in (0.0, 90.0, 180.0, 271.3):
        assert _covering(index, ra, 89.96) == {"north.fits"}, ra
        assert _covering(index, ra, 89.5) == set()
    assert _covering(index, 45.0, 90.0) == {"north.fits"}
    assert _covering(index, 303.0, -89.98) == {"south.fits"}  # across the south pole
    assert _covering(index, 123.0, -89.80) == set()


def test_exactly_the_covering_images_and_kept_current(index: FootprintIndex, settings: Settings) -> None:
    _write(settings.files_dir / "a.fits", (100, 100), 50.0, 0.0, 1.0)
    _write(settings.files_dir / "sub" / "b.fits", (100, 100), 50.01, 0.0, 1.0)
    _write(settings.files_dir / "c.fits", (100, 100), 51.0, 0.0, 1.0)
    assert _covering(index, 50.005, 0.0) == {"a.fits", "sub/b.fits"}
    assert {c.footprint.path for c in index.covering(50.005, 0.0, folder="sub")} == {"sub/b.fits"}
    # a file rewritten elsewhere on the sky, and one deleted: the next query knows
    _write(settings.files_dir / "c.fits", (100, 100), 50.0, 0.0, 1.0)
    os.utime(settings.files_dir / "c.fits", ns=(1, 10**18))
    (settings.files_dir / "sub" / "b.fits").unlink()
    assert _covering(index, 50.005, 0.0) == {"a.fits", "c.fits"}
    assert _covering(index, 0.0, -60.0) == set()


def test_broken_files_and_images_without_wcs_are_skipped(index: FootprintIndex, settings: Settings) -> None:
    (settings.files_dir / "broken.fits").write_bytes(b"SIMPLE  =  nonsense" * 100)
    fits.PrimaryHDU(np.ones((10, 10), np.float32)).writeto(settings.files_dir / "nowcs.fits")
    _write(settings.files_dir / "ok.fits", (50, 50), 1.0, 1.0, 1.0)
    assert {fp.path for fp in index.footprints()} == {"ok.fits"}


def test_hostile_and_large_files_are_read_through_the_bounded_inspection(
    index: FootprintIndex, settings: Settings
) -> None:
    """A SIP order of 9999 (minutes for astropy) is skipped at once from the inspection's bounds;
    a file of many HDUs is indexed in the bounded worker (its footprints pickled back)."""
    files = settings.files_dir
    (files / "sip.fits").write_bytes(corpus.sip_order(9999))
    corpus.many_hdus(files / "many.fits", 80, celestial=True)
    _write(files / "plain.fits", (50, 50), 150.0, 2.0, 1.0)
    found = index.footprints()
    assert {fp.path for fp in found} >= {"plain.fits", "many.fits"}
    assert not any(fp.path == "sip.fits" for fp in found)
    many = [fp for fp in found if fp.path == "many.fits"]
    assert len(many) >= 64 and many[0].wcs.has_celestial
    problem = index.images.inspect(files / "sip.fits").hdus[0].problem
    assert "A_ORDER" in problem
