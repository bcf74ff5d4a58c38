"""Spectra, the spectral axis and beams against spectral-cube called directly on the same file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from regions import Regions
from spectral_cube import SpectralCube

from neloura.core import cube_beams, cubes
from neloura.core.fitsio import FitsImage
from neloura.core.synthetic import CubeSpec, make_cube_hdul, make_wcs_header
from neloura.errors import InvalidParameter

SPEC = CubeSpec((24, 40, 48))


def _write(tmp_path: Path, name: str, **kwargs: object) -> Path:
    path = tmp_path / name
    make_cube_hdul(SPEC, seed=3, **kwargs).writeto(path)  # type: ignore[arg-type]
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cubes")
    return {
        "stokes": _write(root, "alma4d.fits"),
        "beams": _write(root, "beams.fits", per_plane_beams=True),
        "int16": _write(root, "int16.fits", scaled_int16=True),
        "nowcs": _write(root, "nowcs.fits", spectral_wcs=False),
    }


def _sc(path: Path) -> SpectralCube:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SpectralCube.read(str(path))


@pytest.mark.parametrize("name", ["stokes", "beams", "int16"])
def test_spectrum_at_a_pixel_is_the_data_column(files: dict[str, Path], name: str) -> None:
    reference = _sc(files[name])
    with FitsImage(files[name], 0) as image:
        for x, y in ((0, 0), (1, 2), (20, 17), (47, 39)):
            ours = cubes.spectrum_at(image, x, y)
            expected = reference.unitless_filled_data[:, y, x]
            if name == "int16":  # astropy scales in float32, we in float64 then round: last-bit differences
                np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-9)
            else:
                np.testing.assert_array_equal(ours, expected.astype(np.float32))


def test_blank_pixels_of_a_scaled_cube_read_as_nan(files: dict[str, Path]) -> None:
    with FitsImage(files["int16"], 0) as image:
        assert np.isnan(cubes.spectrum_at(image, 1, 1)).all()
        assert np.isfinite(cubes.spectrum_at(image, 10, 10)).all()


@pytest.mark.parametrize("convention", ["radio", "optical", "relativistic"])
def test_velocity_of_each_plane_equals_with_spectral_unit(files: dict[str, Path], convention: str) -> None:
    reference = _sc(files["stokes"]).with_spectral_unit(u.km / u.s, velocity_convention=convention)
    with FitsImage(files["stokes"], 0) as image:
        axis = cubes.spectral_axis(image, "km/s", convention)
    np.testing.assert_allclose(axis.values, reference.spectral_axis.to_value(u.km / u.s), rtol=1e-10, atol=1e-9)
    assert axis.kind == "velocity" and axis.convention == convention and axis.frame == "LSRK"
    assert axis.rest_hz == pytest.approx(SPEC.rest_frequency_hz)


def test_wavelength_and_user_rest_value(files: dict[str, Path]) -> None:
    rest = 230.0 * u.GHz
    reference = _sc(files["stokes"])
    with FitsImage(files["stokes"], 0) as image:
        wave = cubes.spectral_axis(image, "mm")
        vel = cubes.spectral_axis(image, "km/s", "radio", cubes.parse_quantity("230 GHz", "Hz"))
        native = cubes.spectral_axis(image)
    np.testing.assert_allclose(wave.values, reference.with_spectral_unit(u.mm).spectral_axis.value, rtol=1e-12)
    expected = reference.with_spectral_unit(u.km / u.s, velocity_convention="radio", rest_value=rest).spectral_axis
    np.testing.assert_allclose(vel.values, expected.to_value(u.km / u.s), rtol=1e-10)
    assert native.unit == "Hz" and native.kind == "frequency"


def test_velocity_cube_converts_back_to_frequency(tmp_path: Path, files: dict[str, Path]) -> None:
    velocity = _sc(files["stokes"]).with_spectral_unit(u.m / u.s, velocity_convention="optical")
    path = tmp_path / "vopt.fits"
    velocity.write(str(path))
    with FitsImage(path, 0) as image:
        freq = cubes.spectral_axis(image, "GHz")
        radio = cubes.spectral_axis(image, "km/s", "radio")
    np.testing.assert_allclose(freq.values, _sc(files["stokes"]).spectral_axis.to_value(u.GHz), rtol=1e-9)
    expected = _sc(files["stokes"]).with_spectral_unit(u.km / u.s, velocity_convention="radio").spectral_axis
    np.testing.assert_allclose(radio.values, expected.value, rtol=1e-8)


def test_cube_without_spectral_wcs_has_pixel_planes(files: dict[str, Path]) -> None:
    with FitsImage(files["nowcs"], 0) as image:
        axis = cubes.spectral_axis(image)
        assert axis.kind == "pixel" and "no spectral WCS" in axis.note
        np.testing.assert_array_equal(axis.values, np.arange(SPEC.shape[0]))
        with pytest.raises(InvalidParameter, match="no spectral WCS"):
            cubes.spectral_axis(image, "km/s")


def test_two_d_image_is_not_a_cube(tmp_path: Path) -> None:
    from astropy.io import fits

    path = tmp_path / "flat.fits"
    fits.PrimaryHDU(np.zeros((8, 8), np.float32), make_wcs_header((8, 8), 10, 10, 1)).writeto(path)
    with FitsImage(path, 0) as image, pytest.raises(cubes.NotACube):
        cubes.spectrum_at(image, 1, 1)


@pytest.mark.parametrize(
    "text",
    [
        "image; circle(20,18,6.3)",
        "image; box(30,20,9,7,0)",
        "image; box(12,30,8,5,30)",
        'fk5; circle(201.365d,-43.019d,3")',
    ],
)
@pytest.mark.parametrize("stat", ["sum", "mean"])
def test_region_spectrum_equals_subcube_from_regions(files: dict[str, Path], text: str, stat: str) -> None:
    reference = _sc(files["stokes"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sub = reference.subcube_from_regions(Regions.parse(text, format="ds9"))
        expected = (sub.sum(axis=(1, 2)) if stat == "sum" else sub.mean(axis=(1, 2))).value
    with FitsImage(files["stokes"], 0) as image:
        pixels = cubes.region_mask(text, image)
        ours = cubes.region_spectrum(image, pixels, stat)
    np.testing.assert_allclose(ours, expected, rtol=1e-5)


def test_region_outside_or_garbage_is_refused(files: dict[str, Path]) -> None:
    with FitsImage(files["stokes"], 0) as image:
        with pytest.raises(InvalidParameter, match="no pixel"):
            cubes.region_mask("image; circle(500,500,3)", image)
        with pytest.raises(InvalidParameter, match="region"):
            cubes.region_mask("this is not a region", image)
        with pytest.raises(InvalidParameter, match="spans more than"):
            cubes.region_mask("image; circle(10,10,1e9)", image)
        text = "image; circle(10,10,3)\nimage; box(30,30,4,4,0)"
        two = cubes.region_mask(text, image)
        union = np.zeros((image.height, image.width), bool)
        for shape in Regions.parse(text, format="ds9"):
            union |= shape.to_mask(mode="center").to_image((image.height, image.width)).astype(bool)
        assert two.n_pixels == union.sum()
        np.testing.assert_array_equal(union[two.y0 : two.y1, two.x0 : two.x1], two.mask)


def test_beams_header_and_table(files: dict[str, Path]) -> None:
    with FitsImage(files["stokes"], 0) as image:
        single = cube_beams.read_beams(image.path, 0, image.header, image.planes)
    assert single is not None and not single.per_plane
    assert single.at(5)[0] == pytest.approx(_sc(files["stokes"]).beam.major.to_value(u.arcsec))
    with FitsImage(files["beams"], 0) as image:
        table = cube_beams.read_beams(image.path, 0, image.header, image.planes)
    reference = _sc(files["beams"]).beams
    assert table is not None and table.per_plane
    np.testing.assert_allclose(table.major_arcsec, reference.major.to_value(u.arcsec))
    np.testing.assert_allclose(table.area_sr(), reference.sr.value, rtol=1e-6)
    assert table.spread() > 0.3


@pytest.mark.parametrize("name", ["stokes", "beams"])
def test_kelvin_factor_equals_spectral_cube_to_k(files: dict[str, Path], name: str) -> None:
    reference = _sc(files[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kelvin = reference.to(u.K)
    with FitsImage(files[name], 0) as image:
        factors = cube_beams.jy_per_beam_to_k(image, cube_beams.read_beams(image.path, 0, image.header, image.planes))
        ours = cubes.spectrum_at(image, 20, 20) * factors
    np.testing.assert_allclose(ours, kelvin.unitless_filled_data[:, 20, 20], rtol=1e-5)


def test_planes_in_range(files: dict[str, Path]) -> None:
    with FitsImage(files["stokes"], 0) as image:
        axis = cubes.spectral_axis(image, "km/s")
    first, last = cubes.planes_in_range(axis, 500, 600)
    assert all(500 <= v <= 600 for v in axis.values[first : last + 1])
    with pytest.raises(InvalidParameter, match="outside the cube"):
        cubes.planes_in_range(axis, 5000, 6000)


def test_spectrum_of_a_tile_compressed_cube(tmp_path: Path, files: dict[str, Path]) -> None:
    from astropy.io import fits

    data = fits.getdata(files["stokes"])[0]
    path = tmp_path / "comp.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, fits.getheader(files["stokes"]))]).writeto(path)
    with FitsImage(path, 1) as image:
        np.testing.assert_array_equal(cubes.spectrum_at(image, 7, 9), fits.getdata(path, 1)[:, 9, 7])
