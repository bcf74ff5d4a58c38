"""Images API benchmark: opening, info, pixel readout and batch coordinate conversion.

Prints medians of ``--runs`` runs. Over HTTP, against the real server (uvicorn in a subprocess
on a free loopback port, warm page cache), on a seeded float32 image with a TAN+SIP WCS:

* ``info`` on a never-opened image (open + WCS + the 1-million-value sample + limits), then warm;
* ``pixel`` readout latency p50/p95 (warm);
* batch ``pixel-to-world`` / ``world-to-pixel`` of 100,000 points (HTTP, JSON both ways).

In this process (no HTTP):

* ``ImageWcs`` batch conversions vs astropy's own ``all_pix2world``/``all_world2pix`` on the
  same header (the baseline, same run): the ratio shows what our wrapper costs;
* a 256x256 window of a Rice tile-compressed image: windowed (``section``, large-image path) vs
  whole-plane decompression (what a naive reader does for every window);
* writing the demo set.

Usage: ``python benchmarks/bench_images.py [--size 8192] [--runs 3]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from _common import Server, median_ms, pct
from astropy.io import fits
from astropy.wcs import WCS

import neloura.core.fits_compressed as fits_compressed
from neloura.core.demo import write_demo
from neloura.core.fitsio import FitsImage
from neloura.core.synthetic import make_wcs_header
from neloura.core.wcs import ImageWcs

BATCH = 100_000


def sip_header(size: int) -> fits.Header:
    header = make_wcs_header((size, size), 150.1, 2.2, 0.05, rotation_deg=12.0)
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
    header["A_ORDER"] = header["B_ORDER"] = 3
    for key, value in {
        "A_2_0": 2e-8,
        "A_0_2": -1e-8,
        "A_1_1": 3e-8,
        "B_2_0": -2e-8,
        "B_0_2": 1.5e-8,
        "A_3_0": 1e-12,
    }.items():
        header[key] = value
    return header


def make_image(path: Path, size: int, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    data = np.empty((size, size), np.float32)
    for y0 in range(0, size, 2048):
        data[y0 : y0 + 2048] = rng.standard_normal((min(2048, size - y0), size), dtype=np.float32) + 10
    fits.PrimaryHDU(data, sip_header(size)).writeto(path, overwrite=True)


class ApiServer(Server):
    """The server (levels in memory only) and one request at a time over a new connection."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, disk_cache=False, timeout=30)

    def request(self, method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        payload = body
        headers = {"content-type": "application/json"} if payload else {}
        conn.request(method, url, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, data


def http_run(root: Path, size: int) -> dict[str, float]:
    server = ApiServer(root)
    try:
        query = urlencode({"path": "big.fits", "hdu": 0})
        start = time.perf_counter()
        status, _ = server.request("GET", f"/api/images/info?{query}")
        cold = (time.perf_counter() - start) * 1000
        assert status == 200
        warm = median_ms(lambda: server.request("GET", f"/api/images/info?{query}"), 20)
        rng = np.random.default_rng(1)
        pix_times = []
        for x, y in rng.integers(0, size, (200, 2)):
            q = urlencode({"path": "big.fits", "hdu": 0, "x": int(x), "y": int(y)})
            t0 = time.perf_counter()
            server.request("GET", f"/api/images/pixel?{q}")
            pix_times.append((time.perf_counter() - t0) * 1000)
        xs, ys = rng.uniform(0, size - 1, BATCH), rng.uniform(0, size - 1, BATCH)
        body = json.dumps({"path": "big.fits", "x": xs.tolist(), "y": ys.tolist()}).encode()  # encoded untimed
        t0 = time.perf_counter()
        status, data = server.request("POST", "/api/images/pixel-to-world", body)
        p2w = (time.perf_counter() - t0) * 1000
        world = json.loads(data)
        back = json.dumps({"path": "big.fits", "ra_deg": world["ra_deg"], "dec_deg": world["dec_deg"]}).encode()
        t0 = time.perf_counter()
        server.request("POST", "/api/images/world-to-pixel", back)
        w2p = (time.perf_counter() - t0) * 1000
        return {
            "info cold (open+sample+limits) ms": cold,
            "info warm ms": warm,
            "pixel p50 ms": pct(pix_times, 50),
            "pixel p95 ms": pct(pix_times, 95),
            f"pixel-to-world {BATCH:,} pts HTTP ms": p2w,
            f"world-to-pixel {BATCH:,} pts HTTP ms": w2p,
        }
    finally:
        server.stop()


def core_run(size: int) -> dict[str, float]:
    header = sip_header(size)
    header["NAXIS"], header["NAXIS1"], header["NAXIS2"] = 2, size, size
    ours = ImageWcs.from_header(header)
    theirs = WCS(header)
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, size - 1, BATCH), rng.uniform(0, size - 1, BATCH)
    pixels = np.column_stack([x, y])
    ra, dec = ours.pixel_to_world(x, y)
    return {
        f"ImageWcs.pixel_to_world {BATCH:,} ms": median_ms(lambda: ours.pixel_to_world(x, y), 5),
        f"astropy all_pix2world {BATCH:,} ms (baseline)": median_ms(lambda: theirs.all_pix2world(pixels, 0), 5),
        f"ImageWcs.world_to_pixel {BATCH:,} ms": median_ms(lambda: ours.world_to_pixel(ra, dec), 5),
        f"astropy all_world2pix {BATCH:,} ms (baseline)": median_ms(
            lambda: theirs.all_world2pix(np.column_stack([ra, dec]), 0, quiet=True),
            5,  # same mode as ours
        ),
    }


def compressed_run(folder: Path) -> dict[str, float]:
    path = folder / "rice.fits"
    rng = np.random.default_rng(3)
    data = (rng.standard_normal((4096, 4096)) * 20 + 1000).astype(np.int32)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, compression_type="RICE_1")]).writeto(path, overwrite=True)
    saved = fits_compressed.IN_MEMORY_MAX_PIXELS
    try:
        fits_compressed.IN_MEMORY_MAX_PIXELS = 0
        with FitsImage(path, 1) as image:
            plane = image.plane()
            bands = iter(range(0, 4096, 256))
            window = median_ms(lambda: plane.read((r := next(bands)), r + 256, 1000, 1256), 10)  # a new band each
            cols = iter(range(0, 4096, 256))
            neighbour = median_ms(lambda: plane.read(0, 256, (c := next(cols)), c + 256), 10)  # same band
        whole = median_ms(lambda: fits.getdata(path, 1)[2000:2256, 1000:1256], 3)
        fits_compressed.IN_MEMORY_MAX_PIXELS = 1 << 30  # the whole plane decompressed at open
        start = time.perf_counter()
        with FitsImage(path, 1) as image:
            open_in_memory = (time.perf_counter() - start) * 1000
            in_memory = median_ms(lambda: image.plane().read(2000, 2256, 1000, 1256), 20)
    finally:
        fits_compressed.IN_MEMORY_MAX_PIXELS = saved
    return {
        "Rice 4096² window 256², new row band (section) ms": window,
        "Rice 4096² window 256², same band as a previous one ms": neighbour,
        "Rice 4096² window by whole decompression ms (baseline)": whole,
        "Rice 4096² open, decompressed in memory ms": open_in_memory,
        "Rice 4096² window 256² from memory ms": in_memory,
    }


def demo_run(folder: Path) -> dict[str, float]:
    target = folder / "demo_root"
    start = time.perf_counter()
    (target / "files").mkdir(parents=True)
    (target / "catalogs").mkdir()
    write_demo(target / "files", target / "catalogs")
    return {"demo set written ms": (time.perf_counter() - start) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=8192, help="image side in pixels (float32)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "files").mkdir()
        make_image(folder / "files" / "big.fits", args.size)
        for run in range(args.runs):
            for source in (
                http_run(folder, args.size),
                core_run(args.size),
                compressed_run(folder),
                demo_run(folder / f"run{run}"),
            ):
                for key, value in source.items():
                    results.setdefault(key, []).append(value)
    print(f"images benchmark, {args.size}² float32 TAN-SIP image, median of {args.runs} runs")
    width = max(len(k) for k in results)
    for key, values in results.items():
        print(f"  {key:<{width}}  {statistics.median(values):10.2f}")


if __name__ == "__main__":
    main()
