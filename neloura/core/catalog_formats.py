"""Read any supported table format into one columnar :class:`pyarrow.Table`.

Formats: FITS binary and ASCII tables (any HDU), VOTable (TABLEDATA, BINARY, BINARY2),
CSV/TSV, ECSV, Parquet. Column metadata (unit, UCD, description) travels in each Arrow
field's metadata under the keys ``unit``, ``ucd`` and ``description``. Floating-point NaN
becomes null, as in TOPCAT where NaN is a blank value, so that filters, statistics and JSON
rows treat both the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from neloura.errors import UnsupportedFormat

Progress = Callable[[float, str], None]

CSV_BLOCK_BYTES = 16 << 20  # CSV types are guessed from the first block

FORMATS = ("fits", "votable", "csv", "tsv", "ecsv", "parquet", "ascii")
_FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fz")
_SUFFIX_FORMAT = {
    ".vot": "votable",
    ".votable": "votable",
    ".xml": "votable",
    ".xml.gz": "votable",
    ".vot.gz": "votable",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".tsv.gz": "tsv",
    ".ecsv": "ecsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "ascii",
    ".dat": "ascii",
}


def _noop(fraction: float, message: str) -> None:
    return None


def sniff_format(path: Path) -> str:
    """The format of ``path`` from its leading bytes, falling back on its suffix."""
    with path.open("rb") as handle:
        head = handle.read(512)
    name = path.name.lower()
    if head.startswith(b"SIMPLE  =") or name.endswith(_FITS_SUFFIXES):
        return "fits"
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip().lower()
    if text.startswith(b"# %ecsv"):
        return "ecsv"
    if text.startswith(b"<?xml") or text.startswith(b"<votable"):
        return "votable"
    for suffix, fmt in sorted(_SUFFIX_FORMAT.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise UnsupportedFormat(f"{path.name}: not a catalog format we read (FITS table, VOTable, CSV/TSV, ECSV, Parquet)")


def read_catalog(path: Path, *, hdu: int | None = None, progress: Progress | None = None) -> tuple[pa.Table, str]:
    """Read ``path`` into an Arrow table; return it with the detected format name.

    ``hdu`` picks a FITS extension (default: the first table HDU). Raises
    :class:`UnsupportedFormat` for an unknown, corrupt or empty file.
    """
    report = progress or _noop
    fmt = sniff_format(path)
    report(0.0, f"reading {fmt}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fmt == "fits":
                table = _read_fits(path, hdu, report)
            elif fmt == "votable":
                table = _read_votable(path, report)
            elif fmt in ("csv", "tsv"):
                table = _read_csv(path, "\t" if fmt == "tsv" else ",", report)
            elif fmt == "parquet":
                table = pq.read_table(path)
            else:
                table = _read_astropy(path, "ascii.ecsv" if fmt == "ecsv" else None, report)
    except UnsupportedFormat:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # a reader failing in any way on a user's file means a bad file
        raise UnsupportedFormat(f"{path.name}: cannot read as {fmt}: {exc}") from exc
    if table.num_columns == 0:
        raise UnsupportedFormat(f"{path.name}: the table has no columns")
    report(0.85, "cleaning columns")
    return nan_to_null(unique_names(table)), fmt


def unique_names(table: pa.Table, reserved: tuple[str, ...] = ("__row",)) -> pa.Table:
    """Give empty and repeated column names (CSV headers allow both) distinct names."""
    taken: set[str] = set(reserved)
    names: list[str] = []
    for i, raw in enumerate(table.column_names):
        base = raw.strip() or f"col{i + 1}"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names.append(name)
    if names == table.column_names:
        return table
    fields = [field.with_name(name) for field, name in zip(table.schema, names, strict=True)]
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields))


def nan_to_null(table: pa.Table) -> pa.Table:
    """Replace floating-point NaN by null in every float column."""
    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            column = table.column(i)
            if column.num_chunks and pc.any(pc.is_nan(column)).as_py():
                cleaned = pc.if_else(pc.is_nan(column), pa.scalar(None, field.type), column)
                table = table.set_column(i, field, cleaned)
    return table


# -- FITS -------------------------------------------------------------------------------


FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")


def fits_table_hdus(path: Path) -> list[int]:
    """Indices of the table HDUs (binary or ASCII) of a FITS file, reading headers only.

    A file that is not FITS (or not readable) has none."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=True, lazy_load_hdus=True) as hdul:
            return [i for i, h in enumerate(hdul) if isinstance(h, fits.BinTableHDU | fits.TableHDU)]
    except (OSError, ValueError, TypeError, IndexError, KeyError, EOFError):
        return []


