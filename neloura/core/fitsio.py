"""Open FITS images lazily and read physical pixel values.

Uncompressed image HDUs are memory mapped and never copied whole: :meth:`ImagePlane.read`
reads one window and applies BSCALE/BZERO/BLANK to that window only. Tile-compressed HDUs
(``CompImageHDU``) are decompressed once, through astropy's own scaling, into a float32 plane.

Pixel convention: arrays are indexed ``data[y, x]`` with 0-based ``x`` (FITS axis 1) and ``y``
(FITS axis 2); FITS row 0 is the bottom of the displayed image. Physical values are
``raw * BSCALE + BZERO``; BLANK, NaN and +/-inf all read as NaN ("no data").
"""

from __future__ import annotations

import lzma
import mmap
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from neloura.core import fits_compressed
from neloura.core.fits_compressed import BandReader, check_compressed_bounds
from neloura.core.fits_inspect import (  # noqa: F401 - the listing API, re-exported here
    FitsInspection,
    HduKind,
    HduSummary,
    HeaderCard,
    has_celestial_wcs,
    header_cards,
    inspect_fits,
    list_hdus,
    scaling,
)
from neloura.core.wcs import ImageWcs
from neloura.core.wcs_header import plane_pixel_axis
from neloura.core.wcs_limits import validate_wcs_keywords
from neloura.errors import InvalidParameter, NotAFitsImage

# zlib.error and lzma.LZMAError (corrupt .gz / .xz streams) are not OSErrors.
_READ_ERRORS = (OSError, ValueError, TypeError, IndexError, KeyError, EOFError, zlib.error, lzma.LZMAError)
FITS_BLOCK = 2880


def _open(path: Path, **kwargs: Any) -> fits.HDUList:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            return fits.open(path, **{"memmap": True, "lazy_load_hdus": True, **kwargs})
    except _READ_ERRORS as exc:
        raise NotAFitsImage(f"{path.name} is not a readable FITS file: {exc}") from exc


def _shape_of(hdu: Any) -> tuple[int, ...]:
    header = hdu.header  # for a CompImageHDU, astropy's view of the uncompressed image header
    try:
        naxis = int(header.get("NAXIS", 0))
        return tuple(int(header.get(f"NAXIS{i}", 0)) for i in range(naxis, 0, -1))
    except (TypeError, ValueError):  # NAXISn = 'NAN'...: astropy keeps the card, we see no axes
        return ()


def _kind_of(hdu: Any, shape: tuple[int, ...]) -> HduKind:
    if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
        return "table"
    if getattr(hdu, "is_image", False) and len(shape) >= 2 and all(n > 0 for n in shape):
        return "image"
    return "empty"


def _hdu(hdul: fits.HDUList, index: int, path: Path) -> Any:
    try:
        return hdul[index]
    except IndexError as exc:
        raise InvalidParameter(f"{path.name} has no HDU {index} (it has {len(hdul)})") from exc
    except _READ_ERRORS as exc:
        raise NotAFitsImage(f"HDU {index} of {path.name} cannot be read: {exc}") from exc


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    """Replace +/-inf by NaN in place (a float32 working copy) and return it."""
    bad = ~np.isfinite(values)
    if bad.any():
        values[bad] = np.nan
    return values


