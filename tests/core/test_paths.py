"""confine(): every user path stays inside its data root, and odd paths are 4xx errors, not OSErrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from neloura.core.paths import confine
from neloura.errors import InvalidParameter, NotFound, PathOutsideRoot


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "root" / "sub" / "a.fits").write_bytes(b"x")
    (tmp_path / "outside.fits").write_bytes(b"secret")
    (tmp_path / "root" / "out").symlink_to(tmp_path / "outside.fits")
    (tmp_path / "root" / "loop").symlink_to("loop")
    return tmp_path / "root"


def test_inside_paths_resolve(root: Path) -> None:
    assert confine(root, "sub/a.fits") == (root / "sub" / "a.fits").resolve()
    assert confine(root, "sub\\a.fits") == (root / "sub" / "a.fits").resolve()
    assert confine(root, "sub/new.fits", must_exist=False).parent == (root / "sub").resolve()


@pytest.mark.parametrize(
    ("relative", "error"),
    [
        ("../outside.fits", PathOutsideRoot),
        ("sub/../../outside.fits", PathOutsideRoot),
        ("..\\outside.fits", PathOutsideRoot),
        ("/etc/passwd", PathOutsideRoot),
        ("~/x", PathOutsideRoot),
        ("out", PathOutsideRoot),  # a symlink leading out
        # no file can have these paths: not found (404), never an OS error
        ("sub/a.fits\x00.png", NotFound),
        ("x" * 300, NotFound),  # longer than NAME_MAX: ENAMETOOLONG before the fix
        ("a/" * 3000, NotFound),  # longer than PATH_MAX
        ("sub/\udc80.fits", NotFound),  # a lone surrogate: the file system cannot encode it
        ("loop/x", InvalidParameter),  # a symlink loop: RuntimeError/OSError before the fix
        ("sub/missing.fits", NotFound),
    ],
)
def test_bad_paths_raise_domain_errors(root: Path, relative: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        confine(root, relative)


@pytest.mark.parametrize("relative", ["sub/a.fits\x00.png", "x" * 300, "a/" * 3000])
def test_impossible_paths_to_create_are_invalid(root: Path, relative: str) -> None:
    """Where a path is to be created, one no file can have is a bad parameter (422)."""
    with pytest.raises(InvalidParameter):
        confine(root, relative, must_exist=False)
