"""Regions: statistics of a 1000x1000-px region on a 16k² image, and 10,000 circles loaded and drawn
in the page.

Targets (issue 11): 10,000 circles load and draw in <= 2 s in the page (DS9 ~8 s for 20k, CARTA
~32 s); statistics of a 1000x1000-px region no slower than the ``regions`` package + numpy called
directly on the memory-mapped file (the baseline, same run).

1. Statistics: a seeded 16384² float32 image (1 GiB, memory mapped) with 1 % NaN; a box of
   1000x1000 px rotated 30 degrees and a circle of the same area (r = 564 px). Ours: the
   in-process core (``region_stats`` over ``ImagePlane.read``) and the HTTP route
   ``POST /api/regions/stats``; baseline: ``regions`` masks (centre and exact) on the memmap +
   numpy nan-statistics.
2. Page: Chromium (software rendering) on the demo image, once its background level build is done;
   a DS9 file of 10,000 fk5 circles through the import button until every circle is drawn (two
   animation frames after the model holds them);
   also the server's parse alone and ``Regions.parse`` + ``to_pixel`` (the package directly).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np
from _common import Server, timed
from astropy.io import fits

from neloura.core.fitsio import FitsImage
from neloura.core.region_stats import region_stats
from neloura.core.regions import PixelShape, to_region
from neloura.core.synthetic import make_wcs_header
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS


def _image(path: Path, size: int) -> None:
    header = make_wcs_header((size, size), 150.0, 2.0, 0.1)
    hdu = fits.PrimaryHDU(header=header)
    hdu.header["BITPIX"], hdu.header["NAXIS"], hdu.header["NAXIS1"], hdu.header["NAXIS2"] = -32, 2, size, size
    hdu.header["BUNIT"] = "MJy/sr"
    hdu.header.tofile(path)
    rng = np.random.default_rng(1)
    with path.open("r+b") as f:  # write the data in bands (no 1 GiB array in memory)
        f.seek(len(hdu.header.tostring()))
        for y in range(0, size, 1024):
            band = (100 + 5 * rng.standard_normal((min(1024, size - y), size))).astype(">f4")
            band[rng.random(band.shape) < 0.01] = np.nan
            f.write(band.tobytes())
        pad = (2880 - f.tell() % 2880) % 2880
        f.write(b"\0" * pad)


def _baseline(data: np.ndarray, shape: PixelShape) -> dict[str, float]:
    region = to_region(shape)
    values = region.to_mask(mode="center").get_values(data)
    values = values[np.isfinite(values)]
    exact = region.to_mask(mode="exact")
    weighted = exact.multiply(data)
    flux = float(np.nansum(weighted))
    return {
        "npix": values.size,
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "std": float(values.std()),
        "sum": float(values.sum()),
        "flux": flux,
    }


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def stats_bench(size: int, runs: int) -> list[tuple[str, str, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "files").mkdir()
        _image(root / "files" / "big.fits", size)
        c = size / 2
        shapes = {
            "box 1000x1000 px, 30°": PixelShape("box", [(c + 0.3, c - 0.2)], (1000.0, 1000.0), 30.0),
            "circle r=564 px": PixelShape("circle", [(c - 0.4, c + 0.1)], (564.19,)),
        }
        image = FitsImage(root / "files" / "big.fits", 0)
        plane = image.plane(0)
        with fits.open(root / "files" / "big.fits", memmap=True) as hdul:
            data = hdul[0].data
            with Server(root) as server:
                for name, shape in shapes.items():

                    def core(s: PixelShape = shape) -> dict:
                        return region_stats(
                            s, plane.read, size, size, factor=1.0, flux_unit="x", pixel_area_arcsec2=0.01
                        )

                    ours_t, ours = timed(core, runs)
                    base_t, base = timed(lambda s=shape: _baseline(data, s), runs)
                    assert ours["npix"] == base["npix"] and abs(ours["flux"] - base["flux"]) < 1e-6 * abs(base["flux"])
                    from neloura.core.regions import write_regions

                    text = write_regions([shape], image.wcs, "ds9", "pixel")[0]
                    body = {"path": "big.fits", "hdu": 0, "regions": text}
                    _post(server.url + "/api/regions/stats", body)
                    http_t, out = timed(lambda b=body: _post(server.url + "/api/regions/stats", b), runs)
                    assert out["regions"][0]["npix"] == base["npix"]
                    rows += [(name, f"core ({ours['npix']:,} px)", ours_t), (name, "POST /api/regions/stats", http_t),
                             (name, "regions + numpy (baseline)", base_t)]  # fmt: skip
        image.close()
    return rows


def _wait_levels(url: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with urllib.request.urlopen(f"{url}/api/images/info?path=demo/galaxy.fits&hdu=1", timeout=30) as r:
            if json.loads(r.read()).get("levels_ready", True):
                return
        time.sleep(0.2)


def page_bench(n: int, runs: int) -> list[tuple[str, str, float]]:
    from playwright.sync_api import sync_playwright
    from regions import Regions

    from neloura.core.wcs import ImageWcs

    rows: list[tuple[str, str, float]] = []
    lines = ["# Region file format: DS9", "fk5"]
    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), demo=True) as server:
        galaxy = Path(tmp) / "files" / "demo" / "galaxy.fits"
        wcs = ImageWcs.from_header(fits.getheader(galaxy, 1))
        ra, dec = wcs.pixel_to_world(rng.uniform(0, 2047, n), rng.uniform(0, 2047, n))
        lines += [
            f'circle({a:.7f},{d:.7f},{r:.2f}")' for a, d, r in zip(ra, dec, rng.uniform(0.3, 2.0, n), strict=True)
        ]
        text = "\n".join(lines) + "\n"
        reg = Path(tmp) / "circles.reg"
        reg.write_text(text)
        body = {"path": "demo/galaxy.fits", "hdu": 1, "regions": text}
        parse_t, _ = timed(lambda: _post(server.url + "/api/regions/parse", body), runs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            parsed = Regions.parse(text, format="ds9")
            t_parse = time.perf_counter() - t0
            t0 = time.perf_counter()
            for r in parsed[:500]:
                r.to_pixel(wcs.wcs)
            t_pix = (time.perf_counter() - t0) * n / 500
        loads, draws, parses, models, in_page = [], [], [], [], []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for _ in range(runs):
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                page.goto(f"{server.url}/?path=demo/galaxy.fits&hdu=1")
                page.wait_for_selector('#viewer[data-image-ready="1"]', timeout=120_000)
                page.click("#regions-panel .panel-head")
                _wait_levels(server.url)  # the image's background level build is not the regions' cost
                page.evaluate(
                    "() => document.getElementById('regions-file').addEventListener('change', "
                    "() => { window.__picked = performance.now(); }, { capture: true, once: true })"
                )
                t0 = time.perf_counter()
                page.set_input_files("#regions-file", str(reg))
                page.wait_for_function(f"() => Number(document.body.dataset.regionsCount) === {n}", timeout=120_000)
                page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
                loads.append(time.perf_counter() - t0)
                in_page.append(float(page.evaluate("() => performance.now() - window.__picked")) / 1000)
                draws.append(float(page.evaluate("() => Number(document.body.dataset.regionsDrawMs)")) / 1000)
                parses.append(float(page.evaluate("() => Number(document.body.dataset.regionsParseMs)")) / 1000)
                models.append(float(page.evaluate("() => Number(document.body.dataset.regionsImportMs)")) / 1000)
                page.context.close()
            browser.close()
        rows += [(f"{n:,} sky circles", "page: file picked -> all drawn", statistics.median(in_page)),
                 (f"{n:,} sky circles", "  same, Playwright upload included", statistics.median(loads)),
                 (f"{n:,} sky circles", "  of which POST /parse from the page", statistics.median(parses)),
                 (f"{n:,} sky circles", "  of which parse + model + panel", statistics.median(models)),
                 (f"{n:,} sky circles", "page: one full redraw", statistics.median(draws)),
                 (f"{n:,} sky circles", "POST /api/regions/parse", parse_t),
                 (f"{n:,} sky circles", "Regions.parse (package)", t_parse),
                 (f"{n:,} sky circles", "+ to_pixel each (package, from 500)", t_pix)]  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=16384, help="image side for the statistics")
    ap.add_argument("--regions", type=int, default=10_000, help="circles for the page")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-page", action="store_true")
    ap.add_argument("--skip-stats", action="store_true")
    args = ap.parse_args()
    rows = [] if args.skip_stats else stats_bench(args.size, args.runs)
    if not args.skip_page:
        rows += page_bench(args.regions, max(3, args.runs // 2 + 1))
    print(f"{'case':<26} {'what':<38} {'median':>10}")
    for case, what, seconds in rows:
        print(f"{case:<26} {what:<38} {seconds * 1000:>8.1f} ms")


if __name__ == "__main__":
    main()
