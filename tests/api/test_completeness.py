"""POST /api/completeness: a real (small) artificial-source job and its downloadable results."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient

from neloura.api.jobs import CompletenessSummaryOut
from neloura.settings import Settings
from tests.api.job_helpers import wait_job, write_field
from tests.core.detection_fields import moffat_psf


def test_completeness_job_with_a_psf_file(client: TestClient, settings: Settings) -> None:
    write_field(settings.files_dir)
    header = fits.Header()
    header["PIXELSCL"] = 0.0275
    fits.PrimaryHDU(moffat_psf(0.33, 0.0275).astype(np.float32), header=header).writeto(settings.psf_dir / "F770W.fits")
    assert client.get("/api/psf").json()["psfs"] == ["F770W.fits"]
    body = {"path": "field.fits", "psf": "F770W.fits", "n": 40, "iterations": 2, "flux_min": 0.5, "flux_max": 50}
    job = wait_job(client, client.post("/api/completeness", json=body).json()["id"], timeout=180)
    assert job["state"] == "done", job
    result = job["result"]
    assert {"completeness.png", "completeness.pdf", "completeness.json", "completeness.fits"} <= set(result["files"])
    png = client.get(f"/api/jobs/{job['id']}/files/completeness.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(client.get(f"/api/jobs/{job['id']}/files/completeness.json").text)
    CompletenessSummaryOut.model_validate(summary)  # the model the OpenAPI schema gives this file
    assert summary["n_injected"] == 80 and summary["flux_unit"] == "uJy"
    assert {"flux", "injected", "recovered", "completeness", "error"} <= set(summary["bins"][0])
    injected = settings.files_dir / result["injected_image"]
    assert result["injected_image"].startswith("results/") and injected.is_file()
    with fits.open(injected) as hdul:
        original = fits.getdata(settings.files_dir / "field.fits")
        assert np.nansum(hdul[0].data) > np.nansum(original)  # sources were added
        assert hdul[0].header["CTYPE1"] == "RA---TAN"


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"flux_min": 10, "flux_max": 1}, 422),
        ({"psf": "../../etc/passwd"}, 403),
        ({"psf": "nope.fits"}, 404),
        ({"n": 0}, 422),
    ],
)
def test_bad_completeness_requests(client: TestClient, settings: Settings, extra: dict, status: int) -> None:
    write_field(settings.files_dir)
    body = {"path": "field.fits", "n": 10, "iterations": 1, "flux_min": 1, "flux_max": 10} | extra
    response = client.post("/api/completeness", json=body)
    assert response.status_code == status
    assert response.json()["detail"]
