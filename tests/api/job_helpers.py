"""Helpers for API tests of jobs: write seeded images, wait for a job through the HTTP API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from fastapi.testclient import TestClient

from neloura.core.synthetic import make_wcs_header
from tests.core.detection_fields import star_field


def write_field(folder: Path, name: str = "field.fits", *, bunit: str = "MJy/sr", scaled: bool = False) -> Any:
    """A 256 x 256 star field with a TAN WCS (0.11"/px) written to ``folder/name``; returns the truth."""
    image, truth = star_field((256, 256), 60, holes=False, seed=21)
    header = make_wcs_header(image.shape, 53.1, -27.8, 0.11)
    header["BUNIT"] = bunit
    folder.mkdir(parents=True, exist_ok=True)
    if scaled:  # BSCALE/BZERO integers, as many archives store images
        hdu = fits.PrimaryHDU(image.astype(np.float32), header=header)
        hdu.scale("int16", bscale=0.01, bzero=200.0)
    else:
        hdu = fits.PrimaryHDU(image, header=header)
    hdu.writeto(folder / name, overwrite=True)
    return truth


def wait_job(client: TestClient, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")
