"""Display stretches through one lookup table.

A physical value ``v`` is first normalised to ``x = clip((v - vmin) / (vmax - vmin), 0, 1)``;
a stretch maps ``x`` to ``y`` in ``[0, 1]``; the palette index is ``round(y * 254)`` (0..254),
and NaN (blank, NaN, inf) gets index :data:`NAN_INDEX` = 255, whose palette colour is the NaN
colour. Rather than evaluating the stretch per pixel, :func:`lookup_table` evaluates it once on
:data:`LUT_SIZE` = 65,536 evenly spaced ``x`` and :func:`apply` quantises ``x`` to that grid,
so every stretch costs the same.

Formulas (DS9's scales are the reference; where DS9 ends slightly below 1 we divide by the value
at ``x = 1`` so that every stretch maps 0 -> 0 and 1 -> 1):

============ ================================================ =============================
name          y(x)                                            DS9
============ ================================================ =============================
linear        x                                               same
log           log10(a x + 1) / log10(a + 1), a = exponent     log10(a x + 1) / log10(a)
              (default 1000)
sqrt          sqrt(x)                                         same
squared       x ** 2                                          same
power         x ** p, p = exponent (default 2)                DS9 "pow" is (a**x - 1) / a
asinh         asinh(10 x) / asinh(10)                         asinh(10 x) / 3
sinh          sinh(3 x) / sinh(3)                             sinh(3 x) / 10
histequ       F(x): fraction of the sample below vmin + x (vmax - vmin), counting only the sample
              inside [vmin, vmax] (histogram equalisation: equal area per display level)
============ ================================================ =============================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neloura.errors import InvalidParameter

LUT_SIZE = 65_536
DATA_LEVELS = 255  # palette indices 0..254 carry data
NAN_INDEX = 255

DEFAULT_EXPONENT: dict[str, float] = {"log": 1000.0, "power": 2.0}


def _log(x: np.ndarray, a: float) -> np.ndarray:
    return np.log10(a * x + 1.0) / np.log10(a + 1.0)


def _power(x: np.ndarray, p: float) -> np.ndarray:
    return np.power(x, p)


FORMULAS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "linear": lambda x, _: x,
    "log": _log,
    "sqrt": lambda x, _: np.sqrt(x),
    "squared": lambda x, _: x * x,
    "power": _power,
    "asinh": lambda x, _: np.arcsinh(10.0 * x) / np.arcsinh(10.0),
    "sinh": lambda x, _: np.sinh(3.0 * x) / np.sinh(3.0),
}
STRETCHES: tuple[str, ...] = (*FORMULAS, "histequ")


def check_stretch(name: str, exponent: float | None = None) -> float:
    """Validate a stretch and its exponent; return the exponent to use."""
    if name not in STRETCHES:
        raise InvalidParameter(f"unknown stretch {name!r}; use one of {', '.join(STRETCHES)}")
    value = DEFAULT_EXPONENT.get(name, 1.0) if exponent is None else float(exponent)
    if not np.isfinite(value) or value <= 0 or value > 1e6:
        raise InvalidParameter(f"exponent must be a positive number up to 1e6, got {exponent}")
    if name == "log" and value == 0:
        raise InvalidParameter("log exponent must be positive")
    return value


def normalised_grid() -> np.ndarray:
    """The ``x`` values the table is evaluated on: ``i / (LUT_SIZE - 1)``."""
    return np.linspace(0.0, 1.0, LUT_SIZE)


def stretch_values(
    name: str,
    x: np.ndarray,
    exponent: float | None = None,
    *,
    sample: np.ndarray | None = None,
    limits: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Evaluate stretch ``name`` at normalised ``x`` in [0, 1] (float64)."""
    value = check_stretch(name, exponent)
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    if name == "histequ":
        return _histequ(x, sample, limits)
    return np.clip(FORMULAS[name](x, value), 0.0, 1.0)


def _histequ(x: np.ndarray, sample: np.ndarray | None, limits: tuple[float, float]) -> np.ndarray:
    vmin, vmax = limits
    if sample is None:
        raise InvalidParameter("histogram equalisation needs the image sample")
    inside = np.sort(sample[(sample >= vmin) & (sample <= vmax)].astype(np.float64))
    if inside.size == 0:
        return x
    values = vmin + x * (vmax - vmin)
    return np.searchsorted(inside, values, side="right") / inside.size


def lookup_table(
    name: str,
    exponent: float | None = None,
    *,
    sample: np.ndarray | None = None,
    limits: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """uint8 table of :data:`LUT_SIZE` palette indices (0..254) plus one last entry, index
    ``LUT_SIZE``, equal to :data:`NAN_INDEX` for NaN."""
    y = stretch_values(name, normalised_grid(), exponent, sample=sample, limits=limits)
    lut = np.empty(LUT_SIZE + 1, dtype=np.uint8)
    lut[:LUT_SIZE] = np.rint(y * (DATA_LEVELS - 1)).astype(np.uint8)
    lut[LUT_SIZE] = NAN_INDEX
    return lut


def apply(values: np.ndarray, vmin: float, vmax: float, lut: np.ndarray) -> np.ndarray:
    """Palette indices (uint8) of physical ``values`` through a :func:`lookup_table`."""
    if not vmax > vmin:
        raise InvalidParameter(f"vmin ({vmin}) must be smaller than vmax ({vmax})")
    scale = (LUT_SIZE - 1) / (float(vmax) - float(vmin))
    # five passes over a tile, each in place after the first (the same float32 arithmetic, in the
    # same order, as the earlier asarray / subtract / nan_to_num / fancy-index version: equal bytes)
    x = np.subtract(values, np.float32(vmin), dtype=np.float32)
    x *= np.float32(scale)
    x += np.float32(0.5)  # round to the nearest table entry
    np.clip(x, 0, LUT_SIZE - 1, out=x)  # +/-inf end here; NaN stays NaN
    np.copyto(x, np.float32(LUT_SIZE), where=np.isnan(x))
    return lut.take(x.astype(np.int32))
