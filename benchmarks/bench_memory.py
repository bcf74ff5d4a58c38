"""Memory bounded by design (issue 8.2): open many tile-compressed images in turn on the real
server and follow its private memory (USS) against ``NELOURA_MEMORY_MB``.

For each image, as the page does: ``/api/images/info`` (opens it, samples it for the default
limits), the central full-resolution tile, an overview tile (waits for the block-mean levels)
and the histogram; then the server's USS. The same images are opened by a server with the
budget and by one without (``memory_mb=0``: the baseline, same code, same run), levels kept in
memory (no disk cache: the worst case for memory). Prints one row per image and a summary.

    .venv/bin/python benchmarks/bench_memory.py --images 20 --size 4096 --budget 1024

``--one-off``: work outside the caches (issue 8.2, second part). On one ``--size``² float32 image,
region statistics of circles of growing radius (the masks and pixels of the largest region are
reserved from the budget before anything is read): status, time and the server's peak resident
size (``VmHWM``) after each, with the budget and without it (the baseline, same run).

    .venv/bin/python benchmarks/bench_memory.py --one-off --size 4096 --budget 512
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from _common import Server
from _tiles_http import Client
from astropy.io import fits

from neloura.core.tiles import Pyramid


def make_images(folder: Path, count: int, size: int) -> list[str]:
    """``count`` Rice-compressed float32 ``size``² images (noise, a gradient, a few sources)."""
    names = []
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(count):
        name = f"field_{i:02d}.fits.fz"
        path = folder / name
        names.append(name)
        if path.exists():
            continue
        rng = np.random.default_rng(i)
        data = (rng.normal(100.0, 5.0, (size, size)) + 20.0 * xx + 10.0 * yy).astype(np.float32)
        for x, y in rng.integers(20, size - 20, (40, 2)):
            data[y - 3 : y + 4, x - 3 : x + 4] += 500.0
        fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, compression_type="RICE_1")]).writeto(path)
    return names


def get(client: Client, url: str) -> None:
    status, body = client.get(url)
    if status != 200:
        raise RuntimeError(f"{url}: {status} {body[:200]!r}")


def open_like_the_page(client: Client, name: str, size: int) -> float:
    """Seconds to the image's info, centre tile, overview tile and histogram."""
    geometry = Pyramid(size, size)
    top = geometry.max_level
    overview = max(lv for lv in range(top + 1) if max(geometry.level_size(lv)) <= 1024)
    cols, rows = geometry.grid(top)
    t0 = time.perf_counter()
    get(client, "/api/images/info?" + urlencode({"path": name, "hdu": 1}))
    for level, col, row in ((top, cols // 2, rows // 2), (overview, 0, 0)):
        get(client, f"/api/images/tiles/{level}/{col}_{row}.png?" + urlencode({"path": name, "hdu": 1}))
    get(client, "/api/images/histogram?" + urlencode({"path": name, "hdu": 1}))
    return time.perf_counter() - t0


def run(root: Path, names: list[str], size: int, budget_mb: int) -> tuple[float, list[tuple[float, float]]]:
    """(USS at start, [(USS after each image MB, open s)]) for a server with ``budget_mb``."""
    with Server(root, disk_cache=False, memory_mb=budget_mb) as server:
        client = Client(server.port)
        start = server.uss_mb()
        rows = []
        for name in names:
            seconds = open_like_the_page(client, name, size)
            rows.append((server.uss_mb(), seconds))
    return start, rows


RADII_FRACTION = (0.0125, 0.125, 0.4)  # of the image side: a source, a galaxy, most of the field


def peak_mb(pid: int) -> float:
    """Peak resident size of a process so far (``VmHWM``), MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024
    return float("nan")


def one_off(root: Path, size: int, budget_mb: int) -> list[tuple[int, float, float]]:
    """[(status, ms, peak MB)] of region statistics of circles of :data:`RADII_FRACTION` (a fresh server)."""
    out = []
    with Server(root, disk_cache=False, memory_mb=budget_mb) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        for radius in (round(f * size) for f in RADII_FRACTION):
            regions = f"image\ncircle({size / 2},{size / 2},{radius})\n"
            body = json.dumps({"path": "one_off.fits", "regions": regions})
            t0 = time.perf_counter()
            conn.request("POST", "/api/regions/stats", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            out.append((response.status, (time.perf_counter() - t0) * 1000, peak_mb(server.proc.pid)))
    return out


def report_one_off(root: Path, size: int, budget_mb: int) -> None:
    data = np.random.default_rng(1).normal(100.0, 5.0, (size, size)).astype(np.float32)
    fits.PrimaryHDU(data).writeto(root / "files" / "one_off.fits")
    del data
    bounded, free = one_off(root, size, budget_mb), one_off(root, size, 0)
    print(f"region statistics on a {size}² float32 image (fresh servers; peak = VmHWM after the request)")
    print(f"| circle radius | budget {budget_mb} MB: status, ms, peak MB | no budget (baseline): status, ms, peak MB |")
    print("|---:|---|---|")
    for f, (s1, t1, p1), (s0, t0, p0) in zip(RADII_FRACTION, bounded, free, strict=True):
        print(f"| {round(f * size)} px | {s1}, {t1:.0f}, {p1:.0f} | {s0}, {t0:.0f}, {p0:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one-off", action="store_true", help="region statistics within the budget (see above)")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--budget", type=int, default=1024, help="NELOURA_MEMORY_MB of the bounded server")
    parser.add_argument("--folder", type=Path, help="keep the generated images here (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        files = args.folder or root / "files"
        files.mkdir(parents=True, exist_ok=True)
        if args.one_off:
            report_one_off(root, args.size, args.budget)
            return
        if args.folder:
            (root / "files").parent.mkdir(parents=True, exist_ok=True)
            (root / "files").symlink_to(files.resolve(), target_is_directory=True)
        t0 = time.perf_counter()
        names = make_images(files, args.images, args.size)
        mb = sum((files / n).stat().st_size for n in names) / 2**20
        print(
            f"{len(names)} Rice-compressed {args.size}² float32 images, {mb:.0f} MB on disk "
            f"({time.perf_counter() - t0:.0f} s to make)",
            file=sys.stderr,
        )
        bounded0, bounded = run(root, names, args.size, args.budget)
        free0, free = run(root, names, args.size, 0)
    print(f"| image | USS, budget {args.budget} MB | open (s) | USS, no budget (baseline) | open (s) |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| start | {bounded0:.0f} MB | | {free0:.0f} MB | |")
    for i, ((u1, s1), (u0, s0)) in enumerate(zip(bounded, free, strict=True), 1):
        print(f"| {i} | {u1:.0f} MB | {s1:.2f} | {u0:.0f} MB | {s0:.2f} |")
    peak1, peak0 = max(u for u, _ in bounded), max(u for u, _ in free)
    med1, med0 = statistics.median(s for _, s in bounded), statistics.median(s for _, s in free)
    print(
        f"\npeak USS: {peak1:.0f} MB with the budget ({'under' if peak1 <= args.budget else 'OVER'} "
        f"{args.budget} MB), {peak0:.0f} MB without ({peak0 / peak1:.1f}x); "
        f"median open {med1:.2f} s vs {med0:.2f} s"
    )


if __name__ == "__main__":
    main()
