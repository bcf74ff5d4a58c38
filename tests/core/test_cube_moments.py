"""Moment maps, smoothing and convolution against spectral-cube called directly on the same file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.convolution import Gaussian1DKernel
from astropy.io import fits
from astropy.wcs import WCS
from spectral_cube import SpectralCube

from neloura.core import cube_moments as cm
from neloura.core.synthetic import CubeSpec, make_cube_hdul
from neloura.errors import InvalidParameter

SPEC = CubeSpec((32, 36, 44))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("moments")
    out = {}
    for name, kwargs in (("stokes", {}), ("beams", {"per_plane_beams": True}), ("int16", {"scaled_int16": True})):
        out[name] = root / f"{name}.fits"
        make_cube_hdul(SPEC, seed=5, **kwargs).writeto(out[name])  # type: ignore[arg-type]
    return out


def _sc(path: Path) -> SpectralCube:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SpectralCube.read(str(path))


def _close(ours: np.ndarray, expected: np.ndarray) -> None:
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(ours), finite)
    np.testing.assert_allclose(ours[finite], expected[finite], rtol=1e-5, atol=1e-5 * np.nanmax(np.abs(expected)))


@pytest.mark.parametrize("name", ["stokes", "beams", "int16"])
@pytest.mark.parametrize("order", [0, 1, 2])
def test_moments_equal_spectral_cube(files: dict[str, Path], name: str, order: int) -> None:
    selection = cm.CubeSelection(4, 27, "km/s", "radio")
    hdu, info = cm.moment_map(files[name], 0, str(order), selection, beam_threshold=1.0)
    reference = _sc(files[name])[4:28].with_spectral_unit(u.km / u.s, velocity_convention="radio")
    if hasattr(reference, "beam_threshold"):
        reference.beam_threshold = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reference.moment(order=order)
    _close(hdu.data, expected.value)
    assert u.Unit(hdu.header["BUNIT"]) == expected.unit
    assert WCS(hdu.header).has_celestial and hdu.header["NAXIS"] == 2
    assert info["first_plane"] == 4 and info["last_plane"] == 27


def test_moment0_unit_is_jy_per_beam_km_s(files: dict[str, Path]) -> None:
    hdu, _ = cm.moment_map(files["stokes"], 0, "0", cm.CubeSelection(0, SPEC.shape[0] - 1, "km/s"))
    assert u.Unit(hdu.header["BUNIT"]) == u.Jy / u.beam * u.km / u.s


@pytest.mark.parametrize("kind", ["peak", "width"])
def test_peak_and_width(files: dict[str, Path], kind: str) -> None:
    hdu, _ = cm.moment_map(files["stokes"], 0, kind, cm.CubeSelection(0, SPEC.shape[0] - 1, "km/s"))
    cube = _sc(files["stokes"]).with_spectral_unit(u.km / u.s, velocity_convention="radio")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cube.max(axis=0) if kind == "peak" else cube.linewidth_sigma()
    _close(hdu.data, expected.value)


def test_sigma_clip_and_threshold_masks(files: dict[str, Path]) -> None:
    selection = cm.CubeSelection(0, SPEC.shape[0] - 1, "km/s")
    clipped, info = cm.moment_map(files["stokes"], 0, "0", selection, clip_sigma=3.0)
    assert info["noise_sigma"] == pytest.approx(0.002, rel=0.15)  # the generator's noise
    cube = _sc(files["stokes"]).with_spectral_unit(u.km / u.s, velocity_convention="radio")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cube.with_mask(cube > info["threshold"] * cube.unit).moment0()
    _close(clipped.data, expected.value)
    thresholded, tinfo = cm.moment_map(files["stokes"], 0, "0", selection, threshold=0.01)
    assert tinfo["threshold"] == 0.01 and np.nanmax(thresholded.data) > 0
    with pytest.raises(InvalidParameter, match="not both"):
        cm.moment_map(files["stokes"], 0, "0", selection, clip_sigma=3.0, threshold=0.01)


def test_varying_beams_refused_below_the_threshold(files: dict[str, Path]) -> None:
    with pytest.raises(InvalidParameter, match="common beam"):
        cm.moment_map(files["beams"], 0, "0", cm.CubeSelection(0, SPEC.shape[0] - 1, "km/s"))


def test_planes_outside_the_cube(files: dict[str, Path]) -> None:
    with pytest.raises(InvalidParameter, match="outside the cube"):
        cm.moment_map(files["stokes"], 0, "0", cm.CubeSelection(10, 99))


def test_spectral_smoothing_and_rebinning(files: dict[str, Path], tmp_path: Path) -> None:
    smoothed = cm.smooth_cube(files["stokes"], 0, kernel="gaussian", width_channels=3.0)
    cm.write_cube(smoothed, tmp_path / "s.fits", "test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _sc(files["stokes"]).spectral_smooth(Gaussian1DKernel(3.0 / 2.3548200450309493))
    np.testing.assert_allclose(
        fits.getdata(tmp_path / "s.fits"), expected.unitless_filled_data[:], rtol=1e-5, atol=1e-8
    )
    rebinned = cm.smooth_cube(files["stokes"], 0, kernel="rebin", width_channels=4)
    cm.write_cube(rebinned, tmp_path / "r.fits", "test")
    assert fits.getdata(tmp_path / "r.fits").shape == (SPEC.shape[0] // 4, *SPEC.shape[1:])


def test_convolve_to_common_beam(files: dict[str, Path], tmp_path: Path) -> None:
    convolved = cm.convolve_cube(files["beams"], 0, None)
    cm.write_cube(convolved, tmp_path / "c.fits", "test")
    reference = _sc(files["beams"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reference.convolve_to(reference.beams.common_beam())
        ours = SpectralCube.read(str(tmp_path / "c.fits"))
    np.testing.assert_allclose(ours.unitless_filled_data[:], expected.unitless_filled_data[:], rtol=1e-5, atol=1e-7)
    assert ours.beam.major.to_value(u.arcsec) == pytest.approx(expected.beam.major.to_value(u.arcsec))
    with pytest.raises(InvalidParameter, match="target beam"):
        cm.convolve_cube(files["stokes"], 0, None)
