"""Confine user-given relative paths to a data root.

Every path that reaches the server from a request goes through :func:`confine` before any
file system access: ``..`` segments, absolute paths, NUL bytes, backslashes and symlinks that
resolve outside the root are refused.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from neloura.errors import InvalidParameter, NotFound, PathOutsideRoot


def confine(root: Path, relative: str, *, must_exist: bool = True) -> Path:
    """Resolve ``relative`` inside ``root`` and return the absolute, resolved path.

    Raises :class:`PathOutsideRoot` when the result would leave ``root`` (after resolving
    symlinks) and :class:`NotFound` when ``must_exist`` and nothing is there.
    """
    if relative is None or "\x00" in relative:
        raise InvalidParameter("path contains a NUL byte")
    text = relative.replace("\\", "/").strip()
    pure = PurePosixPath(text)
    if pure.is_absolute() or text.startswith("~"):
        raise PathOutsideRoot(f"absolute paths are not allowed: {relative!r}")
    if any(part == ".." for part in pure.parts):
        raise PathOutsideRoot(f"path leaves its data folder: {relative!r}")
    root_resolved = root.resolve()
    candidate = (root_resolved / pure).resolve()
    if candidate != root_resolved and root_resolved not in candidate.parents:
        raise PathOutsideRoot(f"path leaves its data folder: {relative!r}")
    if must_exist and not candidate.exists():
        raise NotFound(f"no such file: {relative}")
    return candidate


def relative_to_root(root: Path, path: Path) -> str:
    """The POSIX path of ``path`` relative to ``root`` (both resolved)."""
    return path.resolve().relative_to(root.resolve()).as_posix()
