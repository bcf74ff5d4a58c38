"""Side by side with the old product's way of rendering (issue 16), for ``bench_tiles.py``: the
baseline renderer (``_baseline_tiles.py``) and ours, both fresh, the same random fresh tiles at
full resolution and at mixed levels with 1 and 8 clients, alternating in chunks."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from _common import Server, free_port
from _tiles_http import Client, concurrent, median_dicts, tile_url

from neloura.core.tiles import Pyramid


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
