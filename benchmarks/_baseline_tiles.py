"""The tile rendering of the product Neloura replaces, reproduced as the baseline of
``bench_tiles.py`` (issue 16): a small FastAPI app, served by uvicorn in a subprocess exactly as
Neloura's server is, so that both go through the same HTTP stack and only the rendering differs.

Its way of rendering a Deep Zoom tile (same geometry and orientation as Neloura's):

* the FITS data memory-mapped by astropy, flipped so that FITS row 0 is at the bottom;
* a reduced-level tile is **stride-decimated** from the full image (one pixel per block, no
  block mean): ``data[y0 * f : y1 * f : f, x0 * f : x1 * f : f]``;
* the values normalised to ``vmin``/``vmax`` and clipped, then the **matplotlib colormap to RGB**
  (``cmap(norm, bytes=True)``, float64 inside);
* an **uncompressed RGB PNG** (Pillow, ``compress_level=0``: 192 KB per 256² tile).

Run as ``python benchmarks/_baseline_tiles.py ROOT PORT``; ``GET /tiles/{level}/{col}_{row}.png
?path=NAME&vmin=&vmax=&cmap=`` (limits default to the 0.5/99.5 percentiles of a strided sample).
"""

from __future__ import annotations

import io
import math
import sys
import threading
from pathlib import Path

import matplotlib
import numpy as np
import uvicorn
from astropy.io import fits
from fastapi import FastAPI, Response
from PIL import Image

TILE = 256


class Opened:
    def __init__(self, path: Path) -> None:
        self.hdul = fits.open(path, memmap=True)
        data = self.hdul[0].data
        self.flipped = data[::-1]  # display row 0 = the top = the last FITS row
        self.height, self.width = data.shape
        self.max_level = math.ceil(math.log2(max(self.width, self.height)))
        step = max(1, int(math.sqrt(data.size / 1e6)))
        sample = np.asarray(data[::step, ::step], dtype=np.float64)
        lo, hi = np.nanpercentile(sample, [0.5, 99.5])
        self.limits = (float(lo), float(hi))


def create_app(root: Path) -> FastAPI:
    app = FastAPI()
    opened: dict[str, Opened] = {}
    lock = threading.Lock()

    def image(name: str) -> Opened:
        with lock:
            if name not in opened:
                opened[name] = Opened(root / "files" / name)
            return opened[name]

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/tiles/{level}/{name}")
    def tile(
        level: int, name: str, path: str, vmin: float | None = None, vmax: float | None = None, cmap: str = "gray"
    ) -> Response:
        img = image(path)
        col, row = (int(v) for v in name.removesuffix(".png").split("_"))
        factor = 1 << (img.max_level - level)
        x0, y0 = col * TILE * factor, row * TILE * factor
        x1, y1 = min(x0 + TILE * factor, img.width), min(y0 + TILE * factor, img.height)
        values = img.flipped[y0:y1:factor, x0:x1:factor]
        lo = img.limits[0] if vmin is None else vmin
        hi = img.limits[1] if vmax is None else vmax
        norm = np.clip((values - lo) / (hi - lo), 0.0, 1.0)
        rgb = matplotlib.colormaps[cmap](norm, bytes=True)[..., :3]
        out = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").save(out, format="PNG", compress_level=0)
        return Response(out.getvalue(), media_type="image/png")

    return app


if __name__ == "__main__":
    uvicorn.run(
        create_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False
    )
