"""SED and cutout benchmarks, each beside the same calls made directly with astropy/photutils.

    .venv/bin/python benchmarks/bench_sed.py                        # 10 images of 4096², 500 cutouts x 5 images
    .venv/bin/python benchmarks/bench_sed.py --size 2048 --repeat 3  # quicker

1. SED of one source across ``--images`` images of ``--size``² (MJy/sr, seeded noise and sources,
   different pixel scales): Neloura's footprint index (covering) + forced photometry
   (``measure_sed``, photutils exact apertures, units to µJy) against, per image, ``fits.open``
   + ``WCS`` + ``world_to_pixel`` + photutils ``ApertureStats`` (annulus) + ``aperture_photometry``.
2. ``--sources`` batch cutouts across ``--cutout-images`` images: the batch job body
   (``batch_task``: zip of FITS, with and without the PDF) against ``Cutout2D`` + FITS writes into
   a zip in a plain loop.

Images are written to a temporary folder (about 64 MB each at 4096²) and removed at the end.
Prints the median of ``--repeat`` runs, Neloura and the direct calls alternating; the index
build and first (cold) SED are printed apart.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from _common import timed
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.stats import SigmaClip
from astropy.wcs import WCS
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

from neloura.core.psf import PsfModel, inject
from neloura.core.synthetic import make_wcs_header
from neloura.runtime.cutouts import batch_task, label
from neloura.runtime.footprints import FootprintIndex
from neloura.runtime.images import ImageStore
from neloura.runtime.sed import SedRequest, measure_sed
from neloura.settings import Settings

RA0, DEC0 = 53.16, -27.78
FILTERS = ("F070W", "F090W", "F115W", "F150W", "F200W", "F277W", "F356W", "F410M", "F444W", "F480M")


def interleaved(a: Callable[[], Any], b: Callable[[], Any], repeat: int) -> tuple[float, Any, float, Any]:
    """Median times of ``a`` and ``b`` run alternately (a shared, loaded machine drifts: both
    see the same moments), with each one's last result."""
    times_a, times_b, result_a, result_b = [], [], None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result_a = a()
        times_a.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result_b = b()
        times_b.append(time.perf_counter() - t0)
    return statistics.median(times_a), result_a, statistics.median(times_b), result_b


def write_images(folder: Path, n: int, size: int, seed: int = 1) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        scale = 0.03 if i < n // 2 else 0.063
        header = make_wcs_header((size, size), RA0, DEC0, scale, rotation_deg=7.0 * i)
        data = rng.normal(0.0, 0.01, (size, size)).astype(np.float32)
        wcs = WCS(header)
        x, y = wcs.all_world2pix([[RA0, DEC0]], 0)[0]
        inject(data, PsfModel.gaussian(2.5), np.array([x]), np.array([y]), np.array([500.0]))
        primary = fits.PrimaryHDU()
        primary.header.update({"TELESCOP": "JWST", "INSTRUME": "NIRCAM", "FILTER": FILTERS[i % len(FILTERS)]})
        sci = fits.ImageHDU(data, header, name="SCI")
        sci.header["BUNIT"] = "MJy/sr"
        path = folder / f"img{i:02d}_{FILTERS[i % len(FILTERS)]}.fits"
        fits.HDUList([primary, sci]).writeto(path)
        paths.append(path)
    return paths


def direct_sed(paths: list[Path], radius_arcsec: float) -> list[float]:
    """The same measurement with astropy and photutils called directly."""
    out = []
    sky = SkyCoord(RA0 * u.deg, DEC0 * u.deg)
    for path in paths:
        with fits.open(path, memmap=True) as hdul:
            data, header = hdul[1].data, hdul[1].header
            wcs = WCS(header)
            x, y = wcs.world_to_pixel(sky)
            scale = abs(header["CDELT2"]) * 3600
            r = radius_arcsec / scale
            aperture = CircularAperture((x, y), r=r)
            annulus = CircularAnnulus((x, y), r_in=2 * r, r_out=3 * r)
            background = ApertureStats(data, annulus, sigma_clip=SigmaClip(sigma=3.0, maxiters=10)).median
            total = aperture_photometry(data, aperture, method="exact")["aperture_sum"][0]
            area_sr = (scale / 206264.806) ** 2
            out.append(float((total - background * aperture.area) * 1e12 * area_sr))
    return out


