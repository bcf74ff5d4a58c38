"""POST /api/cutouts (FITS with WCS + PNG, files served back), the batch job (zip + PDF,
progress, cancel)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader

from neloura.settings import Settings
from tests.api.job_helpers import wait_job
from tests.sed_fields import NIRCAM, SOURCES, WFC3, write_band


@pytest.fixture
def field(settings: Settings) -> Settings:
    write_band(settings.files_dir, NIRCAM, seed=1)
    write_band(settings.files_dir, WFC3, seed=2)
    rows = "\n".join(f"s{i},{ra},{dec}" for i, (ra, dec, _) in enumerate(SOURCES))
    (settings.catalogs_dir / "targets.csv").write_text(f"name,ra,dec\n{rows}\nfar,10.0,-40.0\n")
    return settings


def test_cutouts_of_every_covering_image(field: Settings, client: TestClient) -> None:
    ra, dec, _ = SOURCES[1]
    answer = client.post("/api/cutouts", json={"ra_deg": ra, "dec_deg": dec, "size_arcsec": 3.0}).json()
    assert {c["label"] for c in answer["cutouts"]} == {"NIRCAM F150W", "WFC3/IR F160W"}
    for item in answer["cutouts"]:
        data = client.get(f"/api/cutouts/files/{item['file']}")
        assert data.status_code == 200 and data.headers["content-type"] == "application/fits"
        with fits.open(io.BytesIO(data.content)) as hdul:
            header = hdul[0].header
            x, y = WCS(header).all_world2pix([[ra, dec]], 0)[0]
            assert header["ORIGFILE"] == item["path"] and "BUNIT" in header
        assert abs(x - item["x_pix"]) < 0.01 and abs(y - item["y_pix"]) < 0.01
        png = Image.open(io.BytesIO(client.get(f"/api/cutouts/files/{item['png']}").content))
        assert png.size == tuple(item["shape"][::-1])


def test_north_up_cutouts_share_one_pixel_scale(field: Settings, client: TestClient) -> None:
    ra, dec, _ = SOURCES[0]
    body = {"ra_deg": ra, "dec_deg": dec, "size_arcsec": 3.0, "north_up": True}
    cutouts = client.post("/api/cutouts", json=body).json()["cutouts"]
    assert all(abs(c["scale_arcsec"] - 0.12) < 1e-9 for c in cutouts) and {tuple(c["shape"]) for c in cutouts} == {
        (25, 25)
    }
    for item in cutouts:
        with fits.open(io.BytesIO(client.get(f"/api/cutouts/files/{item['file']}").content)) as hdul:
            wcs = WCS(hdul[0].header)
        assert wcs.wcs.cdelt[0] < 0 < wcs.wcs.cdelt[1]  # north up, east left
        assert np.allclose(wcs.all_world2pix([[ra, dec]], 0)[0], [12.0, 12.0], atol=1e-6)


@pytest.mark.parametrize("name", ["../secret.fits", "0123456789ab_x.txt", "x.fits", "0123456789ab_..fits"])
def test_only_cutout_names_are_served(field: Settings, client: TestClient, name: str) -> None:
    assert client.get(f"/api/cutouts/files/{name}").status_code == 404


def test_batch_cutouts_zip_and_pdf(field: Settings, client: TestClient) -> None:
    body = {"catalog": "targets.csv", "size_arcsec": 2.0, "id_col": "name"}
    job = wait_job(client, client.post("/api/cutouts/batch", json=body).json()["id"])
    assert job["state"] == "done", job
    assert job["result"]["n_sources"] == 4 and job["result"]["n_cutouts"] == 6  # "far" is on no image
    names = job["result"]["files"]
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/jobs/{job['id']}/files/{names[1]}").content))
    assert sorted(archive.namelist())[:2] == ["s0/nircam_f150w_hdu1_F150W.fits", "s0/wfc3_f160w_hdu1_F160W.fits"]
    pdf = PdfReader(io.BytesIO(client.get(f"/api/jobs/{job['id']}/files/{names[0]}").content))
    assert len(pdf.pages) == 4 and "s1" in pdf.pages[1].extract_text()


def test_batch_cutouts_can_be_cancelled(field: Settings, client: TestClient) -> None:
    rows = "\n".join(f"{SOURCES[0][0] + i * 1e-6},{SOURCES[0][1]}" for i in range(3000))
    (field.catalogs_dir / "many.csv").write_text(f"ra,dec\n{rows}\n")
    start = client.post("/api/cutouts/batch", json={"catalog": "many.csv", "size_arcsec": 4.0})
    cancelled = client.delete(f"/api/jobs/{start.json()['id']}").json()
    assert cancelled["state"] == "cancelled"


def test_batch_refuses_empty_and_oversized_selections(field: Settings, client: TestClient) -> None:
    empty = client.post("/api/cutouts/batch", json={"catalog": "targets.csv", "size_arcsec": 2, "rows": []})
    assert empty.status_code == 422
    huge = client.post("/api/cutouts/batch", json={"catalog": "targets.csv", "size_arcsec": 2, "rows": [99]})
    assert huge.status_code == 422
