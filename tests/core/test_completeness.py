"""Artificial-source tests: the 50 % flux against the analytic expectation, PSF resampling,
determinism across local processes and a real Dask LocalCluster, the figure and the JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import ndimage

from neloura.core.completeness import CompletenessConfig, run_completeness
from neloura.core.completeness_report import plot
from neloura.core.psf import PsfModel, inject
from tests.core.detection_fields import moffat_psf

FWHM, THRESHOLD = 3.0, 5.0


def _analytic_flux_50(noise: float) -> float:
    """Flux whose matched-filter peak equals the threshold (half fall above, half below):
    F * k_peak = threshold * noise * sqrt(sum k^2), k_peak = 1 / (2 pi (2 s^2 + 1/12))."""
    s = FWHM / (2 * math.sqrt(2 * math.log(2)))
    delta = np.zeros((41, 41))
    delta[20, 20] = 1
    knorm = math.sqrt((ndimage.gaussian_filter(delta, s, truncate=4.0) ** 2).sum())
    return THRESHOLD * noise * knorm * 2 * math.pi * (2 * s * s + 1 / 12)


def _config(f50: float, **kw: object) -> CompletenessConfig:
    base = dict(
        n_per_iteration=120,
        iterations=6,
        flux_range=(f50 / 4, f50 * 4),
        seed=3,
        detection={"threshold_sigma": THRESHOLD, "fwhm_px": FWHM},
    )
    return CompletenessConfig(**(base | kw))  # type: ignore[arg-type]


def test_flux_50_agrees_with_the_analytic_expectation() -> None:
    noise = 2.0
    image = np.random.default_rng(1).normal(10, noise, (384, 384)).astype(np.float32)
    f50 = _analytic_flux_50(noise)
    out = run_completeness(image, _config(f50), PsfModel.gaussian(FWHM))
    summary = out["summary"]
    assert summary["flux_50"] == pytest.approx(f50, rel=0.2)
    assert summary["flux_90"] > summary["flux_50"]
    bins = summary["bins"]
    assert bins[0]["completeness"] < 0.1 and bins[-1]["completeness"] > 0.95
    assert all(0 < b["error"] < 0.5 for b in bins)
    assert abs(summary["flux_bias"]) < 0.05 and summary["position_error_px"] < 0.5
    assert summary["false_positives_per_iteration"] < 2
    assert summary["n_injected"] == 720 == len(out["table"])


def test_psf_file_is_resampled_with_flux_conserved() -> None:
    psf = PsfModel.from_array(moffat_psf(0.33, 0.0275), 0.0275, 0.11)
    stamps, _, _ = psf.render(np.array([10.3, 20.0]), np.array([5.7, 8.0]))
    assert stamps.sum(axis=(1, 2)) == pytest.approx([1.0, 1.0], abs=0.01)
    image = np.zeros((64, 64), np.float32)
    inject(image, psf, np.array([31.25]), np.array([30.6]), np.array([500.0]))
    assert image.sum() == pytest.approx(500.0, rel=0.01)
    cy, cx = ndimage.center_of_mass(image)
    assert (cx, cy) == pytest.approx((31.25, 30.6), abs=0.02)


def test_local_processes_and_a_dask_cluster_give_the_same_result() -> None:
    distributed = pytest.importorskip("distributed")
    image = np.random.default_rng(2).normal(0, 1, (160, 160)).astype(np.float32)
    config = _config(_analytic_flux_50(1.0), n_per_iteration=30, iterations=4)
    serial = run_completeness(image, config, PsfModel.gaussian(FWHM))
    parallel = run_completeness(image, config, PsfModel.gaussian(FWHM), n_workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = run_completeness(image, config, PsfModel.gaussian(FWHM), dask_address=cluster.scheduler_address)
    for other in (parallel, on_dask):
        assert other["summary"]["flux_50"] == serial["summary"]["flux_50"]
        assert np.array_equal(other["table"]["recovered"], serial["table"]["recovered"])
        assert np.allclose(other["table"]["x_pix"], serial["table"]["x_pix"])


def test_figure_and_json(tmp_path) -> None:
    image = np.random.default_rng(3).normal(0, 1, (128, 128)).astype(np.float32)
    out = run_completeness(
        image, _config(_analytic_flux_50(1.0), n_per_iteration=40, iterations=2), PsfModel.gaussian(FWHM)
    )
    plot(out["summary"], [tmp_path / "c.png", tmp_path / "c.pdf"])
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "c.pdf").read_bytes()[:4] == b"%PDF"
    text = json.dumps(out["summary"])
    assert json.loads(text)["bins"][0]["injected"] >= 0


def test_default_flux_range_brackets_the_5_sigma_point_source() -> None:
    """Issue 14 point 4: sources injected at the suggested 5-sigma flux are measured at S/N ~ 5
    by the detection's own photometry; the range is 0.5 .. 20 x that flux."""
    from neloura.core.completeness import default_flux_range
    from neloura.core.photometry import aperture_photometry
    from neloura.errors import InvalidParameter

    rng = np.random.default_rng(5)
    image = rng.normal(0.0, 0.02, (600, 600)).astype(np.float32)
    psf = PsfModel.gaussian(3.0)
    found = default_flux_range(0.02, psf)
    assert found.low == pytest.approx(0.5 * found.flux_5sigma) and found.high == pytest.approx(20 * found.flux_5sigma)
    xs, ys = np.meshgrid(np.arange(30, 580, 40.0), np.arange(30, 580, 40.0))
    x, y = xs.ravel() + 0.3, ys.ravel() - 0.2
    inject(image, psf, x, y, np.full(x.size, found.flux_5sigma))
    correction = 1.0 / psf.encircled_fraction(3.0)
    table = aperture_photometry(image, x, y, 3.0, background_rms=np.full(x.size, 0.02), aperture_correction=correction)
    assert np.median(np.asarray(table["snr"])) == pytest.approx(5.0, rel=0.15)
    with pytest.raises(InvalidParameter):
        default_flux_range(0.0, psf)
