"""Local background and noise on a coarse mesh (Background2D-style, sigma-clipped).

The image is cut into ``box_px`` x ``box_px`` boxes; in each box the sky is the sigma-clipped
median and the noise the sigma-clipped standard deviation (corrected for the clipping), a
3 x 3 median filter smooths the mesh and values between mesh nodes are interpolated bilinearly.
The estimate at a pixel therefore depends only on the pixels around it, never on how the image
was cut into pieces. NaN (and so BLANK and +/-inf, which :mod:`neloura.core.fitsio` turns into
NaN) is the only "no data" value: zero-valued pixels are data.

Pixel convention: arrays are ``data[y, x]`` with 0-based ``x``, ``y``; mesh node ``(j, i)`` sits
at pixel ``((i + 0.5) * box_px - 0.5, (j + 0.5) * box_px - 0.5)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special

from neloura.errors import InvalidParameter


def clip_correction(nsigma: float) -> float:
    """Ratio of the true sigma to the std of a normal distribution clipped at +/- nsigma."""
    phi = np.exp(-0.5 * nsigma**2) / np.sqrt(2.0 * np.pi)
    inside = special.erf(nsigma / np.sqrt(2.0))
    return float(1.0 / np.sqrt(1.0 - 2.0 * nsigma * phi / inside))


@dataclass(frozen=True)
class Background:
    """A background/noise mesh. ``sky`` and ``rms`` have shape (ny, nx) in image units."""

    sky: np.ndarray
    rms: np.ndarray
    box_px: int
    shape: tuple[int, int]

    def _interp(self, mesh: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear between mesh nodes, extrapolated linearly beyond the outermost nodes
        (a sky gradient keeps its slope up to the image edges)."""
        gx = (np.ravel(np.asarray(x, dtype=np.float64)) + 0.5) / self.box_px - 0.5
        gy = (np.ravel(np.asarray(y, dtype=np.float64)) + 0.5) / self.box_px - 0.5
        ny, nx = mesh.shape
        i0 = np.clip(np.floor(gx).astype(np.int64), 0, max(nx - 2, 0))
        j0 = np.clip(np.floor(gy).astype(np.int64), 0, max(ny - 2, 0))
        i1, j1 = np.minimum(i0 + 1, nx - 1), np.minimum(j0 + 1, ny - 1)
        tx = gx - i0 if nx > 1 else np.zeros_like(gx)
        ty = gy - j0 if ny > 1 else np.zeros_like(gy)
        m = mesh.astype(np.float64)
        top = m[j0, i0] * (1 - tx) + m[j0, i1] * tx
        bottom = m[j1, i0] * (1 - tx) + m[j1, i1] * tx
        result: np.ndarray = top * (1 - ty) + bottom * ty
        return result

    def sky_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Sky at 0-based pixel positions (bilinear between mesh nodes)."""
        return self._interp(self.sky, x, y)

    def rms_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Noise sigma at 0-based pixel positions (bilinear, never below a tenth of the median)."""
        return np.maximum(self._interp(self.rms, x, y), 0.1 * self.global_rms)

    def blocks(self, mesh: np.ndarray) -> np.ndarray:
        """A mesh array repeated to full image resolution (nearest node, no interpolation)."""
        full = np.repeat(np.repeat(mesh, self.box_px, axis=0), self.box_px, axis=1)
        return full[: self.shape[0], : self.shape[1]]

    def sky_image(self) -> np.ndarray:
        """The sky at every pixel (the same bilinear interpolation as :meth:`sky_at`), float32,
        as two small matrix products (bilinear weights are separable)."""
        ny, nx = self.sky.shape
        rows = _weights(ny, self.box_px, np.arange(self.shape[0]))
        cols = _weights(nx, self.box_px, np.arange(self.shape[1]))
        result: np.ndarray = (rows @ self.sky.astype(np.float64) @ cols.T).astype(np.float32)
        return result

    @property
    def global_rms(self) -> float:
        return float(np.median(self.rms))


