"""Moment maps, spectral smoothing/rebinning and convolution to a common beam, on ``spectral-cube``.

Every function opens the cube with ``SpectralCube.read(..., use_dask=True)``: the file stays
memory mapped and the work runs in chunks that keep the whole spectral axis (spatial blocks of
about ``CHUNK_BYTES``), so a cube larger than memory is reduced block by block. A degenerate
STOKES axis is dropped by spectral-cube (the I component is kept); cubes with a CASA ``BEAMS``
table come back as ``VaryingResolutionSpectralCube``.

Planes are 0-based indices along the spectral axis in file order, as everywhere in Neloura.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.stats import mad_std

from neloura.errors import InvalidParameter

Progress = Callable[[float, str], None]
MOMENT_KINDS = ("0", "1", "2", "peak", "width")
CHUNK_BYTES = 64 * 1024 * 1024
_SIGMA_PLANES = 16


@dataclass(frozen=True)
class CubeSelection:
    """Which part of a cube an operation uses and in which spectral unit.

    ``first``/``last``: inclusive plane range; ``spectral_unit`` None keeps the header's unit;
    ``rest_hz`` None uses the header's RESTFRQ/RESTWAV.
    """

    first: int
    last: int
    spectral_unit: str | None = None
    convention: str = "radio"
    rest_hz: float | None = None


def _dask_progress(progress: Progress, label: str, lo: float, hi: float) -> Any:
    """A dask callback reporting finished tasks as progress between ``lo`` and ``hi``."""
    from dask.callbacks import Callback

    class _Tasks(Callback):  # type: ignore[misc]
        def _start(self, dsk: Any) -> None:
            self.total = max(1, len(dsk))
            self.done = 0

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            self.done += 1
            progress(lo + (hi - lo) * min(1.0, self.done / self.total), label)

    return _Tasks()


def open_cube(path: Path, hdu: int) -> Any:
    """The cube as a dask-backed spectral cube, rechunked to full spectra x spatial blocks."""
    from spectral_cube import SpectralCube, StokesSpectralCube

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cube = SpectralCube.read(str(path), hdu=hdu, use_dask=True)
    except (ValueError, TypeError, KeyError, OSError, IndexError) as exc:
        raise InvalidParameter(f"spectral-cube cannot read {path.name} [HDU {hdu}] as a cube: {exc}") from exc
    if isinstance(cube, StokesSpectralCube):
        cube = cube._stokes_data[cube.components[0]]  # the first Stokes component, as the viewer shows
    nchan, ny, nx = cube.shape
    side = int(math.sqrt(CHUNK_BYTES / max(1, 4 * nchan)))
    side = max(16, min(max(ny, nx), side))
    cube = cube.rechunk((-1, min(ny, side), min(nx, side)))
    cube.use_dask_scheduler("threads", num_workers=2)
    return cube


def select(cube: Any, selection: CubeSelection) -> Any:
    """The planes ``first..last`` of ``cube``, in ``spectral_unit`` (velocity in ``convention``)."""
    if not 0 <= selection.first <= selection.last < cube.shape[0]:
        raise InvalidParameter(
            f"planes {selection.first}..{selection.last} are outside the cube (0..{cube.shape[0] - 1})"
        )
    cube = cube[selection.first : selection.last + 1]
    if selection.spectral_unit:
        rest = None if selection.rest_hz is None else selection.rest_hz * u.Hz
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cube = cube.with_spectral_unit(
                    u.Unit(selection.spectral_unit), velocity_convention=selection.convention, rest_value=rest
                )
        except (ValueError, u.UnitsError) as exc:
            raise InvalidParameter(f"cannot express the spectral axis in {selection.spectral_unit}: {exc}") from exc
    return cube


def noise_sigma(cube: Any) -> float:
    """Robust noise (MAD-based standard deviation) of up to 16 planes spread over ``cube``."""
    planes = np.unique(np.linspace(0, cube.shape[0] - 1, min(_SIGMA_PLANES, cube.shape[0])).astype(int))
    values = np.concatenate([np.asarray(cube.unitless_filled_data[int(k)], dtype=np.float64).ravel() for k in planes])
    sigma = float(mad_std(values, ignore_nan=True))
    if not (math.isfinite(sigma) and sigma > 0):
        raise InvalidParameter("the noise of this cube cannot be estimated (no finite values, or all equal)")
    return sigma


def mask_cube(cube: Any, clip_sigma: float | None, threshold: float | None) -> tuple[Any, dict[str, Any]]:
    """Keep values above ``clip_sigma`` x the noise, or above ``threshold`` (in BUNIT)."""
    if clip_sigma is not None and threshold is not None:
        raise InvalidParameter("give clip_sigma or threshold, not both")
    info: dict[str, Any] = {"mask": "none"}
    if clip_sigma is not None:
        sigma = noise_sigma(cube)
        threshold = clip_sigma * sigma
        info = {"mask": f"> {clip_sigma:g} sigma", "noise_sigma": sigma}
    elif threshold is not None:
        info = {"mask": f"> {threshold:g} {cube.unit}"}
    if threshold is not None:
        cube = cube.with_mask(cube > threshold * cube.unit)
        info["threshold"] = threshold
    return cube, info


def moment_map(
    path: Path,
    hdu: int,
    kind: str,
    selection: CubeSelection,
    *,
    clip_sigma: float | None = None,
    threshold: float | None = None,
    beam_threshold: float = 0.01,
    progress: Progress | None = None,
) -> tuple[fits.PrimaryHDU, dict[str, Any]]:
    """A moment (0, 1, 2), peak or width (``linewidth_sigma``) map with its celestial WCS
    and BUNIT (e.g. ``Jy/beam km/s``), as spectral-cube computes it, and what was used."""
    if kind not in MOMENT_KINDS:
        raise InvalidParameter(f"moment must be one of {', '.join(MOMENT_KINDS)}")
    report = progress or (lambda fraction, message: None)
    report(0.02, "opening the cube")
    cube = select(open_cube(path, hdu), selection)
    if hasattr(cube, "beam_threshold"):
        cube.beam_threshold = beam_threshold
    cube, info = mask_cube(cube, clip_sigma, threshold)
    report(0.1, f"computing the {_label(kind)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _dask_progress(report, f"computing the {_label(kind)}", 0.1, 0.95):
                result = _compute(cube, kind)
    except ValueError as exc:
        if "Beam" in str(exc):
            raise InvalidParameter(
                f"the per-plane beams differ more than beam_threshold={beam_threshold:g}: convolve the cube to "
                "a common beam first, or raise beam_threshold"
            ) from exc
        raise
    report(0.97, "writing")
    hdu_out = fits.PrimaryHDU(np.asarray(result.value, dtype=np.float32), header=result.header)
    hdu_out.header["BUNIT"] = result.unit.to_string(format="fits") if result.unit != u.one else ""
    info.update(
        kind=kind,
        first_plane=selection.first,
        last_plane=selection.last,
        spectral_unit=str(cube.spectral_axis.unit),
        spectral_range=[float(cube.spectral_axis.min().value), float(cube.spectral_axis.max().value)],
        bunit=str(result.unit),
    )
    hdu_out.header["HISTORY"] = (
        f"Neloura: {_label(kind)} of planes {selection.first}-{selection.last} ({info['mask']}), spectral-cube"
    )
    return hdu_out, info


def _label(kind: str) -> str:
    return {"peak": "peak map", "width": "line width (sigma) map"}.get(kind, f"moment {kind} map")


def _compute(cube: Any, kind: str) -> Any:
    if kind == "peak":
        return cube.max(axis=0)
    if kind == "width":
        return cube.linewidth_sigma()
    return cube.moment(order=int(kind), axis=0)


def smooth_cube(
    path: Path,
    hdu: int,
    *,
    kernel: str,
    width_channels: float,
    progress: Progress | None = None,
) -> Any:
    """Spectral smoothing: ``gaussian`` (FWHM ``width_channels``), ``boxcar`` (width) or
    ``rebin`` (average every ``width_channels`` planes, ``downsample_axis``). Returns the cube
    (lazy); write it with :func:`write_cube`."""
    from astropy.convolution import Box1DKernel, Gaussian1DKernel

    cube = open_cube(path, hdu)
    (progress or (lambda f, m: None))(0.05, "smoothing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kernel == "gaussian":
            return cube.spectral_smooth(Gaussian1DKernel(width_channels / (2 * math.sqrt(2 * math.log(2)))))
        if kernel == "boxcar":
            return cube.spectral_smooth(Box1DKernel(round(width_channels)))
        if kernel == "rebin":
            factor = round(width_channels)
            if not 2 <= factor <= cube.shape[0]:
                raise InvalidParameter(f"rebin factor must be 2..{cube.shape[0]}")
            return cube.downsample_axis(factor, axis=0)
    raise InvalidParameter("kernel must be gaussian, boxcar or rebin")


def convolve_cube(path: Path, hdu: int, beam: tuple[float, float, float] | None) -> Any:
    """Convolve every plane to one beam (``convolve_to``): ``beam`` = (major, minor arcsec,
    PA deg), or the smallest common beam of a per-plane-beam cube when None."""
    from radio_beam import Beam

    cube = open_cube(path, hdu)
    if beam is not None:
        target = Beam(major=beam[0] * u.arcsec, minor=beam[1] * u.arcsec, pa=beam[2] * u.deg)
    elif hasattr(cube, "beams"):
        target = cube.beams.common_beam()
    else:
        raise InvalidParameter("this cube has one beam: give the target beam (major, minor arcsec, PA deg)")
    if not hasattr(cube, "beams") and getattr(cube, "_beam", None) is None:
        raise InvalidParameter("this cube has no beam (BMAJ/BMIN) to convolve from")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cube.convolve_to(target)
    except ValueError as exc:  # radio_beam: the target is smaller than a plane's beam
        raise InvalidParameter(f"cannot convolve to {target}: {exc}") from exc


def write_cube(cube: Any, out: Path, history: str, progress: Progress | None = None) -> None:
    """Compute a lazy cube in chunks and write it (BEAMS table included for per-plane beams)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda f, m: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with _dask_progress(report, "computing the new cube", 0.1, 0.95):
            hdul = cube.hdulist if hasattr(cube, "beams") else fits.HDUList([cube.hdu])
        hdul[0].header["HISTORY"] = history
        hdul.writeto(out, overwrite=True)
