"""Detection purity on the demo galaxy (``files/demo/galaxy.fits``, SCI) against its truth catalog
(``catalogs/demo_sources.csv``, every injected star, knot and background galaxy).

A detection is false when no true source lies within ``--false-px`` (8 px, as in issue 14); a true
source is recovered when a detection lies within ``--match-px`` (2 px, about one FWHM). Rows:
Neloura's defaults, the previous defaults (64 px mesh, no aperture-S/N cut) and, in the same run,
sep.extract (3 sigma per pixel after its default 3x3 filter, 5 pixels, its own 64 px background map)
and photutils DAOStarFinder (5 sigma of a global clipped background).
Prints time (median of --runs), detections, false detections, precision and recall per kind.

    .venv/bin/python benchmarks/bench_detection_purity.py [--runs 3]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np
from _common import timed
from scipy.spatial import cKDTree

from neloura.core.demo import make_galaxy_field
from neloura.core.detection import find_sources

FWHM = 3.0  # the detection panel's default filter (the demo PSF is 2.1 px)


def neloura_default(data: np.ndarray) -> np.ndarray:
    table = find_sources(data, 5.0, FWHM)
    return np.column_stack([table["x_pix"], table["y_pix"]])


def neloura_previous(data: np.ndarray) -> np.ndarray:
    table = find_sources(data, 5.0, FWHM, box_px=64, min_snr=0)
    return np.column_stack([table["x_pix"], table["y_pix"]])


def sep_extract(data: np.ndarray) -> np.ndarray:
    import sep

    work = np.ascontiguousarray(data, dtype=np.float64)
    mask = ~np.isfinite(work)
    work[mask] = 0.0
    bkg = sep.Background(work, mask=mask, bw=64, bh=64)
    sep.set_extract_pixstack(2_000_000)
    found = sep.extract(work - bkg.back(), 3.0, err=bkg.rms(), mask=mask, minarea=5)
    return np.column_stack([found["x"], found["y"]])


def daofind(data: np.ndarray) -> np.ndarray:
    from astropy.stats import sigma_clipped_stats
    from photutils.detection import DAOStarFinder

    _, median, std = sigma_clipped_stats(data[np.isfinite(data)], sigma=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = DAOStarFinder(5.0 * std, FWHM)(np.nan_to_num(data - median), mask=~np.isfinite(data))
    if found is None:
        return np.empty((0, 2))
    return np.column_stack([found["x_centroid"], found["y_centroid"]])


def score(
    found: np.ndarray, truth_xy: np.ndarray, kinds: np.ndarray, false_px: float, match_px: float
) -> dict[str, float]:
    if len(found) == 0:
        return {"n": 0, "false": 0, "precision": 0.0, **{k: 0.0 for k in ("star", "knot", "galaxy")}}
    dist, _ = cKDTree(truth_xy).query(found)
    back, _ = cKDTree(found).query(truth_xy)
    hit = back <= match_px
    out: dict[str, float] = {"n": len(found), "false": int((dist > false_px).sum())}
    out["precision"] = 1.0 - out["false"] / len(found)
    for kind in ("star", "knot", "galaxy"):
        out[kind] = float(hit[kinds == kind].mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--false-px", type=float, default=8.0)
    parser.add_argument("--match-px", type=float, default=2.0)
    args = parser.parse_args()
    hdus, truth = make_galaxy_field()
    data = np.asarray(hdus["SCI"].data, dtype=np.float32)
    truth_xy = np.column_stack([truth["x_pix"], truth["y_pix"]])
    kinds = np.asarray(truth["kind"])
    methods: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
        ("neloura (defaults)", neloura_default),
        ("neloura (64 px, no S/N cut)", neloura_previous),
        ("sep.extract (64 px, 3 sigma)", sep_extract),
        ("photutils DAOStarFinder", daofind),
    ]
    print(f"demo galaxy 2048x2048: {len(truth)} true sources ({(kinds == 'star').sum()} stars)")
    heads = ("time s", "found", "false", "precision", "stars", "knots", "gals")
    print(f"{'method':30s} " + " ".join(f"{h:>{max(6, len(h))}s}" for h in heads))
    for name, fn in methods:
        seconds, found = timed(lambda fn=fn: fn(data), args.runs)
        s = score(found, truth_xy, kinds, args.false_px, args.match_px)
        print(
            f"{name:30s} {seconds:7.2f} {s['n']:6d} {s['false']:6d} {s['precision']:9.3f} "
            f"{s['star']:6.3f} {s['knot']:6.3f} {s['galaxy']:6.3f}"
        )


if __name__ == "__main__":
    main()
