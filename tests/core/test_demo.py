"""The embedded demo set: content, WCS, catalog agreement, determinism, never overwriting."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.core.demo import CATALOG_NAME, GalaxyField, has_fits_image, write_demo
from neloura.core.fitsio import FitsImage, list_hdus
from neloura.settings import Settings


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    (root / "files").mkdir()
    (root / "catalogs").mkdir()
    written = write_demo(root / "files", root / "catalogs")
    assert sorted(p.name for p in written) == ["cube.fits", "demo_sources.csv", "galaxy.fits"]
    return root


def test_galaxy_is_jwst_like_multi_extension(demo_root: Path) -> None:
    path = demo_root / "files/demo/galaxy.fits"
    hdus, recommended = list_hdus(path)
    assert [h.name for h in hdus] == ["PRIMARY", "SCI", "ERR", "DQ"]
    assert hdus[0].kind == "empty" and recommended == 1
    assert hdus[1].bunit == "MJy/sr" and hdus[1].has_celestial_wcs and hdus[1].shape == (2048, 2048)
    primary = fits.getheader(path, 0)
    assert primary["TELESCOP"] == "JWST" and primary["INSTRUME"] == "NIRCAM" and "FILTER" in primary
    with FitsImage(path, 1) as image:
        summary = image.wcs.summary()
        assert summary["projection"] == "TAN" and summary["frame"] == "icrs"
        assert summary["pixel_scale_arcsec"] == pytest.approx(0.063, rel=1e-6)
        science = image.plane().full()
    with FitsImage(path, 3) as dq_image:
        dq = dq_image.plane().full()
    nan = np.isnan(science)
    assert 2_000 < nan.sum() < 0.15 * science.size  # a mosaic-like NaN border, not a blank image
    assert nan[0, 0] and nan[-1, -1] and not nan[1024, 1024]
    np.testing.assert_array_equal(dq != 0, nan)  # DO_NOT_USE exactly where there is no data
    assert np.nanmedian(science) > 0


def test_catalog_positions_match_the_image(demo_root: Path) -> None:
    table = Table.read(demo_root / "catalogs" / CATALOG_NAME, format="ascii.csv")
    assert {"id", "ra", "dec", "x_pix", "y_pix", "flux_ujy", "mag_ab", "kind"} <= set(table.colnames)
    assert len(table) > 1000 and set(table["kind"]) == {"star", "knot", "galaxy"}
    with FitsImage(demo_root / "files/demo/galaxy.fits", 1) as image:
        x, y = image.wcs.world_to_pixel(np.asarray(table["ra"]), np.asarray(table["dec"]))
        np.testing.assert_allclose(x, table["x_pix"], atol=2e-3)
        np.testing.assert_allclose(y, table["y_pix"], atol=2e-3)
        plane = image.plane()
        stars = table[table["kind"] == "star"][:20]  # the brightest stars
        for star in stars:
            col, row = round(star["x_pix"]), round(star["y_pix"])
            stamp = plane.read(row - 3, row + 4, col - 3, col + 4)
            peak_row, peak_col = np.unravel_index(np.nanargmax(stamp), stamp.shape)
            assert abs(peak_row - 3) <= 1 and abs(peak_col - 3) <= 1  # the star is where the catalog says
    np.testing.assert_allclose(table["mag_ab"], 23.9 - 2.5 * np.log10(table["flux_ujy"]), atol=1e-3)


def test_cube_has_a_spectral_axis(demo_root: Path) -> None:
    with FitsImage(demo_root / "files/demo/cube.fits", 0) as image:
        assert image.shape == (64, 256, 256) and image.planes == 64
        value, unit, kind = image.wcs.spectral_value(0) or (0.0, "", "")
        assert kind == "frequency" and unit == "Hz" and 229e9 < value < 231e9
        assert image.bunit == "Jy/beam" and image.wcs.has_celestial


def test_seeded_bytes_and_no_temporary_files(demo_root: Path, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "catalogs").mkdir()
    write_demo(tmp_path / "files", tmp_path / "catalogs")
    for rel in ("files/demo/galaxy.fits", "files/demo/cube.fits", f"catalogs/{CATALOG_NAME}"):
        a = hashlib.sha256((demo_root / rel).read_bytes()).hexdigest()
        b = hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest()
        assert a == b, rel
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]


def test_not_written_when_files_has_an_image(tmp_path: Path) -> None:
    (tmp_path / "files/mine").mkdir(parents=True)
    fits.PrimaryHDU(np.zeros((4, 4), np.float32)).writeto(tmp_path / "files/mine/x.fits")
    (tmp_path / "catalogs").mkdir()
    assert has_fits_image(tmp_path / "files")
    assert write_demo(tmp_path / "files", tmp_path / "catalogs") == []
    assert not (tmp_path / "files/demo").exists()


def test_never_overwrites_user_files(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "catalogs").mkdir()
    mine = tmp_path / "catalogs" / CATALOG_NAME
    mine.write_text("my,own\n1,2\n")
    small = GalaxyField(shape=(64, 64), n_stars=5, n_background_galaxies=1)  # what is written is not the point here
    written = write_demo(tmp_path / "files", tmp_path / "catalogs", field=small)
    assert mine.read_text() == "my,own\n1,2\n"
    assert mine not in written and len(written) == 2


def test_services_write_the_demo_on_first_start(tmp_path: Path) -> None:
    on = Settings(root=tmp_path / "on", demo=True, disk_cache=False)
    with TestClient(create_app(on)) as client:
        info = client.get("/api/images/info", params={"path": "demo/galaxy.fits", "hdu": 1})
        assert info.status_code == 200 and info.json()["width"] == 2048
    off = Settings(root=tmp_path / "off", demo=False, disk_cache=False)
    with TestClient(create_app(off)):
        pass
    assert not (tmp_path / "off/files/demo").exists()


def test_demo_psf_is_written_once_and_loads_as_a_real_shaped_psf(tmp_path) -> None:
    """Issue 14 point 4: psf/ gets a JWST-like PSF (PIXELSCL, 4x oversampled) at first start."""
    import numpy as np

    from neloura.core.demo import PSF_NAME, write_demo_psf
    from neloura.core.psf import load_psf_fits

    psf_dir = tmp_path / "psf"
    assert write_demo_psf(psf_dir) == [psf_dir / PSF_NAME]
    assert write_demo_psf(psf_dir) == []  # psf/ already holds a FITS file: nothing replaced
    model = load_psf_fits(psf_dir / PSF_NAME, 0.063)
    assert 2.0 < model.fwhm_px < 3.0  # λ/D at 4.05 µm over 6.5 m ≈ 2 demo pixels
    assert 0.6 < model.encircled_fraction(model.fwhm_px) < 0.9  # rings and spikes hold the rest
    data = model.array
    assert data is not None and np.isclose(data.sum(), 1.0)
    centre = data.shape[0] // 2
    spike, between = data[centre, centre + 60], data[centre + 42, centre + 42]  # along a spike / off it
    assert spike > 3 * between