class FitsImage:
    """One image HDU, opened lazily. Thread-safe for reads.

    Uncompressed data stay memory mapped (raw values; scaling is applied per window).
    Tile-compressed data small enough (``fits_compressed.IN_MEMORY_MAX_PIXELS``) are
    decompressed once into a float32 plane; larger ones are read window by window through
    astropy's ``CompImageHDU.section``, which decompresses only the tiles a window touches.
    ``decompressed_max_bytes`` (0: none) refuses (413) a compressed HDU larger than that once
    decompressed; :attr:`nbytes` is the memory the image holds (see :meth:`trim`).

    ``planes`` counts the slices along the plane axis: the spectral axis of a cube, otherwise
    the first non-degenerate extra axis (other extra axes take index 0, e.g. STOKES).
    """

    def __init__(self, path: Path, hdu: int, *, decompressed_max_bytes: int = 0) -> None:
        self.path = path
        self.hdu_index = hdu
        self._lock = threading.Lock()
        self._wcs_lock = threading.Lock()
        self._wcs: ImageWcs | None = None
        self._hdul: fits.HDUList | None = None
        self._section: BandReader | None = None
        self._max_bytes = decompressed_max_bytes
        self._hdul = hdul = _open(path, do_not_scale_image_data=True)
        try:
            hdu_obj = _hdu(hdul, hdu, path)
            self.header: fits.Header = hdu_obj.header  # read-only by convention; copying 100k cards takes seconds
            self.shape = _shape_of(hdu_obj)
            if _kind_of(hdu_obj, self.shape) != "image":
                raise NotAFitsImage(f"HDU {hdu} of {path.name} holds no image (shape {self.shape})")
            validate_wcs_keywords(self.header, hdul)  # before anything builds a WCS from them
            self.compressed = isinstance(hdu_obj, fits.CompImageHDU)
            self._data = self._load(hdu_obj)
        except BaseException:
            self.close()
            raise
        self.height, self.width = int(self.shape[-2]), int(self.shape[-1])
        self.row_bytes = self.width * abs(int(self.header.get("BITPIX", 32))) // 8  # one row in the file
        self.bunit = str(self.header.get("BUNIT", "") or "").strip()
        # 2-D images build their WCS on first use (opening stays cheap for samples and tiles).
        self.plane_axis = self._choose_plane_axis() if len(self.shape) > 2 else None
        self.planes = 1 if self.plane_axis is None else int(self.shape[self.plane_axis])

    def _load(self, hdu_obj: Any) -> Any:
        self._scale, self._zero, self._blank = scaling(hdu_obj.header)
        if self.compressed:
            return self._load_compressed(hdu_obj)
        try:
            data = hdu_obj.data
        except _READ_ERRORS as exc:
            raise NotAFitsImage(f"{self.path.name} is truncated or corrupt: {exc}") from exc
        if data is None or data.shape != self.shape:
            raise NotAFitsImage(f"{self.path.name}: HDU {self.hdu_index} data is truncated or corrupt")
        return data

    def _load_compressed(self, hdu_obj: Any) -> Any:
        """Raw stored values through the section of the memory-mapped file (astropy
        dequantises floats; :meth:`physical` applies BSCALE/BZERO/BLANK), by tile."""
        check_compressed_bounds(hdu_obj, self.shape, f"{self.path.name}, HDU {self.hdu_index},", self._max_bytes)
        try:
            section = hdu_obj.section
            if int(np.prod(self.shape, dtype=np.float64)) <= fits_compressed.IN_MEMORY_MAX_PIXELS:
                return self.physical(np.asarray(section[...]))
            reader = BandReader(section, self.shape, self.physical)
            reader.read_direct((0,) * len(self.shape))  # decompress one tile now: corrupt data fails at open
        except _READ_ERRORS as exc:
            raise NotAFitsImage(f"{self.path.name}: compressed HDU {self.hdu_index} cannot be read: {exc}") from exc
        self._section = reader
        return section

    def _choose_plane_axis(self) -> int | None:
        """The numpy axis planes step along, or None for a plain 2-D image."""
        pixel_axis = plane_pixel_axis(self.header, self.wcs.wcs)
        return None if pixel_axis is None else len(self.shape) - 1 - pixel_axis

    @property
    def wcs(self) -> ImageWcs:
        """The full WCS of this HDU (``has_celestial`` False when there is none), built once.

        The open file is handed to astropy so that lookup-table distortions (HST ``D2IMARR``,
        ``WCSDVARR`` extensions) apply.
        """
        if self._wcs is None:
            with self._wcs_lock:
                if self._wcs is None:
                    self._wcs = ImageWcs.from_header(self.header, fobj=self._hdul)
        return self._wcs

    @property
    def plane_fits_axis(self) -> int | None:
        """1-based FITS axis number of the plane axis (3 for a usual cube)."""
        return None if self.plane_axis is None else len(self.shape) - self.plane_axis

    def plane(self, index: int = 0) -> ImagePlane:
        if not 0 <= index < self.planes:
            raise InvalidParameter(f"plane {index} is out of range 0..{self.planes - 1}")
        prefix = [0] * (len(self.shape) - 2)
        if self.plane_axis is not None:
            prefix[self.plane_axis] = index
        return ImagePlane(self, tuple(prefix))

    def physical(self, raw: np.ndarray) -> np.ndarray:
        """Raw stored values -> float32 physical values with NaN for blank/NaN/inf."""
        if self._scale != 1.0 or self._zero != 0.0:
            # float64 for the affine step keeps 32-bit integers with BZERO exact enough.
            out = np.asarray((raw.astype(np.float64) * self._scale + self._zero), dtype=np.float32)
        else:
            out = raw.astype(np.float32, copy=True)
        if self._blank is not None:
            out[raw == self._blank] = np.nan
        return _finite_or_nan(out)

    def read_index(self, index: tuple[Any, ...]) -> np.ndarray:
        """Physical float32 values of ``data[index]`` (basic or strided slices and ints)."""
        if self._section is not None:
            try:
                return self._section.read(index)
            except _READ_ERRORS as exc:
                raise NotAFitsImage(f"{self.path.name}: compressed data cannot be read: {exc}") from exc
        raw = self._data[index]
        if self.compressed:
            return np.array(raw, dtype=np.float32, copy=True)
        try:
            return self.physical(np.asarray(raw))
        except _READ_ERRORS as exc:
            raise NotAFitsImage(f"{self.path.name} cannot be read: {exc}") from exc

    @property
    def nbytes(self) -> int:
        """Memory this image holds: a small compressed plane decompressed whole, or the bands
        of a larger one kept (memory-mapped file pages are not counted: see release_pages)."""
        if self._section is not None:
            return self._section.nbytes
        return int(self._data.nbytes) if self.compressed and self._data is not None else 0

    def trim(self) -> int:
        """Give back what can be recomputed (kept bands, mapped pages); bytes freed."""
        self.release_pages()
        return self._section.trim() if self._section is not None else 0

    @contextmanager
    def random_access(self) -> Iterator[None]:
        """Reads inside the block fault in only the pages they touch: the memory map is advised
        ``MADV_RANDOM`` (no read-ahead) and back to ``MADV_NORMAL`` after. For scattered values
        (a spectrum: one value per plane, a plane apart), where read-ahead would pull up to a
        megabyte of file around each value. Does nothing without a memory map."""
        mapping = _file_map(self._data)
        advised = False
        if mapping is not None:
            try:
                mapping.madvise(mmap.MADV_RANDOM)
                advised = True
            except (OSError, ValueError, AttributeError):
                pass  # closed meanwhile, or a platform without madvise
        try:
            yield
        finally:
            if advised:
                try:
                    mapping.madvise(mmap.MADV_NORMAL)  # type: ignore[union-attr]
                except (OSError, ValueError):
                    pass

    @property
    def memory_mapped(self) -> bool:
        """True when the data are file pages mapped into memory (uncompressed, not gzipped)."""
        return _file_map(self._data) is not None

    def release_pages(self) -> None:
        """Drop the mapped file pages this process holds; they are read again when next needed
        (a read-only copy-on-write map: nothing is lost). Does nothing without a memory map.
        For a compressed image: the pages of the compressed tiles read so far."""
        mapping = _file_map(self._data)
        if mapping is None and self.compressed and self._hdul is not None:
            mapping = getattr(getattr(self._hdul, "_file", None), "_mmap", None)
        if not isinstance(mapping, mmap.mmap):
            return
        try:
            mapping.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError, AttributeError):
            pass  # closed meanwhile, or a platform without madvise

    def close(self) -> None:
        if self._section is not None:
            self._section.trim()
        if self._hdul is not None:
            self._hdul.close()
            self._hdul = None

    def __enter__(self) -> FitsImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _file_map(array: object) -> mmap.mmap | None:
    """The ``mmap`` under a numpy array, if any (walks ``.base``)."""
    for _ in range(16):
        if array is None or isinstance(array, mmap.mmap):
            return array
        array = getattr(array, "base", None)
    return None


