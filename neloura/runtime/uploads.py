"""Uploads into files/uploads/: streamed straight from the request body into a hidden part file
(multipart parsed on the fly, one write, the size limit enforced as bytes arrive), decompressed
once when gzip-compressed (``.fits.gz``: the size limit then applies to the decompressed bytes,
so a gzip bomb stops at the limit), validated as FITS in a bounded worker (deadline: see
:mod:`neloura.runtime.bounded`), then renamed into place. A rejected upload (too large, not
FITS, truncated, WCS keywords out of bounds) leaves nothing; every message names the user's
file, never the hidden part file.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import secrets
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart import MultipartParser
from python_multipart.exceptions import ParseError
from python_multipart.multipart import parse_options_header

from neloura.core.files import is_fits_name, validate_fits
from neloura.core.fits_inspect import FitsInspection, with_listing
from neloura.core.fits_scan import OverBudget
from neloura.core.paths import confine
from neloura.errors import InvalidParameter, NotAFitsImage, PayloadTooLarge
from neloura.runtime.images import SMALL_FILE, ImageStore
from neloura.settings import Settings

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
_FIELD_MAX = 4096
WRITE_BATCH = 1 << 20  # body bytes handed to the multipart parser at once


def safe_name(filename: str) -> str:
    """A plain file name from whatever the browser sent (no folders, no odd characters)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    clean = _UNSAFE.sub("_", base).strip("._") or "upload.fits"
    return clean[:120]


def place_under_free_name(part: Path, folder: Path, name: str) -> Path:
    """Move ``part`` to ``folder/name``, or ``folder/stem-N.ext`` with the first N not taken.

    Never overwrites, even when two uploads of the same name finish together: the new name is
    claimed with a hard link, which fails atomically when the name exists (``part`` must be on
    the same file system, e.g. a hidden file in ``folder``).
    """
    stem, dot, ext = name.partition(".")
    n = 0
    while True:
        target = folder / (name if n == 0 else f"{stem}-{n}{dot}{ext}")
        try:
            os.link(part, target)
        except FileExistsError:
            n += 1
            continue
        part.unlink()
        return target


class _Form:
    """Multipart callbacks: the part named ``file`` goes to ``sink``; small text fields are kept."""

    def __init__(self, sink: BinaryIO, limit_bytes: int, limit_mb: int) -> None:
        self.sink, self.limit_bytes, self.limit_mb = sink, limit_bytes, limit_mb
        self.filename: str | None = None
        self.written = 0
        self.fields: dict[str, str] = {}
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._text = bytearray()

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._add("_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def _begin(self) -> None:
        self._headers, self._name, self._text = {}, None, bytearray()

    def _header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "file":
            if self.filename is not None:
                raise InvalidParameter("upload one file per request")
            self.filename = options.get(b"filename", b"upload.fits").decode("utf-8", "replace")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._name == "file":
            self.written += end - start
            if self.written > self.limit_bytes:
                raise PayloadTooLarge(f"upload larger than the limit of {self.limit_mb} MB")
            self.sink.write(data[start:end])
        elif len(self._text) + end - start <= _FIELD_MAX:
            self._text += data[start:end]

    def _end(self) -> None:
        if self._name and self._name != "file":
            self.fields[self._name] = self._text.decode("utf-8", "replace")


def _feed(parser: MultipartParser, chunks: list[bytes]) -> None:
    """One parser call for a batch of body chunks (each call crosses threads and runs the
    multipart callbacks: once per megabyte instead of once per 64 KB network read)."""
    if chunks:
        parser.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))


def _boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise InvalidParameter("send the file as multipart/form-data with a part named 'file'")
    return options[b"boundary"]


