"""Aperture photometry at many positions: ours (exact overlaps, local clipped annulus, shapes)
against photutils called directly in the same run (``aperture_photometry(method="exact")`` for the
sums, plus ``ApertureStats`` with sigma clipping for the annulus, which is what our one call does).

    python benchmarks/bench_photometry.py [--size 4096] [--sources 5000] [--radius 4] [--repeat 5]

Prints the median time of each and the largest relative difference of the aperture sums.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import timed
from astropy.stats import SigmaClip
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture
from photutils.aperture import aperture_photometry as photutils_photometry

from neloura.core.photometry import aperture_photometry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--sources", type=int, default=5000)
    parser.add_argument("--radius", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(1)
    image = rng.normal(10.0, 1.0, (args.size, args.size)).astype(np.float32)
    x = rng.uniform(20, args.size - 20, args.sources)
    y = rng.uniform(20, args.size - 20, args.sources)
    r = args.radius
    inner, outer = r + 2.0, r + 2.0 + max(4.0, r)
    positions = np.column_stack([x, y])

    ours_s, ours = timed(lambda: aperture_photometry(image, x, y, r, annulus_px=(inner, outer)), args.repeat)

    def reference() -> np.ndarray:
        sums = photutils_photometry(image, CircularAperture(positions, r=r), method="exact")["aperture_sum"]
        sky = ApertureStats(image, CircularAnnulus(positions, inner, outer), sigma_clip=SigmaClip(3.0, maxiters=3))
        return np.asarray(sums) - np.asarray(sky.median) * np.pi * r**2

    ref_s, ref_flux = timed(reference, args.repeat)
    sums_only_s, _ = timed(
        lambda: photutils_photometry(image, CircularAperture(positions, r=r), method="exact"), args.repeat
    )
    raw = np.asarray(ours["flux"]) + np.asarray(ours["sky"]) * np.pi * r**2
    exact = np.asarray(photutils_photometry(image, CircularAperture(positions, r=r), method="exact")["aperture_sum"])
    print(
        f"image {args.size}², {args.sources} sources, r = {r} px, annulus {inner}-{outer} px, median of {args.repeat}"
    )
    print(f"{'what':<58} {'time (s)':>9}")
    print(f"{'neloura aperture_photometry (exact sums + clipped annulus)':<58} {ours_s:>9.3f}")
    print(f"{'photutils aperture_photometry exact + ApertureStats annulus':<58} {ref_s:>9.3f}")
    print(f"{'photutils aperture_photometry exact (sums only)':<58} {sums_only_s:>9.3f}")
    print(f"speed-up vs photutils (same measurements): {ref_s / ours_s:.1f}x")
    print(f"max relative difference of the aperture sums: {np.max(np.abs(raw / exact - 1)):.2e}")
    pull = np.median(np.abs(ours["flux"] - ref_flux) / ours["flux_err"])
    print(f"median |flux difference| / flux_err vs photutils: {pull:.3f}")


if __name__ == "__main__":
    main()
