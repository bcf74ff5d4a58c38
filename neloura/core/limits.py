"""Display limits (vmin, vmax) computed from a sample of physical values.

The sample is what :meth:`neloura.core.fitsio.ImagePlane.sample` returns: about a million
finite values spread over the whole plane (a regular grid of rows and columns), so the limits
describe the whole image, not its centre. Every function ignores NaN/inf and always returns a
finite pair with ``vmin < vmax`` (an empty or constant sample gets a unit-wide window), so the
result can feed a stretch directly.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from astropy.visualization import ZScaleInterval

from neloura.errors import InvalidParameter

LimitsMode = Literal["percentiles", "minmax", "zscale", "user"]
LIMIT_MODES: tuple[str, ...] = ("percentiles", "minmax", "zscale", "user")


def _finite(sample: np.ndarray) -> np.ndarray:
    values = np.asarray(sample).ravel()
    if values.dtype.kind not in "fiu":
        values = values.astype(np.float64)
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    return values


def _widen(vmin: float, vmax: float) -> tuple[float, float]:
    """A usable window: finite and strictly increasing."""
    if not (np.isfinite(vmin) and np.isfinite(vmax)):
        return 0.0, 1.0
    if vmax > vmin:
        return float(vmin), float(vmax)
    half = max(abs(vmin) * 1e-6, 0.5)
    return float(vmin - half), float(vmin + half)


def percentile_limits(sample: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """The ``low`` and ``high`` percentiles (0..100) of the finite values of ``sample``."""
    if not (0.0 <= low < high <= 100.0):
        raise InvalidParameter(f"percentiles must satisfy 0 <= low < high <= 100, got {low}, {high}")
    values = _finite(sample)
    if values.size == 0:
        return 0.0, 1.0
    vmin, vmax = np.percentile(values, [low, high])
    return _widen(float(vmin), float(vmax))


def minmax_limits(sample: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite value of ``sample``."""
    values = _finite(sample)
    if values.size == 0:
        return 0.0, 1.0
    return _widen(float(values.min()), float(values.max()))


def zscale_limits(sample: np.ndarray, contrast: float = 0.25) -> tuple[float, float]:
    """IRAF/DS9 zscale (astropy's :class:`~astropy.visualization.ZScaleInterval`)."""
    values = _finite(sample)
    if values.size == 0:
        return 0.0, 1.0
    vmin, vmax = ZScaleInterval(contrast=contrast).get_limits(values.astype(np.float64, copy=False))
    return _widen(float(vmin), float(vmax))


def compute_limits(
    sample: np.ndarray,
    mode: str = "percentiles",
    *,
    low: float = 0.5,
    high: float = 99.5,
    vmin: float | None = None,
    vmax: float | None = None,
) -> tuple[float, float]:
    """Limits by ``mode``: ``percentiles`` (``low``/``high``), ``minmax``, ``zscale`` or
    ``user`` (``vmin``/``vmax`` given; a missing one comes from the percentiles)."""
    if mode == "percentiles":
        return percentile_limits(sample, low, high)
    if mode == "minmax":
        return minmax_limits(sample)
    if mode == "zscale":
        return zscale_limits(sample)
    if mode == "user":
        return user_limits(sample, vmin, vmax, low=low, high=high)
    raise InvalidParameter(f"unknown limits mode {mode!r}; use one of {', '.join(LIMIT_MODES)}")


def user_limits(
    sample: np.ndarray, vmin: float | None, vmax: float | None, *, low: float = 0.5, high: float = 99.5
) -> tuple[float, float]:
    """User values; a missing one is filled from the percentile pair. ``vmin >= vmax`` is an error."""
    for name, v in (("vmin", vmin), ("vmax", vmax)):
        if v is not None and not np.isfinite(v):
            raise InvalidParameter(f"{name} must be a finite number, got {v}")
    if vmin is None or vmax is None:
        auto_min, auto_max = percentile_limits(sample, low, high)
        vmin = auto_min if vmin is None else vmin
        vmax = auto_max if vmax is None else vmax
    if not vmin < vmax:
        raise InvalidParameter(f"vmin ({vmin}) must be smaller than vmax ({vmax})")
    return float(vmin), float(vmax)