def gunzip_limited(source: Path, target: Path, limit_bytes: int, name: str) -> int:
    """Decompress gzip ``source`` into ``target``, refusing (413) past ``limit_bytes`` of output.

    Reads in 1 MB pieces and never asks zlib for more than the bytes still allowed, so a
    gzip bomb costs at most ``limit_bytes`` of disk and a little memory. Returns the size."""
    written = 0
    try:
        with gzip.open(source, "rb") as stream, target.open("wb") as out:
            while chunk := stream.read(1 << 20):
                written += len(chunk)
                if written > limit_bytes:
                    raise PayloadTooLarge(
                        f"{name} decompresses to more than the upload limit of {limit_bytes // (1024 * 1024)} MB"
                    )
                out.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise NotAFitsImage(f"{name} is not a valid gzip file: {exc}") from None
    return written


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"


async def receive_upload(
    settings: Settings,
    content_type: str,
    body: AsyncIterator[bytes],
    folder_default: str = "",
    *,
    images: ImageStore | None = None,
) -> Path:
    """Stream a multipart body into files/uploads/[folder]/, validate it, return the kept path.

    With ``images`` (``services.images``), validation runs in its bounded worker and the
    inspection is remembered for the kept file (it is not listed twice)."""
    uploads = settings.uploads_dir
    uploads.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    part = uploads / f".part-{token}"
    plain = uploads / f".part-{token}-gunzip"
    limit = settings.upload_max_mb * 1024 * 1024
    try:
        with part.open("wb") as sink:
            form = _Form(sink, limit, settings.upload_max_mb)
            parser = MultipartParser(_boundary(content_type), form.callbacks())
            try:
                pending: list[bytes] = []
                async for chunk in body:  # parsed in a thread, WRITE_BATCH bytes at a time
                    pending.append(chunk)
                    if sum(map(len, pending)) >= WRITE_BATCH:
                        await asyncio.to_thread(_feed, parser, pending)
                        pending = []
                await asyncio.to_thread(_feed, parser, pending)
                parser.finalize()
            except ParseError as exc:  # malformed body, or a part header over the parser's limits
                raise InvalidParameter(f"malformed multipart upload: {exc}") from exc
        name = _check_form(form)
        data = part
        if form.written and _is_gzip(part):
            await asyncio.to_thread(gunzip_limited, part, plain, limit, repr(form.filename))
            data = plain
            name = _without_gz(name)
        if images is not None:
            try:  # a small file at once in a thread, a larger one in the bounded worker
                found = await asyncio.to_thread(validate_fits, data, repr(form.filename), SMALL_FILE)
            except OverBudget:  # the worker also renders the HDU list (the answer's JSON)
                found = await images.runner.run_async(
                    validate_listed, data, repr(form.filename), what=f"reading {name}"
                )
        else:
            found = await asyncio.to_thread(validate_fits, data, repr(form.filename))
        kept = await asyncio.to_thread(_keep, settings, data, form, name, folder_default)
        if images is not None:
            images.remember(kept, found)
        return kept
    finally:
        part.unlink(missing_ok=True)
        plain.unlink(missing_ok=True)


def validate_listed(path: Path, name: str) -> FitsInspection:
    """:func:`validate_fits` with the JSON listing rendered (run in the bounded worker)."""
    return with_listing(validate_fits(path, name))


def _without_gz(name: str) -> str:
    """``x.fits.gz`` -> ``x.fits`` (the kept file is the decompressed one)."""
    stem = name[:-3] if name.lower().endswith(".gz") else name
    return stem if is_fits_name(stem) else f"{stem}.fits"


def _check_form(form: _Form) -> str:
    if form.filename is None:
        raise InvalidParameter("no part named 'file' in the upload")
    name = safe_name(form.filename)
    if not is_fits_name(name):
        raise NotAFitsImage(
            f"{form.filename!r} is not a FITS file name (expected .fits, .fit, .fts, .fz or one of them .gz)"
        )
    if form.written == 0:
        raise InvalidParameter(f"{form.filename!r} is empty")
    return name


def _keep(settings: Settings, data: Path, form: _Form, name: str, folder_default: str) -> Path:
    folder = form.fields.get("folder", folder_default).strip()
    uploads = settings.uploads_dir
    target_dir = confine(uploads, folder, must_exist=False) if folder else uploads.resolve()
    target_dir.mkdir(parents=True, exist_ok=True)
    return place_under_free_name(data, target_dir, name)
