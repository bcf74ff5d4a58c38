"""Drawing a built composite: display parameters from the URL, tiles (ETag + LRU), whole-image
PNG exports, per-channel pixel values, limits, and the FITS cube of the reprojected channels.

Display parameters are comma-separated lists with one entry per channel, in channel order
(``color=ff0000,00ff00,0000ff&vmin=0.1,,2``: an empty entry takes the channel's default), so a tile
URL names its pixels. Defaults: colours by position (red ... blue), limits the 0.5/99.5 percentiles
of the reprojected channel, stretch ``linear``, visible, weight 1.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from PIL import Image

from neloura.core import stretch as stretches
from neloura.core.bandpasses import preset_colors
from neloura.core.encode import encode_rgba
from neloura.core.limits import compute_limits
from neloura.core.rgb import MODES, ChannelDisplay, compose, compose_bytes, hex_color
from neloura.errors import InvalidParameter
from neloura.runtime.file_lock import private_name
from neloura.runtime.memory import MemoryBudget, array_bytes
from neloura.runtime.rgb import Composite
from neloura.runtime.tiles import TileCache

EXPORT_MAX_PIXELS = 40_000_000
_LUTS_KEPT = 64


@dataclass(frozen=True)
class DisplayQuery:
    """Display parameters as the URL gives them (comma-separated lists, one entry per channel)."""

    color: str = ""
    vmin: str = ""
    vmax: str = ""
    stretch: str = ""
    visible: str = ""
    weight: str = ""
    mode: str = "add"
    q: float = 8.0
    lupton_stretch: float = 0.5


def _entries(text: str, n: int, name: str) -> list[str]:
    if not text:
        return [""] * n
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != n:
        raise InvalidParameter(f"{name} needs {n} comma-separated entries (one per channel), got {len(parts)}")
    return parts


def _number(text: str, name: str) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise InvalidParameter(f"{name} entries must be numbers, got {text!r}") from exc
    if not np.isfinite(value):
        raise InvalidParameter(f"{name} entries must be finite numbers, got {text!r}")
    return value


def _flag(text: str) -> bool:
    if text.lower() in ("", "1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise InvalidParameter(f"visible entries are 1 or 0, got {text!r}")


@dataclass(frozen=True)
class Resolved:
    """Display parameters with every default filled in; ``key`` names them for the ETag."""

    displays: tuple[ChannelDisplay, ...]
    mode: str
    q: float
    lupton_stretch: float
    key: tuple[Any, ...]


class RgbRenderer:
    """Tiles (small: drawn at once, cached), and whole-image exports that reserve their memory
    from ``budget`` first (507 when an export cannot fit even with the caches emptied)."""

    def __init__(self, cache: TileCache, budget: MemoryBudget | None = None) -> None:
        self.cache = cache
        self.budget = budget or MemoryBudget(0)
        self._luts: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._fits_lock = threading.Lock()

    # ------------------------------------------------------------------ parameters
    def resolve(self, comp: Composite, query: DisplayQuery) -> Resolved:
        n = comp.count
        if query.mode not in MODES:
            raise InvalidParameter(f"unknown composite mode {query.mode!r}; use add or lupton")
        colors, stretch_names = _entries(query.color, n, "color"), _entries(query.stretch, n, "stretch")
        vmins, vmaxs = _entries(query.vmin, n, "vmin"), _entries(query.vmax, n, "vmax")
        visible, weights = _entries(query.visible, n, "visible"), _entries(query.weight, n, "weight")
        defaults = preset_colors(n)
        displays, key = [], []
        for i in range(n):
            color = hex_color(colors[i]) if colors[i] else defaults[i]
            name = stretch_names[i] or "linear"
            stretches.check_stretch(name)
            lo, hi = comp.limits[i]["percentiles"]
            vmin = _number(vmins[i], "vmin")
            vmax = _number(vmaxs[i], "vmax")
            vmin, vmax = (lo if vmin is None else vmin), (hi if vmax is None else vmax)
            if not vmin < vmax:
                raise InvalidParameter(f"channel {i}: vmin ({vmin}) must be smaller than vmax ({vmax})")
            weight = _number(weights[i], "weight")
            d = ChannelDisplay(color, vmin, vmax, self._lut(comp, i, name, vmin, vmax), _flag(visible[i]),
                               1.0 if weight is None else weight)  # fmt: skip
            displays.append(d)
            key.append((d.color, name, d.vmin, d.vmax, d.visible, d.weight))
        if not (0 < query.q <= 1e4 and 0 < query.lupton_stretch <= 1e4):
            raise InvalidParameter("q and lupton_stretch must be positive numbers up to 1e4")
        lupton = (query.q, query.lupton_stretch) if query.mode == "lupton" else (0.0, 0.0)
        return Resolved(tuple(displays), query.mode, query.q, query.lupton_stretch,
                        (comp.id, tuple(key), query.mode, *lupton))  # fmt: skip

    def _lut(self, comp: Composite, i: int, name: str, vmin: float, vmax: float) -> np.ndarray:
        key: tuple[Any, ...] = (name,) if name != "histequ" else (name, comp.id, i, vmin, vmax)
        with self._lock:
            lut = self._luts.get(key)
        if lut is None:
            sample = comp.samples[i] if name == "histequ" else None
            lut = stretches.lookup_table(name, sample=sample, limits=(vmin, vmax))
            with self._lock:
                self._luts[key] = lut
                while len(self._luts) > _LUTS_KEPT:
                    self._luts.popitem(last=False)
        return lut

    # ------------------------------------------------------------------ tiles and exports
    @staticmethod
    def etag(resolved: Resolved, level: int, col: int, row: int) -> str:
        text = repr((resolved.key, level, col, row))
        return '"' + hashlib.blake2b(text.encode(), digest_size=16).hexdigest() + '"'

    def tile(self, comp: Composite, resolved: Resolved, level: int, col: int, row: int) -> bytes:
        """PNG bytes of one Deep Zoom tile (cached by ETag)."""
        tag = self.etag(resolved, level, col, row)
        cached = self.cache.get(tag)
        if cached is not None:
            return cached
        values = [comp.values(i, level, col, row) for i in range(comp.count)]
        data = encode_rgba(compose(values, resolved.displays, resolved.mode, q=resolved.q,
                                   stretch=resolved.lupton_stretch))  # fmt: skip
        self.cache.put(tag, data)
        return data

    def export_png(self, comp: Composite, resolved: Resolved, width: int) -> bytes:
        """The whole composite as a PNG ``width`` pixels wide (block-mean level at or above it,
        then resampled)."""
        g = comp.geometry
        if not 16 <= width <= 16384:
            raise InvalidParameter(f"width must be 16..16384 pixels, got {width}")
        factor = 1
        while g.width // (factor * 2) >= width and factor < 2**g.max_level:
            factor *= 2
        height = max(1, round(g.height * width / g.width))
        lw, lh = -(-g.width // factor), -(-g.height // factor)
        if max(lw * lh, width * height) > EXPORT_MAX_PIXELS:
            raise InvalidParameter(f"an export of {width} px wide is too large; at most {EXPORT_MAX_PIXELS} pixels")
        # the composite, PIL's copy of it, the resized image and the PNG (RGBA bytes each)
        need = compose_bytes(lh, lw, resolved.mode) + array_bytes((lh, lw, 4), np.uint8) + 8 * width * height
        with self.budget.reserve(need, f"a {width} px export of composite {comp.id}"):
            values = [comp.level_array(i, factor) for i in range(comp.count)]
            rgba = compose(values, resolved.displays, resolved.mode, q=resolved.q, stretch=resolved.lupton_stretch)
            image = Image.fromarray(rgba, "RGBA")
            del rgba
            if (lw, lh) != (width, height):
                image = image.resize((width, height), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, format="PNG", compress_level=6)
            return out.getvalue()

    def fits_cube(self, comp: Composite, folder: Path, header: fits.Header) -> Path:
        """The reprojected channels as one FITS file (written once): primary HDU a cube, NAXIS3 =
        channel in the request's order, ``header`` (the reference celestial WCS) on its first axes."""
        path = folder / "channels.fits"
        with self._fits_lock:
            if path.is_file():
                return path
            g = comp.geometry
            cube = fits.Header()
            cube["SIMPLE"] = True
            cube["BITPIX"] = -32
            cube["NAXIS"] = 3
            cube["NAXIS1"], cube["NAXIS2"], cube["NAXIS3"] = g.width, g.height, comp.count
            cube.extend(header, unique=True)
            cube["WCSAXES"] = 3
            cube["CTYPE3"] = ("CHANNEL", "composite channel, 1 = first of the request")
            cube["CRPIX3"], cube["CRVAL3"], cube["CDELT3"] = 1.0, 1.0, 1.0
            for i, c in enumerate(comp.meta["channels"]):
                cube[f"CH{i + 1}PATH"] = (str(c["path"])[:60], f"channel {i + 1}: file under files/")
                cube[f"CH{i + 1}HDU"] = (int(c["hdu"]), f"channel {i + 1}: HDU")
                cube[f"CH{i + 1}PLAN"] = (int(c["plane"]), f"channel {i + 1}: plane")
                cube[f"CH{i + 1}UNIT"] = (str(c.get("bunit", ""))[:60], f"channel {i + 1}: BUNIT")
                cube[f"CH{i + 1}FILT"] = (str(c.get("filter", ""))[:60], f"channel {i + 1}: filter")
            cube["COMMENT"] = f"Neloura RGB composite {comp.id}, method {comp.meta['method']}"
            tmp = folder / private_name("channels", ".tmp.fits")  # another server worker may write it too
            with self.budget.reserve(array_bytes((1024, g.width), ">f4"), f"the FITS cube of composite {comp.id}"):
                stream = fits.StreamingHDU(tmp, cube)
                for channel in comp.channels:
                    for y0 in range(0, g.height, 1024):
                        stream.write(np.asarray(channel[y0 : y0 + 1024], dtype=">f4"))
                stream.close()
            tmp.replace(path)
            return path

    # ------------------------------------------------------------------ readout and limits
    @staticmethod
    def pixel(comp: Composite, x: int, y: int) -> list[float | None]:
        """Physical value of every channel at 0-based pixel (x, y) of the reference grid."""
        g = comp.geometry
        if not (0 <= x < g.width and 0 <= y < g.height):
            raise InvalidParameter(f"pixel ({x}, {y}) is outside the composite ({g.width}x{g.height})")
        values = [float(c[y, x]) for c in comp.channels]
        return [v if np.isfinite(v) else None for v in values]

    @staticmethod
    def limits(comp: Composite, channel: int, mode: str, low: float, high: float) -> tuple[float, float]:
        if not 0 <= channel < comp.count:
            raise InvalidParameter(f"channel must be 0..{comp.count - 1}, got {channel}")
        if mode == "minmax":  # over every pixel, kept by the build
            lo, hi = comp.limits[channel]["minmax"]
            return float(lo), float(hi)
        return compute_limits(comp.samples[channel], mode, low=low, high=high)
