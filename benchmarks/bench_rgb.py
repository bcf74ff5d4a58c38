"""RGB composite benchmark: three 4096² images through the real server.

Makes three seeded 4096² float32 star fields with TAN WCSs (0.03"/px at 0°, 0.06"/px at 37° with
flipped parity, 0.11"/px at 180°) in a temporary folder and prints, as medians of ``--runs`` runs:

* first build: ``POST /api/rgb`` until ``ready`` (reprojection of the two coarser channels onto the
  0.03" grid + block-mean levels + samples), against ``reproject_interp`` called directly on the same
  two channels in the same run (in a child process: its time and peak memory);
* reopen: a fresh server, ``POST`` of the same body until ``ready``, and its first tile;
* tile p50/p95 of uncached composite tiles (3 channels, full resolution and an overview level)
  against uncached single-image tiles of the reference image at the same levels;
* memory: the build process's peak RSS and the server's USS after the tiles.

Usage: ``python benchmarks/bench_rgb.py [--size 4096] [--runs 1] [--tiles 60]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from _common import Server, pct
from astropy.io import fits
from astropy.wcs import WCS

from neloura.core.synthetic import add_gaussian_sources, make_wcs_header

CHANNELS = ((0.03, 0.0, False), (0.06, 37.0, True), (0.11, 180.0, False))


def make_images(folder: Path, size: int) -> list[str]:
    """Sky noise, 4,000 stars placed on the sky, drawn through each image's WCS."""
    rng = np.random.default_rng(5)
    ref = WCS(make_wcs_header((size, size), 150.1, 2.2, 0.03))
    sky = ref.pixel_to_world(rng.uniform(0, size - 1, 4000), rng.uniform(0, size - 1, 4000))
    flux = np.exp(rng.uniform(np.log(50), np.log(5000), 4000))
    names = []
    for i, (scale, rotation, flipped) in enumerate(CHANNELS):
        header = make_wcs_header((size, size), 150.1, 2.2, scale, rotation_deg=rotation)
        if flipped:
            header["CDELT1"] = -header["CDELT1"]
        data = rng.standard_normal((size, size), dtype=np.float32) * 0.5 + 1.0
        x, y = WCS(header).world_to_pixel(sky)
        inside = (x > -20) & (x < size + 20) & (y > -20) & (y < size + 20)
        add_gaussian_sources(data, x[inside], y[inside], flux[inside], 0.4 / scale)
        name = f"ch{i}.fits"
        fits.PrimaryHDU(data, header).writeto(folder / "files" / name)
        names.append(name)
    return names


def _direct(folder: str, names: list[str], queue: Any) -> None:
    """reproject_interp on the two coarser channels, as a user would call it (child process)."""
    from reproject import reproject_interp

    ref = WCS(fits.getheader(Path(folder) / names[0]))
    shape = fits.getdata(Path(folder) / names[0]).shape
    t0 = time.perf_counter()
    for name in names[1:]:
        with fits.open(Path(folder) / name) as hdul:
            reproject_interp(hdul[0], ref, shape_out=shape, return_footprint=False)
    queue.put((time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def direct_reproject(folder: Path, names: list[str]) -> tuple[float, float]:
    queue: Any = multiprocessing.get_context("spawn").Queue()
    proc = multiprocessing.get_context("spawn").Process(target=_direct, args=(str(folder), names, queue))
    proc.start()
    seconds, peak_mb = queue.get()
    proc.join()
    return float(seconds), float(peak_mb)


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=600) as response:
        data: bytes = response.read()
        return data


def build(server: Server, body: dict[str, Any]) -> tuple[float, dict[str, Any], float]:
    """POST and poll until ready: seconds, the state, and the build process's peak RSS (MiB)."""
    peak = [0.0]
    done = threading.Event()

    def watch() -> None:  # the job runs in a child of the server's fork server
        parent = psutil.Process(server.proc.pid)
        while not done.is_set():
            for child in parent.children(recursive=True):
                try:
                    peak[0] = max(peak[0], child.memory_info().rss / 2**20)
                except psutil.Error:
                    pass
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    state = post(server.url + "/api/rgb", body)
    while state["state"] == "building":
        time.sleep(0.1)
        state = json.loads(get(f"{server.url}/api/rgb/{state['id']}"))
    seconds = time.perf_counter() - t0
    done.set()
    watcher.join()
    if state["state"] != "ready":
        raise RuntimeError(state)
    return seconds, state, peak[0]


def tile_times(server: Server, urls: list[str]) -> list[float]:
    out = []
    for url in urls:
        t0 = time.perf_counter()
        get(url)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tiles", type=int, default=60, help="uncached tiles per latency figure")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="neloura-bench-rgb-"))
    try:
        (tmp / "files").mkdir()
        print(f"making three {args.size}² images ...", flush=True)
        names = make_images(tmp, args.size)
        body = {"channels": [{"path": n} for n in names]}
        rows: dict[str, list[float]] = {}

        def add(key: str, value: float) -> None:
            rows.setdefault(key, []).append(value)

        for run in range(args.runs):
            shutil.rmtree(tmp / ".cache", ignore_errors=True)
            direct_s, direct_mb = direct_reproject(tmp / "files", names)
            add("reproject_interp directly, 2 channels (s)", direct_s)
            add("reproject_interp directly: peak RSS (MiB)", direct_mb)
            with Server(tmp, disk_cache=True) as server:
                seconds, state, peak = build(server, body)
                add("first build: POST -> ready (s)", seconds)
                add("build process peak RSS (MiB)", peak)
            with Server(tmp, disk_cache=True) as server:
                t0 = time.perf_counter()
                state = post(server.url + "/api/rgb", body)
                add("reopen: POST -> ready (ms)", (time.perf_counter() - t0) * 1000)
                top = state["max_level"]
                t0 = time.perf_counter()
                get(f"{server.url}/api/rgb/{state['id']}/tiles/{top - 4}/0_0.png")
                add("reopen: first overview tile (ms)", (time.perf_counter() - t0) * 1000)
                grid = args.size // 256
                cells = [(c, r) for r in range(grid) for c in range(grid)][: args.tiles]
                single = f"{server.url}/api/images/tiles/{{level}}/{{c}}_{{r}}.png?path={names[0]}&hdu=0"
                get(single.format(level=top, c=0, r=0))  # open the image, default limits
                for level, label in ((top, "full resolution"), (top - 2, "overview x4")):
                    n = max(1, grid >> (top - level))
                    these = [(c, r) for c, r in cells if c < n and r < n]
                    comp = tile_times(
                        server,
                        [f"{server.url}/api/rgb/{state['id']}/tiles/{level}/{c}_{r}.png?mode=add" for c, r in these],
                    )
                    one = tile_times(server, [single.format(level=level, c=c, r=r) for c, r in these])
                    add(f"composite tile p50, {label} (ms)", pct(comp, 50))
                    add(f"composite tile p95, {label} (ms)", pct(comp, 95))
                    add(f"single-image tile p50, {label} (ms)", pct(one, 50))
                add("server USS after the tiles (MiB)", server.uss_mb())
            print(f"run {run + 1}/{args.runs} done", flush=True)
        width = max(len(k) for k in rows)
        print(f"\nRGB composite of three {args.size}² float32 images (median of {args.runs} run(s))")
        for key, values in rows.items():
            print(f"  {key:<{width}}  {statistics.median(values):10.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
