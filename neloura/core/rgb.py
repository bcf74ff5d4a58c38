"""Colour composites of 2-5 channels on one pixel grid: additive in linear light, or Lupton asinh.

Additive composite (the default): each visible channel is scaled to ``x = (value - vmin) / (vmax -
vmin)`` clipped to [0, 1] and stretched exactly as a single-image tile (the same 65,536-entry table,
so a channel looks as it does alone), the stretched value ``s`` is taken as an sRGB-encoded grey and
turned into linear light, multiplied by the channel's colour (also in linear light) and its weight,
and the channels are summed; the sum is clipped to [0, 1] and encoded back to sRGB. One channel
with colour ``#ffffff`` is therefore exactly its grey tile, and pure ``#ff0000``/``#00ff00``/``#0000ff``
channels give the classic RGB composite. A pixel where every visible channel is blank is transparent;
a channel blank at a pixel adds nothing there.

Lupton composite (Lupton et al. 2004, astropy :func:`~astropy.visualization.make_lupton_rgb`): the
channels, each normalised to ``(value - vmin) / (vmax - vmin)`` and weighted, are mixed into linear
R, G, B planes through their colours and stretched together by ``asinh(Q I / stretch) / Q`` of their
mean intensity ``I``, which keeps the colour of bright sources instead of saturating them white.

Arrays are float32 physical values in display orientation (row 0 = top), all of one shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from astropy.visualization import make_lupton_rgb

from neloura.core import stretch as stretches
from neloura.core.colormaps import parse_color
from neloura.errors import InvalidParameter

MAX_CHANNELS = 5
MIN_CHANNELS = 2
MODES = ("add", "lupton")
_ENCODE_STEPS = 4096  # linear -> sRGB table resolution (finer than 8-bit output everywhere)


def hex_color(text: str) -> str:
    """Normalised ``#rrggbb`` of a hex colour (``#`` optional) or a colour name; 422 otherwise."""
    r, g, b, _ = parse_color(text)
    return f"#{r:02x}{g:02x}{b:02x}"


def srgb_to_linear(c: np.ndarray | float) -> np.ndarray:
    """sRGB-encoded values in [0, 1] -> linear light (IEC 61966-2-1)."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray | float) -> np.ndarray:
    """Linear light in [0, 1] -> sRGB-encoded values."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


# palette index (0..254 data, 255 blank) -> linear light of the grey it shows
_INDEX_TO_LINEAR = np.append(srgb_to_linear(np.arange(255) / 254.0), 0.0).astype(np.float32)
_LINEAR_TO_BYTE = np.rint(linear_to_srgb(np.arange(_ENCODE_STEPS + 1) / _ENCODE_STEPS) * 255).astype(np.uint8)


