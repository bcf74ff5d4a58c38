"""What a viewer panel shows, as a WCS: the panel's screen becomes the figure's pixel grid.

A panel of the page shows an image about a centre, at a zoom (screen pixels per image pixel),
turned by a rotation and maybe mirrored, in a viewport of ``width_px`` x ``height_px`` CSS
pixels (OpenSeadragon: the rotation turns the view clockwise on screen about its centre, the flip
then mirrors it about the vertical centre line). :class:`ScreenView` is that affine map between
image pixels and screen pixels; :class:`ViewWCS` composes it with the image's full WCS (SIP and
all, through astropy's APE-14 interface), so that a WCSAxes panel in screen pixels draws the grid,
markers and compass exactly where the panel shows them.

Pixel conventions: image pixels 0-based with centres at integers, y up (FITS); screen pixels
0-based with centres at integers, y up (the figure's), the viewport's edges at -0.5 and W - 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.wcs.wcsapi.wrappers.base import BaseWCSWrapper

from neloura.errors import InvalidParameter


@dataclass(frozen=True)
class ScreenView:
    """A panel's view: centre ``cx``, ``cy`` (0-based image pixels), ``zoom`` (screen px per image
    px), ``rotation_deg`` (clockwise on screen), ``flip`` (mirrored left-right), viewport size."""

    cx: float
    cy: float
    zoom: float
    width_px: float
    height_px: float
    rotation_deg: float = 0.0
    flip: bool = False

    def check(self) -> None:
        values = (self.cx, self.cy, self.zoom, self.width_px, self.height_px, self.rotation_deg)
        if not all(math.isfinite(v) for v in values) or self.zoom <= 0:
            raise InvalidParameter("a panel view needs finite cx, cy, rotation and a positive zoom")
        if not (1 <= self.width_px <= 20_000 and 1 <= self.height_px <= 20_000):
            raise InvalidParameter("view_px: 1 to 20000 screen pixels a side")

    def matrix(self) -> np.ndarray:
        """2x2: image-pixel offsets from the centre -> screen-pixel offsets (both y up)."""
        t = math.radians(self.rotation_deg)
        turn = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])  # clockwise, y up
        mirror = np.diag([-1.0, 1.0]) if self.flip else np.eye(2)
        return mirror @ turn * self.zoom

    @property
    def centre_px(self) -> np.ndarray:
        return np.array([(self.width_px - 1) / 2.0, (self.height_px - 1) / 2.0])

    def affine(self) -> np.ndarray:
        """3x3 homogeneous matrix image pixel -> screen pixel (for matplotlib's ``Affine2D``)."""
        m = self.matrix()
        out = np.eye(3)
        out[:2, :2] = m
        out[:2, 2] = self.centre_px - m @ np.array([self.cx, self.cy])
        return out

    def to_screen(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        m, c = self.matrix(), self.centre_px
        dx, dy = np.asarray(x, dtype=float) - self.cx, np.asarray(y, dtype=float) - self.cy
        return c[0] + m[0, 0] * dx + m[0, 1] * dy, c[1] + m[1, 0] * dx + m[1, 1] * dy

    def to_image(self, sx: Any, sy: Any) -> tuple[np.ndarray, np.ndarray]:
        inv, c = np.linalg.inv(self.matrix()), self.centre_px
        dx, dy = np.asarray(sx, dtype=float) - c[0], np.asarray(sy, dtype=float) - c[1]
        return self.cx + inv[0, 0] * dx + inv[0, 1] * dy, self.cy + inv[1, 0] * dx + inv[1, 1] * dy

    def image_bounds(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1): the image-pixel box around the viewport's four corners."""
        w, h = self.width_px - 0.5, self.height_px - 0.5
        xs, ys = self.to_image([-0.5, w, -0.5, w], [-0.5, -0.5, h, h])
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


class ViewWCS(BaseWCSWrapper):  # type: ignore[misc]
    """The image's celestial WCS seen through a :class:`ScreenView`: pixels are screen pixels."""

    def __init__(self, wcs: Any, view: ScreenView) -> None:
        super().__init__(wcs)
        self.view = view

    @property
    def wcs(self) -> Any:
        """The image's ``Wcsprm`` (its frame: RADESYS, CTYPE), for code that reads it."""
        return getattr(self._wcs, "wcs", None)

    @property
    def pixel_shape(self) -> tuple[int, int]:
        return (round(self.view.width_px), round(self.view.height_px))

    @property
    def pixel_bounds(self) -> None:
        return None

    def pixel_to_world_values(self, *pixel_arrays: Any) -> Any:
        x, y = self.view.to_image(pixel_arrays[0], pixel_arrays[1])
        return self._wcs.pixel_to_world_values(x, y)

    def world_to_pixel_values(self, *world_arrays: Any) -> Any:
        x, y = self._wcs.world_to_pixel_values(*world_arrays)
        return self.view.to_screen(x, y)
