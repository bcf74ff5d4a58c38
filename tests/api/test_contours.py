"""POST /api/contours and /api/contours/ds9: lines on the source image (traced on a block-mean
level when large), on another image through both WCSs, and bad requests."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from fastapi.testclient import TestClient
from regions import Regions

from neloura.core.synthetic import make_wcs_header
from neloura.settings import Settings

RA, DEC = 150.0, 2.0


def _write(
    settings: Settings, name: str, shape: tuple[int, int], scale: float, rotation: float = 0.0, blob: float = 2.0
) -> WCS:
    """A Gaussian blob (sigma ``blob`` arcsec, default 2) at (RA, DEC) + 1" east, drawn through the image's own WCS."""
    header = make_wcs_header(shape, RA, DEC, scale, rotation_deg=rotation)
    wcs = WCS(header)
    cx, cy = wcs.world_to_pixel_values(RA + 1 / 3600 / np.cos(np.radians(DEC)), DEC)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    sigma = blob / scale
    data = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2)).astype(np.float32)
    data += np.random.default_rng(3).normal(0, 0.001, shape).astype(np.float32)
    fits.PrimaryHDU(data, header).writeto(settings.files_dir / name)
    return wcs


def _circle_fit(paths: list[list[float]]) -> tuple[float, float, float]:
    xy = np.asarray(max(paths, key=len), dtype=float).reshape(-1, 2)
    cx, cy = xy.mean(axis=0)
    return float(cx), float(cy), float(np.hypot(xy[:, 0] - cx, xy[:, 1] - cy).mean())


def test_contours_on_the_image_and_on_another(client: TestClient, settings: Settings) -> None:
    wcs_a = _write(settings, "big.fits", (600, 640), 0.05)
    wcs_b = _write(settings, "small.fits", (200, 200), 0.11, rotation=37)
    full = client.post("/api/contours", json={"path": "big.fits", "levels": [0.5]}).json()
    coarse = client.post("/api/contours", json={"path": "big.fits", "levels": [0.5], "max_size": 160}).json()
    assert full["factor"] == 1 and coarse["factor"] == 4
    expected_r = 2.0 / 0.05 * np.sqrt(2 * np.log(2))
    cx, cy = wcs_a.world_to_pixel_values(RA + 1 / 3600 / np.cos(np.radians(DEC)), DEC)
    for answer, tol in ((full, 0.3), (coarse, 0.6)):
        x, y, r = _circle_fit(answer["contours"][0]["paths"])
        assert abs(x - cx) < tol and abs(y - cy) < tol and abs(r - expected_r) < 2 * tol, (answer["factor"], x, y, r)
    # contours of the 0.11" rotated image drawn on the 0.05" one land on the same circle
    moved = client.post(
        "/api/contours", json={"path": "small.fits", "levels": [0.5], "on": {"path": "big.fits"}}
    ).json()
    assert moved["on"]["path"] == "big.fits"
    x, y, r = _circle_fit(moved["contours"][0]["paths"])
    assert abs(x - cx) < 0.5 and abs(y - cy) < 0.5 and abs(r - expected_r) < 1.0
    assert wcs_b is not None


def test_sigma_levels_and_ds9_export(client: TestClient, settings: Settings) -> None:
    wcs = _write(settings, "big.fits", (300, 300), 0.05, blob=0.3)
    answer = client.post("/api/contours", json={"path": "big.fits", "sigma_levels": [100, 300]}).json()
    assert answer["sigma"] == pytest.approx(0.001, rel=0.2)
    assert answer["levels"] == pytest.approx([answer["median"] + k * answer["sigma"] for k in (100, 300)])
    reg = client.post(
        "/api/contours/ds9", json={"path": "big.fits", "n_levels": 3, "vmin": 0.2, "vmax": 0.8, "smooth_px": 1}
    )
    assert reg.status_code == 200 and "attachment" in reg.headers["content-disposition"]
    shapes = Regions.parse(reg.text, format="ds9")
    assert len(shapes) >= 3
    x, _ = wcs.world_to_pixel(shapes[0].vertices)  # sky polygons (ICRS), back onto the image
    assert np.isfinite(x).all() and 0 < x.min() and x.max() < 300


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"path": "big.fits"}, 422),
        ({"path": "big.fits", "levels": [1], "sigma_levels": [3]}, 422),
        ({"path": "big.fits", "levels": [0.5], "smooth_px": 1000}, 422),
        ({"path": "missing.fits", "levels": [0.5]}, 404),
        ({"path": "../../etc/passwd", "levels": [0.5]}, 403),
        ({"path": "big.fits", "levels": [0.5], "on": {"path": "nowcs.fits"}}, 422),
    ],
)
def test_bad_contour_requests(client: TestClient, settings: Settings, body: dict, status: int) -> None:
    _write(settings, "big.fits", (100, 100), 0.05)
    fits.PrimaryHDU(np.zeros((40, 50), np.float32)).writeto(settings.files_dir / "nowcs.fits")
    response = client.post("/api/contours", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
