"""Artificial-source (completeness) tests: inject, re-detect, match, summarise.

Each iteration injects ``n_per_iteration`` sources (a :class:`~neloura.core.psf.PsfModel`: a
Gaussian or a resampled PSF file) at seeded random positions on valid data, at least
``min_separation_px`` from each other and (optionally) from the sources already detected in the
image, with fluxes log-uniform over ``flux_range`` in the same unit as the detection fluxes
(µJy for MJy/sr images, otherwise the pixel unit summed). The detection is re-run with the same
parameters and injected sources are matched to new detections within ``match_radius_px``.

Iteration ``i`` draws from ``numpy.random.default_rng([seed, i])``, so results do not depend on
which worker (local process or Dask cluster) ran which iteration, nor in which order.

Pixel convention: 0-based ``x_pix, y_pix`` in ``data[y, x]``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import numpy as np
from astropy.table import Table, vstack
from scipy.spatial import cKDTree

from neloura.core.completeness_report import summarise
from neloura.core.detection import find_sources
from neloura.core.photometry import flux_unit
from neloura.core.psf import PsfModel, inject
from neloura.errors import InvalidParameter

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class CompletenessConfig:
    """What to inject and how to detect it. ``detection`` holds :func:`find_sources` options
    (``threshold_sigma``, ``fwhm_px``, ``box_px``...)."""

    n_per_iteration: int
    iterations: int
    flux_range: tuple[float, float]
    seed: int = 1
    match_radius_px: float = 1.5
    min_separation_px: float | None = None
    avoid_detections: bool = True
    n_bins: int = 12
    bunit: str = ""
    pixel_area_sr: float | None = None
    detection: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if not 1 <= self.n_per_iteration <= 100_000:
            raise InvalidParameter("n (sources per iteration) must be between 1 and 100000")
        if not 1 <= self.iterations <= 10_000:
            raise InvalidParameter("iterations must be between 1 and 10000")
        lo, hi = self.flux_range
        if not (0 < lo < hi and math.isfinite(hi)):
            raise InvalidParameter("flux_range must be two positive numbers, low < high")
        if self.match_radius_px <= 0:
            raise InvalidParameter("match_radius_px must be positive")
        if not 2 <= self.n_bins <= 100:
            raise InvalidParameter("n_bins must be between 2 and 100")

    @property
    def fwhm_px(self) -> float:
        return float(self.detection.get("fwhm_px", 3.0))


def _detect(image: np.ndarray, config: CompletenessConfig) -> Table:
    return find_sources(image, bunit=config.bunit, pixel_area_sr=config.pixel_area_sr, **config.detection)


def _positions(
    rng: np.random.Generator, valid: np.ndarray, n: int, min_sep: float, avoid: np.ndarray, edge: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random positions on valid pixels, ``min_sep`` apart and from ``avoid`` (M, 2)."""
    height, width = valid.shape
    chosen: list[np.ndarray] = []
    have = np.empty((0, 2))
    avoid_tree = cKDTree(avoid) if len(avoid) else None
    for _ in range(20):
        need = n - len(have)
        if need <= 0:
            break
        cand = np.column_stack(
            [rng.uniform(edge, width - 1 - edge, 3 * need + 10), rng.uniform(edge, height - 1 - edge, 3 * need + 10)]
        )
        ok = valid[np.rint(cand[:, 1]).astype(int), np.rint(cand[:, 0]).astype(int)]
        if avoid_tree is not None:
            ok &= ~np.isfinite(avoid_tree.query(cand, distance_upper_bound=min_sep)[0])
        cand = cand[ok]
        if len(have):
            ok = ~np.isfinite(cKDTree(have).query(cand, distance_upper_bound=min_sep)[0])
            cand = cand[ok]
        # greedy thinning among the new candidates themselves
        keep = np.ones(len(cand), dtype=bool)
        for i, j in cKDTree(cand).query_pairs(min_sep) if len(cand) > 1 else []:
            if keep[i] and keep[j]:
                keep[j] = False
        cand = cand[keep][:need]
        chosen.append(cand)
        have = np.vstack([have, cand])
    if len(have) < n:
        raise InvalidParameter(
            f"only {len(have)} of {n} sources fit on the valid data {min_sep:.1f} px apart; inject fewer per iteration"
        )
    return have[:, 0], have[:, 1]


