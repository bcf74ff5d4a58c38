"""Uploads into files/uploads/: streamed to a hidden part file, size-limited, validated, then kept.

A rejected upload (too large, not FITS, truncated) leaves nothing behind.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import BinaryIO

from neloura.core.files import is_fits_name, validate_fits
from neloura.core.paths import confine
from neloura.errors import InvalidParameter, NotAFitsImage, PayloadTooLarge
from neloura.settings import Settings

_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_name(filename: str) -> str:
    """A plain file name from whatever the browser sent (no folders, no odd characters)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    clean = _UNSAFE.sub("_", base).strip("._") or "upload.fits"
    return clean[:120]


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    stem, dot, ext = name.partition(".")
    n = 1
    while target.exists() or target.is_symlink():
        target = folder / f"{stem}-{n}{dot}{ext}"
        n += 1
    return target


def save_upload(settings: Settings, stream: BinaryIO, filename: str, folder: str = "") -> Path:
    """Copy ``stream`` into files/uploads/<folder>/, validate it as FITS, return the kept path."""
    name = safe_name(filename)
    if not is_fits_name(name):
        raise NotAFitsImage(f"{filename!r} is not a FITS file name (expected .fits, .fit, .fts or .fz)")
    uploads = settings.uploads_dir
    uploads.mkdir(parents=True, exist_ok=True)
    target_dir = confine(uploads, folder, must_exist=False) if folder else uploads.resolve()
    target_dir.mkdir(parents=True, exist_ok=True)
    limit = settings.upload_max_mb * 1024 * 1024
    part = target_dir / f".part-{secrets.token_hex(8)}"
    try:
        written = 0
        with part.open("wb") as out:
            while chunk := stream.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise PayloadTooLarge(f"upload larger than the limit of {settings.upload_max_mb} MB")
                out.write(chunk)
        if written == 0:
            raise InvalidParameter(f"{filename!r} is empty")
        validate_fits(part)
        final = _free_name(target_dir, name)
        part.rename(final)
        return final
    finally:
        part.unlink(missing_ok=True)
