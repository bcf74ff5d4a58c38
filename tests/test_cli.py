"""peak_finder.py and ast_test.py run as real subprocesses on small seeded FITS images."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from tests.api.job_helpers import write_field
from tests.core.detection_fields import match, moffat_psf

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("ext", [".fits", ".csv", ".ecsv"])
def test_peak_finder_writes_a_table_by_extension(tmp_path: Path, ext: str) -> None:
    truth = write_field(tmp_path, "img.fits")
    # put the image in extension 1 of a multi-extension file, as --hdu 1 expects
    with fits.open(tmp_path / "img.fits") as hdul:
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(hdul[0].data, hdul[0].header, name="SCI")]).writeto(
            tmp_path / "mef.fits"
        )
    out = tmp_path / f"sources{ext}"
    done = _run(
        "peak_finder.py", str(tmp_path / "mef.fits"), "--hdu", "1", "--threshold", "5", "--fwhm", "3", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    table = Table.read(out, format={".fits": "fits", ".csv": "ascii.csv", ".ecsv": "ascii.ecsv"}[ext])
    assert {"x_pix", "y_pix", "ra_deg", "dec_deg", "peak", "flux", "flux_err", "snr"} <= set(table.colnames)
    if ext != ".csv":
        assert str(table["flux"].unit) == "uJy" and str(table["ra_deg"].unit) == "deg"
    hit, _, _ = match(truth[truth["snr"] >= 10], table)
    assert hit.mean() >= 0.98


def test_peak_finder_help_and_errors(tmp_path: Path) -> None:
    helptext = _run("peak_finder.py", "--help").stdout
    for option in (
        "--hdu",
        "--threshold",
        "--fwhm",
        "--beam",
        "--min-separation",
        "--min-area",
        "--edge",
        "--box",
        "-o",
    ):
        assert option in helptext
    bad = _run("peak_finder.py", str(tmp_path / "missing.fits"), "-o", str(tmp_path / "x.fits"))
    assert bad.returncode != 0 and "error" in bad.stderr
    wrong = _run("peak_finder.py", str(tmp_path / "missing.fits"), "-o", str(tmp_path / "x.txt"))
    assert wrong.returncode == 2 and ".ecsv" in wrong.stderr


def test_ast_test_with_a_psf_file_writes_figure_json_and_table(tmp_path: Path) -> None:
    write_field(tmp_path, "img.fits")
    header = fits.Header()
    header["PIXELSCL"] = 0.0275
    fits.PrimaryHDU(moffat_psf(0.33, 0.0275).astype(np.float32), header=header).writeto(tmp_path / "F770W.fits")
    out = tmp_path / "res" / "completeness.png"
    done = _run(
        "ast_test.py",
        str(tmp_path / "img.fits"),
        "--psf",
        str(tmp_path / "F770W.fits"),
        "--n",
        "40",
        "--iterations",
        "3",
        "--flux-range",
        "0.3",
        "30",
        "--seed",
        "1",
        "--workers",
        "1",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:4] == b"\x89PNG" and out.with_suffix(".pdf").is_file()
    summary = json.loads((out.parent / "completeness.json").read_text())
    assert {"flux", "injected", "recovered", "completeness", "error"} <= set(summary["bins"][0])
    assert "flux_50" in summary and "flux_90" in summary and summary["n_injected"] == 120
    assert len(Table.read(out.parent / "completeness.fits")) == 120


def test_ast_test_gaussian_without_psf(tmp_path: Path) -> None:
    write_field(tmp_path, "img.fits", bunit="")
    out = tmp_path / "c.png"
    done = _run(
        "ast_test.py",
        str(tmp_path / "img.fits"),
        "--fwhm",
        "3",
        "--n",
        "30",
        "--iterations",
        "2",
        "--flux-range",
        "5",
        "200",
        "--workers",
        "1",
        "-o",
        str(out),
        "-q",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "completeness.json").read_text())["flux_unit"] == "count"
