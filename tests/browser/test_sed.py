"""Cutouts & SED and publication figures in the real page: click a source -> cutout strip ->
SED plot -> exports; a figure rendered as a job, downloaded and opened (PDF parsed, PNG looked at)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image
from pypdf import PdfReader

from tests.browser.helpers import open_view
from tests.sed_fields import NIRCAM, SOURCES, WFC3, write_band

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/neloura-sed-shots")


@pytest.fixture(scope="module")
def field(live_server: Any) -> Path:
    folder = live_server.files_dir / "sedtest"
    write_band(folder, NIRCAM, seed=1)
    write_band(folder, WFC3, seed=2)
    return folder


def _click_source(page: Any, field: Path, source: int) -> None:
    with fits.open(field / f"{NIRCAM.name}.fits") as hdul:
        x, y = WCS(hdul[1].header).all_world2pix([SOURCES[source][:2]], 0)[0]
    page.evaluate(f"() => window.neloura.ctx.viewer.panTo({x}, {y}, 1.5, true)")
    page.wait_for_timeout(200)
    screen = page.evaluate(f"() => window.neloura.ctx.viewer.imageToScreen({x}, {y})")
    box = page.locator("#viewer").bounding_box()
    page.mouse.click(box["x"] + screen["x"], box["y"] + screen["y"])


def test_click_a_source_cutouts_sed_and_exports(page: Any, live_server: Any, field: Path) -> None:
    SHOTS.mkdir(exist_ok=True)
    open_view(page, live_server, f"/open/sedtest/{NIRCAM.name}.fits?hdu=1&stretch=asinh&cmap=viridis")
    page.click("#menubar >> text=Analysis")
    page.click("#menu-sed-pick")
    _click_source(page, field, 1)
    page.wait_for_selector("#sed-modal .sed-panel img")
    page.wait_for_function("() => document.querySelectorAll('#sed-strip .sed-panel').length === 2")
    captions = sorted(page.locator("#sed-strip figcaption").all_text_contents())
    assert captions == ["NIRCAM F150W", "WFC3/IR F160W"]
    page.wait_for_function("() => document.querySelectorAll('#sed-chart .point').length >= 2", timeout=60_000)
    page.wait_for_function("() => /2 points/.test(document.getElementById('sed-status').textContent)")
    points = page.evaluate("() => document.querySelectorAll('#sed-chart .scatterlayer .point').length")
    assert points == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('#sed-strip img')].every((i) => i.complete && i.naturalWidth > 0)"
    )
    page.screenshot(path=str(SHOTS / "sed-1600.png"))
    with page.expect_download() as info:
        page.click("#sed-export-csv")
    rows = Path(info.value.path()).read_text().splitlines()
    assert rows[0].startswith("filter,") and len(rows) == 3
    flux = [float(r.split(",")[3]) for r in rows[1:]]
    assert all(abs(f / SOURCES[1][2] - 1) < 0.1 for f in flux)  # no PSF files here: aperture fluxes
    with page.expect_download() as info:
        page.click("#sed-export-pdf")
    assert len(PdfReader(info.value.path()).pages) == 1
    with page.expect_download() as info:
        page.click("#sed-export-png")
    png = Image.open(info.value.path())
    assert png.size == (1200, 800)
    png.save(SHOTS / "sed-export.png")
    page.set_viewport_size({"width": 900, "height": 1000})
    page.screenshot(path=str(SHOTS / "sed-900.png"))


def test_typed_position_outside_every_image(page: Any, live_server: Any, field: Path) -> None:
    open_view(page, live_server, f"/open/sedtest/{NIRCAM.name}.fits?hdu=1")
    page.click("#menubar >> text=Analysis")
    page.click("#menu-sed")
    page.fill("#sed-position", "10:00:00 -40:00:00")
    page.click("#sed-go")
    page.wait_for_function("() => /No image/.test(document.getElementById('sed-status').textContent)")


@pytest.mark.parametrize("fmt", ["pdf", "png"])
def test_publication_figure_downloaded_and_opened(page: Any, live_server: Any, field: Path, fmt: str) -> None:
    page.set_viewport_size({"width": 900, "height": 900})
    open_view(page, live_server, f"/open/sedtest/{NIRCAM.name}.fits?hdu=1&stretch=sqrt&cmap=magma")
    page.click("#menubar >> text=File")
    page.click("#menu-figure")
    page.select_option("#fig-format", fmt)
    page.fill("#fig-width", "6")
    page.fill("#fig-height", "6")
    page.fill("#fig-dpi", "120")
    page.fill("#fig-title", "Test field F150W")
    page.fill("#fig-distance", "8.5")
    page.click("#figure-run")
    page.wait_for_selector("#figure-download", timeout=120_000)
    page.screenshot(path=str(SHOTS / f"figure-dialog-{fmt}-900.png"))
    with page.expect_download() as info:
        page.click("#figure-download")
    content = Path(info.value.path()).read_bytes()
    if fmt == "pdf":
        text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
        assert "est field F150W" in text and "MJy/sr" in text and "kpc" in text  # pypdf may split "T est" (kerning)
    else:
        image = Image.open(io.BytesIO(content))
        assert image.format == "PNG" and image.size[0] > 500
        image.save(SHOTS / "figure.png")
        page.wait_for_function("() => document.getElementById('figure-preview').naturalWidth > 500")


def test_figure_of_the_pages_panels(page: Any, live_server: Any, field: Path) -> None:
    """Two real panels (1x2), the second turned 90 degrees, mirrored and zoomed in: the figure is one
    subplot per panel, each sent with its exact view (centre, zoom, rotation, flip) and viewport px."""
    page.set_viewport_size({"width": 1600, "height": 1000})
    path = f"sedtest/{NIRCAM.name}.fits"
    open_view(page, live_server, f"/open/{path}?hdu=1")
    page.evaluate(
        """(path) => { const ctx = window.neloura.ctx; ctx.panels.setLayout('1x2');
        ctx.panels.open(1, { path, hdu: 1 }); }""",
        path,
    )
    page.wait_for_function("() => document.getElementById('viewer-2')?.dataset.imageReady === '1'")
    page.evaluate(
        """() => { const ctx = window.neloura.ctx; ctx.panels.activate(1);
        ctx.viewer.setOrientation({ rotation: 90, flip: true }, true); ctx.viewer.panTo(100, 120, 4, true); }"""
    )
    page.wait_for_function("() => Math.abs(window.neloura.ctx.panels.list()[1].viewer.viewState().zoom - 4) < 1e-3")
    box = page.evaluate(
        """() => { const r = window.neloura.ctx.panels.list()[1].element.getBoundingClientRect();
        return [r.width, r.height]; }"""
    )
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "panels-for-figure-1600.png"))  # what the figure must show
    bodies: list[Any] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/api/figures") else None)
    page.click("#menubar >> text=File")
    page.click("#menu-figure")
    page.select_option("#fig-format", "png")
    page.fill("#fig-width", "10")
    page.fill("#fig-height", "7")
    page.fill("#fig-dpi", "60")
    page.click("#figure-run")
    page.wait_for_selector("#figure-download", timeout=120_000)
    body = bodies[-1]
    assert "path" not in body and body["layout"] == "1x2" and len(body["panels"]) == 2
    turned = body["panels"][1]
    assert turned["view"]["rotation"] == pytest.approx(90) and turned["view"]["flip"] is True
    assert turned["view"]["zoom"] == pytest.approx(4, rel=1e-3)
    assert (turned["view"]["cx"], turned["view"]["cy"]) == pytest.approx((100, 120), abs=0.05)
    assert turned["view_px"] == pytest.approx(box) and body["panels"][0]["view"]["flip"] is False
    page.wait_for_function("() => document.getElementById('figure-preview').naturalWidth > 0")
    size = page.evaluate(
        "() => { const i = document.getElementById('figure-preview'); return [i.naturalWidth, i.naturalHeight]; }"
    )
    assert size[0] > 1.2 * size[1]  # two panels side by side
    page.screenshot(path=str(SHOTS / "figure-panels-1600.png"))
    with page.expect_download() as download:
        page.click("#figure-download")
    Image.open(download.value.path()).save(SHOTS / "figure-panels.png")
