"""What the display controls show besides tiles: colormap swatches and colorbar ticks.

The colorbar runs in display space (palette index 0..254, left to right); its ticks are the
physical values at evenly spaced display positions, found by inverting the stretch numerically
on the same grid the tile lookup tables use, so ticks and tiles always agree.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from neloura.core.colormaps import palette
from neloura.core.stretch import DATA_LEVELS, normalised_grid, stretch_values


def swatch_png(cmap: str, width: int = 128, height: int = 12, *, invert: bool = False) -> bytes:
    """A horizontal RGB strip of ``cmap`` (low values on the left)."""
    pal = palette(cmap, invert)
    idx = np.rint(np.linspace(0, DATA_LEVELS - 1, width)).astype(np.intp)
    row = pal.rgb[idx]
    strip = np.broadcast_to(row[None, :, :], (height, width, 3))
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(strip)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def colorbar_ticks(
    stretch: str,
    vmin: float,
    vmax: float,
    count: int = 6,
    *,
    exponent: float | None = None,
    sample: np.ndarray | None = None,
) -> list[tuple[float, float]]:
    """``count`` (position, physical value) pairs; position 0..1 along the bar."""
    grid = normalised_grid()
    y = stretch_values(stretch, grid, exponent, sample=sample, limits=(vmin, vmax))
    y = np.maximum.accumulate(y)  # guard against rounding wiggles: keep it monotonic for interp
    positions = np.linspace(0.0, 1.0, count)
    x = np.interp(positions, y, grid)
    values = _rounded(vmin + x * (vmax - vmin), vmin, vmax)
    # each rounded value sits where the stretch puts it (the same grid as the tiles)
    at = np.interp((values - vmin) / (vmax - vmin), grid, y) if vmax > vmin else positions[: len(values)]
    return [(float(p), float(v)) for p, v in zip(at, values, strict=True)]


def _rounded(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Tick values rounded to the power of ten below their gap to the nearest neighbour
    (0.1372 -> 0.14 when ticks are ~0.5 apart), kept inside [vmin, vmax] and distinct."""
    if len(values) < 2 or not vmax > vmin:
        return values
    gaps = np.abs(np.diff(values))
    local = np.minimum(np.r_[gaps, np.inf], np.r_[np.inf, gaps])
    local = np.where(np.isfinite(local) & (local > 0), local, vmax - vmin)
    step = 10.0 ** np.floor(np.log10(local))
    out = np.round(values / step) * step
    eps = 1e-9 * (vmax - vmin)
    out = np.where(out < vmin - eps, np.ceil(values / step) * step, out)
    out = np.where(out > vmax + eps, np.floor(values / step) * step, out)
    out = np.clip(out, vmin, vmax)
    out = np.round(out, 12) + 0.0  # no 0.30000000000000004, no -0.0
    keep = np.r_[True, np.diff(out) > 0]
    return out[keep]