@dataclass(frozen=True)
class ChannelDisplay:
    """How one channel is drawn. ``lut`` is its :func:`neloura.core.stretch.lookup_table`."""

    color: str  # #rrggbb
    vmin: float
    vmax: float
    lut: np.ndarray
    visible: bool = True
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.vmin) and np.isfinite(self.vmax) and self.vmin < self.vmax):
            raise InvalidParameter(f"vmin ({self.vmin}) must be smaller than vmax ({self.vmax})")
        if not (np.isfinite(self.weight) and 0 <= self.weight <= 100):
            raise InvalidParameter(f"weight must be between 0 and 100, got {self.weight}")

    @property
    def rgb(self) -> np.ndarray:
        """The colour as sRGB floats in [0, 1]."""
        return np.array([int(self.color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64) / 255.0


def _check(values: Sequence[np.ndarray], displays: Sequence[ChannelDisplay]) -> tuple[int, int]:
    if len(values) != len(displays) or not MIN_CHANNELS <= len(values) <= MAX_CHANNELS:
        raise InvalidParameter(f"a composite has {MIN_CHANNELS} to {MAX_CHANNELS} channels, got {len(values)}")
    shapes = {np.shape(v) for v in values}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"channels must be 2-D arrays of one shape, got {shapes}")
    h, w = next(iter(shapes))
    return int(h), int(w)


def compose_add(values: Sequence[np.ndarray], displays: Sequence[ChannelDisplay]) -> np.ndarray:
    """RGBA uint8 ``(h, w, 4)`` of the additive composite (see the module docstring)."""
    h, w = _check(values, displays)
    total = np.zeros((h, w, 3), dtype=np.float32)
    seen = np.zeros((h, w), dtype=bool)
    for data, d in zip(values, displays, strict=True):
        if not d.visible or d.weight == 0:
            continue
        index = stretches.apply(data, d.vmin, d.vmax, d.lut)
        seen |= index != stretches.NAN_INDEX
        light = _INDEX_TO_LINEAR[index]
        for k, c in enumerate(srgb_to_linear(d.rgb) * d.weight):
            if c:
                total[..., k] += light * np.float32(c)
    return _rgba(total, seen)


def compose_lupton(
    values: Sequence[np.ndarray], displays: Sequence[ChannelDisplay], q: float = 8.0, stretch: float = 0.5
) -> np.ndarray:
    """RGBA uint8 of the Lupton asinh composite through astropy's ``make_lupton_rgb``."""
    h, w = _check(values, displays)
    if not (np.isfinite(q) and 0 < q <= 1e4 and np.isfinite(stretch) and 0 < stretch <= 1e4):
        raise InvalidParameter("Lupton Q and stretch must be positive numbers (up to 1e4)")
    planes = np.zeros((3, h, w), dtype=np.float64)
    seen = np.zeros((h, w), dtype=bool)
    for data, d in zip(values, displays, strict=True):
        if not d.visible or d.weight == 0:
            continue
        finite = np.isfinite(data)
        seen |= finite
        x = np.where(finite, (np.asarray(data, np.float64) - d.vmin) / (d.vmax - d.vmin), 0.0) * d.weight
        for k, c in enumerate(d.rgb):
            if c:
                planes[k] += x * c
    with np.errstate(invalid="ignore", divide="ignore"):  # astropy divides by a zero intensity
        rgb = make_lupton_rgb(planes[0], planes[1], planes[2], minimum=0.0, stretch=stretch, Q=q)
    out = np.empty((h, w, 4), dtype=np.uint8)
    out[..., :3] = rgb
    out[..., 3] = np.where(seen, 255, 0)
    out[~seen, :3] = 0
    return out


def _rgba(total: np.ndarray, seen: np.ndarray) -> np.ndarray:
    np.clip(total, 0.0, 1.0, out=total)
    codes = np.rint(total * np.float32(_ENCODE_STEPS)).astype(np.int32)
    out = np.empty((*seen.shape, 4), dtype=np.uint8)
    out[..., :3] = _LINEAR_TO_BYTE[codes]
    out[..., 3] = np.where(seen, 255, 0)
    return out


# Peak bytes per pixel of a composite: ``add`` sums linear light in float32 (RGB) with an index,
# a light plane and int32 codes; ``lupton`` holds three float64 planes and make_lupton_rgb's copies.
COMPOSE_BYTES_PER_PIXEL = {"add": 48, "lupton": 160}


def compose_bytes(height: int, width: int, mode: str = "add") -> int:
    """Peak memory of :func:`compose` for a ``height`` x ``width`` composite (the RGBA included)."""
    return int(height) * int(width) * COMPOSE_BYTES_PER_PIXEL.get(mode, max(COMPOSE_BYTES_PER_PIXEL.values()))


def compose(
    values: Sequence[np.ndarray],
    displays: Sequence[ChannelDisplay],
    mode: str = "add",
    *,
    q: float = 8.0,
    stretch: float = 0.5,
) -> np.ndarray:
    """The composite of ``mode`` (``add`` or ``lupton``) as RGBA uint8."""
    if mode == "add":
        return compose_add(values, displays)
    if mode == "lupton":
        return compose_lupton(values, displays, q, stretch)
    raise InvalidParameter(f"unknown composite mode {mode!r}; use add or lupton")
