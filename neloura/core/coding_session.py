"""``neloura_session``: what a sandboxed script sees of the page, and how it sends results back.

Inside a run, ``import neloura_session as ns`` gives:

- ``ns.image()``: the image open in the viewer (:class:`SessionImage`: ``data`` physical values
  as float32 with NaN for blank pixels, exactly what ``/api/images/pixel`` reads; ``wcs`` the
  full astropy WCS of the HDU (SIP and other distortions included); ``header``; ``value(x, y)``
  and ``pixel_to_world(x, y)`` with 0-based pixels, ICRS degrees);
- ``ns.open_image(path, hdu=None, plane=0)``: any image under ``files/`` (``path`` as the file
  browser shows it; the panel completes paths inside strings with Ctrl-Space), ``ns.data_path(path)``;
- ``ns.catalog()``: the catalog loaded in the page with its current filter, an astropy Table;
- ``ns.regions()``: the page's regions as a ``regions.Regions`` list (astropy-regions pixel
  regions, 0-based; ``ns.regions_text()`` the DS9 text the page sent: image frame, 1-based);
- ``ns.selection()``: the catalog rows selected in the page (table, plot, region or cross-match):
  ``{"catalog": name or None, "rows": int64 array}`` (0-based row numbers of that catalog);
- ``ns.cursor()``: the last pointer position on the image ``(x, y)`` (0-based) or None; ``ns.view()``
  the view centre and zoom;
- ``ns.show_image(data, wcs=None, header=None, name=...)``: writes a FITS image into the run's
  scratch folder (under ``files/uploads/``) and opens it in the viewer;
- ``ns.show_table(table, name=...)``: writes a FITS table, opened in the page as a catalog;
- ``ns.show_figures()``: sends every open matplotlib figure (``plt.show()`` does this).

The runner calls :func:`configure` before the script starts; the module never talks to the
network: results travel as files in the scratch folder plus one JSON line on the control pipe.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from neloura.core.fitsio import FitsImage

Send = Callable[[dict[str, Any]], None]

_state: dict[str, Any] = {"context": {}, "send": None, "scratch": Path("."), "figures": 0, "opened": {}}


class NoContext(LookupError):
    """The page has no open image (or no catalog) to give the script."""


def configure(context: dict[str, Any], scratch: Path, send: Send) -> None:
    """Called by the runner: the page's context, the scratch folder, the control-pipe writer."""
    _state.update(context=context, scratch=Path(scratch), send=send, figures=0, opened={})


def _send(message: dict[str, Any]) -> None:
    send = _state["send"]
    if send is not None:
        send(message)


