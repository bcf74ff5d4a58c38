"""Confine user-given relative paths to a data root.

Every path that reaches the server from a request goes through :func:`confine` before any
file system access: ``..`` segments, absolute paths, NUL bytes, backslashes and symlinks that
resolve outside the root are refused.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from neloura.errors import InvalidParameter, NelouraError, NotFound, PathOutsideRoot

MAX_PATH_BYTES = 4096  # PATH_MAX on Linux
MAX_NAME_BYTES = 255  # NAME_MAX: longer names make the OS raise ENAMETOOLONG


def confine(root: Path, relative: str, *, must_exist: bool = True) -> Path:
    """Resolve ``relative`` inside ``root`` and return the absolute, resolved path.

    Raises :class:`PathOutsideRoot` when the result would leave ``root`` (after resolving
    symlinks) and :class:`NotFound` when ``must_exist`` and nothing is there, including a path
    that no file can have (a NUL byte, a name over 255 bytes, over 4096 bytes in all, characters
    the file system cannot encode): the request is well formed, the file does not exist. Where
    the path is to be created (``must_exist=False``) those are :class:`InvalidParameter`.
    """
    impossible: type[NelouraError] = NotFound if must_exist else InvalidParameter
    if relative is None or "\x00" in relative:
        raise impossible("path contains a NUL byte: no such file")
    text = relative.replace("\\", "/").strip()
    pure = PurePosixPath(text)
    if pure.is_absolute() or text.startswith("~"):
        raise PathOutsideRoot(f"absolute paths are not allowed: {relative!r}")
    if any(part == ".." for part in pure.parts):
        raise PathOutsideRoot(f"path leaves its data folder: {relative!r}")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES or any(
        len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in pure.parts
    ):
        raise impossible(
            f"path too long (at most {MAX_PATH_BYTES} bytes, {MAX_NAME_BYTES} per name): {relative[:80]!r}..."
        )
    root_resolved = root.resolve()
    try:
        candidate = (root_resolved / pure).resolve()
        exists = candidate.exists()
    except ValueError as exc:  # characters the file system cannot encode (a lone surrogate)
        raise impossible(f"unusable path {relative[:200]!r}: {exc.__class__.__name__}") from exc
    except (OSError, RuntimeError) as exc:  # symlink loops (RuntimeError before 3.13)
        raise InvalidParameter(f"unusable path {relative[:200]!r}: {exc.__class__.__name__}") from exc
    if candidate != root_resolved and root_resolved not in candidate.parents:
        raise PathOutsideRoot(f"path leaves its data folder: {relative!r}")
    if must_exist and not exists:
        raise NotFound(f"no such file: {relative}")
    return candidate


def confine_file(root: Path, relative: str, missing: type[NotFound], what: str) -> Path:
    """:func:`confine` for a regular file: ``missing(...)`` (a 404) when nothing or a folder is there."""
    try:
        path = confine(root, relative)
    except NotFound as exc:
        raise missing(f"no such {what}: {relative}") from exc
    if not path.is_file():
        raise missing(f"not a {what} file: {relative}")
    return path


def relative_to_root(root: Path, path: Path) -> str:
    """The POSIX path of ``path`` relative to ``root`` (both resolved)."""
    return path.resolve().relative_to(root.resolve()).as_posix()


def stays_inside(root: Path, path: Path) -> bool:
    """True when ``path`` resolves (symlinks followed) to ``root`` or below it.

    ``root`` must already be resolved. Symlink loops and unreadable links count as outside.
    """
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: RuntimeError before Python 3.13, OSError after
        return False
    return resolved == root or root in resolved.parents
