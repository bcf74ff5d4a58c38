"""core.files: thumbnails, FITS validation on real files, search."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from neloura.core.files import list_folder, search, thumbnail_png, validate_fits
from neloura.core.fitsio import FitsImage
from neloura.errors import NotAFitsImage
from tests.conftest import COMPRESSED_DATA, FITS_DATA


def _real_files() -> list[Path]:
    out = []
    for path in sorted([*FITS_DATA.glob("*.fits"), *COMPRESSED_DATA.glob("*.fits")]):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with fits.open(path, lazy_load_hdus=False) as hdul:
                    hdul.verify("silentfix")
                    end = hdul[-1]._data_offset + hdul[-1]._data_size
            if end <= path.stat().st_size and path.read_bytes()[:6] == b"SIMPLE":
                out.append(path)
        except Exception:  # noqa: BLE001 - astropy's deliberately broken test files are skipped
            continue
    return out


REAL = _real_files()


def test_real_files_found() -> None:
    assert len(REAL) > 20


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_fits_files_validate(path: Path) -> None:
    validate_fits(path)


@pytest.mark.parametrize("path", REAL[:10], ids=lambda p: p.name)
def test_truncated_real_files_are_refused(path: Path, tmp_path: Path) -> None:
    data = path.read_bytes()
    if len(data) <= 2880:
        pytest.skip("header-only file")
    cut = tmp_path / path.name
    cut.write_bytes(data[: len(data) - 2880])
    with pytest.raises(NotAFitsImage, match=r"truncated|not a readable"):
        validate_fits(cut)


def test_not_fits(tmp_path: Path) -> None:
    p = tmp_path / "x.fits"
    p.write_bytes(b"\x89PNG\r\n" + b"0" * 3000)
    with pytest.raises(NotAFitsImage, match="not a FITS file"):
        validate_fits(p)


def test_thumbnail_shape_orientation_and_nan(tmp_path: Path) -> None:
    data = np.zeros((300, 100), "f4")
    data[:30] = 10.0  # bright FITS rows 0..29: the bottom of the thumbnail
    data[:, :10] = np.nan
    path = tmp_path / "t.fits"
    fits.PrimaryHDU(data).writeto(path)
    with FitsImage(path, 0) as image:
        img = np.asarray(Image.open(io.BytesIO(thumbnail_png(image, 0, 64))))
    assert img.shape == (60, 20)  # block factor ceil(300 / 64) = 5
    assert img[-1, 2:].min() > 200 and img[0, 2:].max() < 30
    assert (img[:, 0] == 0).all()  # NaN columns are black


def test_list_and_search(tmp_path: Path) -> None:
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "Deep_Field.FITS").write_bytes(b"")
    (tmp_path / "b.txt").write_bytes(b"x")
    (tmp_path / ".secret.fits").write_bytes(b"")
    assert [(e.name, e.kind) for e in list_folder(tmp_path, tmp_path)] == [("A", "folder"), ("b.txt", "file")]
    assert [e.path for e in search(tmp_path, "deep_f")] == ["A/Deep_Field.FITS"]
    assert search(tmp_path, "secret") == []
