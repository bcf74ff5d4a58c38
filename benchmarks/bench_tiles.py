"""Tile engine benchmark: the real server over HTTP on seeded float32 sky images.

Makes an 8192² and a 16384² float32 image (seeded sky noise + stars + a few galaxies) in a
temporary folder, starts the real server (uvicorn in a subprocess on a free loopback port) and
prints, as the median of ``--runs`` runs (a fresh server each run, warm page cache):

* open -> first tile: ``/api/images/info`` of a never-opened image, then a full-resolution tile,
  then the first overview tile (the level OpenSeadragon shows at home zoom in a ~1000 px
  viewport, which waits for the block-averaged levels);
* p50/p95 latency of uncached and cached tiles at full resolution and at the overview level;
* tiles/s with 1 client and 8 concurrent clients (uncached, lossless PNG);
* bytes per tile (PNG; JPEG q90 for comparison);
* wall time to re-render a 50-tile view (8 connections, like a browser) after a stretch change;
* server private memory (USS) growth;
* time to build each overview level (in this process, same code as the server).

* side by side with the old product's way of rendering (``_baseline_tiles.py``: stride-decimated,
  matplotlib colormap to RGB, uncompressed RGB PNG) behind the same uvicorn/FastAPI stack: tiles/s
  with 1 and 8 clients on fresh tiles at full resolution and at mixed levels, alternating runs.

The side-by-side is in ``_tiles_versus.py``, the cold open in ``_tiles_cold.py``, what they share
(image, client, URLs) in ``_tiles_http.py``.

Usage: ``python benchmarks/bench_tiles.py [--sizes 8192 16384] [--runs 3] [--versus-only]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from _common import Server, pct
from _tiles_cold import report_cold
from _tiles_http import VIEWPORT, Client, concurrent, make_image, median_dicts, tile_url, timed, warm_page_cache
from _tiles_versus import report_versus

from neloura.core.fitsio import FitsImage
from neloura.core.pyramid import build_levels
from neloura.core.tiles import Pyramid
from neloura.runtime.row_reader import RowReader

# -- one run ----------------------------------------------------------------------------------


def fresh_urls(name: str, level: int, cells: list[tuple[int, int]], start: int, count: int) -> list[str]:
    """``count`` tiles not asked before: the next ``cells`` from ``start``, and once a small image
    runs out of tiles, the same tiles again with limits never asked (rendered anew all the same)."""
    urls = []
    for i in range(start, start + count):
        c, r = cells[i % len(cells)]
        limits = {} if i < len(cells) else {"vmin": -1000, "vmax": 5000 + i}
        urls.append(tile_url(name, level, c, r, **limits))
    return urls


def one_run(root: Path, name: str, size: int, disk_cache: bool, seed: int) -> dict[str, float]:
    geometry = Pyramid(size, size)
    top = geometry.max_level
    overview = max(lv for lv in range(top + 1) if max(geometry.level_size(lv)) <= VIEWPORT)
    rng = np.random.default_rng(seed)
    cols, rows = geometry.grid(top)
    cells = [
        (int(c), int(r))
        for c, r in zip(rng.permutation(cols * rows) % cols, rng.permutation(cols * rows) // cols, strict=True)
    ]
    out: dict[str, float] = {}
    shutil.rmtree(root / ".cache" / "levels", ignore_errors=True)  # every run builds its levels
    server = Server(root, disk_cache=disk_cache)
    try:
        client = Client(server.port)
        uss0, anon0 = server.uss_mb(), server.anon_mb()
        # open as the page does: /api/images/info (size, levels, default limits), then tiles
        t0 = time.perf_counter()
        status, body = client.get("/api/images/info?" + urlencode({"path": name}))
        if status != 200:
            raise RuntimeError(f"info: {status} {body[:200]!r}")
        out["open_info_ms"] = (time.perf_counter() - t0) * 1000
        timed(client, tile_url(name, top, cols // 2, rows // 2))
        out["open_first_tile_ms"] = (time.perf_counter() - t0) * 1000
        timed(client, tile_url(name, overview, 0, 0))
        out["open_first_overview_ms"] = (time.perf_counter() - t0) * 1000
        # uncached full-resolution tiles, then the same tiles again (server cache)
        sample = cells[:200]
        cold = [timed(client, tile_url(name, top, c, r)) for c, r in sample]
        out["full_cold_p50_ms"] = pct((t for t, _ in cold), 50)
        out["full_cold_p95_ms"] = pct((t for t, _ in cold), 95)
        out["png_kb_per_tile"] = statistics.mean(b for _, b in cold) / 1024
        warm = [timed(client, tile_url(name, top, c, r))[0] for c, r in sample]
        out["full_cached_p50_ms"] = pct(warm, 50)
        out["full_cached_p95_ms"] = pct(warm, 95)
        jpeg = [timed(client, tile_url(name, top, c, r, "jpg")) for c, r in sample[:50]]
        out["jpg_kb_per_tile"] = statistics.mean(b for _, b in jpeg) / 1024
        out["jpg_cold_p50_ms"] = pct((t for t, _ in jpeg), 50)
        # overview level: vary vmax so that each request renders anew (levels are built)
        ocols, orows = geometry.grid(overview)
        ov_urls = [tile_url(name, overview, i % ocols, (i // ocols) % orows, vmax=1000 + i) for i in range(60)]
        ov_cold = [timed(client, u)[0] for u in ov_urls]
        ov_warm = [timed(client, u)[0] for u in ov_urls]
        out["overview_cold_p50_ms"], out["overview_cold_p95_ms"] = pct(ov_cold, 50), pct(ov_cold, 95)
        out["overview_cached_p50_ms"], out["overview_cached_p95_ms"] = pct(ov_warm, 50), pct(ov_warm, 95)
        # throughput on uncached full-resolution tiles
        urls1 = fresh_urls(name, top, cells, 200, 300)
        out["tiles_per_s_1_client"] = len(urls1) / concurrent(server.port, urls1, 1)
        urls8 = fresh_urls(name, top, cells, 500, 1200)
        out["tiles_per_s_8_clients"] = len(urls8) / concurrent(server.port, urls8, 8)
        # a 10x5 full-resolution view, shown, then re-rendered after a stretch change
        spots = [(10 + i % 10, 10 + i // 10) for i in range(50)] if cols >= 20 and rows >= 15 else cells[:50]
        view = [tile_url(name, top, c, r) for c, r in spots]
        concurrent(server.port, view, 8)
        restretched = [u + "&stretch=asinh&cmap=viridis" for u in view]
        out["rerender_50_tiles_ms"] = concurrent(server.port, restretched, 8) * 1000
        out["uss_growth_mb"] = server.uss_mb() - uss0
        out["anon_rss_growth_mb"] = server.anon_mb() - anon0
    finally:
        server.stop()
    return out


def level_build_times(path: Path) -> list[tuple[int, float]]:
    image = FitsImage(path, 0)
    plane = image.plane(0)
    times = []
    # as LevelStore does: row bands read with pread, strips over a thread pool
    with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as strips, RowReader(plane) as rows:
        t0 = time.perf_counter()
        for factor, _ in build_levels(rows.read, plane.width, plane.height, map_strips=strips.map):
            now = time.perf_counter()
            times.append((factor, now - t0))
            t0 = now
    image.close()
    return times


# issue 2's targets (16384² float32 over HTTP): (bound, True when higher is better)
TARGETS: dict[str, tuple[float, bool]] = {
    "open_first_tile_ms": (150, False),
    "full_cold_p50_ms": (5, False),
    "full_cached_p50_ms": (1.5, False),
    "tiles_per_s_8_clients": (500, True),
    "png_kb_per_tile": (60, False),
    "rerender_50_tiles_ms": (250, False),
    "uss_growth_mb": (500, False),
}
LEVEL_TARGET_S = 3.0


def _verdict(key: str, value: float) -> str:
    if key not in TARGETS:
        return ""
    bound, higher = TARGETS[key]
    ok = value >= bound if higher else value <= bound
    return f"{'>=' if higher else '<='} {bound:g}  {'ok' if ok else 'MISSED'}"


def report(
    size: int, figures: dict[str, float], levels: list[tuple[int, float]], printer: Callable[[str], None]
) -> None:
    printer(f"\n## {size}x{size} float32 ({size * size * 4 / 2**20:.0f} MB)")
    printer(f"{'figure':<28}{'median':>12}   target (16384²)")
    for key, value in figures.items():
        printer(f"{key:<28}{value:>12.2f}   {_verdict(key, value)}")
    slowest = max((s for _, s in levels), default=0.0)
    printer(
        "overview levels (in-process build, seconds): "
        + ", ".join(f"x{k}: {s:.2f}" for k, s in levels)
        + f"  (each <= {LEVEL_TARGET_S:g} s: {'ok' if slowest <= LEVEL_TARGET_S else 'MISSED'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8192, 16384])
    parser.add_argument("--runs", type=int, default=3, help="fresh-server runs per size (median printed)")
    parser.add_argument(
        "--no-disk-cache", dest="disk_cache", action="store_false", help="keep levels in memory only (default: on disk)"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the images (default: temp)")
    parser.add_argument("--cold-only", action="store_true", help="only the cold-open figures (issue 8 part 1)")
    parser.add_argument(
        "--versus-only", action="store_true", help="only the side-by-side with the old product's rendering (issue 16)"
    )
    parser.add_argument("--versus-tiles", type=int, default=400, help="fresh tiles per side-by-side measure")
    parser.add_argument("--no-cold", dest="cold", action="store_false", help="skip the cold-open figures")
    parser.add_argument(
        "--baseline-code", type=Path, help="cold open: also run this checkout's code (e.g. a `git archive` of main)"
    )
    parser.add_argument("--no-versus", dest="versus", action="store_false", help="skip the side-by-side")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the server and remove the images
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        (root / "files").mkdir()
        print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}, numpy {np.__version__}")
        for size in args.sizes:
            name = f"bench_{size}.fits"
            path = root / "files" / name
            t0 = time.perf_counter()
            make_image(path, size)
            print(f"made {name} in {time.perf_counter() - t0:.1f} s", flush=True)
            warm_page_cache(path)
            if (args.versus and not args.cold_only) or args.versus_only:  # --cold-only: nothing else
                report_versus(root, name, size, args.runs, args.versus_tiles)
            if args.versus_only:
                path.unlink()
                continue
            if args.cold or args.cold_only:
                report_cold(root, name, size, args.runs, args.baseline_code)
            if args.cold_only:
                path.unlink()
                continue
            warm_page_cache(path)
            runs = [one_run(root, name, size, args.disk_cache, seed) for seed in range(args.runs)]
            builds = [level_build_times(path) for _ in range(args.runs)]
            levels = [(factor, statistics.median(b[i][1] for b in builds)) for i, (factor, _) in enumerate(builds[0])]
            report(size, median_dicts(runs), levels, print)
            path.unlink()


if __name__ == "__main__":
    main()
