"""Colormaps as 256-entry palettes for 8-bit index tiles.

Every matplotlib colormap is available under its matplotlib name, and so is its reverse
(``name_r``; matplotlib registers both). Palette entries 0..254 sample the colormap evenly from
its low end (0) to its high end (254); entry 255 (:data:`~neloura.core.stretch.NAN_INDEX`) is the
NaN colour. ``invert`` flips entries 0..254 (the colormap runs high to low). The NaN colour is
``transparent`` (alpha 0, the default), any CSS/matplotlib colour name, or ``#rrggbb[aa]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import matplotlib
import matplotlib.colors as mcolors
import numpy as np

from neloura.core.stretch import DATA_LEVELS, NAN_INDEX
from neloura.errors import InvalidParameter

TRANSPARENT = "transparent"


@dataclass(frozen=True)
class Palette:
    """``rgb``: (256, 3) uint8; ``alpha``: (256,) uint8 (255 = opaque)."""

    rgb: np.ndarray
    alpha: np.ndarray

    @cached_property
    def opaque(self) -> bool:
        return bool((self.alpha == 255).all())

    def rgba(self) -> np.ndarray:
        """(256, 4) uint8."""
        return np.concatenate([self.rgb, self.alpha[:, None]], axis=1)


def colormap_names() -> list[str]:
    """Every colormap name, reverses included, sorted case-insensitively."""
    return sorted(matplotlib.colormaps, key=str.lower)


def parse_color(text: str) -> tuple[int, int, int, int]:
    """RGBA 0..255 of ``transparent``, a colour name, or ``#rrggbb[aa]`` (``#`` optional)."""
    text = text.strip()
    if text.lower() == TRANSPARENT:
        return (0, 0, 0, 0)
    candidate = text
    if len(text) in (6, 8) and all(c in "0123456789abcdefABCDEF" for c in text):
        candidate = "#" + text
    try:
        rgba = mcolors.to_rgba(candidate)
    except (ValueError, TypeError) as exc:
        raise InvalidParameter(f"not a colour: {text!r} (use a name, #rrggbb, #rrggbbaa or transparent)") from exc
    r, g, b, a = (round(c * 255) for c in rgba)
    return (r, g, b, a)


@lru_cache(maxsize=512)
def palette(cmap: str = "gray", invert: bool = False, nan_color: str = TRANSPARENT) -> Palette:
    """The 256-entry palette of ``cmap`` (cached; treat as read-only)."""
    try:
        colormap = matplotlib.colormaps[cmap]
    except KeyError as exc:
        raise InvalidParameter(f"unknown colormap {cmap!r}; see the list of matplotlib colormaps") from exc
    positions = np.linspace(0.0, 1.0, DATA_LEVELS)
    if invert:
        positions = positions[::-1]
    rgba = np.rint(colormap(positions) * 255).astype(np.uint8)
    rgb = np.zeros((256, 3), dtype=np.uint8)
    alpha = np.full(256, 255, dtype=np.uint8)
    rgb[:DATA_LEVELS] = rgba[:, :3]
    alpha[:DATA_LEVELS] = rgba[:, 3]
    nan_rgba = parse_color(nan_color)
    rgb[NAN_INDEX] = nan_rgba[:3]
    alpha[NAN_INDEX] = nan_rgba[3]
    rgb.setflags(write=False)
    alpha.setflags(write=False)
    return Palette(rgb, alpha)
