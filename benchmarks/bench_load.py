"""Load: N simulated users on the real server (``python main.py --workers W``), 1 worker vs 2.

Each user, in a loop until the time is up, does what a page does (weights in ``ACTIONS``): tiles at
random levels and positions (random stretch/colormap now and then, so not all are cached), pixel
readouts, catalog filters (rows + column statistics) and image histograms. One detection job is
started each minute (at t = 0, 60 s, ...) and followed over ``/ws`` until done, as the page does
(with 2 workers its events come through the broker from whichever worker runs it).

Printed per worker count: requests, requests/s, latency p50/p95/p99, errors (any non-2xx/304,
timeout or connection error: must be 0), the detection job's time, and the USS of the server's
process tree (master, workers, job and parse processes) sampled every 2 s (peak and at the end).
The 1-worker run is the baseline of the ratio column.

Loopback only, bounded: ``--users`` (<= 200) coroutines for ``--seconds`` (<= 600) each run,
every request with a 30 s timeout; the servers are stopped at the end whatever happens.
The load generator runs on the same machine (it competes with the server for the CPU).

    .venv/bin/python benchmarks/bench_load.py                  # 50 users, 60 s, 1 then 2 workers
    .venv/bin/python benchmarks/bench_load.py --users 10 --seconds 15 --size 2048   # quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
from _common import ROOT, free_port, pct

IMAGE = "load.fits"
CATALOG = "load_sources.csv"
# (action, weight): what a user does next
ACTIONS = (("tile", 60), ("pixel", 15), ("catalog", 10), ("stats", 5), ("histogram", 10))
FILTERS = ("flux > 50", "flux > 10 && snr > 8", "mag < 22", "dec > -27.9 && flux < 500", "snr > 20")
STRETCHES = ("linear", "log", "asinh", "sqrt")
CMAPS = ("gray", "viridis", "magma", "inferno")


def write_data(root: Path, size: int) -> None:
    """A seeded size x size star field with a TAN WCS, and a 200,000-row catalog."""
    from astropy.io import fits

    from neloura.core.synthetic import make_star_field, make_wcs_header

    (root / "files").mkdir(parents=True, exist_ok=True)
    (root / "catalogs").mkdir(parents=True, exist_ok=True)
    image, _ = make_star_field((size, size), size * size // 3000, 3.0, seed=8, snr_range=(5, 500), sky=10.0)
    header = make_wcs_header(image.shape, 53.1, -27.8, 0.06)
    header["BUNIT"] = "MJy/sr"
    fits.PrimaryHDU(image, header=header).writeto(root / "files" / IMAGE, overwrite=True)
    rng = np.random.default_rng(3)
    n = 200_000
    ra = 53.1 + rng.uniform(-0.05, 0.05, n)
    dec = -27.8 + rng.uniform(-0.05, 0.05, n)
    flux = rng.lognormal(3, 1.5, n)
    snr = flux / rng.uniform(1, 5, n)
    mag = 23.9 - 2.5 * np.log10(flux)
    lines = ["id,ra,dec,flux,snr,mag"] + [
        f"{i},{a:.7f},{d:.7f},{f:.4f},{s:.3f},{m:.4f}"
        for i, (a, d, f, s, m) in enumerate(zip(ra, dec, flux, snr, mag, strict=True))
    ]
    (root / "catalogs" / CATALOG).write_text("\n".join(lines) + "\n")


class Server:
    """``python main.py --workers W`` on a free loopback port (its output, access log included, discarded)."""

    def __init__(self, root: Path, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "NELOURA_DEMO": "false", "NELOURA_JOB_WORKERS": "1"}
        env.pop("NELOURA_ALLOWED_HOSTS", None)
        args = [sys.executable, "main.py", "--root", str(root), "--port", str(self.port), "--workers", str(workers)]
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start")
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)

    def uss_mb(self) -> float:
        """USS of the whole process tree (the server, its workers and every child), MiB."""
        total = 0
        try:
            procs = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return float("nan")
        for proc in procs:
            try:
                total += proc.memory_full_info().uss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total / 2**20

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    by_action: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    jobs: list[float] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def _request(action: str, rng: random.Random, size: int) -> tuple[str, dict[str, object]]:
    if action == "tile":
        max_level = int(np.ceil(np.log2(size)))
        level = rng.randint(max(0, max_level - 5), max_level)
        n = max(1, int(np.ceil(size / 2 ** (max_level - level) / 256)))
        params: dict[str, object] = {"path": IMAGE}
        if rng.random() < 0.3:
            params |= {"stretch": rng.choice(STRETCHES), "cmap": rng.choice(CMAPS)}
        return f"/api/images/tiles/{level}/{rng.randrange(n)}_{rng.randrange(n)}.png", params
    if action == "pixel":
        return "/api/images/pixel", {"path": IMAGE, "x": rng.uniform(0, size - 1), "y": rng.uniform(0, size - 1)}
    if action == "catalog":
        sort = rng.choice(["flux", "-flux", "mag", "-snr"])
        return "/api/catalogs/rows", {"name": CATALOG, "filter": rng.choice(FILTERS), "sort": sort, "limit": 100}
    if action == "stats":
        return "/api/catalogs/stats", {"name": CATALOG, "column": "mag", "filter": rng.choice(FILTERS)}
    return "/api/images/histogram", {"path": IMAGE, "bins": 256}


async def _user(client: object, seed: int, size: int, end: float, tally: Tally) -> None:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    rng = random.Random(seed)
    names, weights = zip(*ACTIONS, strict=True)
    while time.monotonic() < end:
        action = rng.choices(names, weights)[0]
        path, params = _request(action, rng, size)
        t0 = time.perf_counter()
        try:
            response = await client.get(path, params=params)
            if response.status_code not in (200, 304):
                tally.error(f"{path.split('/')[3]} {response.status_code}")
        except httpx.HTTPError as exc:
            tally.error(type(exc).__name__)
        tally.latencies.append(time.perf_counter() - t0)
        tally.by_action.setdefault(action, []).append(time.perf_counter() - t0)
        await asyncio.sleep(rng.uniform(0.0, 0.05))  # a page's requests are not back to back


async def _detections(url: str, end: float, tally: Tally) -> None:
    """One detection job a minute, followed over /ws until it finishes."""
    import httpx
    from websockets.asyncio.client import connect

    ws_url = url.replace("http://", "ws://") + "/ws"
    cookie = {"Cookie": "neloura_session=" + "b" * 43}  # job events reach only their owner's sockets
    async with httpx.AsyncClient(base_url=url, timeout=30) as client, connect(ws_url, additional_headers=cookie) as ws:
        await ws.recv()  # hello
        start = time.monotonic()
        while start < end:
            t0 = time.perf_counter()
            body = {"path": IMAGE, "threshold_sigma": 5, "fwhm_px": 3}
            response = await client.post("/api/detection", json=body, headers=cookie)
            if response.status_code != 200:
                tally.error(f"detection {response.status_code}")
            else:
                job_id = response.json()["id"]
                state = ""
                while state not in ("done", "failed", "cancelled"):
                    event = json.loads(await asyncio.wait_for(ws.recv(), timeout=300))
                    if event.get("type") == "job" and event.get("id") == job_id:
                        state = event["state"]
                if state == "done":
                    tally.jobs.append(time.perf_counter() - t0)
                else:
                    tally.error(f"detection {state}")
            start += 60.0
            await asyncio.sleep(max(0.0, min(start, end) - time.monotonic()))


async def _load(url: str, users: int, seconds: float, size: int) -> Tally:
    import httpx

    tally = Tally()
    end = time.monotonic() + seconds
    # idle connections closed by the client before uvicorn closes them (5 s): no keep-alive race
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users, keepalive_expiry=4.0)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        tasks = [_user(client, seed, size, end, tally) for seed in range(users)]
        await asyncio.gather(_detections(url, end, tally), *tasks)
    return tally


def _warm(url: str) -> None:
    """Open the image (levels built) and the catalog (converted) before the clock starts."""
    for path in (
        f"/api/images/info?path={IMAGE}",
        f"/api/images/tiles/0/0_0.png?path={IMAGE}",
        f"/api/catalogs/open?name={CATALOG}",
    ):
        urllib.request.urlopen(url + path, timeout=120).close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/images/info?path={IMAGE}", timeout=60) as r:
            ready = json.loads(r.read())["levels_ready"]
        try:
            urllib.request.urlopen(f"{url}/api/catalogs/columns?name={CATALOG}", timeout=60).close()
        except OSError:
            ready = False
        if ready:
            return
        time.sleep(0.5)


def run(root: Path, workers: int, users: int, seconds: float, size: int) -> dict[str, float | str]:
    server = Server(root, workers)
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(2.0):
            peak[0] = max(peak[0], server.uss_mb())

    try:
        for _ in range(workers * 3):  # each worker opens the image and the catalog once
            _warm(server.url)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        tally = asyncio.run(_load(server.url, users, seconds, size))
        stop.set()
        sampler.join()
        end_uss = server.uss_mb()
    finally:
        stop.set()
        server.stop()
    ms = [v * 1000 for v in tally.latencies]
    return {
        "workers": workers,
        "requests": len(ms),
        "rps": len(ms) / seconds,  # the users stop at the deadline (the last detection job may run on)
        "p50": pct(ms, 50),
        "p95": pct(ms, 95),
        "p99": pct(ms, 99),
        "errors": sum(tally.errors.values()),
        "error_kinds": ", ".join(f"{k} x{v}" for k, v in tally.errors.items()) or "-",
        "job_s": statistics.median(tally.jobs) if tally.jobs else float("nan"),
        "uss_peak": max(peak[0], end_uss),
        "uss_end": end_uss,
        "actions": "  ".join(
            f"{name} {len(v)} x p50 {pct([x * 1000 for x in v], 50):.0f} ms" for name, v in tally.by_action.items()
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts; the first is the baseline")
    parser.add_argument("--size", type=int, default=4096, help="image side in pixels")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count (the median run is shown)")
    args = parser.parse_args()
    users, seconds = min(max(1, args.users), 200), min(max(5.0, args.seconds), 600.0)
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="neloura-load-") as tmp:
        root = Path(tmp)
        write_data(root, args.size)
        print(f"{users} users x {seconds:.0f} s, {args.size}² image, 200,000-row catalog, {os.cpu_count()} cores")
        rows = []
        for workers in counts:
            runs = sorted(
                (run(root, workers, users, seconds, args.size) for _ in range(args.repeat)),
                key=lambda r: float(r["rps"]),
            )
            rows.append(runs[len(runs) // 2])
    base = float(rows[0]["rps"])
    print(
        f"{'workers':>7} {'requests':>9} {'req/s':>7} {'ratio':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'detect s':>8} {'USS peak MB':>11} {'USS end MB':>10}"
    )
    for r in rows:
        print(
            f"{r['workers']:>7} {r['requests']:>9} {r['rps']:>7.1f} {float(r['rps']) / base:>6.2f} "
            f"{r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} {r['errors']:>6} {r['job_s']:>8.2f} "
            f"{r['uss_peak']:>11.0f} {r['uss_end']:>10.0f}"
        )
    for r in rows:
        print(f"  {r['workers']} worker(s), by action: {r['actions']}")
    for r in rows:
        if r["errors"]:
            print(f"errors with {r['workers']} worker(s): {r['error_kinds']}")


if __name__ == "__main__":
    main()
