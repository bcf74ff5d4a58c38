"""Spatial catalog benchmarks: cone search, overlay payload, cross-match (each beside a baseline).

    .venv/bin/python benchmarks/bench_crossmatch.py                 # 10M-row cone, 1M overlay, 100k x 1M match
    .venv/bin/python benchmarks/bench_crossmatch.py --cone-rows 1000000 --repeat 3   # quicker
    .venv/bin/python benchmarks/bench_crossmatch.py --browser-markers 1000000        # + the page in Chromium

Prints the median of ``--repeat`` runs. Synthetic, seeded data (nothing written to disk).
Targets (issue 4): cone <= 20 ms once indexed; overlay <= 16 bytes/source and <= 0.3 s for 1M
sources server-side; cross-match no slower than astropy's search_around_sky in the same run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time

import astropy.units as u
import numpy as np
from _common import Server, timed
from astropy.coordinates import SkyCoord, search_around_sky
from isal import igzip

from neloura.core.crossmatch import SkyIndex, cone_search, crossmatch
from neloura.core.overlay import encode_overlay, image_footprint, project_inside, within_footprint
from neloura.core.synthetic import make_wcs_header
from neloura.core.wcs import ImageWcs
from neloura.runtime.overlay import GZIP_LEVEL
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS


def row(name: str, ours: float, base: float | None = None, unit: str = "s", note: str = "") -> None:
    ratio = f"{base / ours:8.1f}x" if base else " " * 9
    base_s = f"{base:12.6f}" if base is not None else " " * 12
    print(f"{name:44s} {ours:12.6f} {base_s} {ratio}  {unit} {note}")


def bench_cone(rows: int, repeat: int) -> None:
    rng = np.random.default_rng(1)
    ra = rng.uniform(0, 360, rows)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, rows)))
    t0 = time.perf_counter()
    index = SkyIndex(ra, dec)
    build = time.perf_counter() - t0
    centres = [(float(ra[i]), float(dec[i])) for i in rng.choice(rows, 20, replace=False)]
    queries = []
    for cra, cdec in centres:
        t, _ = timed(lambda cra=cra, cdec=cdec: index.cone(cra, cdec, 60.0), 5)
        queries.append(t)
    brute, _ = timed(lambda: cone_search(ra, dec, centres[0][0], centres[0][1], 60.0), max(1, repeat // 2))
    print(f"\n== cone search, 1 arcmin, {rows:,} rows all-sky (index built once in {build:.1f} s)")
    row("cone (indexed) median of 20 centres", statistics.median(queries), brute, note="(baseline: brute force)")


def bench_overlay(sources: int, repeat: int) -> None:
    size = 4096
    wcs = ImageWcs.from_header(make_wcs_header((size, size), 150.0, 2.0, 0.1))
    rng = np.random.default_rng(2)
    x = rng.uniform(-0.5, size - 0.5, sources)
    y = rng.uniform(-0.5, size - 0.5, sources)
    ra, dec = wcs.pixel_to_world(x, y)
    flux = 10 ** rng.uniform(0, 3, sources)
    radius = rng.uniform(1, 10, sources)

    def on_image() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows inside the image and their pixel positions (footprint cut, then projection)."""
        near = within_footprint(ra, dec, image_footprint(wcs, size, size))
        which, px, py = project_inside(wcs, ra[near], dec[near], size, size)
        return near[which], px, py

    def payload() -> bytes:
        rows, px, py = on_image()
        return encode_overlay(px, py, rows, size_px=radius[rows], color=flux[rows], color_log=True, matched=sources)

    def as_json() -> bytes:
        rows, px, py = on_image()
        items = [
            {"row": int(r), "x": float(a), "y": float(b), "size": float(s), "flux": float(f)}
            for r, a, b, s, f in zip(rows, px, py, radius[rows], flux[rows], strict=True)
        ]
        return json.dumps(items).encode()

    t_bin, data = timed(payload, repeat)
    t_json, text = timed(as_json, max(1, repeat // 2))
    print(f"\n== overlay, {sources:,} sources inside a {size}x{size} TAN image (footprint + projection + packing)")
    row("overlay payload time", t_bin, t_json, note="(baseline: JSON objects)")
    row("overlay bytes per source", len(data) / sources, len(text) / sources, unit="bytes")
    # issue 16: the route's gzip (ISA-L level 1, sent when it saves >= 10 %) vs zlib level 6
    t_gz, packed = timed(lambda: igzip.compress(data, GZIP_LEVEL), repeat)
    t_z6, packed6 = timed(lambda: gzip.compress(data, 6), max(1, repeat // 2))
    row("overlay gzip time (ISA-L 1 vs zlib 6)", t_gz, t_z6)
    row("overlay gzip size / raw (ISA-L 1 vs zlib 6)", len(packed) / len(data), len(packed6) / len(data), unit="")
    t_in, _ = timed(lambda: gzip.decompress(packed), repeat)
    row("overlay gunzip time (what the browser adds)", t_in)


def bench_crossmatch(n_a: int, n_b: int, repeat: int) -> None:
    rng = np.random.default_rng(3)
    ra_b = 150 + rng.uniform(-0.5, 0.5, n_b)
    dec_b = 2 + rng.uniform(-0.5, 0.5, n_b)
    pick = rng.choice(n_b, n_a, replace=False)
    ra_a = ra_b[pick] + rng.normal(0, 0.3, n_a) / 3600
    dec_a = dec_b[pick] + rng.normal(0, 0.3, n_a) / 3600
    t0 = time.perf_counter()
    index_b = SkyIndex(ra_b, dec_b)
    build_b = time.perf_counter() - t0
    coords_a = SkyCoord(ra_a * u.deg, dec_a * u.deg)
    coords_b = SkyCoord(ra_b * u.deg, dec_b * u.deg)
    t_astropy, found = timed(lambda: search_around_sky(coords_a, coords_b, 1 * u.arcsec), repeat)
    t_all, res_all = timed(lambda: crossmatch(SkyIndex(ra_a, dec_a), index_b, 1.0, "all"), repeat)
    t_best, res_best = timed(lambda: crossmatch(SkyIndex(ra_a, dec_a), index_b, 1.0, "best"), repeat)
    t_cold, _ = timed(lambda: crossmatch(SkyIndex(ra_a, dec_a), SkyIndex(ra_b, dec_b), 1.0, "all"), repeat)

    def astropy_cold() -> object:  # new SkyCoord objects: astropy builds its KD-tree again, like our cold run
        return search_around_sky(
            SkyCoord(ra_a * u.deg, dec_a * u.deg), SkyCoord(ra_b * u.deg, dec_b * u.deg), 1 * u.arcsec
        )

    t_astropy_cold, _ = timed(astropy_cold, repeat)
    print(f"\n== cross-match {n_a:,} x {n_b:,} at 1 arcsec (B index built once in {build_b:.2f} s)")
    print(f"   pairs: ours {len(res_all):,} (all), {len(res_best):,} (best); astropy {len(found[0]):,}")
    row("all pairs, B indexed", t_all, t_astropy, note="(baseline: search_around_sky, B tree cached)")
    row("best match, B indexed", t_best, t_astropy, note="(baseline: search_around_sky, B tree cached)")
    row("all pairs, both trees built in the run", t_cold, t_astropy_cold, note="(baseline: same, tree built too)")


def bench_server(sources: int, repeat: int) -> None:
    """Through the real app (in-process HTTP): overlay and cone on a Parquet catalog."""
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq
    from astropy.io import fits
    from fastapi.testclient import TestClient

    from neloura.app import create_app
    from neloura.settings import Settings

    size = 2048
    header = make_wcs_header((size, size), 150.0, 2.0, 0.2)
    wcs = ImageWcs.from_header(header)
    rng = np.random.default_rng(4)
    ra, dec = wcs.pixel_to_world(rng.uniform(-0.5, size - 0.5, sources), rng.uniform(-0.5, size - 0.5, sources))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(root=Path(tmp), demo=False, disk_cache=False)
        settings.ensure_folders()
        fits.writeto(settings.files_dir / "field.fits", np.zeros((size, size), np.float32), header)
        table = pa.table(
            {"ra": ra, "dec": dec, "flux": 10 ** rng.uniform(0, 3, sources), "r": rng.uniform(1, 5, sources)}
        )
        pq.write_table(table, settings.catalogs_dir / "big.parquet")
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:  # loopback Host
            params = {"name": "big.parquet", "path": "field.fits", "size_col": "r", "color_col": "flux"}
            t0 = time.perf_counter()
            first = client.get("/api/catalogs/overlay", params=params)
            t_first = time.perf_counter() - t0
            assert first.status_code == 200, first.text
            client.get("/api/catalogs/cone", params={"name": "big.parquet", "ra": 150, "dec": 2, "radius_arcsec": 1})
            services = client.app.state.services  # type: ignore[attr-defined]

            def cold() -> int:
                services.overlays.close()  # drop cached payloads, keep the catalog and its index
                return len(client.get("/api/catalogs/overlay", params=params).content)

            t_cold, nbytes = timed(cold, repeat)
            t_warm, _ = timed(lambda: client.get("/api/catalogs/overlay", params=params), repeat)
            cone = {"name": "big.parquet", "ra": float(ra[0]), "dec": float(dec[0]), "radius_arcsec": 60}
            t_cone, body = timed(lambda: client.get("/api/catalogs/cone", params=cone).json(), repeat)
    print(f"\n== through the app (HTTP in-process), {sources:,}-row Parquet catalog inside a {size}x{size} image")
    row("first overlay (conversion + load + payload)", t_first)
    row("overlay payload, catalog in memory", t_cold, note=f"({nbytes / sources:.1f} bytes/source)")
    row("overlay payload, cached", t_warm)
    row("cone 1 arcmin, indexed, first 100 rows JSON", t_cone, note=f"({body['total']} rows in the cone)")


def bench_first_cone(rows: int) -> None:
    """Through the app: open a never-seen all-sky catalog, wait for ``ready``, then the first cone
    (issue 8: the index is built during the conversion). Baseline: the KD-tree build that the first
    cone paid before, measured in the same run on the same positions."""
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq
    from fastapi.testclient import TestClient

    from neloura.app import create_app
    from neloura.settings import Settings

    rng = np.random.default_rng(8)
    ra = rng.uniform(0, 360, rows)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, rows)))
    build, _ = timed(lambda: SkyIndex(ra, dec), 1)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(root=Path(tmp), demo=False, disk_cache=False)
        settings.ensure_folders()
        pq.write_table(
            pa.table({"ra": ra, "dec": dec, "flux": rng.uniform(0, 1, rows)}), settings.catalogs_dir / "sky.parquet"
        )
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:  # loopback Host
            t0 = time.perf_counter()
            while client.get("/api/catalogs/open", params={"name": "sky.parquet"}).json()["state"] != "ready":
                time.sleep(0.02)
            t_open = time.perf_counter() - t0
            cone = {"name": "sky.parquet", "ra": float(ra[0]), "dec": float(dec[0]), "radius_arcsec": 60}
            t1 = time.perf_counter()
            assert client.get("/api/catalogs/cone", params=cone).status_code == 200
            t_first = time.perf_counter() - t1
    print(f"\n== first cone on a just-opened {rows:,}-row catalog (index built during the conversion)")
    row("open to ready (conversion + index)", t_open)
    row("first cone 1 arcmin after ready", t_first, t_first + build, note="(baseline: + the KD-tree build it paid)")


PAN_FRAMES = """async () => {
  const v = window.neloura.ctx.viewer; const times = [];
  let last = performance.now();
  for (let i = 0; i < 40; i += 1) {
    v.panTo(1024 + 10 * i, 1024, v.imageScale() * (1 + 0.01 * i), true);
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now(); times.push(now - last); last = now;
  }
  times.sort((a, b) => a - b);
  return [times[20], times[36]];
}"""


def bench_browser(sources: int) -> None:
    """The real page in Chromium: load time of a ``sources``-marker overlay and pan/zoom frame times."""
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq
    from astropy.io import fits
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), demo=True) as server:
        url = server.url
        header = fits.getheader(Path(tmp) / "files/demo/galaxy.fits", 1)
        wcs = ImageWcs.from_header(header)
        rng = np.random.default_rng(5)
        w, h = int(header["NAXIS1"]), int(header["NAXIS2"])
        ra, dec = wcs.pixel_to_world(rng.uniform(0, w - 1, sources), rng.uniform(0, h - 1, sources))
        pq.write_table(pa.table({"ra": ra, "dec": dec, "flux": 10 ** rng.uniform(0, 3, sources)}),
                       Path(tmp) / "catalogs/many.parquet")  # fmt: skip
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url + "/?path=demo/galaxy.fits&hdu=1")
            page.wait_for_selector("#viewer[data-image-ready='1']", timeout=60_000)
            page.wait_for_timeout(1500)
            bare = page.evaluate(PAN_FRAMES)
            t0 = time.perf_counter()
            page.goto(url + "/?path=demo/galaxy.fits&hdu=1&catalog=many.parquet&size_col=3&color_col=flux")
            page.wait_for_function("document.body.dataset.overlayCount !== undefined", timeout=300_000)
            load = time.perf_counter() - t0
            renderer = page.evaluate("document.body.dataset.overlayRenderer")
            page.wait_for_timeout(1500)
            with_overlay = page.evaluate(PAN_FRAMES)
            browser.close()
    print(f"\n== browser (Chromium {renderer}, --disable-gpu), {sources:,} markers on the demo image")
    row("page load to markers drawn (first open of the catalog)", load)
    row("pan/zoom frame, median, ms (with / without overlay)", with_overlay[0], bare[0], unit="ms")
    row("pan/zoom frame, 90th percentile, ms", with_overlay[1], bare[1], unit="ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cone-rows", type=int, default=10_000_000, help="rows of the all-sky cone catalog")
    parser.add_argument("--overlay-sources", type=int, default=1_000_000, help="sources inside the image")
    parser.add_argument("--match-a", type=int, default=100_000, help="rows of catalog A")
    parser.add_argument("--match-b", type=int, default=1_000_000, help="rows of catalog B")
    parser.add_argument("--server-sources", type=int, default=1_000_000, help="rows of the in-app catalog (0: skip)")
    parser.add_argument("--browser-markers", type=int, default=0, help="also drive Chromium with this many markers")
    parser.add_argument(
        "--first-cone-rows", type=int, default=2_000_000, help="rows for the first-cone figure (0: skip)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    args = parser.parse_args()
    print(f"{'measure':44s} {'ours':>12s} {'baseline':>12s} {'speed-up':>9s}")
    bench_cone(args.cone_rows, args.repeat)
    bench_overlay(args.overlay_sources, args.repeat)
    bench_crossmatch(args.match_a, args.match_b, args.repeat)
    if args.server_sources:
        bench_server(args.server_sources, args.repeat)
    if args.first_cone_rows:
        bench_first_cone(args.first_cone_rows)
    if args.browser_markers:
        bench_browser(args.browser_markers)


if __name__ == "__main__":
    main()
