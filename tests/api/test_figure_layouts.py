"""POST /api/figures of a panel layout (one WCSAxes subplot per panel, each its own view and
display) and of an RGB composite (by id or by its channels), on real FITS files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader

from neloura.core.synthetic import make_wcs_header
from neloura.settings import Settings
from tests.api.job_helpers import wait_job
from tests.api.test_rgb import wait_ready
from tests.core.rgb_fields import write_fields
from tests.sed_fields import NIRCAM, WFC3, write_band

BARE = {"grid": False, "colorbar": False, "compass": False, "scalebar_arcsec": 0}


def _run(client: TestClient, body: dict) -> bytes:
    start = client.post("/api/figures", json=body)
    assert start.status_code == 200, start.text
    job = wait_job(client, start.json()["id"])
    assert job["state"] == "done", job
    return client.get(f"/api/jobs/{job['id']}/files/{job['result']['figure']}").content


@pytest.fixture
def bands(settings: Settings) -> Settings:
    write_band(settings.files_dir, NIRCAM, seed=1)
    write_band(settings.files_dir, WFC3, seed=2)
    header = make_wcs_header((100, 200), 150.0, 2.0, 0.1)
    half = np.zeros((100, 200), np.float32)
    half[:, 100:] = 1000.0  # the right half bright
    fits.PrimaryHDU(half, header).writeto(settings.files_dir / "halves.fits")
    return settings


def test_a_1x2_layout_pdf_has_both_panels_with_their_units_and_titles(bands: Settings, client: TestClient) -> None:
    panels = [
        {"path": "nircam_f150w.fits", "display": {"stretch": "asinh", "cmap": "magma"}, "title": "F150W panel"},
        {"path": "wfc3_f160w.fits", "display": {"stretch": "sqrt", "vmin": 0, "vmax": 5}, "title": "F160W panel"},
    ]
    content = _run(client, {"panels": panels, "layout": "1x2", "format": "pdf", "title": "Both bands", "width_in": 12})
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "F150W panel" in text and "F160W panel" in text and "bands" in text
    assert "MJy/sr" in text and "ELECTRONS/S" in text  # one colorbar per panel, its own unit
    assert text.count("RA (ICRS)") == 2 and text.count("Dec (ICRS)") == 2


def test_each_panel_draws_its_own_view(bands: Settings, client: TestClient) -> None:
    """A view centred on the bright half and one on the dark half: the left panel white, the right black."""
    display = {"vmin": 0, "vmax": 1000, "cmap": "gray"}
    view = {"zoom": 4.0}
    panels = [
        {"path": "halves.fits", "display": display, "view": {**view, "cx": 150, "cy": 50}, "view_px": [160, 160]},
        {"path": "halves.fits", "display": display, "view": {**view, "cx": 50, "cy": 50}, "view_px": [160, 160]},
    ]
    png = _run(client, {"panels": panels, "layout": "1x2", "format": "png", "width_in": 8, "height_in": 4,
                        "dpi": 60, **BARE})  # fmt: skip
    image = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    h, w = image.shape
    middle = image[h // 3 : 2 * h // 3]
    left, right = middle[:, w // 8 : 3 * w // 8], middle[:, 5 * w // 8 : 7 * w // 8]
    assert left.mean() > 200 and right.mean() < 60


def test_a_2x2_layout_with_three_panels_and_bad_layouts(bands: Settings, client: TestClient) -> None:
    panel = {"path": "nircam_f150w.fits"}
    png = _run(client, {"panels": [panel] * 3, "layout": "2x2", "format": "png", "width_in": 6, "height_in": 6,
                        "dpi": 50})  # fmt: skip
    assert Image.open(io.BytesIO(png)).format == "PNG"
    bad = [
        ({"panels": [panel] * 2, "layout": "1"}, "layout 1"),
        ({"panels": [panel] * 5}, "panels"),
        ({"panels": [panel], "path": "nircam_f150w.fits"}, "exactly one"),
        ({}, "exactly one"),
        ({"panels": [{"path": "nircam_f150w.fits", "display": {"stretch": "wobbly"}}]}, "stretch"),
        ({"panels": [{"path": "nope.fits"}]}, "nope"),
    ]
    for body, words in bad:
        r = client.post("/api/figures", json={"format": "png", **body})
        assert r.status_code in (404, 422) and words in str(r.json()["detail"]), (body, r.text)


@pytest.fixture
def composite(client: TestClient, settings: Settings) -> tuple[str, list[str]]:
    names = write_fields(settings.files_dir)
    state = wait_ready(client, client.post("/api/rgb", json={"channels": [{"path": n} for n in names]}).json()["id"])
    assert state["state"] == "ready", state
    return state["id"], names


def test_rgb_composite_figure_by_id_and_by_channels(composite: tuple[str, list[str]], client: TestClient) -> None:
    rgb_id, names = composite
    png = _run(client, {"rgb": {"id": rgb_id}, "format": "png", "width_in": 5, "height_in": 5, "dpi": 60})
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    assert (pixels.min(axis=2) > 200).sum() > 50  # the stars, white where the three channels add up
    # by its channels, all shown red: no blue or green left in the image
    red = [{"path": n, "color": "#ff0000"} for n in names]
    png = _run(client, {"rgb": {"channels": red}, "format": "png", "width_in": 5, "height_in": 5, "dpi": 60, **BARE})
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    h, w = pixels.shape[:2]
    pixels = pixels[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]  # inside the axes (no white margin)
    bright = pixels[..., 0] > 150
    assert bright.sum() > 20 and np.all(pixels[bright][:, 2] < pixels[bright][:, 0])
    pdf = _run(client, {"rgb": {"id": rgb_id}, "format": "pdf", "frame": "galactic", "title": "RGB"})
    assert "RGB" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_bad_rgb_figures(composite: tuple[str, list[str]], client: TestClient) -> None:
    rgb_id, names = composite
    assert client.post("/api/figures", json={"rgb": {"id": "0" * 32}}).status_code == 404
    assert client.post("/api/figures", json={"rgb": {}}).status_code == 422
    wrong = {"id": rgb_id, "channels": [{"path": n} for n in names[:2]]}
    assert client.post("/api/figures", json={"rgb": wrong}).status_code == 422


def _yellow_share(png: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Per column and per row of the axes (the viridis pixels): the share that is bright (yellow)."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    yellow = (rgb[..., 0] > 200) & (rgb[..., 1] > 180) & (rgb[..., 2] < 120)
    purple = (abs(rgb[..., 0] - 68) < 30) & (rgb[..., 1] < 40) & (abs(rgb[..., 2] - 84) < 30)
    inside = yellow | purple
    rows, cols = np.nonzero(inside)
    box = yellow[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return box.mean(axis=0), box.mean(axis=1)


@pytest.mark.parametrize(
    ("rotation", "flip", "where"),
    [(0.0, False, "left"), (0.0, True, "right"), (90.0, False, "top"), (-90.0, False, "bottom"), (90.0, True, "top")],
)
def test_a_panel_figure_is_exactly_the_panels_screen(
    settings: Settings, client: TestClient, rotation: float, flip: bool, where: str
) -> None:
    """The image's left columns (x <= 99) bright; a 200 x 100 px panel centred at x = 110 at zoom 2 puts
    the edge 21 screen px left of centre: 39.5 % of the width (unturned), mirrored by the flip; turned
    clockwise by 90 degrees the image's left is the screen's top: 29 % of the height."""
    data = np.zeros((200, 200), np.float32)
    data[:, :100] = 1000.0
    fits.PrimaryHDU(data, make_wcs_header((200, 200), 150.0, 2.0, 0.1)).writeto(settings.files_dir / "left.fits")
    view = {"cx": 110.0, "cy": 100.0, "zoom": 2.0, "rotation": rotation, "flip": flip}
    panel = {"path": "left.fits", "display": {"vmin": 0, "vmax": 1000, "cmap": "viridis"}, "view": view,
             "view_px": [200, 100]}  # fmt: skip
    png = _run(client, {"panels": [panel], "layout": "1", "format": "png", "width_in": 8, "height_in": 4,
                        "dpi": 100, **BARE})  # fmt: skip
    by_column, by_row = _yellow_share(png)
    share = 79.0 / 200.0 if rotation == 0 else 29.0 / 100.0
    profile = by_column if rotation == 0 else by_row
    bright = profile > 0.5
    assert abs(bright.mean() - share) < 0.01, (bright.mean(), share)  # exact to 1 % of the panel
    first, last = bool(bright[0]), bool(bright[-1])
    assert (first, last) == {"left": (True, False), "top": (True, False), "right": (False, True),
                             "bottom": (False, True)}[where]  # fmt: skip
    other = by_row if rotation == 0 else by_column  # across the edge: the same all along
    assert np.ptp(other[2:-2]) < 0.02


def test_a_single_image_figure_of_the_viewers_view_is_its_screen(settings: Settings, client: TestClient) -> None:
    """POST /api/figures with path and view (what the page sends for one viewer): the same exact screen."""
    data = np.zeros((200, 200), np.float32)
    data[:, :100] = 1000.0
    fits.PrimaryHDU(data, make_wcs_header((200, 200), 150.0, 2.0, 0.1)).writeto(settings.files_dir / "left.fits")
    view = {"cx": 110.0, "cy": 100.0, "zoom": 2.0, "rotation": 90.0, "flip": False}
    body = {"path": "left.fits", "view": view, "view_px": [200, 100], "vmin": 0, "vmax": 1000, "cmap": "viridis",
            "format": "png", "width_in": 8, "height_in": 4, "dpi": 100, **BARE}  # fmt: skip
    _, by_row = _yellow_share(_run(client, body))
    bright = by_row > 0.5
    assert abs(bright.mean() - 0.29) < 0.01 and bright[0] and not bright[-1]  # the image's left on top
    both = client.post("/api/figures", json={**body, "region": [0, 0, 50, 50]})
    assert both.status_code == 422 and "region or view" in both.json()["detail"]
    off = client.post("/api/figures", json={**body, "view": {**view, "cx": 5000.0}})
    assert off.status_code == 422 and "2 x 2" in off.json()["detail"]  # a view beside the image


def test_rgb_composite_figure_of_a_turned_view(composite: tuple[str, list[str]], client: TestClient) -> None:
    """The composite drawn through the viewer's view (turned and mirrored): the figure has the
    viewport's shape (2:1 here) and the stars' colours."""
    rgb_id, _ = composite
    view = {"cx": 60.0, "cy": 50.0, "zoom": 3.0, "rotation": 30.0, "flip": True}
    png = _run(client, {"rgb": {"id": rgb_id}, "view": view, "view_px": [300, 150], "format": "png", "width_in": 6,
                        "height_in": 6, "dpi": 60, **BARE})  # fmt: skip
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    dark = pixels.max(axis=2) < 100  # the composite's sky (the page around it is white)
    rows, cols = np.nonzero(dark)
    assert (cols.max() - cols.min()) == pytest.approx(2 * (rows.max() - rows.min()), rel=0.1)
    assert (pixels.min(axis=2) > 200)[rows.min() : rows.max(), cols.min() : cols.max()].sum() > 5  # stars
