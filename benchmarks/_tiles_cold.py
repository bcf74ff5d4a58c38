"""Cold open with provisional overview tiles against waiting for the levels (issue 8 part 1),
for ``bench_tiles.py``: a never-opened image, its pages dropped from the page cache, a fresh
server, alternating runs."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlencode

from _common import Server
from _tiles_http import VIEWPORT, Client, concurrent, median_dicts, tile_url, timed

from neloura.core.tiles import Pyramid


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