def _read_fits(path: Path, hdu: int | None, report: Progress) -> pa.Table:
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path, memmap=True) as hdul:
        tables = [i for i, h in enumerate(hdul) if isinstance(h, fits.BinTableHDU | fits.TableHDU)]
        if not tables:
            raise UnsupportedFormat(f"{path.name}: the FITS file holds no table HDU")
        index = tables[0] if hdu is None else hdu
        if index not in tables:
            raise UnsupportedFormat(f"{path.name}: HDU {hdu} is not a table (tables are in HDUs {tables})")
        comments = _fits_comments(hdul[index].header)
        try:
            table = Table.read(hdul, hdu=index, format="fits", character_as_bytes=False, mask_invalid=False)
        except (TypeError, ValueError):
            # astropy's reader trips on some ASCII tables (TNULL on a string column): read raw
            table = _raw_fits_table(hdul[index])
        return astropy_to_arrow(table, report, comments)


def _raw_fits_table(hdu: Any) -> Any:
    from astropy.table import Table

    table = Table(hdu.data, masked=False)
    for column in hdu.columns:
        if column.unit and column.name in table.colnames:
            table[column.name].unit = column.unit
    return table


def _fits_comments(header: Any) -> dict[str, str]:
    """Column descriptions from TCOMMn cards or the comment of the TTYPEn card."""
    out: dict[str, str] = {}
    for n in range(1, int(header.get("TFIELDS", 0)) + 1):
        name = header.get(f"TTYPE{n}")
        if not name:
            continue
        text = header.get(f"TCOMM{n}") or header.comments[f"TTYPE{n}"]
        if text:
            out[str(name)] = str(text)
    return out


# -- VOTable / astropy readers ---------------------------------------------------------


def _read_votable(path: Path, report: Progress) -> pa.Table:
    from astropy.io.votable import parse

    votable = parse(str(path), verify="ignore")
    tables = list(votable.iter_tables())
    if not tables:
        raise UnsupportedFormat(f"{path.name}: the VOTable holds no TABLE")
    chosen = next((t for t in tables if t.array is not None and len(t.array) > 0), tables[0])
    return astropy_to_arrow(chosen.to_table(use_names_over_ids=True), report)


def _read_astropy(path: Path, fmt: str | None, report: Progress) -> pa.Table:
    from astropy.table import Table

    table = Table.read(path, format=fmt) if fmt else Table.read(path, format="ascii")
    return astropy_to_arrow(table, report)


def astropy_to_arrow(table: Any, report: Progress = _noop, comments: dict[str, str] | None = None) -> pa.Table:
    """Convert an astropy Table (masked columns, units, UCDs, descriptions) to Arrow."""
    fields: list[pa.Field] = []
    arrays: list[pa.Array] = []
    count = max(len(table.colnames), 1)
    for i, name in enumerate(table.colnames):
        column = table[name]
        array = _column_to_arrow(column)
        meta = _column_meta(column, (comments or {}).get(name))
        fields.append(pa.field(str(name), array.type, metadata=meta or None))
        arrays.append(array)
        report(0.1 + 0.7 * (i + 1) / count, f"column {name}")
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _column_meta(column: Any, comment: str | None) -> dict[str, str]:
    meta: dict[str, str] = {}
    unit = getattr(column, "unit", None)
    if unit is not None:
        meta["unit"] = unit.to_string() if hasattr(unit, "to_string") else str(unit)
    info_meta = getattr(column.info, "meta", None) or {}
    ucd = info_meta.get("ucd")
    if ucd:
        meta["ucd"] = str(ucd)
    description = getattr(column.info, "description", None) or comment
    if description:
        meta["description"] = str(description)
    return meta