def _box_stack(data: np.ndarray, box_px: int, stride: int) -> tuple[np.ndarray, int, int]:
    """Pixels of every box as rows of a (ny * nx, n) array, NaN-padded at the image edges."""
    height, width = data.shape
    ny, nx = -(-height // box_px), -(-width // box_px)
    if ny * box_px != height or nx * box_px != width:
        padded = np.full((ny * box_px, nx * box_px), np.nan, dtype=np.float32)
        padded[:height, :width] = data
    else:
        padded = data
    sub = padded[::stride, ::stride]
    side = box_px // stride
    stack = sub.reshape(ny, side, nx, side).transpose(0, 2, 1, 3).reshape(ny * nx, side * side)
    return np.asarray(stack, dtype=np.float32), ny, nx


def clipped_stats(rows: np.ndarray, nsigma: float, maxiters: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sigma-clipped median, std and kept count of each row (NaN ignored), from sorted rows."""
    srt = np.sort(rows, axis=1)  # NaN sort last
    finite = np.isfinite(srt)
    n = finite.sum(axis=1)
    # centre each row on its median first: float32 prefix sums then stay exact enough (and fast)
    centre = srt[np.arange(len(srt)), np.clip((n - 1) // 2, 0, srt.shape[1] - 1)].astype(np.float64)
    centre = np.where(n > 0, centre, 0.0)
    filled = np.where(finite, srt - centre[:, None].astype(np.float32), np.float32(0.0)).astype(np.float32)
    zero = np.zeros((len(srt), 1), dtype=np.float32)
    csum = np.concatenate([zero, np.cumsum(filled, axis=1)], axis=1)
    csum2 = np.concatenate([zero, np.cumsum(filled * filled, axis=1)], axis=1)
    lo = np.zeros(len(srt), dtype=np.int64)
    hi = n.astype(np.int64)
    idx = np.arange(len(srt))
    med = np.full(len(srt), np.nan)
    std = np.full(len(srt), np.nan)
    for _ in range(maxiters + 1):
        count = hi - lo
        ok = count > 2
        mid_a = np.clip((lo + hi - 1) // 2, 0, srt.shape[1] - 1)
        mid_b = np.clip((lo + hi) // 2, 0, srt.shape[1] - 1)
        med = np.where(ok, 0.5 * (filled[idx, mid_a] + filled[idx, mid_b]) + centre, np.nan)
        s1 = csum[idx, hi] - csum[idx, lo]
        s2 = csum2[idx, hi] - csum2[idx, lo]
        safe = np.maximum(count, 1)
        var = np.maximum(s2 / safe - (s1 / safe) ** 2, 0.0) * safe / np.maximum(safe - 1, 1)
        std = np.where(ok, np.sqrt(var), np.nan)
        lower = (med - centre - nsigma * std)[:, None].astype(np.float32)
        upper = (med - centre + nsigma * std)[:, None].astype(np.float32)
        new_lo = np.where(ok, ((filled < lower) & finite).sum(axis=1), lo)
        new_hi = np.where(ok, ((filled <= upper) & finite).sum(axis=1), hi)
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return med, std, hi - lo


def _weights(n_nodes: int, box_px: int, coords: np.ndarray) -> np.ndarray:
    """(len(coords), n_nodes) bilinear weights of mesh nodes at pixel coordinates, extrapolated
    linearly beyond the outermost nodes (separable: sky = Wy @ mesh @ Wx.T)."""
    g = (coords.astype(np.float64) + 0.5) / box_px - 0.5
    weights = np.zeros((len(coords), n_nodes))
    if n_nodes == 1:
        weights[:, 0] = 1.0
        return weights
    i0 = np.clip(np.floor(g).astype(np.int64), 0, n_nodes - 2)
    t = g - i0
    rows = np.arange(len(coords))
    weights[rows, i0] = 1.0 - t
    weights[rows, i0 + 1] = t
    return weights


def _smooth_mesh(mesh: np.ndarray, size: int) -> np.ndarray:
    """Median-filter the mesh around its best-fit plane, so that a gradient is not bent at the
    edges (a plain median filter pulls edge nodes towards their inner neighbours)."""
    ny, nx = mesh.shape
    if size <= 1 or min(ny, nx) < size:
        return mesh
    jj, ii = np.mgrid[0:ny, 0:nx]
    design = np.column_stack([np.ones(mesh.size), ii.ravel(), jj.ravel()])
    coef, *_ = np.linalg.lstsq(design, mesh.ravel(), rcond=None)
    plane = (design @ coef).reshape(mesh.shape)
    result: np.ndarray = plane + ndimage.median_filter(mesh - plane, size=size, mode="nearest")
    return result


def _fill_missing(mesh: np.ndarray) -> np.ndarray:
    """Replace NaN mesh nodes by the value of the nearest valid node."""
    bad = ~np.isfinite(mesh)
    if not bad.any():
        return mesh
    if bad.all():
        return np.zeros_like(mesh)
    _, (iy, ix) = ndimage.distance_transform_edt(bad, return_indices=True)
    return np.asarray(mesh[iy, ix])


def estimate_background(
    data: np.ndarray,
    box_px: int = 64,
    *,
    nsigma: float = 3.0,
    maxiters: int = 5,
    filter_size: int = 3,
    min_valid_fraction: float = 0.2,
) -> Background:
    """Estimate the local sky and noise of ``data`` on a mesh of ``box_px`` boxes.

    Parameters
    ----------
    data : 2-D array
        Image in physical units; NaN marks pixels without data. Zero is a value.
    box_px : int
        Mesh box size in pixels (several times the source size).
    nsigma, maxiters : float, int
        Sigma clipping of each box (sources and cosmic rays are clipped away).
    filter_size : int
        Size of the median filter applied to the mesh (1 disables it).
    min_valid_fraction : float
        Boxes with fewer valid pixels take their values from the nearest valid box.
    """
    if data.ndim != 2:
        raise InvalidParameter(f"background needs a 2-D image, got shape {data.shape}")
    if box_px < 4:
        raise InvalidParameter("box_px must be at least 4 pixels")
    box_px = int(min(box_px, max(data.shape)))
    stride = 2 if box_px >= 32 else 1  # a quarter of the pixels keeps the statistics, costs a quarter
    box_px -= box_px % stride
    rows, ny, nx = _box_stack(data, box_px, stride)
    med, _, kept = clipped_stats(rows, nsigma, maxiters)
    enough = kept >= max(3, min_valid_fraction * rows.shape[1])
    sky = _smooth_mesh(_fill_missing(np.where(enough, med, np.nan).reshape(ny, nx)), filter_size)
    # second pass on the residual from the interpolated sky: a gradient inside a box neither
    # inflates the noise nor biases the sky
    side = box_px // stride
    coords_y = np.arange(ny * side) * stride
    coords_x = np.arange(nx * side) * stride
    model = _weights(ny, box_px, coords_y) @ sky @ _weights(nx, box_px, coords_x).T
    stack = model.reshape(ny, side, nx, side).transpose(0, 2, 1, 3).reshape(ny * nx, side * side)
    med2, std, kept = clipped_stats(rows - stack.astype(np.float32), nsigma, maxiters)
    enough = kept >= max(3, min_valid_fraction * rows.shape[1])
    med = sky + _fill_missing(np.where(enough, med2, np.nan).reshape(ny, nx))
    std = std * clip_correction(nsigma)
    std = _fill_missing(np.where(enough & (std > 0), std, np.nan).reshape(ny, nx))
    if filter_size > 1 and min(ny, nx) >= filter_size:
        std = ndimage.median_filter(std, size=filter_size, mode="nearest")
    positive = std[std > 0]
    floor = float(np.median(positive)) if positive.size else 1.0
    std = np.where(std > 0, std, floor)
    return Background(
        sky=med.astype(np.float32),
        rms=std.astype(np.float32),
        box_px=box_px,
        shape=(int(data.shape[0]), int(data.shape[1])),
    )
