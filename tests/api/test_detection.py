"""POST /api/detection (a job whose result is a catalog under catalogs/detections/) and
POST /api/photometry, on seeded images written as real FITS files."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from fastapi.testclient import TestClient

from neloura.settings import Settings
from tests.api.job_helpers import wait_job, write_field
from tests.core.detection_fields import match


def test_detection_job_writes_a_catalog_with_units(client: TestClient, settings: Settings) -> None:
    truth = write_field(settings.files_dir)
    start = client.post("/api/detection", json={"path": "field.fits", "threshold_sigma": 5, "fwhm_px": 3})
    assert start.status_code == 200 and start.json()["kind"] == "detection"
    job = wait_job(client, start.json()["id"])
    assert job["state"] == "done", job
    result = job["result"]
    assert result["catalog"].startswith("detections/") and result["flux_unit"] == "uJy"
    path = settings.catalogs_dir / result["catalog"]
    table = Table.read(path)
    assert str(table["flux"].unit) == "uJy" and str(table["ra_deg"].unit) == "deg"
    hit, _, _ = match(truth[truth["snr"] >= 10], table)
    assert hit.mean() >= 0.98
    csv_name = next(name for name in result["files"] if name.endswith(".csv"))
    download = client.get(f"/api/jobs/{job['id']}/files/{csv_name}")
    assert download.status_code == 200
    assert len(Table.read(download.text.splitlines(), format="ascii.csv")) == result["n_sources"]
    listed = client.get("/api/catalogs").json()["catalogs"]
    assert any(result["catalog"] in str(entry) for entry in listed)


def test_bscale_integer_images_are_detected_in_physical_units(client: TestClient, settings: Settings) -> None:
    truth = write_field(settings.files_dir, "scaled.fits", bunit="", scaled=True)
    job = wait_job(client, client.post("/api/detection", json={"path": "scaled.fits"}).json()["id"])
    assert job["state"] == "done" and job["result"]["flux_unit"] == "count"
    table = Table.read(settings.catalogs_dir / job["result"]["catalog"])
    hit, idx, _ = match(truth, table)
    bright = hit & (np.asarray(truth["snr"]) >= 20)
    ratio = np.asarray(table["flux"])[idx[bright]] / np.asarray(truth["flux"])[bright]
    assert abs(np.median(ratio) - 1) < 0.03
    assert np.median(np.asarray(table["sky"])) == pytest.approx(103.84, abs=0.5)  # 100 + gradient, not raw ints


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"path": "../../etc/passwd"}, 403),
        ({"path": "missing.fits"}, 404),
        ({"path": "field.fits", "hdu": 3}, 422),
        ({"path": "field.fits", "plane": 2}, 422),
        ({"path": "field.fits", "threshold_sigma": -1}, 422),
        ({"path": "field.fits", "fwhm_px": 0}, 422),
    ],
)
def test_bad_detection_requests_are_clear_4xx(client: TestClient, settings: Settings, body: dict, status: int) -> None:
    write_field(settings.files_dir)
    response = client.post("/api/detection", json=body)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


def test_photometry_at_a_clicked_point_and_a_list(client: TestClient, settings: Settings) -> None:
    truth = write_field(settings.files_dir, bunit="")
    bright = truth[np.argsort(-np.asarray(truth["snr"]))[:5]]
    body = {"path": "field.fits", "x_pix": list(bright["x_pix"]), "y_pix": list(bright["y_pix"]), "radius_px": 5}
    response = client.post("/api/photometry", json=body)
    assert response.status_code == 200
    rows = response.json()["rows"]
    measured = np.array([r["flux"] for r in rows])
    assert np.allclose(measured, np.asarray(bright["flux"]), rtol=0.05)
    assert response.json()["units"]["ra_deg"] == "deg" and rows[0]["dec_deg"] == pytest.approx(-27.8, abs=0.01)
    outside = client.post("/api/photometry", json={"path": "field.fits", "x_pix": [900.0], "y_pix": [3.0]})
    assert outside.status_code == 422
    uneven = client.post("/api/photometry", json={"path": "field.fits", "x_pix": [9.0, 3.0], "y_pix": [3.0]})
    assert uneven.status_code == 422


def test_photometry_at_sky_positions_and_for_a_whole_catalog(client: TestClient, settings: Settings) -> None:
    truth = write_field(settings.files_dir, bunit="")
    bright = truth[np.argsort(-np.asarray(truth["snr"]))[:6]]
    by_pixel = client.post(
        "/api/photometry", json={"path": "field.fits", "x_pix": list(bright["x_pix"]), "y_pix": list(bright["y_pix"])}
    ).json()
    ra = [r["ra_deg"] for r in by_pixel["rows"]]
    dec = [r["dec_deg"] for r in by_pixel["rows"]]
    by_sky = client.post("/api/photometry", json={"path": "field.fits", "ra_deg": ra, "dec_deg": dec}).json()
    assert np.allclose([r["x_pix"] for r in by_sky["rows"]], bright["x_pix"], atol=1e-6)
    assert np.allclose([r["flux"] for r in by_sky["rows"]], [r["flux"] for r in by_pixel["rows"]], rtol=1e-6)
    Table({"ra": [*ra, 10.0], "dec": [*dec, -80.0]}).write(settings.catalogs_dir / "mine.csv", format="ascii.csv")
    answer = client.post("/api/photometry", json={"path": "field.fits", "catalog": "mine.csv"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["n_sources"] == 6 and result["catalog"].startswith(
        "photometry/"
    )  # the far-away row is not on the image
    saved = Table.read(settings.catalogs_dir / result["catalog"])
    assert list(saved["catalog_row"]) == [0, 1, 2, 3, 4, 5]
    both = client.post("/api/photometry", json={"path": "field.fits", "catalog": "mine.csv", "x_pix": [1.0]})
    assert both.status_code == 422


def test_detection_on_a_cube_plane_and_a_tile_compressed_image(client: TestClient, settings: Settings) -> None:
    from astropy.io import fits

    from neloura.core.synthetic import add_gaussian_sources, make_wcs_header

    rng = np.random.default_rng(8)
    cube = rng.normal(0, 1, (3, 128, 128)).astype(np.float32)
    xs, ys = rng.uniform(15, 113, 12), rng.uniform(15, 113, 12)
    add_gaussian_sources(cube[2], xs, ys, np.full(12, 300.0), 3.0)
    header = make_wcs_header((128, 128), 150.0, 2.0, 0.2)
    fits.PrimaryHDU(cube, header=header).writeto(settings.files_dir / "cube.fits")
    on_2 = wait_job(client, client.post("/api/detection", json={"path": "cube.fits", "plane": 2}).json()["id"])
    on_0 = wait_job(client, client.post("/api/detection", json={"path": "cube.fits", "plane": 0}).json()["id"])
    assert on_2["result"]["n_sources"] == 12 and on_0["result"]["n_sources"] <= 1
    compressed = fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(cube[2], header=header, quantize_level=64)])
    compressed.writeto(settings.files_dir / "comp.fits")
    job = wait_job(client, client.post("/api/detection", json={"path": "comp.fits", "hdu": 1}).json()["id"])
    assert job["state"] == "done" and job["result"]["n_sources"] == 12