def bench_sed(root: Path, paths: list[Path], repeat: int) -> None:
    settings = Settings(root=root, demo=False, disk_cache=False)
    images = ImageStore(settings)
    index = FootprintIndex(settings.files_dir, images)
    t0 = time.perf_counter()
    index.refresh()
    build = time.perf_counter() - t0
    request = SedRequest(ra_deg=RA0, dec_deg=DEC0, radius_arcsec=0.3, aperture_correction=False)

    def ours() -> list[float]:
        found = [c.footprint for c in index.covering(RA0, DEC0)]
        answer = measure_sed(images.get, found, request, settings.psf_dir, settings.kernels_dir)
        return [p["flux_ujy"] for p in answer["points"]]

    t0 = time.perf_counter()
    first = ours()
    cold = time.perf_counter() - t0
    warm, fluxes, base, direct = interleaved(ours, lambda: direct_sed(paths, 0.3), repeat)
    agree = max(abs(a / b - 1) for a, b in zip(sorted(fluxes), sorted(direct), strict=True))
    print(f"\n== SED of one source across {len(paths)} images ({len(first)} points)")
    print(f"footprint index built from the headers: {build:.3f} s; first SED (opens every file): {cold:.3f} s")
    print(f"{'':40s} {'Neloura':>10s} {'direct':>10s} {'ratio':>8s}")
    print(f"{'SED (covering + photometry), warm':40s} {warm:10.4f} {base:10.4f} {base / warm:7.2f}x  s")
    print(f"largest relative difference of the fluxes: {agree:.2e}")
    images.close()


def direct_cutouts(paths: list[Path], ra: np.ndarray, dec: np.ndarray, size_arcsec: float) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in paths:
            with fits.open(path, memmap=True) as hdul:
                data, wcs = hdul[1].data, WCS(hdul[1].header)
                x, y = wcs.world_to_pixel(SkyCoord(ra * u.deg, dec * u.deg))
                inside = (x >= -0.5) & (x < data.shape[1] - 0.5) & (y >= -0.5) & (y < data.shape[0] - 0.5)
                for i in np.flatnonzero(inside):
                    cut = Cutout2D(data, SkyCoord(ra[i] * u.deg, dec[i] * u.deg), size_arcsec * u.arcsec, wcs=wcs,
                                   mode="partial")  # fmt: skip
                    one = io.BytesIO()
                    fits.PrimaryHDU(cut.data, cut.wcs.to_header()).writeto(one)
                    archive.writestr(f"{i}/{path.stem}.fits", one.getvalue())
    return buffer.getvalue()


def bench_cutouts(root: Path, paths: list[Path], n_sources: int, repeat: int) -> None:
    settings = Settings(root=root, demo=False, disk_cache=False)
    images = ImageStore(settings)
    index = FootprintIndex(settings.files_dir, images)
    rng = np.random.default_rng(2)
    half = 40.0 / 3600  # inside every image at 4096² (the smallest covers 123")
    ra = RA0 + rng.uniform(-half, half, n_sources) / np.cos(np.radians(DEC0))
    dec = DEC0 + rng.uniform(-half, half, n_sources)
    sources = [(str(i), float(a), float(b)) for i, (a, b) in enumerate(zip(ra, dec, strict=True))]
    footprints = [fp for fp in index.footprints() if fp.pixels(ra, dec)[2].any()]
    specs = [{"file": str(settings.files_dir / fp.path), "path": fp.path, "hdu": fp.hdu, "label": label(fp),
              "filter": fp.filter, "meta": fp.meta} for fp in footprints]  # fmt: skip
    out = root / "out"

    def ours(pdf: bool) -> dict:
        return batch_task(lambda *_: None, sources=sources, images=specs, size_arcsec=3.0, north_up_scale=None,
                          out_dir=str(out), tag="bench", pdf=pdf)  # fmt: skip

    t_zip, result, base, _ = interleaved(lambda: ours(False), lambda: direct_cutouts(paths, ra, dec, 3.0), repeat)
    t_pdf, _ = timed(lambda: ours(True), 1)
    print(f"\n== {n_sources} batch cutouts across {len(paths)} images ({result['n_cutouts']} cutouts written)")
    print(f"{'':40s} {'Neloura':>10s} {'direct':>10s} {'ratio':>8s}")
    print(f"{'zip of FITS':40s} {t_zip:10.3f} {base:10.3f} {base / t_zip:7.2f}x  s")
    print(f"{'zip of FITS + multi-page PDF':40s} {t_pdf:10.3f} {'':>10s} {'':>8s}  s")
    images.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10, help="images for the SED")
    parser.add_argument("--size", type=int, default=4096, help="image side in pixels")
    parser.add_argument("--sources", type=int, default=500, help="sources of the batch cutouts")
    parser.add_argument("--cutout-images", type=int, default=5, help="images of the batch cutouts")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-sed-"))
    try:
        sed_root, cut_root = base / "sed", base / "cut"
        for folder in (sed_root, cut_root):
            Settings(root=folder, demo=False, disk_cache=False).ensure_folders()
        t0 = time.perf_counter()
        paths = write_images(sed_root / "files", args.images, args.size)
        cut_paths = write_images(cut_root / "files", args.cutout_images, args.size, seed=3)
        print(f"wrote {args.images + args.cutout_images} images of {args.size}² in {time.perf_counter() - t0:.1f} s")
        bench_sed(sed_root, paths, args.repeat)
        bench_cutouts(cut_root, cut_paths, args.sources, args.repeat)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
