"""What the tile benchmarks share (``bench_tiles.py`` and its side-by-side and cold-open parts,
``bench_memory.py``): the seeded sky image, a keep-alive HTTP client, tile URLs, concurrent
fetching and medians of runs."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from astropy.io import fits

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


def median_dicts(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}
