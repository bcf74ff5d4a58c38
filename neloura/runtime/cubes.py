"""Cube jobs (moment maps, spectral smoothing/rebinning, convolution to a common beam) and the
per-cube facts the routes reuse (beams, Kelvin factors), cached per open file version.

Job bodies run in a job process (:mod:`neloura.runtime.jobs`) with plain arguments (absolute
paths already confined by the API layer); results land under files/results/ so the viewer opens
them like any other image.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from neloura.core import cube_beams
from neloura.core.cube_moments import CubeSelection, convolve_cube, moment_map, smooth_cube, write_cube
from neloura.core.fitsio import FitsImage
from neloura.runtime.detection import safe_stem

_KEPT = 64
_beams: OrderedDict[tuple[Path, int, float], cube_beams.CubeBeams | None] = OrderedDict()
_lock = threading.Lock()


def beams_of(image: FitsImage) -> cube_beams.CubeBeams | None:
    """The cube's beam(s), read once per file version."""
    key = (image.path, image.hdu_index, image.path.stat().st_mtime)
    with _lock:
        if key in _beams:
            return _beams[key]
    beams = cube_beams.read_beams(image.path, image.hdu_index, image.header, image.planes)
    with _lock:
        _beams[key] = beams
        while len(_beams) > _KEPT:
            _beams.popitem(last=False)
    return beams


def result_name(image_path: Path, suffix: str, tag: str) -> str:
    return f"{safe_stem(image_path)}_{suffix}_{tag}.fits"


def _result(out: Path, files_root: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"image": out.relative_to(files_root).as_posix(), **extra, "files": {out.name: str(out)}}


def moment_task(
    progress: Any,
    *,
    image_path: str,
    hdu: int,
    kind: str,
    selection: dict[str, Any],
    clip_sigma: float | None,
    threshold: float | None,
    beam_threshold: float,
    out_dir: str,
    files_root: str,
    job_tag: str,
) -> dict[str, Any]:
    """Job body: one moment/peak/width map written as a 2-D FITS image under files/results/."""
    path = Path(image_path)
    hdu_out, info = moment_map(
        path,
        hdu,
        kind,
        CubeSelection(**selection),
        clip_sigma=clip_sigma,
        threshold=threshold,
        beam_threshold=beam_threshold,
        progress=progress,
    )
    suffix = f"mom{kind}" if kind in ("0", "1", "2") else kind
    out = Path(out_dir) / result_name(path, suffix, job_tag)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdu_out.writeto(out, overwrite=True)
    finite = np.isfinite(hdu_out.data)
    info["finite_pixels"] = int(finite.sum())
    progress(1.0, "done")
    return _result(out, files_root, info)


def smooth_task(
    progress: Any,
    *,
    image_path: str,
    hdu: int,
    kernel: str,
    width_channels: float,
    out_dir: str,
    files_root: str,
    job_tag: str,
) -> dict[str, Any]:
    """Job body: a spectrally smoothed or rebinned copy of the cube under files/results/."""
    path = Path(image_path)
    cube = smooth_cube(path, hdu, kernel=kernel, width_channels=width_channels, progress=progress)
    out = Path(out_dir) / result_name(path, f"{kernel}{width_channels:g}", job_tag)
    history = f"Neloura: spectral {kernel} of {width_channels:g} channels (spectral-cube)"
    write_cube(cube, out, history, progress)
    progress(1.0, "done")
    return _result(out, files_root, {"kernel": kernel, "width_channels": width_channels, "shape": list(cube.shape)})


def convolve_task(
    progress: Any,
    *,
    image_path: str,
    hdu: int,
    beam: list[float] | None,
    out_dir: str,
    files_root: str,
    job_tag: str,
) -> dict[str, Any]:
    """Job body: the cube convolved to one beam (``convolve_to``) under files/results/."""
    path = Path(image_path)
    progress(0.02, "opening the cube")
    cube = convolve_cube(path, hdu, None if beam is None else (beam[0], beam[1], beam[2]))
    target = cube.beam
    out = Path(out_dir) / result_name(path, "convolved", job_tag)
    history = f"Neloura: convolved to {target} (spectral-cube convolve_to)"
    write_cube(cube, out, history, progress)
    progress(1.0, "done")
    beam_out = [float(target.major.to_value("arcsec")), float(target.minor.to_value("arcsec")), float(target.pa.value)]
    return _result(out, files_root, {"beam": beam_out})
