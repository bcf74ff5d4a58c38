"""The RGB build job: reproject every channel onto the reference grid, build its block-mean levels
and its sample, all into the composite's cache folder (``.cache/rgb/<id>/``).

Runs in a job process (:mod:`neloura.runtime.jobs`) with plain arguments (absolute paths already
confined by the API layer). Files of one folder:

- ``c<i>.npy``: channel ``i`` on the reference grid, float32, FITS order (row 0 = bottom), NaN
  outside its footprint;
- ``c<i>_x<k>.npy``: its reduced level of factor ``k`` (display orientation, as the image levels);
- ``c<i>_sample.npy``: about a million finite values spread over it (limits, histogram equalisation);
- ``limits.json``: per channel the percentile (0.5/99.5) and zscale limits of the sample, and the
  minimum/maximum over every pixel;
- ``complete``: written last; a folder without it is not a composite.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from neloura.core.fitsio import FitsImage
from neloura.core.limits import minmax_limits, percentile_limits, zscale_limits
from neloura.core.pyramid import build_levels
from neloura.core.rgb_reproject import reproject_channel
from neloura.runtime.atomic import write_atomic
from neloura.runtime.file_lock import exclusive

SAMPLE_SIZE = 1_000_000
LEVEL_IN_FILE_BYTES = 16 * 1024 * 1024  # levels this large are written straight into their file


def _sample(array: np.ndarray, n: int = SAMPLE_SIZE) -> np.ndarray:
    ny, nx = array.shape
    step = max(1, int(np.sqrt(nx * ny / max(n, 1))))
    values = np.asarray(array[step // 2 :: step, step // 2 :: step], dtype=np.float32).ravel()
    return values[np.isfinite(values)]


def _save_levels(folder: Path, i: int, channel: np.ndarray) -> tuple[float, float] | None:
    """Write the channel's levels; its finite minimum and maximum over every pixel (None if blank)."""
    ny, nx = channel.shape
    made: dict[int, Path] = {}
    ranges: list[tuple[float, float]] = []

    def alloc(factor: int, shape: tuple[int, int]) -> np.ndarray:
        if shape[0] * shape[1] * 4 >= LEVEL_IN_FILE_BYTES:
            made[factor] = folder / f"c{i}_x{factor}.tmp.npy"
            return np.lib.format.open_memmap(made[factor], mode="w+", dtype=np.float32, shape=shape)
        return np.empty(shape, dtype=np.float32)

    def read(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        return np.array(channel[y0:y1, x0:x1], dtype=np.float32)

    for factor, level in build_levels(read, nx, ny, alloc=alloc, ranges=ranges):
        final = folder / f"c{i}_x{factor}.npy"
        if factor in made and isinstance(level, np.memmap):
            level.flush()
            os.replace(made[factor], final)
        else:
            np.save(final, level)
    if not ranges:
        return None
    return float(min(r[0] for r in ranges)), float(max(r[1] for r in ranges))


def build_composite(
    progress: Any,
    *,
    folder: str,
    channels: list[dict[str, Any]],
    reference: int,
    method: str,
    mode: str,
) -> dict[str, Any]:
    """Job body: every channel of ``channels`` (``{"file", "hdu", "plane"}``) onto the grid of
    channel ``reference``; ``mode`` ``pixel`` copies without reprojection (same shapes).

    Under a lock on the folder: the same composite asked of two server workers (or run on two Dask
    workers) is built once; the second build waits, then finds it complete."""
    out_dir = Path(folder)
    with exclusive(out_dir / ".build.lock"):
        if (out_dir / "complete").is_file():
            progress(1.0, "ready (built by another worker)")
            with FitsImage(Path(channels[reference]["file"]), int(channels[reference]["hdu"])) as image:
                return {"folder": str(out_dir), "width": image.width, "height": image.height}
        return _build(progress, out_dir, channels, reference, method, mode)


def _build(
    progress: Any, out_dir: Path, channels: list[dict[str, Any]], reference: int, method: str, mode: str
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    ref = channels[reference]
    with FitsImage(Path(ref["file"]), int(ref["hdu"])) as image:
        shape = (image.height, image.width)
        ref_wcs = image.wcs.wcs.celestial if mode == "wcs" and image.wcs.wcs is not None else None
    n = len(channels)
    limits: list[dict[str, list[float]]] = []
    for i, channel in enumerate(channels):

        def step(fraction: float, message: str, i: int = i) -> None:
            progress((i + 0.85 * fraction) / n, f"channel {i + 1}/{n}: {message}")

        step(0.0, "reading")
        tmp = out_dir / f"c{i}.tmp.npy"
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
        with FitsImage(Path(channel["file"]), int(channel["hdu"])) as image:
            data = image.plane(int(channel["plane"])).full()
            if i == reference or mode == "pixel":
                out[:] = data
            else:
                wcs_in = image.wcs.wcs
                assert ref_wcs is not None and wcs_in is not None
                reproject_channel(data, wcs_in.celestial, ref_wcs, out, method, progress=step)
        del data
        out.flush()
        progress((i + 0.85) / n, f"channel {i + 1}/{n}: levels")
        extremes = _save_levels(out_dir, i, out)
        sample = _sample(out)
        np.save(out_dir / f"c{i}_sample.npy", sample)
        limits.append(
            {
                "percentiles": list(percentile_limits(sample, 0.5, 99.5)),
                "zscale": list(zscale_limits(sample)),
                "minmax": list(extremes if extremes and extremes[0] < extremes[1] else minmax_limits(sample)),
            }
        )
        del out
        os.replace(tmp, out_dir / f"c{i}.npy")
    write_atomic(out_dir / "limits.json", lambda tmp: tmp.write_text(json.dumps(limits)))
    (out_dir / "complete").write_text("ok")
    progress(1.0, "ready")
    return {"folder": str(out_dir), "width": shape[1], "height": shape[0]}