def _draw(
    config: CompletenessConfig, valid: np.ndarray, baseline: np.ndarray, iteration: int, psf: PsfModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng([config.seed, iteration])
    min_sep = config.min_separation_px or 2.5 * config.fwhm_px
    avoid = baseline if config.avoid_detections else np.empty((0, 2))
    edge = math.ceil(config.fwhm_px)
    x, y = _positions(rng, valid, config.n_per_iteration, min_sep, avoid, edge)
    lo, hi = config.flux_range
    flux = np.exp(rng.uniform(math.log(lo), math.log(hi), len(x)))
    return x, y, flux


def injected_image(
    data: np.ndarray, config: CompletenessConfig, psf: PsfModel, baseline: np.ndarray, iteration: int = 0
) -> tuple[np.ndarray, Table]:
    """The image of one iteration (a float32 copy with its sources added) and what was injected."""
    valid = np.isfinite(data)
    x, y, flux = _draw(config, valid, baseline, iteration, psf)
    factor, _ = flux_unit(config.bunit, config.pixel_area_sr)
    image = np.array(data, dtype=np.float32, copy=True)
    inject(image, psf, x, y, flux / factor)
    return image, Table({"x_pix": x, "y_pix": y, "flux_in": flux})


def run_iteration(
    data: np.ndarray, config: CompletenessConfig, psf: PsfModel, baseline: np.ndarray, iteration: int
) -> Table:
    """Inject, detect and match once. One row per injected source."""
    image, table = injected_image(data, config, psf, baseline, iteration)
    found = _detect(image, config)
    table["iteration"] = np.full(len(table), iteration, dtype=np.int32)
    fx, fy = np.asarray(found["x_pix"]), np.asarray(found["y_pix"])
    flux_out = np.full(len(table), np.nan)
    x_out = np.full(len(table), np.nan)
    y_out = np.full(len(table), np.nan)
    n_false = 0
    if len(found):
        tree = cKDTree(np.column_stack([fx, fy]))
        dist, idx = tree.query(
            np.column_stack([table["x_pix"], table["y_pix"]]), distance_upper_bound=config.match_radius_px
        )
        hit = np.isfinite(dist)
        flux_out[hit] = np.asarray(found["flux"])[idx[hit]]
        x_out[hit], y_out[hit] = fx[idx[hit]], fy[idx[hit]]
        claimed = np.zeros(len(found), dtype=bool)
        claimed[idx[hit]] = True
        if len(baseline):
            near_old = np.isfinite(
                cKDTree(baseline).query(np.column_stack([fx, fy]), distance_upper_bound=config.match_radius_px)[0]
            )
            claimed |= near_old
        n_false = int((~claimed).sum())
    table["recovered"] = np.isfinite(flux_out)
    table["flux_out"] = flux_out
    table["x_out"], table["y_out"] = x_out, y_out
    table.meta["n_false"] = n_false
    return table


# --------------------------------------------------------------------------- execution

_WORKER: dict[str, Any] = {}


def _init_worker(data: np.ndarray, config: CompletenessConfig, psf: PsfModel, baseline: np.ndarray) -> None:
    _WORKER.update(data=data, config=config, psf=psf, baseline=baseline)


def _worker_iteration(iteration: int) -> Table:
    return run_iteration(_WORKER["data"], _WORKER["config"], _WORKER["psf"], _WORKER["baseline"], iteration)


def _dask_iteration(data: np.ndarray, config: CompletenessConfig, psf: PsfModel, baseline: np.ndarray, i: int) -> Table:
    return run_iteration(data, config, psf, baseline, i)


def _gather(tables: Iterable[Table], config: CompletenessConfig, progress: Progress, where: str = "") -> list[Table]:
    """Collect the iterations' tables as they finish, reporting progress after each."""
    results: list[Table] = []
    for table in tables:
        results.append(table)
        progress(0.1 + 0.85 * len(results) / config.iterations, f"iteration {len(results)}/{config.iterations}{where}")
    return results


def _run_local(
    data: np.ndarray,
    config: CompletenessConfig,
    psf: PsfModel,
    baseline: np.ndarray,
    n_workers: int,
    progress: Progress,
) -> list[Table]:
    if n_workers <= 1:
        tables = (run_iteration(data, config, psf, baseline, i) for i in range(config.iterations))
        return _gather(tables, config, progress)
    # fork is cheapest (no re-import) and safe in a single-threaded process (command line, job
    # process); anywhere with threads (the server, test runners) use a fresh interpreter
    ctx = get_context("fork" if threading.active_count() == 1 else "spawn")
    with ProcessPoolExecutor(
        n_workers, mp_context=ctx, initializer=_init_worker, initargs=(data, config, psf, baseline)
    ) as pool:
        futures = [pool.submit(_worker_iteration, i) for i in range(config.iterations)]
        return _gather((future.result() for future in as_completed(futures)), config, progress)


def _run_dask(
    data: np.ndarray,
    config: CompletenessConfig,
    psf: PsfModel,
    baseline: np.ndarray,
    address: str,
    progress: Progress,
) -> list[Table]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(address, timeout=30) as client:
        shared = client.scatter(data, broadcast=True)
        futures = [
            client.submit(_dask_iteration, shared, config, psf, baseline, i, pure=False)
            for i in range(config.iterations)
        ]
        return _gather((future.result() for future in dask_completed(futures)), config, progress, " (dask)")


def run_completeness(
    data: np.ndarray,
    config: CompletenessConfig,
    psf: PsfModel,
    *,
    n_workers: int = 1,
    dask_address: str = "",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every iteration and summarise. Returns ``{"summary": dict, "table": Table, "baseline": (M, 2) array}``.

    ``summary`` follows the JSON schema of :func:`neloura.core.completeness_report.summarise`
    (``bins``, ``flux_50``, ``flux_90``, bias, scatter, position error, false positives).
    Iterations run in ``n_workers`` local processes, or on the Dask scheduler ``dask_address``.
    """
    config.validate()
    progress = progress or (lambda fraction, message: None)
    data = np.asarray(data, dtype=np.float32)
    progress(0.02, "detecting the sources already in the image")
    base = _detect(data, config)
    baseline = (
        np.column_stack([np.asarray(base["x_pix"]), np.asarray(base["y_pix"])]) if len(base) else np.empty((0, 2))
    )
    if dask_address:
        results = _run_dask(data, config, psf, baseline, dask_address, progress)
    else:
        results = _run_local(data, config, psf, baseline, n_workers, progress)
    results.sort(key=lambda t: int(t["iteration"][0]) if len(t) else 0)
    n_false = sum(int(t.meta.get("n_false", 0)) for t in results)
    table = vstack(results, metadata_conflicts="silent")
    table.meta.clear()
    _, unit = flux_unit(config.bunit, config.pixel_area_sr)
    summary = summarise(table, config.flux_range, config.n_bins, n_false, config.iterations, unit)
    summary["n_baseline_sources"] = len(base)
    summary["seed"] = config.seed
    summary["psf_fwhm_px"] = psf.fwhm_px
    progress(1.0, f"flux_50 = {summary['flux_50']:.4g} {unit}" if summary["flux_50"] else "done")
    return {"summary": summary, "table": table, "baseline": baseline}


@dataclass(frozen=True)
class FluxRange:
    """The default injected flux range of an image: ``low``..``high`` around the 5-sigma
    point-source flux ``flux_5sigma`` (all in ``unit``), from ``noise`` (pixel rms, image units)."""

    flux_5sigma: float
    low: float
    high: float
    unit: str
    noise: float
    fwhm_px: float
    aperture_radius_px: float


def default_flux_range(
    noise: float,
    psf: PsfModel,
    *,
    bunit: str = "",
    pixel_area_sr: float | None = None,
    low_factor: float = 0.5,
    high_factor: float = 20.0,
) -> FluxRange:
    """Injected fluxes from 0.5 to 20 x the 5-sigma point-source flux, so the curve crosses
    both 50 % and 90 %. The 5-sigma flux is that of the detection's own photometry: an aperture
    of radius one FWHM, ``noise * sqrt(pi r**2)`` over the PSF's encircled fraction, in the
    photometry's unit (µJy for MJy/sr images with a pixel solid angle)."""
    if not (np.isfinite(noise) and noise > 0):
        raise InvalidParameter("the image has no measurable noise (constant or empty plane)")
    radius = float(psf.fwhm_px)
    factor, unit = flux_unit(bunit, pixel_area_sr)
    sigma = noise * np.sqrt(np.pi * radius**2) / psf.encircled_fraction(radius) * factor
    five = 5.0 * float(sigma)
    return FluxRange(five, low_factor * five, high_factor * five, unit, float(noise), float(psf.fwhm_px), radius)
