"""Detection and artificial-source panels in the real page: run detection on the demo image,
see progress, see the overlay, download the catalog; run a small artificial-source test and
see its plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import open_view

pytestmark = pytest.mark.browser

RECORD_JOBS = """() => {
  window.__jobEvents = [];
  window.neloura.ctx.bus.on('job:progress', (e) => window.__jobEvents.push(e));
}"""


def test_detection_panel_runs_a_job_and_overlays_the_catalog(page: Any, live_server: Any) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.evaluate(RECORD_JOBS)
    page.click("#detection-panel .panel-head")
    assert "7 days" in page.text_content("#detection-form .det-keep")  # how long results are kept
    page.fill("#detection-form input[name=threshold_sigma]", "6")
    page.fill("#detection-form input[name=fwhm_px]", "2.5")
    page.click("#detection-run")
    page.wait_for_function(
        "() => /^\\d+ sources/.test(document.getElementById('detection-status').textContent)", timeout=120_000
    )
    page.wait_for_function(
        "() => window.__jobEvents.some((e) => e.state === 'done')", timeout=60_000
    )  # pushed over /ws
    events = page.evaluate("() => window.__jobEvents")
    running = [e["progress"] for e in events if e["kind"] == "detection" and e["state"] == "running"]
    assert running and any(0 < p < 1 for p in running)
    assert next(e for e in events if e["state"] == "done")["progress"] == 1.0
    status = page.text_content("#detection-status")
    n_sources = int(status.split()[0])
    assert n_sources > 20
    page.wait_for_function("() => Number(document.body.dataset.overlayCount || 0) > 0", timeout=120_000)
    assert 0 < int(page.evaluate("() => Number(document.body.dataset.overlayCount)")) <= n_sources
    # the results table is filled by its own request, which may end after the overlay's
    page.wait_for_selector("#detection-results table tbody tr")
    # cross-match with the demo catalog: matched detections are highlighted, counts shown
    page.wait_for_selector(
        "#detection-xmatch-catalog option[value='demo_sources.csv']", state="attached", timeout=60_000
    )
    page.select_option("#detection-xmatch-catalog", "demo_sources.csv")
    page.click("#detection-xmatch-run")
    page.wait_for_function(
        "() => /detections matched/.test(document.getElementById('detection-xmatch-result').textContent)",
        timeout=120_000,
    )
    matched = int(page.text_content("#detection-xmatch-result").split()[0])
    assert 0 < matched <= n_sources
    with page.expect_download() as info:
        page.click("#detection-results a[download$='.csv']")
    text = Path(info.value.path()).read_text()
    header = text.splitlines()[0].split(",")
    assert {"x_pix", "y_pix", "ra_deg", "dec_deg", "flux", "snr"} <= set(header)
    assert len(text.strip().splitlines()) == n_sources + 1


def test_photometry_on_click(page: Any, live_server: Any) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.click("#detection-panel .panel-head")
    page.check("#photometry-toggle")
    page.evaluate("() => window.neloura.ctx.bus.emit('viewer:click', { x: 100.0, y: 120.0 })")
    page.wait_for_selector("#photometry-result .det-flux", timeout=60_000)
    assert "µJy" in page.text_content("#photometry-result") or "uJy" in page.text_content("#photometry-result")


def test_artificial_source_panel_shows_the_completeness_plot(page: Any, live_server: Any) -> None:
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.click("#completeness-panel .panel-head")
    values = {"n": "30", "iterations": "2", "flux_min": "0.01", "flux_max": "5", "fwhm_px": "2.5"}
    for name, value in values.items():
        page.fill(f"#completeness-form input[name={name}]", value)
    page.click("#completeness-run")
    page.wait_for_selector("#completeness-plot", timeout=180_000)
    page.wait_for_function("() => document.getElementById('completeness-plot').naturalWidth > 100", timeout=60_000)
    assert page.locator("#completeness-results a[download='completeness.json']").count() == 1
    page.click("#completeness-open-injected")
    page.wait_for_function(
        "() => (window.neloura.ctx.viewer.image?.path || '').startsWith('results/galaxy_injected_')", timeout=60_000
    )


def test_default_detection_is_pure_on_the_demo_galaxy(page: Any, live_server: Any) -> None:
    """Issue 14 point 3: with the panel's defaults, >= 95 % of the detections on the demo galaxy lie
    within 8 px of a true source of catalogs/demo_sources.csv, and the stars are still found."""
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.evaluate(
        "() => { window.__done = null; window.neloura.ctx.bus.on('detection:done', (d) => { window.__done = d; }); }"
    )
    page.click("#detection-panel .panel-head")
    assert page.input_value("#detection-form input[name=box_px]") == "32"
    assert page.input_value("#detection-form input[name=min_snr]") == "3"
    page.click("#detection-run")
    page.wait_for_function("() => window.__done !== null", timeout=180_000)
    done = page.evaluate("() => window.__done")
    eight_px = 8 * 0.063  # arcsec: the demo's pixel scale
    match = page.evaluate(
        """(b) => window.neloura.ctx.api.post('/api/catalogs/crossmatch', b)""",
        {"a": done["catalog"], "b": "demo_sources.csv", "radius_arcsec": eight_px, "limit": 0},
    )
    assert match["matched_a"] / done["n_sources"] >= 0.95
    stars = page.evaluate(
        """(b) => window.neloura.ctx.api.post('/api/catalogs/crossmatch', b)""",
        {"a": "demo_sources.csv", "b": done["catalog"], "radius_arcsec": 2 * 0.063, "limit": 100_000},
    )
    text = (live_server.root / "catalogs" / "demo_sources.csv").read_text().splitlines()
    kinds = [line.rsplit(",", 1)[1] for line in text[1:]]
    star_rows = {i for i, k in enumerate(kinds) if k == "star"}
    found = {p[0] for p in stars["pairs"]} & star_rows
    assert len(found) / len(star_rows) >= 0.93


def test_completeness_defaults_come_from_the_image_and_the_hint_says_when_50_is_missed(
    page: Any, live_server: Any
) -> None:
    """Issue 14 point 4: the flux range is filled from the image's noise and PSF (not 1..100), the
    generated JWST-like PSF is offered, and a run that finds everything says to lower the range."""
    open_view(page, live_server, "/open/demo/galaxy.fits?hdu=1")
    page.click("#completeness-panel .panel-head")
    page.wait_for_function("() => document.getElementById('completeness-form').dataset.rangeFrom === 'image'")
    lo = float(page.input_value("#completeness-form input[name=flux_min]"))
    hi = float(page.input_value("#completeness-form input[name=flux_max]"))
    defaults = page.evaluate(
        "() => window.neloura.ctx.api.get('/api/completeness/defaults',"
        " { path: 'demo/galaxy.fits', hdu: 1, fwhm_px: 3 })"
    )
    assert lo == pytest.approx(defaults["flux_min"], rel=1e-3) and hi == pytest.approx(defaults["flux_max"], rel=1e-3)
    assert hi / lo == pytest.approx(40, rel=1e-3) and hi < 10  # around the 5-sigma flux, far below the old 100 µJy
    assert "5σ point source" in page.text_content("#completeness-range-note")
    page.wait_for_selector("#completeness-psf option[value='demo_jwst_f410m.fits']", state="attached")
    page.select_option("#completeness-psf", "demo_jwst_f410m.fits")
    page.wait_for_function(
        f"() => document.querySelector('#completeness-form input[name=flux_min]').value !== '{lo:g}'"
    )
    # a range far above the limit: every source is found, the hint asks for fainter fluxes
    for name, value in {"n": "20", "iterations": "1", "flux_min": "20", "flux_max": "50"}.items():
        page.fill(f"#completeness-form input[name={name}]", value)
    page.click("#completeness-run")
    page.wait_for_selector("#completeness-hint", timeout=180_000)
    assert "never falls below 50 %" in page.text_content("#completeness-hint")
