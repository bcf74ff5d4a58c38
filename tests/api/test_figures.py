"""POST /api/figures: a job whose file is the figure (PDF parsed, PNG and SVG opened)."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader

from neloura.settings import Settings
from tests.api.job_helpers import wait_job
from tests.sed_fields import NIRCAM, SOURCES, write_band


@pytest.fixture
def field(settings: Settings) -> Settings:
    write_band(settings.files_dir, NIRCAM, seed=1)
    rows = "\n".join(f"{ra},{dec}" for ra, dec, _ in SOURCES)
    (settings.catalogs_dir / "targets.csv").write_text(f"ra,dec\n{rows}\n")
    return settings


def _figure(client: TestClient, **body: object) -> tuple[dict, bytes]:
    start = client.post("/api/figures", json={"path": "nircam_f150w.fits", **body})
    assert start.status_code == 200, start.text
    job = wait_job(client, start.json()["id"])
    assert job["state"] == "done", job
    name = job["result"]["figure"]
    return job, client.get(f"/api/jobs/{job['id']}/files/{name}").content


def test_pdf_figure_with_grid_colorbar_scalebar_markers_contours(field: Settings, client: TestClient) -> None:
    _, content = _figure(
        client,
        format="pdf",
        title="NGC 0000 F150W",
        frame="fk5",
        stretch="asinh",
        cmap="magma",
        distance_mpc=10.0,
        catalog={"name": "targets.csv"},
        contours={"levels": [0.5, 2.0]},
        region=[50, 60, 350, 380],
    )
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "NGC 0000 F150W" in text and "MJy/sr" in text and "kpc" in text and "RA (FK5)" in text
    assert "N" in text.split() and "E" in text.split()  # the compass
    width_pt = float(reader.pages[0].mediabox.width)
    assert 5 * 72 < width_pt < 14 * 72  # 10 inches wide, trimmed to the drawing


def test_png_and_svg_sizes(field: Settings, client: TestClient) -> None:
    _, png = _figure(client, format="png", width_in=4, height_in=4, dpi=100, frame="galactic")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and 300 < image.size[0] < 600
    _, svg = _figure(client, format="svg", width_in=5, height_in=5, dpi=72)
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg


def test_two_figures_never_share_a_file(field: Settings, client: TestClient) -> None:
    first, _ = _figure(client, format="png", width_in=3, height_in=3, dpi=50)
    second, _ = _figure(client, format="png", width_in=3, height_in=3, dpi=50)
    assert first["result"]["figure"] != second["result"]["figure"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"width_in": 40, "height_in": 40, "dpi": 1200}, "Mpixel"),
        ({"vmin": 5, "vmax": 1}, "vmin"),
        ({"stretch": "wobbly"}, "stretch"),
        ({"region": [10, 10, 10.2, 10.2]}, "region"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_figure_requests(field: Settings, client: TestClient, body: dict, words: str) -> None:
    response = client.post("/api/figures", json={"path": "nircam_f150w.fits", **body})
    assert response.status_code == 422 and words in response.json()["detail"]
