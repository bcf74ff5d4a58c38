"""Local background and noise mesh: ours (``estimate_background``) against photutils
``Background2D`` with the same mesh, filter and estimators, called directly in the same run.

    python benchmarks/bench_background.py [--size 4096] [--box 64] [--repeat 3]

Prints the median times and how far the two skies and noises are apart (in noise sigmas).
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import timed
from astropy.stats import SigmaClip
from photutils.background import Background2D, MedianBackground, StdBackgroundRMS

from neloura.core.background import clip_correction, estimate_background
from neloura.core.synthetic import add_gaussian_sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--box", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    n, sigma = args.size, 2.0
    image = rng.normal(100.0, sigma, (n, n)).astype(np.float32)
    count = n * n // 2000
    add_gaussian_sources(image, rng.uniform(0, n, count), rng.uniform(0, n, count), rng.uniform(50, 2000, count), 3.0)

    ours_s, ours = timed(
        lambda: estimate_background(image, args.box, nsigma=3.0, maxiters=5, filter_size=3), args.repeat
    )

    def reference() -> Background2D:
        return Background2D(
            image,
            args.box,
            filter_size=3,
            sigma_clip=SigmaClip(3.0, maxiters=5),
            bkg_estimator=MedianBackground(),
            bkg_rms_estimator=StdBackgroundRMS(),
        )

    ref_s, ref = timed(reference, args.repeat)
    sky_s, sky = timed(ours.sky_image, 1)
    yy, xx = np.mgrid[:n:16, :n:16]
    ours_rms = ours.rms_at(xx.ravel(), yy.ravel()) / clip_correction(3.0)
    ratio = ours_rms / ref.background_rms[::16, ::16].ravel()
    difference = np.abs(sky - ref.background) / sigma
    print(f"{n}² float32, {count} stars, box {args.box} px, filter 3, 3-sigma clip x5; median of {args.repeat}")
    print(f"{'neloura estimate_background (mesh)':<44} {ours_s:8.3f} s")
    print(f"{'neloura sky_image (full-resolution sky)':<44} {sky_s:8.3f} s")
    print(f"{'photutils Background2D (mesh + full images)':<44} {ref_s:8.3f} s")
    print(f"speed-up (mesh + full sky vs Background2D): {ref_s / (ours_s + sky_s):.1f}x")
    p99 = np.percentile(difference, 99)
    print(f"|sky difference| / sigma: median {np.median(difference):.4f}, 99th percentile {p99:.4f}")
    print(f"noise ratio (ours / clip correction / Background2D): median {np.median(ratio):.4f}")


if __name__ == "__main__":
    main()