class ImagePlane:
    """A 2-D plane of a :class:`FitsImage`: windows and samples of physical values."""

    def __init__(self, image: FitsImage, prefix: tuple[int, ...]) -> None:
        self.image = image
        self.prefix = prefix
        self.width = image.width
        self.height = image.height

    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Physical values of ``data[y0:y1, x0:x1]`` (0-based, clipped to the image), float32."""
        y0, y1 = max(0, y0), min(self.height, y1)
        x0, x1 = max(0, x0), min(self.width, x1)
        if y0 >= y1 or x0 >= x1:
            return np.empty((max(0, y1 - y0), max(0, x1 - x0)), dtype=np.float32)
        return self.image.read_index((*self.prefix, slice(y0, y1), slice(x0, x1)))

    @property
    def grid_readable(self) -> bool:
        """True when :meth:`read_grid` is cheap: memory-mapped or in-memory data (a large
        tile-compressed plane is read in windows only)."""
        return self.image._section is None

    def read_grid(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Physical values at every (row, col) of 0-based FITS ``rows`` x ``cols`` (any order,
        in range), shape ``(len(rows), len(cols))``: a strided look at the plane that touches
        only the pages of those rows. Needs :attr:`grid_readable`."""
        if not self.grid_readable:
            raise ValueError("read_grid needs memory-mapped or in-memory data")
        index = (*self.prefix, np.asarray(rows, np.intp)[:, None], np.asarray(cols, np.intp)[None, :])
        return self.image.read_index(index)

    def value(self, x: int, y: int) -> float | None:
        """Physical value at 0-based pixel (x, y); None for blank/NaN/inf or outside."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            return None
        v = float(self.read(y, y + 1, x, x + 1)[0, 0])
        return v if np.isfinite(v) else None

    def sample_grid(self, n: int = 1_000_000) -> tuple[int, int]:
        """``(first, step)`` of the regular grid of about ``n`` pixels :meth:`sample` reads: the
        0-based rows and columns ``first, first + step, ...``."""
        step = max(1, int(np.sqrt(self.width * self.height / max(n, 1))))
        return step // 2, step

    def sample(self, n: int = 1_000_000) -> np.ndarray:
        """About ``n`` finite physical values spread over the whole plane (a regular grid
        of rows and columns, so edges count as much as the centre), row by row."""
        first, step = self.sample_grid(n)
        cols = slice(first, self.width, step)
        rows_per_block = 256 * step
        chunks = []
        for start in range(first, self.height, rows_per_block):
            rows = slice(start, min(self.height, start + rows_per_block), step)
            chunks.append(self.image.read_index((*self.prefix, rows, cols)).ravel())
        values = np.concatenate(chunks) if chunks else np.empty(0, np.float32)
        return values[np.isfinite(values)]

    def full(self) -> np.ndarray:
        """The whole plane as float32 physical values (copies: for analysis, not for tiles)."""
        return self.read(0, self.height, 0, self.width)
