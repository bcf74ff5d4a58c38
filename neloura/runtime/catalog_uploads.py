"""Catalog uploads into catalogs/uploads/: streamed to a hidden part file, size-limited, then
validated by converting them; a rejected upload leaves nothing behind (file and cache)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, BinaryIO

from neloura.core.catalogs import sniff_format
from neloura.core.paths import relative_to_root
from neloura.errors import InvalidParameter, PayloadTooLarge, UnsupportedFormat
from neloura.runtime.catalogs import SUFFIXES, CatalogStore
from neloura.runtime.uploads import place_under_free_name, safe_name


def save_catalog_upload(store: CatalogStore, stream: BinaryIO, filename: str) -> dict[str, Any]:
    """Copy ``stream`` into catalogs/uploads/, convert it (which validates it), return its entry.

    Too large -> 413; unknown format -> 415; unreadable -> 415 with the reader's reason.
    A rejected upload leaves nothing behind.
    """
    clean = safe_name(filename or "catalog.csv")
    sniff_name = Path(clean)
    if not clean.lower().endswith(SUFFIXES):
        raise UnsupportedFormat(
            f"{filename!r}: not a catalog file name (.fits, .vot/.xml, .csv, .tsv, .ecsv, .parquet)"
        )
    folder = store.uploads_dir
    folder.mkdir(parents=True, exist_ok=True)
    limit = store.settings.upload_max_mb * 1024 * 1024
    part = folder / f".part-{secrets.token_hex(8)}-{sniff_name.name}"
    final: Path | None = None
    try:
        written = 0
        with part.open("wb") as out:
            while chunk := stream.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise PayloadTooLarge(f"upload larger than the limit of {store.settings.upload_max_mb} MB")
                out.write(chunk)
        if written == 0:
            raise InvalidParameter(f"{filename!r} is empty")
        sniff_format(part)
        final = place_under_free_name(part, folder, clean)
        name = relative_to_root(store.settings.catalogs_dir, final)
        catalog = store.open(name)
        return {"name": name, "size": written, "format": catalog.fmt, "rows": catalog.num_rows}
    except BaseException:
        if final is not None:
            store.forget(final)
            final.unlink(missing_ok=True)
        raise
    finally:
        part.unlink(missing_ok=True)
