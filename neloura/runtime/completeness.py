"""Completeness jobs: inject artificial sources, re-detect, write the figure (PNG, PDF), the
table (FITS, CSV), the JSON summary under images/completeness/<job>/ and the image of the
first iteration (with its sources injected) under files/results/ so the viewer can open it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from neloura.core.background import estimate_background
from neloura.core.completeness import CompletenessConfig, injected_image, run_completeness
from neloura.core.completeness_report import plot
from neloura.core.fitsio import ImagePlane
from neloura.core.psf import PsfModel
from neloura.core.wcs import ImageWcs
from neloura.runtime.atomic import atomic_path, write_atomic
from neloura.runtime.detection import DETECTION_OPTIONS, psf_for_image, read_plane, safe_stem, write_table


def completeness_task(
    progress: Any,
    *,
    image_path: str,
    hdu: int,
    plane: int,
    out_dir: str,
    injected_dir: str,
    files_root: str,
    job_tag: str,
    params: dict[str, Any],
    psf_path: str | None,
    n_workers: int,
    dask_address: str,
) -> dict[str, Any]:
    """Job body: run the artificial-source test and write every result file."""
    path = Path(image_path)
    data, context = read_plane(image_path, hdu, plane, progress)
    wcs = context["wcs"]
    detection = {k: v for k, v in params.get("detection", {}).items() if k in DETECTION_OPTIONS and v is not None}
    if psf_path:
        psf = psf_for_image(Path(psf_path), wcs)
        detection.setdefault("fwhm_px", psf.fwhm_px)
    else:
        psf = PsfModel.gaussian(float(detection.get("fwhm_px", 3.0)))
    config = CompletenessConfig(
        n_per_iteration=int(params["n"]),
        iterations=int(params["iterations"]),
        flux_range=(float(params["flux_min"]), float(params["flux_max"])),
        seed=int(params.get("seed", 1)),
        match_radius_px=float(params.get("match_radius_px", 1.5)),
        min_separation_px=params.get("min_separation_px"),
        avoid_detections=bool(params.get("avoid_detections", True)),
        n_bins=int(params.get("n_bins", 12)),
        bunit=context["bunit"],
        pixel_area_sr=context["pixel_area_sr"],
        detection=detection,
    )
    if config.iterations < 2 * n_workers:  # starting worker processes costs more than it saves
        n_workers = 1
    outcome = run_completeness(data, config, psf, n_workers=n_workers, dask_address=dask_address, progress=progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = outcome["summary"]
    summary["image"] = path.name
    files = write_table(outcome["table"], out / "completeness")
    with atomic_path(out / "completeness.png") as png, atomic_path(out / "completeness.pdf") as pdf:
        plot(summary, [png, pdf], title=f"{path.name} [HDU {hdu}]")
    write_atomic(out / "completeness.json", lambda temp: temp.write_text(json.dumps(summary, indent=2)))
    for name in ("completeness.png", "completeness.pdf", "completeness.json"):
        files[name] = str(out / name)
    image_with, _ = injected_image(data, config, psf, outcome["baseline"], 0)
    injected_name = f"{safe_stem(path)}_injected_{job_tag}.fits"
    injected_path = Path(injected_dir) / injected_name
    injected_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdu_out = fits.PrimaryHDU(image_with, header=_plane_header(wcs))
        write_atomic(injected_path, lambda temp: hdu_out.writeto(temp, overwrite=True))
    files[injected_name] = str(injected_path)
    return {
        "flux_50": summary["flux_50"],
        "flux_90": summary["flux_90"],
        "flux_unit": summary["flux_unit"],
        "n_injected": summary["n_injected"],
        "n_recovered": summary["n_recovered"],
        "injected_image": injected_path.relative_to(files_root).as_posix(),
        "summary": summary,
        "files": files,
    }


def _plane_header(wcs: ImageWcs) -> fits.Header:
    """A 2-D header (celestial WCS kept) for one plane of the image of ``wcs`` written as an image."""
    header = wcs.header
    out = wcs.wcs.celestial.to_header(relax=True) if wcs.has_celestial and wcs.wcs is not None else fits.Header()
    for key in ("BUNIT", "TELESCOP", "INSTRUME", "FILTER"):
        if key in header:
            out[key] = header[key]
    out["HISTORY"] = "Neloura artificial-source test: iteration 0 with its injected sources"
    return out


NOISE_WINDOW = 256


def plane_noise(plane: ImagePlane) -> float:
    """The pixel noise of a plane: the median rms of 32 px background meshes over a 3 x 3 grid of
    256 x 256 windows spread over the plane (meshes, so extended emission is not noise; several
    windows, so a galaxy filling the centre does not set it; 9 small reads on any image size).
    Falls back to the clipped spread of the plane's sample when no window has enough data."""
    h, w = plane.height, plane.width
    side = min(NOISE_WINDOW, h, w)
    rms: list[np.ndarray] = []
    for fy in (0.2, 0.5, 0.8):
        for fx in (0.2, 0.5, 0.8):
            y0 = int(np.clip(fy * h - side / 2, 0, h - side))
            x0 = int(np.clip(fx * w - side / 2, 0, w - side))
            window = plane.read(y0, y0 + side, x0, x0 + side)
            if side >= 16 and np.isfinite(window).mean() >= 0.5:
                rms.append(estimate_background(window, min(32, side)).rms.ravel())
    if rms:
        return float(np.median(np.concatenate(rms)))
    values = plane.sample(200_000)
    values = values[np.isfinite(values)]
    if values.size < 10:
        return float("nan")
    for _ in range(5):  # 3-sigma clipping about the median (MAD scale)
        med = np.median(values)
        mad = 1.4826 * np.median(np.abs(values - med))
        values = values[np.abs(values - med) <= 3 * mad] if mad > 0 else values
    return float(np.std(values))
