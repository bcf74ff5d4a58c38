"""Files that appear whole or not at all: written under a hidden temporary name in the same
folder, then renamed into place (``os.replace`` is atomic on one file system).

A job killed halfway (cancelled, out of memory, the server killed) leaves at worst a hidden
``.<name>.part-<hex><suffix>`` file, never a truncated result under the real name that a
catalog listing or the viewer would pick up. The temporary name keeps the suffix, so writers
that choose the format from it (matplotlib, astropy) still work.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success it is renamed to ``final``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.stem}.part-{secrets.token_hex(6)}{final.suffix}")
    try:
        yield temp
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)


def write_atomic(final: Path, write: Callable[[Path], object]) -> Path:
    """``write(temp)`` then rename ``temp`` to ``final``; returns ``final``."""
    with atomic_path(final) as temp:
        write(temp)
    return final
