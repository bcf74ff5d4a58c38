"""Overlay payloads are cached per request and follow changes of the catalog file."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from neloura.core.overlay import decode_overlay
from neloura.core.synthetic import make_wcs_header
from neloura.errors import InvalidParameter
from neloura.runtime.catalogs import CatalogStore
from neloura.runtime.crossmatch import SkyIndexCache
from neloura.runtime.images import ImageStore
from neloura.runtime.overlay import OverlayRequest, OverlayService, parse_size
from neloura.settings import Settings


def _write(settings: Settings, name: str, ra: np.ndarray, dec: np.ndarray) -> None:
    Table({"ra": ra, "dec": dec}).write(settings.catalogs_dir / name, format="ascii.csv", overwrite=True)


@pytest.fixture
def store(settings: Settings) -> Iterator[CatalogStore]:
    catalogs = CatalogStore(settings)
    yield catalogs
    catalogs.close()


def test_parse_size() -> None:
    assert parse_size(None) is None and parse_size(" ") is None
    assert parse_size("5") == 5.0 and parse_size("2.5e1") == 25.0
    assert parse_size("radius") == "radius"
    with pytest.raises(InvalidParameter):
        parse_size("-1")


def test_overlay_payload_is_cached_and_follows_the_catalog(settings: Settings, store: CatalogStore) -> None:
    header = make_wcs_header((100, 100), 10.0, 0.0, 1.0)
    fits.writeto(settings.files_dir / "img.fits", np.zeros((100, 100), np.float32), header)
    _write(settings, "c.csv", np.array([10.0, 10.005, 50.0]), np.array([0.0, 0.0, 0.0]))
    images = ImageStore(settings)
    sky = SkyIndexCache(store)
    service = OverlayService(images, sky)
    request = OverlayRequest(name="c.csv", path="img.fits")
    first = service.payload(request)
    assert service.payload(request) is first
    assert decode_overlay(first).rows.tolist() == [0, 1]
    path = settings.catalogs_dir / "c.csv"
    _write(settings, "c.csv", np.array([10.0, 10.005, 10.01]), np.array([0.0, 0.0, 0.0]))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert decode_overlay(service.payload(request)).rows.tolist() == [0, 1, 2]
    sky.get("c.csv")  # with the index built, the footprint pre-filter uses it: same answer
    service.close()
    assert decode_overlay(service.payload(request)).rows.tolist() == [0, 1, 2]
    sky.close()
    images.close()
