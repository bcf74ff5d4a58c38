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

Usage: ``python benchmarks/bench_tiles.py [--sizes 8192 16384] [--runs 3] [--versus-only]``
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from _common import Server, free_port, pct
from astropy.io import fits

from neloura.core.fitsio import FitsImage
from neloura.core.pyramid import build_levels
from neloura.core.tiles import Pyramid
from neloura.runtime.row_reader import RowReader

VIEWPORT = 1000  # px: the overview level is the largest that fits this


# -- data -----------------------------------------------------------------------------------


def make_image(path: Path, size: int, seed: int = 2) -> None:
    """Sky noise (sigma 5 around 100), 3 stars per 10^4 px, a few extended galaxies."""
    rng = np.random.default_rng(seed)
    data = np.empty((size, size), dtype=np.float32)
    for y0 in range(0, size, 2048):
        data[y0 : y0 + 2048] = rng.standard_normal((min(2048, size - y0), size), dtype=np.float32) * 5 + 100
    n_stars = size * size * 3 // 10_000
    yy, xx = np.mgrid[-7:8, -7:8]
    for x, y, flux in zip(
        rng.integers(8, size - 8, n_stars),
        rng.integers(8, size - 8, n_stars),
        rng.pareto(1.5, n_stars) * 200 + 20,
        strict=True,
    ):
        data[y - 7 : y + 8, x - 7 : x + 8] += (flux / (2 * np.pi * 1.5**2) * np.exp(-(xx**2 + yy**2) / 4.5)).astype(
            np.float32
        )
    for _ in range(max(4, size // 2048)):
        cx, cy = rng.integers(300, size - 300, 2)
        r = int(rng.integers(80, 250))
        gy, gx = np.mgrid[-2 * r : 2 * r, -2 * r : 2 * r]
        data[cy - 2 * r : cy + 2 * r, cx - 2 * r : cx + 2 * r] += (300 * np.exp(-np.hypot(gx, gy) / (r / 3))).astype(
            np.float32
        )
    fits.PrimaryHDU(data).writeto(path, overwrite=True)


def warm_page_cache(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(64 << 20):
            pass


# -- server and client ------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        self.conn.request("GET", url, headers=headers or {})
        response = self.conn.getresponse()
        return response.status, response.read()


def tile_url(name: str, level: int, col: int, row: int, fmt: str = "png", **params: object) -> str:
    return f"/api/images/tiles/{level}/{col}_{row}.{fmt}?" + urlencode({"path": name, **params})


def timed(client: Client, url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    status, body = client.get(url)
    dt = time.perf_counter() - t0
    if status != 200:
        raise RuntimeError(f"{url}: {status} {body[:200]!r}")
    return dt * 1000, len(body)


def concurrent(port: int, urls: list[str], clients: int) -> float:
    """Fetch ``urls`` over ``clients`` connections; return the wall time in seconds."""
    chunks = [urls[i::clients] for i in range(clients)]
    errors: list[str] = []

    def work(chunk: list[str]) -> None:
        c = Client(port)
        for url in chunk:
            status, body = c.get(url)
            if status != 200:
                errors.append(f"{status} {body[:100]!r}")

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    return time.perf_counter() - t0


# -- one run ----------------------------------------------------------------------------------


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
        fresh = iter(cells[200:])
        urls1 = [tile_url(name, top, *next(fresh)) for _ in range(300)]
        out["tiles_per_s_1_client"] = len(urls1) / concurrent(server.port, urls1, 1)
        urls8 = [tile_url(name, top, *next(fresh)) for _ in range(min(1200, len(cells) - 500))]
        out["tiles_per_s_8_clients"] = len(urls8) / concurrent(server.port, urls8, 8)
        # a 10x5 full-resolution view, shown, then re-rendered after a stretch change
        view = [tile_url(name, top, 10 + i % 10, 10 + i // 10) for i in range(50)]
        concurrent(server.port, view, 8)
        restretched = [u + "&stretch=asinh&cmap=viridis" for u in view]
        out["rerender_50_tiles_ms"] = concurrent(server.port, restretched, 8) * 1000
        out["uss_growth_mb"] = server.uss_mb() - uss0
        out["anon_rss_growth_mb"] = server.anon_mb() - anon0
    finally:
        server.stop()
    return out


def drop_page_cache(path: Path) -> None:
    """Evict the file's clean pages from the page cache: the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def cold_open(root: Path, name: str, size: int, provisional: bool, project: Path | None = None) -> dict[str, float]:
    """A never-opened image, its pages dropped from the page cache, a fresh server: ``info``, the
    first overview tile, then every tile of the home view (the overview level, 6 connections as a
    browser), and when the block-mean levels exist. ``provisional=False`` is the baseline: the
    overview waits for the levels (issue 8 part 1). ``project``: run another checkout's code."""
    geometry = Pyramid(size, size)
    overview = max(lv for lv in range(geometry.max_level + 1) if max(geometry.level_size(lv)) <= VIEWPORT)
    ocols, orows = geometry.grid(overview)
    home = [tile_url(name, overview, c, r) for r in range(orows) for c in range(ocols)]
    drop_page_cache(root / "files" / name)
    out: dict[str, float] = {}
    code = {} if project is None else {"project": project}
    with Server(root, disk_cache=False, provisional_tiles=provisional, **code) as server:
        client = Client(server.port)
        t0 = time.perf_counter()
        status, _ = client.get("/api/images/info?" + urlencode({"path": name}))
        if status != 200:
            raise RuntimeError(f"info: {status}")
        timed(client, home[0])
        out["first_overview_ms"] = (time.perf_counter() - t0) * 1000
        concurrent(server.port, home[1:], 6)
        out["home_view_ms"] = (time.perf_counter() - t0) * 1000
        while True:
            status, body = client.get("/api/images/info?" + urlencode({"path": name}))
            if b'"levels_ready":true' in body:
                break
            time.sleep(0.02)
        out["levels_ready_ms"] = (time.perf_counter() - t0) * 1000
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


def median_dicts(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


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


class BaselineServer:
    """The old product's renderer (``_baseline_tiles.py``) under uvicorn in a subprocess."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        script = Path(__file__).with_name("_baseline_tiles.py")
        self.proc = subprocess.Popen([sys.executable, str(script), str(root), str(self.port)])
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if Client(self.port).get("/api/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("baseline server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


def mixed_cells(geometry: Pyramid, count: int, seed: int, *, full_only: bool) -> list[tuple[int, int, int]]:
    """``count`` random (level, col, row): full resolution only, or the 5 finest levels."""
    rng = np.random.default_rng(seed)
    top = geometry.max_level
    out = []
    for _ in range(count):
        level = top if full_only else int(rng.integers(top - 4, top + 1))
        cols, rows = geometry.grid(level)
        out.append((level, int(rng.integers(cols)), int(rng.integers(rows))))
    return out


def versus_urls(name: str, cells: list[tuple[int, int, int]], ours: bool, salt: float) -> list[str]:
    """Tile URLs for our server or the baseline; ``vmax`` differs per request so that every
    tile is rendered afresh (no server cache hit on either side)."""
    urls = []
    for i, (level, col, row) in enumerate(cells):
        limits = {"vmin": 80, "vmax": 400 + salt + i * 1e-3}
        if ours:
            urls.append(tile_url(name, level, col, row, **limits))
        else:
            urls.append(f"/tiles/{level}/{col}_{row}.png?" + urlencode({"path": name, **limits}))
    return urls


CHUNK = 40  # tiles per alternation: both servers see the same load swings of a shared machine


def versus_run(root: Path, name: str, size: int, run: int, tiles: int) -> dict[str, float]:
    """One run: our server and the baseline both up (fresh), the same random tiles (full
    resolution, then mixed levels) with 1 and 8 clients, alternating between the two every
    ``CHUNK`` tiles (the order flipping each time); tiles/s per side over all its chunks."""
    geometry = Pyramid(size, size)
    ours = Server(root, disk_cache=True)
    try:
        base = BaselineServer(root)
    except BaseException:
        ours.stop()
        raise
    try:
        client = Client(ours.port)  # the page opens the image, then the levels build in the background
        while b'"levels_ready":true' not in client.get("/api/images/info?" + urlencode({"path": name}))[1]:
            time.sleep(0.05)
        out: dict[str, float] = {}
        ports = {"ours": ours.port, "base": base.port}
        for kind in ("full", "mixed"):
            for clients in (1, 8):
                cells = mixed_cells(geometry, tiles, 1000 * run + clients, full_only=kind == "full")
                salt = run + clients / 10
                seconds = dict.fromkeys(ports, 0.0)
                for side, port in ports.items():  # warm the code paths (other limits: no cache hit later)
                    concurrent(port, versus_urls(name, cells[:16], side == "ours", salt + 0.05), clients)
                for i in range(0, tiles, CHUNK):
                    order = ("ours", "base") if (i // CHUNK + run) % 2 == 0 else ("base", "ours")
                    for side in order:
                        urls = versus_urls(name, cells[i : i + CHUNK], side == "ours", salt + i)
                        seconds[side] += concurrent(ports[side], urls, clients)
                for side in ports:
                    out[f"{side}_{kind}_{clients}"] = tiles / seconds[side]
            for side, port in ports.items():
                urls = versus_urls(name, mixed_cells(geometry, 20, run, full_only=kind == "full"), side == "ours", 0.5)
                out[f"{side}_{kind}_kb"] = statistics.mean(len(Client(port).get(u)[1]) for u in urls) / 1024
    finally:
        ours.stop()
        base.stop()
    return out


def report_versus(root: Path, name: str, size: int, runs: int, tiles: int) -> None:
    """Our renderer against the old product's, same HTTP stack, same tiles, interleaved."""
    figures = [versus_run(root, name, size, run, tiles) for run in range(runs)]
    med = median_dicts(figures)
    print(f"\n## vs the old product's rendering, {size}x{size}: {tiles} fresh tiles per measure, {runs} runs")
    print(f"{'tiles/s (median of runs)':<26}{'neloura':>10}{'old way':>10}{'ratio':>8}   ratio per run")
    for kind in ("full", "mixed"):
        for clients in (1, 8):
            ratios = [f[f"ours_{kind}_{clients}"] / f[f"base_{kind}_{clients}"] for f in figures]
            ratio = statistics.median(ratios)
            label = f"{kind} levels, {clients} client{'s' * (clients > 1)}"
            target = "   >= 3x " + ("ok" if ratio >= 3 else "MISSED") if clients == 8 else ""
            per_run = ", ".join(f"{r:.2f}" for r in ratios)
            ours, base = med[f"ours_{kind}_{clients}"], med[f"base_{kind}_{clients}"]
            print(f"{label:<26}{ours:>10.0f}{base:>10.0f}{ratio:>7.2f}x   [{per_run}]{target}")
    for kind in ("full", "mixed"):
        print(f"KB per tile, {kind:<13}{med[f'ours_{kind}_kb']:>10.1f}{med[f'base_{kind}_kb']:>10.1f}")


COLD_TARGETS = {8192: (300, 600), 16384: (500, 1000)}  # first overview tile, home view (ms)


def report_cold(root: Path, name: str, size: int, runs: int, baseline_code: Path | None = None) -> None:
    """Cold open with provisional overview tiles vs waiting for the levels, alternating runs;
    with ``baseline_code``, a third column: the same cold open by that checkout's code."""
    figures: dict[str, list[dict[str, float]]] = {"provisional": [], "wait": [], "code": []}
    for _ in range(runs):
        figures["wait"].append(cold_open(root, name, size, False))
        figures["provisional"].append(cold_open(root, name, size, True))
        if baseline_code is not None:
            figures["code"].append(cold_open(root, name, size, True, baseline_code))
    ours, base = median_dicts(figures["provisional"]), median_dicts(figures["wait"])
    first, home = COLD_TARGETS.get(size, (float("nan"), float("nan")))
    print(f"\n## cold open {size}x{size} (page cache dropped, fresh server; median of {runs})")
    other = f"{'baseline code':>14}" if baseline_code is not None else ""
    print(f"{'figure':<24}{'provisional':>12}{'wait levels':>12}{'speed-up':>10}{other}   target")
    code = median_dicts(figures["code"]) if baseline_code is not None else {}
    for key, target in (("first_overview_ms", first), ("home_view_ms", home), ("levels_ready_ms", None)):
        verdict = "" if target is None else f"<= {target:g}  {'ok' if ours[key] <= target else 'MISSED'}"
        column = f"{code[key]:>14.1f}" if code else ""
        print(f"{key:<24}{ours[key]:>12.1f}{base[key]:>12.1f}{base[key] / ours[key]:>9.1f}x{column}   {verdict}")


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
