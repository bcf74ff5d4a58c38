"""Cube benchmark: the spectrum at a pixel and a moment-0 map on a large float32 cube, against
spectral-cube called directly on the same file in the same run, with peak memory.

The cube (default 512 x 512 x 1024 float32 = 1 GiB, RA/Dec/FREQ with RESTFRQ, a rotating-disk
line over noise) is generated into a temporary folder under /tmp and removed at the end (never
committed). Every measurement runs in a fresh process (``spawn``, libraries imported before the
clock starts; the file opened outside the clock, as the server keeps images open) so that its
peak heap growth (RssAnon sampled every 10 ms: anonymous memory, not the mapped file pages) is its
own; "cold" runs first drop the file's pages from the page cache (``posix_fadvise(DONTNEED)``),
"warm" runs read from the page cache.

* spectrum at a pixel: Neloura's ``spectrum_at`` (one memory-mapped column) vs
  ``SpectralCube.read(path)[:, y, x]`` (both opened before the clock);
* moment 0 in km/s over all planes: Neloura's ``moment_map`` (spectral-cube on dask, chunks of
  full spectra x spatial blocks) vs ``SpectralCube.read(path).with_spectral_unit(km/s).moment0()``
  (spectral-cube's default, in memory) and the same with ``use_dask=True`` (one chunk).
* the spectrum route over HTTP (real server, warm): p50/p95 latency.

Usage: ``python benchmarks/bench_cubes.py [--nx 512] [--nchan 1024] [--runs 3]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import Server, pct
from astropy.io import fits

from neloura.core.synthetic import SPEED_OF_LIGHT_M_S, CubeSpec, make_cube


def write_cube(path: Path, nx: int, nchan: int, seed: int = 1) -> None:
    """A nchan x nx x nx float32 cube streamed to disk 32 planes at a time (never whole in memory)."""
    _, wcs_header = make_cube(CubeSpec((nchan, 8, 8), stokes=False), seed=seed)
    header = fits.Header([("SIMPLE", True), ("BITPIX", -32), ("NAXIS", 3), ("NAXIS1", nx), ("NAXIS2", nx)])
    header["NAXIS3"] = nchan
    header.extend(wcs_header.cards, unique=True)
    header["CRPIX1"] = header["CRPIX2"] = (nx + 1) / 2
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:nx, 0:nx].astype(np.float32)
    dx, dy = xx - nx / 2, yy - nx / 2
    radius = np.hypot(dx, dy) + 1.0
    v_los = 150e3 * np.tanh(radius / (nx / 20)) * dx / radius
    intensity = 0.08 * np.exp(-radius / (nx / 6))
    freq = header["CRVAL3"] + (np.arange(nchan) + 1 - header["CRPIX3"]) * header["CDELT3"]
    velocity = SPEED_OF_LIGHT_M_S * (1 - freq / header["RESTFRQ"]) - 547e3
    stream = fits.StreamingHDU(str(path), header)
    for first in range(0, nchan, 32):
        block = rng.normal(0, 0.002, (min(32, nchan - first), nx, nx)).astype(np.float32)
        for k in range(block.shape[0]):
            block[k] += intensity * np.exp(-0.5 * ((velocity[first + k] - v_los) / 15e3) ** 2)
        stream.write(block.astype(">f4"))
    stream.close()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # written back now: dirty pages cannot be dropped, "cold" runs would read memory
    finally:
        os.close(fd)


def drop_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- measured bodies (child processes)
# Each setup opens the file (outside the clock, as the server keeps images open) and returns the
# call that is timed.


def ours_spectrum(path: str, x: int, y: int) -> Callable[[], Any]:
    from neloura.core.cubes import spectrum_at
    from neloura.core.fitsio import FitsImage

    image = FitsImage(Path(path), 0)
    return lambda: spectrum_at(image, x, y)


def sc_spectrum(path: str, x: int, y: int) -> Callable[[], Any]:
    from spectral_cube import SpectralCube

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = SpectralCube.read(path)
    return lambda: np.asarray(cube[:, y, x].value)


def ours_moment(path: str, nchan: int) -> Callable[[], Any]:
    from neloura.core.cube_moments import CubeSelection, moment_map

    return lambda: moment_map(Path(path), 0, "0", CubeSelection(0, nchan - 1, "km/s"))[0].data


def sc_moment(path: str, dask: bool) -> Callable[[], Any]:
    from astropy import units as u
    from spectral_cube import SpectralCube

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cube = SpectralCube.read(path, use_dask=dask)
            return cube.with_spectral_unit(u.km / u.s, velocity_convention="radio").moment0().value

    return run


def _rss_anon_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return float(line.split()[1]) / 1024
    return float("nan")


def _child(queue: Any, func: Callable[..., Any], args: tuple[Any, ...], cold: str | None) -> None:
    import threading

    import dask.array  # noqa: F401 - imports are not what is measured
    import radio_beam  # noqa: F401
    import spectral_cube  # noqa: F401

    import neloura.core.cube_moments
    import neloura.core.cubes  # noqa: F401

    call = func(*args)
    if cold:
        drop_cache(Path(cold))
    base = _rss_anon_mib()
    peak = [base]
    done = threading.Event()

    def watch() -> None:  # peak anonymous memory (heap), sampled: mapped file pages are not counted
        while not done.wait(0.01):
            peak[0] = max(peak[0], _rss_anon_mib())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - t0
    done.set()
    watcher.join()
    peak[0] = max(peak[0], _rss_anon_mib())
    queue.put((elapsed, peak[0] - base, np.asarray(result, dtype=np.float64)))


def measure(
    func: Callable[..., Any], args: tuple[Any, ...], runs: int, cold: Path | None
) -> tuple[float, float, np.ndarray]:
    """Median seconds and the largest peak heap growth (MiB) over ``runs`` fresh processes."""
    ctx = multiprocessing.get_context("spawn")
    times, peaks, result = [], [], np.empty(0)
    for _ in range(runs):
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(queue, func, args, str(cold) if cold else None))
        proc.start()
        elapsed, grown, result = queue.get()
        proc.join()
        times.append(elapsed)
        peaks.append(grown)
    return statistics.median(times), max(peaks), result


def http_spectrum(path: Path, nx: int, runs: int) -> tuple[float, float, float]:
    root = Path(tempfile.mkdtemp(prefix="neloura-bench-cubes-root-", dir="/tmp"))
    (root / "files").mkdir()
    try:
        os.link(path, root / "files" / "cube.fits")  # same file, no copy of the gigabyte
    except OSError:
        shutil.copy(path, root / "files" / "cube.fits")
    rng = np.random.default_rng(3)
    try:
        with Server(root) as server:
            url = f"http://127.0.0.1:{server.port}/api/cubes/spectrum?path=cube.fits&unit=km/s"
            urllib.request.urlopen(f"{url}&x=1&y=1", timeout=60).read()  # opens the image
            times = []
            for _ in range(max(20, runs * 10)):
                x, y = rng.integers(0, nx, 2)
                t0 = time.perf_counter()
                urllib.request.urlopen(f"{url}&x={x}&y={y}", timeout=60).read()
                times.append((time.perf_counter() - t0) * 1000)
            anon = server.anon_mb()
        return pct(times, 50), pct(times, 95), anon
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nx", type=int, default=512, help="spatial size (nx = ny)")
    parser.add_argument("--nchan", type=int, default=1024, help="channels")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-moments", action="store_true", help="spectra only")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="neloura-bench-cubes-", dir="/tmp"))
    path = folder / "cube.fits"
    try:
        t0 = time.perf_counter()
        write_cube(path, args.nx, args.nchan)
        size = path.stat().st_size / 2**30
        written = time.perf_counter() - t0
        print(f"cube {args.nchan} x {args.nx} x {args.nx} float32, {size:.2f} GiB, written in {written:.1f} s")
        print(f"{'measurement':<52} {'median':>10} {'peak heap +MiB':>14}")
        x = y = args.nx // 3
        rows = []
        for label, func, fargs, cold in (
            ("spectrum at a pixel, cold: Neloura spectrum_at", ours_spectrum, (str(path), x, y), path),
            ("spectrum at a pixel, cold: spectral-cube [:, y, x]", sc_spectrum, (str(path), x, y), path),
            ("spectrum at a pixel, warm: Neloura spectrum_at", ours_spectrum, (str(path), x + 1, y), None),
            ("spectrum at a pixel, warm: spectral-cube [:, y, x]", sc_spectrum, (str(path), x + 1, y), None),
            ("moment 0 (km/s), cold: Neloura moment_map (dask)", ours_moment, (str(path), args.nchan), path),
            ("moment 0 (km/s), cold: spectral-cube moment0()", sc_moment, (str(path), False), path),
            ("moment 0 (km/s), cold: spectral-cube use_dask", sc_moment, (str(path), True), path),
            ("moment 0 (km/s), warm: Neloura moment_map (dask)", ours_moment, (str(path), args.nchan), None),
            ("moment 0 (km/s), warm: spectral-cube moment0()", sc_moment, (str(path), False), None),
        ):
            if args.skip_moments and "moment" in label:
                continue
            seconds, grown, result = measure(func, fargs, args.runs, cold)
            rows.append((label, result))
            shown = f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
            print(f"{label:<52} {shown:>10} {grown:>14.0f}")
        np.testing.assert_allclose(rows[0][1], rows[1][1], rtol=1e-6)
        if not args.skip_moments:
            finite = np.isfinite(rows[5][1])
            assert np.allclose(rows[4][1][finite], rows[5][1][finite], rtol=1e-5, atol=1e-6), "moment maps differ"
        print("results equal: spectra exactly" + ("" if args.skip_moments else ", moment 0 within 1e-5"))
        if not args.skip_http:
            p50, p95, anon = http_spectrum(path, args.nx, args.runs)
            label = "GET /api/cubes/spectrum (HTTP, warm, random pixels)"
            print(f"{label:<52} {p50:.1f} ms p50, {p95:.1f} ms p95; server heap (RssAnon) {anon:.0f} MiB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