class SessionImage:
    """One plane of the image shown in the viewer (0-based pixels, ``data[y, x]``)."""

    def __init__(self, file: Path, hdu: int, plane: int, path: str) -> None:
        self._fits = FitsImage(file, hdu)
        self._plane = self._fits.plane(plane)
        self.path, self.hdu, self.plane = path, hdu, plane
        self.header = self._fits.header
        self.unit = self._fits.bunit
        self.wcs = self._fits.wcs.wcs
        self.shape = (self._fits.height, self._fits.width)
        self._data: np.ndarray | None = None

    @property
    def data(self) -> np.ndarray:
        """The plane's physical values (BSCALE/BZERO applied), float32, NaN where blank."""
        if self._data is None:
            self._data = self._plane.full()
        return self._data

    @property
    def celestial_wcs(self) -> Any:
        """The 2-D celestial part of :attr:`wcs` (a cube's spatial WCS)."""
        return None if self.wcs is None else self.wcs.celestial

    def value(self, x: int, y: int) -> float | None:
        """Physical value at 0-based pixel (x, y); None when blank or outside."""
        return self._plane.value(int(x), int(y))

    def pixel_to_world(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """ICRS (ra_deg, dec_deg) of 0-based pixels through the full WCS."""
        return self._fits.wcs.pixel_to_world(np.atleast_1d(x), np.atleast_1d(y), self.plane)

    def world_to_pixel(self, ra_deg: Any, dec_deg: Any) -> tuple[np.ndarray, np.ndarray]:
        """0-based pixels of ICRS positions (degrees)."""
        return self._fits.wcs.world_to_pixel(np.atleast_1d(ra_deg), np.atleast_1d(dec_deg), plane=self.plane)

    def __repr__(self) -> str:
        size = f"{self.shape[1]}x{self.shape[0]}"
        return f"<SessionImage {self.path} hdu={self.hdu} plane={self.plane} {size} {self.unit}>"


def image() -> SessionImage:
    """The image open in the viewer (raises :class:`NoContext` when none is open)."""
    ctx = _state["context"].get("image")
    if not ctx:
        raise NoContext("no image is open in the viewer (open one, or pass --image on the command line)")
    key = (ctx["file"], ctx["hdu"], ctx.get("plane", 0))
    opened = _state["opened"]
    if key not in opened:
        opened[key] = SessionImage(Path(ctx["file"]), int(ctx["hdu"]), int(ctx.get("plane", 0)), ctx.get("path", ""))
    return opened[key]  # type: ignore[no-any-return]


def data_path(relative: str) -> Path:
    """The file ``relative`` under the server's ``files/`` folder (as the file browser names it)."""
    root = _state["context"].get("files_dir")
    if not root:
        raise NoContext("no data folder is known (the command line reads paths as given)")
    return Path(root) / relative


def open_image(path: str, hdu: int | None = None, plane: int = 0) -> SessionImage:
    """Any image under ``files/`` (``path`` as in the file browser); ``hdu`` defaults to the largest image."""
    from neloura.core.fitsio import list_hdus

    file = data_path(path) if _state["context"].get("files_dir") else Path(path)
    index = list_hdus(file)[1] if hdu is None else hdu
    if index is None:
        raise ValueError(f"{path} holds no image HDU")
    return SessionImage(file, index, plane, path)


def catalog() -> Any:
    """The catalog loaded in the page, with the page's current filter applied, as an astropy Table."""
    from astropy.table import Table

    ctx = _state["context"].get("catalog")
    if not ctx:
        raise NoContext("no catalog is loaded in the page")
    table = Table.read(ctx["file"], format="fits")
    table.meta["name"], table.meta["filter"] = ctx.get("name", ""), ctx.get("filter") or ""
    return table


def cursor() -> tuple[float, float] | None:
    """The last pointer position on the image, 0-based pixels, or None."""
    pos = _state["context"].get("cursor")
    return None if not pos else (float(pos["x"]), float(pos["y"]))


def regions_text() -> str:
    """The DS9 text of the page's regions ("" when it has none): image frame, 1-based pixels."""
    name = _state["context"].get("regions")
    return "" if not name else (_state["scratch"] / str(name)).read_text()


def regions() -> Any:
    """The page's regions as a ``regions.Regions`` list of pixel regions (0-based, as astropy-regions uses)."""
    from regions import Regions

    text = regions_text()
    return Regions.parse(text, format="ds9") if text.strip() else Regions([])


def selection() -> dict[str, Any]:
    """The selected rows of the page's catalog: ``{"catalog": name or None, "rows": int64 array}``."""
    name = _state["context"].get("selection")
    if not name:
        return {"catalog": None, "rows": np.zeros(0, dtype=np.int64)}
    chosen = json.loads((_state["scratch"] / str(name)).read_text())
    return {"catalog": chosen.get("catalog"), "rows": np.asarray(chosen.get("rows", []), dtype=np.int64)}


def view() -> dict[str, Any] | None:
    """``{"cx", "cy", "zoom"}`` of the viewer (0-based centre pixel, screen px per image px)."""
    return _state["context"].get("view")  # type: ignore[no-any-return]


def _filename(name: str, suffix: str) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._")[:64] or "result"
    scratch: Path = _state["scratch"]
    path = scratch / f"{stem}{suffix}"
    n = 1
    while path.exists():
        n += 1
        path = scratch / f"{stem}-{n}{suffix}"
    return path


def show_image(data: Any, wcs: Any = None, header: Any = None, name: str = "result") -> str:
    """Write ``data`` (2-D or a cube) with ``wcs``/``header`` as FITS and open it in the viewer.

    Returns the file name inside the scratch folder."""
    from astropy.io import fits

    array = np.asarray(data)
    if array.ndim < 2:
        raise ValueError(f"show_image needs a 2-D (or larger) array, not shape {array.shape}")
    if array.dtype.kind not in "fiu" or array.dtype.itemsize > 8:
        array = array.astype(np.float64)
    head = fits.Header() if header is None else fits.Header(header)
    if wcs is not None:
        head.update(wcs.to_header(relax=True))
    path = _filename(name, ".fits")
    fits.PrimaryHDU(array, header=head).writeto(path)
    _send({"image": path.name})
    return path.name


def show_table(table: Any, name: str = "result") -> str:
    """Write ``table`` (astropy Table or anything Table() accepts) as FITS; the page opens it as a catalog."""
    from astropy.table import Table

    out = table if isinstance(table, Table) else Table(table)
    path = _filename(name, ".fits")
    out.write(path, format="fits")
    _send({"table": path.name})
    return path.name


def show_figures() -> list[str]:
    """Save every open matplotlib figure as PNG, send it to the page, close it."""
    import matplotlib.pyplot as plt

    names = []
    for number in plt.get_fignums():
        figure = plt.figure(number)
        _state["figures"] += 1
        path = _state["scratch"] / f"figure-{_state['figures']:03d}.png"
        figure.savefig(path, dpi=100, format="png")
        plt.close(figure)
        names.append(path.name)
        _send({"figure": path.name})
    return names


def send_line(stream: Any, message: dict[str, Any]) -> None:
    """Write one JSON control message to ``stream`` (the control pipe)."""
    stream.write((json.dumps(message) + "\n").encode())
    stream.flush()
