"""Histogram of physical values over the plane's sample, with the current limits.

The sample is the one the default limits come from (:meth:`ImagePlane.sample`: finite values on
a regular grid over the whole plane), so the histogram and the display agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neloura.errors import InvalidParameter

MAX_BINS = 10_000


@dataclass(frozen=True)
class Histogram:
    """``counts[i]`` values fall in ``[edges[i], edges[i+1])`` (the last bin includes its right
    edge); ``below``/``above`` count the finite sample values outside ``[vmin, vmax]``."""

    counts: np.ndarray
    edges: np.ndarray
    vmin: float
    vmax: float
    below: int
    above: int
    sample_size: int


def histogram(sample: np.ndarray, bins: int, vmin: float, vmax: float) -> Histogram:
    """Histogram of the finite values of ``sample`` in ``bins`` equal bins over ``[vmin, vmax]``."""
    if not 1 <= bins <= MAX_BINS:
        raise InvalidParameter(f"bins must be 1..{MAX_BINS}, got {bins}")
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
        raise InvalidParameter(f"need finite vmin < vmax, got {vmin}, {vmax}")
    values = np.asarray(sample).ravel()
    values = values[np.isfinite(values)]
    counts, edges = np.histogram(values, bins=bins, range=(vmin, vmax))
    return Histogram(
        counts=counts.astype(np.int64),
        edges=edges,
        vmin=float(vmin),
        vmax=float(vmax),
        below=int(np.count_nonzero(values < vmin)),
        above=int(np.count_nonzero(values > vmax)),
        sample_size=int(values.size),
    )
