"""Cutouts keep the WCS exact: the source lands where the cutout's WCS says, to 0.01 px."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from photutils.centroids import centroid_2dg

from neloura.core.cutouts import cutout, cutout_header, north_up, render_png, to_fits
from neloura.core.psf import PsfModel, inject
from neloura.core.synthetic import make_wcs_header
from neloura.errors import InvalidParameter


def _field(rotation: float, sip: bool = False) -> tuple[np.ndarray, WCS, float, float]:
    header = make_wcs_header((300, 280), 210.0, -35.0, 0.1, rotation_deg=rotation)
    if sip:
        header["CTYPE1"], header["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
        header.update({"A_ORDER": 2, "B_ORDER": 2, "A_2_0": 2e-5, "B_0_2": -3e-5, "A_1_1": 1e-5})
    wcs = WCS(header)
    data = np.zeros((300, 280))
    x, y = 141.37, 133.81
    inject(data, PsfModel.gaussian(3.0), np.array([x]), np.array([y]), np.array([1000.0]))
    ra, dec = wcs.all_pix2world([[x, y]], 0)[0]
    return data, wcs, float(ra), float(dec)


@pytest.mark.parametrize(("rotation", "sip"), [(0.0, False), (33.0, False), (-20.0, True)])
def test_cutout_wcs_reproduces_the_source_position(rotation: float, sip: bool) -> None:
    data, wcs, ra, dec = _field(rotation, sip)
    piece = cutout(lambda y0, y1, x0, x1: data[y0:y1, x0:x1], data.shape, wcs, ra, dec, 3.0)
    px, py = piece.wcs.all_world2pix([[ra, dec]], 0)[0]
    assert abs(px - piece.x_pix) < 1e-6 and abs(py - piece.y_pix) < 1e-6
    cy, cx = np.array(piece.data.shape) // 2
    stamp = piece.data[cy - 8 : cy + 9, cx - 8 : cx + 9]
    mx, my = centroid_2dg(stamp)
    assert abs(mx + cx - 8 - px) < 0.01 and abs(my + cy - 8 - py) < 0.01
    # the FITS file written keeps that WCS
    header = cutout_header(piece, {"BUNIT": "MJy/sr", "FILTER": "F200W"}, {"ORIGFILE": "x.fits"})
    with fits.open(__import__("io").BytesIO(to_fits(piece, header))) as hdul:
        again = WCS(hdul[0].header)
        assert hdul[0].header["BUNIT"] == "MJy/sr"
    assert np.allclose(again.all_world2pix([[ra, dec]], 0)[0], [px, py], atol=1e-6)


def test_north_up_puts_the_source_at_the_centre_with_north_up() -> None:
    data, wcs, ra, dec = _field(40.0)
    piece = cutout(lambda y0, y1, x0, x1: data[y0:y1, x0:x1], data.shape, wcs, ra, dec, 6.0)
    rotated = north_up(piece, ra, dec, 4.0, 0.1, per_pixel=True)
    assert rotated.data.shape == (40, 40)
    assert rotated.wcs.wcs.cdelt[0] < 0 and rotated.wcs.wcs.cdelt[1] > 0
    mx, my = centroid_2dg(np.nan_to_num(rotated.data[12:29, 12:29]))
    assert abs(mx + 12 - rotated.x_pix) < 0.05 and abs(my + 12 - rotated.y_pix) < 0.05
    assert np.nansum(rotated.data) == pytest.approx(1000.0, rel=0.02)  # per-pixel values: sums kept


def test_partial_cutouts_are_nan_outside_and_bad_sizes_refused() -> None:
    data, wcs, _, _ = _field(0.0)
    ra, dec = wcs.all_pix2world([[1.0, 1.0]], 0)[0]
    piece = cutout(lambda y0, y1, x0, x1: data[y0:y1, x0:x1], data.shape, wcs, ra, dec, 2.0)
    assert np.isnan(piece.data[0, 0]) and np.isfinite(piece.data[-1, -1])
    with pytest.raises(InvalidParameter):
        cutout(lambda y0, y1, x0, x1: data[y0:y1, x0:x1], data.shape, wcs, ra, dec, 1e5)
    assert render_png(piece.data).startswith(b"\x89PNG")
