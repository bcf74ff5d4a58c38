"""Detection benchmark: one seeded 4096² field (5,000 Gaussian stars, FWHM 3 px, peak S/N 2-500
log-uniform, noise sigma 1 over a flat sky of 100) through Neloura's detector and, in the same run,
photutils DAOStarFinder, photutils find_peaks and sep.extract (each with its own background step).

Prints time (median of --runs), precision and recall (all, S/N >= 5, S/N >= 10); S/N is the peak
amplitude over the noise sigma; a detection matches a star within 1.5 px.

    .venv/bin/python benchmarks/bench_detection.py [--size 4096] [--stars 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np
from _common import timed
from scipy.spatial import cKDTree

from neloura.core.detection import find_sources
from neloura.core.synthetic import add_gaussian_sources

FWHM = 3.0
SIGMA = FWHM / 2.3548200450309493


def make_field(size: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(3, size - 4, n), rng.uniform(3, size - 4, n)
    snr = np.exp(rng.uniform(np.log(2.0), np.log(500.0), n))
    image = rng.normal(100.0, 1.0, (size, size))
    add_gaussian_sources(image, x, y, snr * 2 * np.pi * SIGMA**2, FWHM)
    return image.astype(np.float32), np.column_stack([x, y]), snr


def score(found: np.ndarray, truth: np.ndarray, snr: np.ndarray) -> tuple[float, float, float, float]:
    if len(found) == 0:
        return 0.0, 0.0, 0.0, 0.0
    dist, _ = cKDTree(found).query(truth, distance_upper_bound=1.5)
    hit = np.isfinite(dist)
    back, _ = cKDTree(truth).query(found, distance_upper_bound=1.5)
    precision = float(np.isfinite(back).mean())
    return precision, float(hit.mean()), float(hit[snr >= 5].mean()), float(hit[snr >= 10].mean())


def neloura(image: np.ndarray, threshold: float) -> np.ndarray:
    table = find_sources(image, threshold, FWHM)
    return np.column_stack([table["x_pix"], table["y_pix"]])


def _photutils_background(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from photutils.background import Background2D

    bkg = Background2D(image, 64)
    return image - bkg.background, bkg.background_rms


def dao(image: np.ndarray, threshold: float) -> np.ndarray:
    from photutils.detection import DAOStarFinder

    data, rms = _photutils_background(image)
    table = DAOStarFinder(threshold * float(np.median(rms)), FWHM)(data)
    return np.empty((0, 2)) if table is None else np.column_stack([table["x_centroid"], table["y_centroid"]])


def peaks(image: np.ndarray, threshold: float) -> np.ndarray:
    from photutils.detection import find_peaks

    data, rms = _photutils_background(image)
    table = find_peaks(data, threshold * rms, box_size=5)
    return np.empty((0, 2)) if table is None else np.column_stack([table["x_peak"], table["y_peak"]])


def sep_extract(image: np.ndarray, threshold: float) -> np.ndarray:
    import sep

    data = image.astype(np.float64)
    bkg = sep.Background(data, bw=64, bh=64)
    objects = sep.extract(data - bkg.back(), threshold, err=bkg.globalrms, minarea=3)
    return np.column_stack([objects["x"], objects["y"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--stars", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=5.0, help="Neloura: matched-filter sigmas")
    parser.add_argument("--dao-threshold", type=float, default=5.0, help="DAOStarFinder: x background rms")
    parser.add_argument("--peaks-threshold", type=float, default=5.0, help="find_peaks: x background rms")
    parser.add_argument("--sep-threshold", type=float, default=2.0, help="sep.extract: x global rms")
    parser.add_argument("--only", default="", help="comma list: neloura,dao,find_peaks,sep")
    args = parser.parse_args()
    image, truth, snr = make_field(args.size, args.stars, args.seed)
    methods: dict[str, tuple[Callable[[np.ndarray, float], np.ndarray], float]] = {
        "neloura": (neloura, args.threshold),
        "dao": (dao, args.dao_threshold),
        "find_peaks": (peaks, args.peaks_threshold),
        "sep": (sep_extract, args.sep_threshold),
    }
    chosen = [m for m in methods if not args.only or m in args.only.split(",")]
    print(f"field {args.size}² , {args.stars} stars, FWHM {FWHM} px, peak S/N 2-500; median of {args.runs} runs")
    head = f"{'method':<12}{'thresh':>7}{'time s':>9}{'x first':>8}{'found':>7}{'precision':>11}"
    print(head + f"{'recall':>8}{'S/N>=5':>8}{'S/N>=10':>9}")
    baseline = None
    for name in chosen:
        func, threshold = methods[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            median, found = timed(lambda: func(image, threshold), args.runs)  # noqa: B023 - called right here
        baseline = baseline or median
        p, r, r5, r10 = score(found, truth, snr)
        row = f"{name:<12}{threshold:>7.1f}{median:>9.3f}{median / baseline:>8.2f}{len(found):>7}{p:>11.4f}"
        print(row + f"{r:>8.3f}{r5:>8.3f}{r10:>9.3f}")
    print("time includes background estimation for every method")


if __name__ == "__main__":
    main()
