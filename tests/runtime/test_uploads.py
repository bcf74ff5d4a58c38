"""Upload placement: a finished upload never replaces another file, even under a race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from neloura.runtime.uploads import place_under_free_name, safe_name


def test_free_names_never_overwrite(tmp_path: Path) -> None:
    (tmp_path / "a.fits").write_bytes(b"first")
    part = tmp_path / ".part-1"
    part.write_bytes(b"second")
    placed = place_under_free_name(part, tmp_path, "a.fits")
    assert placed.name == "a-1.fits" and placed.read_bytes() == b"second"
    assert (tmp_path / "a.fits").read_bytes() == b"first"
    assert not part.exists()


def test_simultaneous_uploads_of_one_name_all_survive(tmp_path: Path) -> None:
    parts = []
    for i in range(16):
        part = tmp_path / f".part-{i}"
        part.write_bytes(str(i).encode())
        parts.append(part)
    with ThreadPoolExecutor(8) as pool:
        placed = list(pool.map(lambda p: place_under_free_name(p, tmp_path, "same.csv"), parts))
    assert len({p.name for p in placed}) == 16
    assert sorted(p.read_bytes() for p in placed) == sorted(str(i).encode() for i in range(16))


def test_safe_name_drops_folders_and_odd_characters() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\\\x\\\\my image.fits").endswith(".fits")
    assert "/" not in safe_name("a/b/c.fits")
