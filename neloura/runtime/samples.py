"""The regular grid of physical values a plane's sample (and its default display limits, and the
provisional overview tiles) is read from: one pread per sampled row for a plain file (all asked
of the kernel at once), strided
reads by blocks of rows for a compressed one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neloura.core.fitsio import FitsImage
from neloura.runtime.row_reader import RowReader


@dataclass(frozen=True)
class SampleGrid:
    """The regular grid of physical values the sample is read from: ``values[i, j]`` is pixel
    (row ``first + i * step``, column ``first + j * step``), FITS order, NaN kept. Provisional
    overview tiles are drawn from it before the block means exist."""

    values: np.ndarray
    first: int
    step: int


def strided_rows(image: FitsImage, prefix: tuple[int, ...], rows: slice, cols: slice) -> np.ndarray:
    """``data[rows, cols]`` (strided slices) as physical values, 256 grid rows at a time (a
    compressed plane decompresses only the tiles under each block)."""
    step = rows.step or 1
    stop = rows.stop if rows.stop is not None else image.height
    blocks = [
        image.read_index((*prefix, slice(start, min(stop, start + 256 * step), step), cols))
        for start in range(rows.start or 0, stop, 256 * step)
    ]
    width = len(range(*cols.indices(image.width)))
    return np.concatenate(blocks) if blocks else np.empty((0, width), np.float32)


def read_sample_grid(image: FitsImage, plane: int, n: int) -> SampleGrid:
    """The grid of about ``n`` pixels spread over ``plane`` of the open ``image`` (see
    :meth:`~neloura.core.fitsio.ImagePlane.sample_grid`), NaN kept."""
    source = image.plane(plane)
    first, step = source.sample_grid(n)
    rows, cols = slice(first, source.height, step), slice(first, source.width, step)
    if not image.compressed and RowReader.supports(source):
        # one pread per sampled row, all asked of the kernel first: a cold file is read several
        # times faster than through faults on a memory map (whose read-ahead fetches pages the
        # sample never uses) or row after row
        with RowReader(source) as reader:
            return SampleGrid(reader.read_sampled(range(*rows.indices(source.height)), cols), first, step)
    if image.compressed:
        return SampleGrid(strided_rows(image, source.prefix, rows, cols), first, step)
    # A private memory map, unmapped when this returns: the strided sample faults in pages
    # (with read-ahead) all over the file, which need not stay mapped into the server.
    with FitsImage(image.path, image.hdu_index) as own:
        return SampleGrid(strided_rows(own, source.prefix, rows, cols), first, step)
