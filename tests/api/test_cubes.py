"""/api/cubes: spectra (pixel, region, export), axis, limits, channel maps and the moment jobs."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from fastapi.testclient import TestClient
from spectral_cube import SpectralCube

from neloura.core.synthetic import CubeSpec, make_cube_hdul, make_wcs_header
from neloura.settings import Settings
from tests.api.job_helpers import wait_job

SPEC = CubeSpec((20, 32, 36))


@pytest.fixture
def cubes_dir(settings: Settings) -> Path:
    folder = settings.files_dir / "cubes"
    folder.mkdir()
    make_cube_hdul(SPEC, seed=9).writeto(folder / "alma.fits")
    make_cube_hdul(SPEC, seed=9, per_plane_beams=True).writeto(folder / "beams.fits")
    make_cube_hdul(SPEC, seed=9, spectral_wcs=False).writeto(folder / "nowcs.fits")
    fits.PrimaryHDU(np.ones((16, 16), np.float32), make_wcs_header((16, 16), 10, 10, 1)).writeto(folder / "flat.fits")
    return folder


def _sc(path: Path) -> SpectralCube:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SpectralCube.read(str(path))


def test_spectrum_contract(client: TestClient, cubes_dir: Path) -> None:
    r = client.get("/api/cubes/spectrum", params={"path": "cubes/alma.fits", "x": 10, "y": 12, "unit": "km/s"})
    assert r.status_code == 200, r.text
    body = r.json()
    reference = _sc(cubes_dir / "alma.fits")
    assert body["spectral_unit"] == "km/s" and body["unit"] == "Jy/beam" and body["frame"] == "LSRK"
    np.testing.assert_array_equal(np.array(body["values"], np.float32), reference.unitless_filled_data[:, 12, 10])
    expected = reference.with_spectral_unit(u.km / u.s, velocity_convention="radio").spectral_axis.value
    np.testing.assert_allclose(body["spectral"], expected, rtol=1e-10)


@pytest.mark.parametrize("convention", ["optical", "relativistic"])
def test_spectrum_conventions_and_rest(client: TestClient, cubes_dir: Path, convention: str) -> None:
    params = {"path": "cubes/alma.fits", "x": 1, "y": 1, "unit": "km/s", "convention": convention, "rest": "230 GHz"}
    body = client.get("/api/cubes/spectrum", params=params).json()
    reference = _sc(cubes_dir / "alma.fits").with_spectral_unit(
        u.km / u.s, velocity_convention=convention, rest_value=230 * u.GHz
    )
    np.testing.assert_allclose(body["spectral"], reference.spectral_axis.value, rtol=1e-9)
    assert body["convention"] == convention and body["rest_hz"] == pytest.approx(230e9)


def test_region_spectrum_and_kelvin(client: TestClient, cubes_dir: Path) -> None:
    base = {"path": "cubes/alma.fits", "region": "image; circle(18,16,5)"}
    mean = client.get("/api/cubes/spectrum", params={**base, "stat": "mean"}).json()
    total = client.get("/api/cubes/spectrum", params={**base, "stat": "sum"}).json()
    flux = client.get("/api/cubes/spectrum", params={**base, "stat": "flux"}).json()
    assert mean["n_pixels"] == total["n_pixels"] > 50 and flux["unit"] == "Jy"
    np.testing.assert_allclose(np.array(total["values"]) / mean["n_pixels"], mean["values"], rtol=1e-6)
    kelvin = client.get("/api/cubes/spectrum", params={"path": "cubes/alma.fits", "x": 3, "y": 4, "flux_unit": "K"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _sc(cubes_dir / "alma.fits").to(u.K).unitless_filled_data[:, 4, 3]
    assert kelvin.json()["unit"] == "K"
    np.testing.assert_allclose(kelvin.json()["values"], expected, rtol=1e-5)


@pytest.mark.parametrize("fmt", ["csv", "fits"])
def test_export(client: TestClient, cubes_dir: Path, fmt: str) -> None:
    params = {"path": "cubes/alma.fits", "x": 5, "y": 6, "unit": "GHz", "format": fmt}
    r = client.get("/api/cubes/spectrum/export", params=params)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    table = (
        Table.read(io.BytesIO(r.content), format="fits")
        if fmt == "fits"
        else Table.read(r.text, format="ascii.csv", comment="#")
    )
    assert len(table) == SPEC.shape[0]
    np.testing.assert_allclose(table["value"], _sc(cubes_dir / "alma.fits").unitless_filled_data[:, 6, 5], rtol=1e-6)


def test_axis_beams_and_limits(client: TestClient, cubes_dir: Path) -> None:
    axis = client.get("/api/cubes/axis", params={"path": "cubes/beams.fits", "unit": "km/s"}).json()
    assert axis["beam"]["per_plane"] and len(axis["beam"]["major_arcsec"]) == SPEC.shape[0]
    assert axis["velocity_available"] and len(axis["kelvin_per_unit"]) == SPEC.shape[0]
    assert axis["beam"]["north_angle_deg"] == pytest.approx(0.0, abs=1e-6)
    limits = client.get("/api/cubes/limits", params={"path": "cubes/alma.fits"}).json()
    assert limits["vmin"] < limits["vmax"] and limits["planes_sampled"] == SPEC.shape[0]


def test_no_spectral_wcs_gives_pixel_planes(client: TestClient, cubes_dir: Path) -> None:
    body = client.get("/api/cubes/spectrum", params={"path": "cubes/nowcs.fits", "x": 2, "y": 2}).json()
    assert body["spectral_kind"] == "pixel" and body["spectral"] == list(range(SPEC.shape[0]))
    assert "no spectral WCS" in body["note"]
    r = client.get("/api/cubes/spectrum", params={"path": "cubes/nowcs.fits", "x": 2, "y": 2, "unit": "km/s"})
    assert r.status_code == 422 and "no spectral WCS" in r.json()["detail"]
    r = client.post("/api/cubes/moment", json={"path": "cubes/nowcs.fits"})
    assert r.status_code == 422 and "no spectral WCS" in r.json()["detail"]


def test_channel_maps_figure(client: TestClient, cubes_dir: Path) -> None:
    params = {"path": "cubes/alma.fits", "unit": "km/s", "center": 547, "count": 4, "step": 2}
    r = client.get("/api/cubes/channels", params=params)
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = client.get("/api/cubes/channels", params={**params, "format": "pdf"})
    assert pdf.content[:4] == b"%PDF"
    assert client.get("/api/cubes/channels", params={**params, "center": 9999}).status_code == 422


def test_moment_job_writes_a_map_that_opens(client: TestClient, cubes_dir: Path, settings: Settings) -> None:
    body = {"path": "cubes/alma.fits", "order": 0, "spectral_range": [450, 650], "spectral_unit": "km/s"}
    job = wait_job(client, client.post("/api/cubes/moment", json=body).json()["id"])
    assert job["state"] == "done", job
    image = job["result"]["image"]
    assert image.startswith("results/") and image.endswith(".fits")
    written = settings.files_dir / image
    reference = _sc(cubes_dir / "alma.fits").with_spectral_unit(u.km / u.s, velocity_convention="radio")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reference.spectral_slab(450 * u.km / u.s, 650 * u.km / u.s).moment0()
    with fits.open(written) as hdul:
        np.testing.assert_allclose(hdul[0].data, expected.value, rtol=1e-5)
        assert u.Unit(hdul[0].header["BUNIT"]) == u.Jy / u.beam * u.km / u.s
    info = client.get("/api/images/info", params={"path": image})
    assert info.status_code == 200 and info.json()["wcs"]["has_celestial"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"path": "cubes/flat.fits"}, 422, "not a cube"),
        ({"path": "cubes/alma.fits", "channel_range": [5, 40]}, 422, "outside the cube"),
        ({"path": "cubes/alma.fits", "spectral_range": [5000, 6000]}, 422, "outside the cube"),
        ({"path": "cubes/alma.fits", "order": 3}, 422, "order"),
        ({"path": "cubes/alma.fits", "spectral_unit": "kg"}, 422, "not a spectral unit"),
        ({"path": "cubes/beams.fits"}, 422, "common beam"),
        ({"path": "../secret.fits"}, 403, ""),
        ({"path": "cubes/none.fits"}, 404, ""),
    ],
)
def test_bad_moment_requests(client: TestClient, cubes_dir: Path, body: dict, status: int, words: str) -> None:
    r = client.post("/api/cubes/moment", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_smooth_and_convolve_jobs(client: TestClient, cubes_dir: Path, settings: Settings) -> None:
    job = wait_job(
        client,
        client.post(
            "/api/cubes/smooth", json={"path": "cubes/alma.fits", "kernel": "rebin", "width_channels": 2}
        ).json()["id"],
    )
    assert job["state"] == "done", job
    assert fits.getdata(settings.files_dir / job["result"]["image"]).shape == (SPEC.shape[0] // 2, *SPEC.shape[1:])
    job = wait_job(client, client.post("/api/cubes/convolve", json={"path": "cubes/beams.fits"}).json()["id"])
    assert job["state"] == "done", job
    assert job["result"]["beam"][0] == pytest.approx(
        _sc(cubes_dir / "beams.fits").beams.common_beam().major.to_value(u.arcsec)
    )
    r = client.post("/api/cubes/convolve", json={"path": "cubes/alma.fits"})
    assert r.status_code == 422 and "target beam" in r.json()["detail"]


def test_bad_spectrum_requests(client: TestClient, cubes_dir: Path) -> None:
    def get(**params: object) -> tuple[int, str]:
        r = client.get("/api/cubes/spectrum", params={"path": "cubes/alma.fits", **params})
        return r.status_code, r.json()["detail"]

    assert get(x=999, y=1)[0] == 422
    assert get()[1].startswith("give x and y")
    assert get(x=1, y=1, unit="parsec/s/s")[0] == 422
    assert get(region="image; circle(900,900,3)")[0] == 422
    assert get(x=1, y=1, rest="banana")[0] == 422
    status, detail = get(region="image; circle(10,10,3)", stat="sum", flux_unit="K")
    assert status == 422 and "Kelvin" in detail
    r = client.get("/api/cubes/spectrum", params={"path": "cubes/flat.fits", "x": 1, "y": 1})
    assert r.status_code == 422 and "not a cube" in r.json()["detail"]
