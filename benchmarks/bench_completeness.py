"""Artificial-source benchmark: injections per second on 1 and 2 local cores (and, optionally,
a Dask LocalCluster), for the target run of the issue: 500 sources x 20 iterations on a seeded
2048² image (2,000 background stars, FWHM 3 px, noise sigma 1). Target: <= 60 s on 2 cores.

    .venv/bin/python benchmarks/bench_completeness.py [--size 2048] [--n 500] [--iterations 20] [--dask]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from neloura.core.completeness import CompletenessConfig, run_completeness
from neloura.core.psf import PsfModel
from neloura.core.synthetic import add_gaussian_sources


def make_image(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, 1.0, (size, size))
    n = 2000 * (size // 2048) ** 2 or 500
    flux = np.exp(rng.uniform(np.log(20), np.log(5000), n))
    add_gaussian_sources(image, rng.uniform(0, size, n), rng.uniform(0, size, n), flux, 3.0)
    return image.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--workers", default="1,2", help="comma list of local process counts")
    parser.add_argument("--dask", action="store_true", help="also run on a 2-worker distributed.LocalCluster")
    args = parser.parse_args()
    image = make_image(args.size, 1)
    config = CompletenessConfig(
        n_per_iteration=args.n,
        iterations=args.iterations,
        flux_range=(5.0, 500.0),
        seed=1,
        detection={"threshold_sigma": 5.0, "fwhm_px": 3.0},
    )
    psf = PsfModel.gaussian(3.0)
    total = args.n * args.iterations
    print(f"{args.size}² image, {args.n} sources x {args.iterations} iterations = {total} injections")
    print(f"{'runner':<14}{'time s':>9}{'inj/s':>9}{'x 1 core':>10}{'flux_50':>10}")
    base = None
    runs: list[tuple[str, dict[str, object]]] = [
        (f"{w} core(s)", {"n_workers": int(w)}) for w in args.workers.split(",")
    ]
    cluster = None
    if args.dask:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        runs.append(("dask 2 workers", {"dask_address": cluster.scheduler_address}))
    for label, kwargs in runs:
        start = time.perf_counter()
        out = run_completeness(image, config, psf, **kwargs)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        base = base or elapsed
        f50 = out["summary"]["flux_50"]
        print(f"{label:<14}{elapsed:>9.2f}{total / elapsed:>9.0f}{base / elapsed:>10.2f}{f50:>10.3f}")
    if cluster is not None:
        cluster.close()
    print("times include worker start-up (forked processes) and the baseline detection")


if __name__ == "__main__":
    main()