def _column_to_arrow(column: Any) -> pa.Array:
    from astropy.table import Column, MaskedColumn

    if not isinstance(column, Column | MaskedColumn):  # mixins (Time, SkyCoord, Quantity)
        return _mixin_to_arrow(column)
    data = np.asarray(column.data if not isinstance(column, MaskedColumn) else column.data.data)
    mask: np.ndarray | None = np.asarray(column.mask) if isinstance(column, MaskedColumn) else None
    if mask is not None and mask.shape != data.shape[:1]:
        mask = np.asarray(mask.reshape(len(data), -1).any(axis=1)) if mask.size else None
    if mask is not None and not mask.any():
        mask = None
    if data.dtype.kind in "biuf":
        data = data.astype(data.dtype.newbyteorder("="), copy=False)
    if data.ndim > 1:
        return _vector_to_arrow(data, mask)
    if data.dtype.kind in "biuf":
        return pa.array(data, mask=mask)
    if data.dtype.kind == "c":  # complex: Arrow has no such type, keep the text
        return pa.array(data.astype(str), type=pa.string(), mask=mask)
    if data.dtype.kind == "S":
        array = pa.array(np.char.rstrip(data) if len(data) < 100_000 else data, type=pa.binary(), mask=mask)
        try:
            text = array.cast(pa.string())
        except pa.ArrowInvalid:
            text = pa.array([None if v is None else v.decode("latin-1") for v in array.to_pylist()], pa.string())
        return pc.utf8_rtrim_whitespace(text)
    if data.dtype.kind == "U":
        return pc.utf8_rtrim_whitespace(pa.array(data, type=pa.string(), mask=mask))
    return _object_to_arrow(data, mask)


def _vector_to_arrow(data: np.ndarray, mask: np.ndarray | None) -> pa.Array:
    width = int(np.prod(data.shape[1:]))
    flat = data.reshape(len(data) * width)
    if data.dtype.kind in "SUc":
        values = pa.array(flat.astype(str), type=pa.string())
    else:
        values = pa.array(flat)
    fixed = pa.FixedSizeListArray.from_arrays(values, width)
    if mask is not None:
        fixed = pc.if_else(pa.array(mask), pa.scalar(None, fixed.type), fixed)
    return fixed


def _object_to_arrow(data: np.ndarray, mask: np.ndarray | None) -> pa.Array:
    values: list[Any] = []
    for i, value in enumerate(data):
        if mask is not None and mask[i]:
            values.append(None)
        elif isinstance(value, np.ndarray):
            values.append(value.tolist())
        elif isinstance(value, bytes):
            values.append(value.decode("utf-8", "replace"))
        else:
            values.append(value)
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _mixin_to_arrow(column: Any) -> pa.Array:
    from astropy.time import Time

    if isinstance(column, Time):
        return pa.array(np.asarray(column.isot, dtype=str), pa.string())
    values = getattr(column, "value", None)
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf" and values.ndim == 1:
        return pa.array(values.astype(values.dtype.newbyteorder("="), copy=False))
    return pa.array([str(v) for v in column], pa.string())


# -- CSV / TSV -----------------------------------------------------------------------------


def _read_csv(path: Path, delimiter: str, report: Progress) -> pa.Table:
    size = max(path.stat().st_size, 1)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES)
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    try:
        return _stream_csv(path, size, read, parse, convert, report)
    except pa.ArrowInvalid:
        # types were guessed from the first block and a later block disagrees: widen and retry
        first = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert).schema
        widened = {
            f.name: (pa.float64() if pa.types.is_integer(f.type) or pa.types.is_floating(f.type) else pa.string())
            for f in first
        }
        convert = pacsv.ConvertOptions(strings_can_be_null=True, column_types=widened)
        return _stream_csv(path, size, read, parse, convert, report)


def _stream_csv(
    path: Path,
    size: int,
    read: pacsv.ReadOptions,
    parse: pacsv.ParseOptions,
    convert: pacsv.ConvertOptions,
    report: Progress,
) -> pa.Table:
    batches: list[pa.RecordBatch] = []
    with pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert) as reader:
        schema = reader.schema
        done = 0
        for batch in reader:
            batches.append(batch)
            done += batch.nbytes
            report(min(0.8, 0.8 * done / (size * 1.2)), f"{sum(len(b) for b in batches):,} rows read")
    table = pa.Table.from_batches(batches, schema=schema)
    return _retype_null_columns(table)


def _retype_null_columns(table: pa.Table) -> pa.Table:
    """Columns empty in every row come out as type null: make them float64. Times and dates
    (Arrow reads ``12:30:00`` as a time of day) go back to text: they are usually sexagesimal."""
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type):
            table = table.set_column(i, pa.field(field.name, pa.float64()), table.column(i).cast(pa.float64()))
        elif pa.types.is_temporal(field.type):
            table = table.set_column(i, pa.field(field.name, pa.string()), table.column(i).cast(pa.string()))
    return table
