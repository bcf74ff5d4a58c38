"""Fixtures of the API robustness sweep (tests/api/test_robustness_*.py): one data root and one
app per module. The root holds the demo set, bad FITS files under files/bad/, a PSF, and in
files/, catalogs/ and psf/ symlinks leading out (to a folder of secrets) or looping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.core.demo import GalaxyField, write_demo
from neloura.settings import Settings
from tests import hostile_corpus
from tests.api.robustness import IMAGE, SECRET


def _bad_files(files: Path) -> dict[str, bytes]:
    good = (files / IMAGE).read_bytes()
    header_end = good.index(b"END" + b" " * 77) + 80
    first_header = -(-header_end // 2880) * 2880
    table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=np.arange(3.0))])
    table_only = fits.HDUList([fits.PrimaryHDU(), table])
    raw = Path(files / "bad" / ".table.tmp")
    raw.parent.mkdir(parents=True, exist_ok=True)
    table_only.writeto(raw)
    table_bytes = raw.read_bytes()
    raw.unlink()
    return {
        "text.fits": b"this is not a FITS file at all\n" * 10,
        "png.fits": b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,
        "empty.fits": b"",
        "half_header.fits": good[:1000],
        "truncated_data.fits": good[: len(good) // 4],  # inside the SCI data
        "one_block.fits": good[:first_header],
        "garbage.fits.gz": b"\x1f\x8b\x08\x00" + b"garbage" * 100,
        "table_only.fits": table_bytes,
        "huge_dims.fits": _header_only(BITPIX=-32, NAXIS=2, NAXIS1=200_000, NAXIS2=200_000),
        "odd_bitpix.fits": _header_only(BITPIX=7, NAXIS=2, NAXIS1=4, NAXIS2=4) + b"\0" * 2880,
        "naxis_999.fits": _header_only(BITPIX=8, NAXIS=999),
        "nan_axes.fits": _header_only(BITPIX=16, NAXIS=2, NAXIS1="NAN", NAXIS2=-5),
        # issue 13: hostile headers (tests/hostile_corpus.py)
        "sip_order.fits": hostile_corpus.sip_order(9999),
        "pv_many.fits": hostile_corpus.many_pv(5000),
        "bzero_text.fits": hostile_corpus.bad_scaling("BZERO", "abc"),
        "blank_text.fits": hostile_corpus.bad_scaling("BLANK", "q"),
    }


def _header_only(**cards: Any) -> bytes:
    """A hand-written primary header (no validation: astropy would refuse to write these)."""
    text = "SIMPLE  =                    T"
    text = text.ljust(80)
    for key, value in cards.items():
        shown = f"'{value}'" if isinstance(value, str) else str(value)
        text += f"{key:<8}= {shown:>20}".ljust(80)
    text += "END".ljust(80)
    return text.ljust(2880).encode("ascii")


def build_world(base: Path) -> dict[str, Path]:
    """The data root under ``base``: the demo set, bad FITS files, symlinks leading out, and an
    ``outside`` folder with secrets; returns the folders ``base``, ``outside`` and ``root``."""
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (outside / "secret.csv").write_text(f"ra,dec,note\n24.17,15.78,{SECRET}\n")
    secret_image = fits.PrimaryHDU(np.full((8, 8), 1234.5, dtype=np.float32))
    secret_image.header["OBJECT"] = SECRET
    secret_image.writeto(outside / "secret.fits")
    root = base / "root"
    settings = Settings(root=root, demo=False, disk_cache=False, admin=False)  # as tests/conftest.py
    settings.ensure_folders()
    write_demo(
        settings.files_dir,
        settings.catalogs_dir,
        field=GalaxyField(shape=(256, 256), n_stars=60, n_background_galaxies=4),
    )
    for name, data in _bad_files(settings.files_dir).items():
        (settings.files_dir / "bad" / name).write_bytes(data)
    psf = fits.PrimaryHDU(np.ones((9, 9), dtype=np.float32))
    psf.header["PIXELSCL"] = 0.05  # arcsec: a PSF file with its pixel scale, as psf/ holds them
    psf.writeto(settings.psf_dir / "gauss.fits")
    for folder, file_name in (
        (settings.files_dir, "secret.fits"),
        (settings.catalogs_dir, "secret.csv"),
        (settings.psf_dir, "secret.fits"),
    ):
        (folder / "link_out").symlink_to(outside, target_is_directory=True)
        (folder / f"link_{file_name}").symlink_to(outside / file_name)
        (folder / "loop").symlink_to("loop")  # a symlink loop: resolve() raises
    return {"base": base, "outside": outside, "root": root}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_world(tmp_path_factory.mktemp("robust"))


@pytest.fixture(scope="module")
def app_client(world: dict[str, Path]) -> Iterator[tuple[FastAPI, TestClient, Settings]]:
    settings = Settings(root=world["root"], demo=False, disk_cache=False, admin=False)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client, settings


@pytest.fixture(scope="module")
def api(app_client: tuple[FastAPI, TestClient, Settings]) -> TestClient:
    return app_client[1]
