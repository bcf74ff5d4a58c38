"""Reference grid, overlap checks and reprojection of composite channels (the three-instrument
star field: after reprojection every channel's stars sit within 0.1 px of the reference positions)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.wcs import WCS
from reproject import reproject_interp

import neloura.core.rgb_reproject as rr
from neloura.core.rgb_reproject import ChannelGrid, check_overlap, choose_reference, plan_mode, reproject_channel
from neloura.core.synthetic import make_wcs_header
from neloura.errors import InvalidParameter
from tests.core.rgb_fields import FWHM_ARCSEC, INSTRUMENTS, field_header, render, star_sky


def _centroid(image: np.ndarray, x: float, y: float, radius: float) -> tuple[float, float]:
    """First moment in a circular window, recentred until it settles (noise-free background 0).
    Each step reads the box holding the window, not the whole image (same sums, 25 stars x 8 steps)."""
    r = int(np.ceil(radius)) + 1
    for _ in range(8):
        y0, x0 = max(int(y) - r, 0), max(int(x) - r, 0)
        box = image[y0 : int(y) + r + 1, x0 : int(x) + r + 1]
        yy, xx = np.mgrid[y0 : y0 + box.shape[0], x0 : x0 + box.shape[1]]
        window = ((xx - x) ** 2 + (yy - y) ** 2 <= radius**2) & np.isfinite(box)
        w = np.where(window, box, 0.0)
        x, y = float((w * xx).sum() / w.sum()), float((w * yy).sum() / w.sum())
    return x, y


def _grids() -> tuple[list[ChannelGrid], list[np.ndarray]]:
    ra, dec = star_sky()
    headers = [field_header(*inst) for inst in INSTRUMENTS]
    grids = [ChannelGrid((int(h["NAXIS2"]), int(h["NAXIS1"])), WCS(h)) for h in headers]
    return grids, [render(h, ra, dec) for h in headers]


@pytest.mark.parametrize("method", ["interp", "exact"])
def test_stars_of_every_channel_land_within_a_tenth_of_a_pixel(method: str) -> None:
    grids, images = _grids()
    ref = choose_reference(grids)
    assert ref == 0  # the finest pixel scale (0.03")
    check_overlap(grids, ref, ["a", "b", "c"])
    ra, dec = star_sky()
    ref_wcs = grids[ref].wcs
    assert ref_wcs is not None
    x_ref, y_ref = ref_wcs.world_to_pixel_values(ra, dec)
    radius = 2.0 * FWHM_ARCSEC / 0.03
    for grid, data in zip(grids, images, strict=True):
        out = np.empty(grids[ref].shape, dtype=np.float32)
        assert grid.wcs is not None
        reproject_channel(data, grid.wcs, ref_wcs, out, method)
        errors = [
            np.hypot(*np.subtract(_centroid(out, x, y, radius), (x, y))) for x, y in zip(x_ref, y_ref, strict=True)
        ]
        assert max(errors) < 0.1, (grid.pixel_scale_arcsec, max(errors))


def test_bands_equal_one_call_of_reproject(monkeypatch: pytest.MonkeyPatch) -> None:
    grids, images = _grids()
    monkeypatch.setattr(rr, "BAND_PIXELS", 20_000)  # many bands
    assert grids[2].wcs is not None and grids[0].wcs is not None
    out = np.empty(grids[0].shape, dtype=np.float32)
    seen: list[float] = []
    reproject_channel(images[2], grids[2].wcs, grids[0].wcs, out, progress=lambda f, m: seen.append(f))
    direct = reproject_interp((images[2], grids[2].wcs), grids[0].wcs, shape_out=grids[0].shape, return_footprint=False)
    np.testing.assert_allclose(out, direct, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert len(seen) > 5 and seen == sorted(seen) and seen[-1] == 1.0


def test_reference_defaults_to_the_finest_scale_or_the_one_picked() -> None:
    grids, _ = _grids()
    reordered = [grids[2], grids[1], grids[0]]
    assert choose_reference(reordered) == 2
    assert choose_reference(reordered, 1) == 1
    with pytest.raises(InvalidParameter, match="reference"):
        choose_reference(reordered, 3)


def test_images_far_apart_on_the_sky_are_refused() -> None:
    grids, _ = _grids()
    far = ChannelGrid((100, 100), WCS(make_wcs_header((100, 100), 10.0, -40.0, 0.1)))
    with pytest.raises(InvalidParameter, match="does not overlap"):
        check_overlap([grids[0], far], 0, ["a.fits", "far.fits"])
    # a channel that contains the whole reference overlaps it
    wide = ChannelGrid((400, 400), WCS(make_wcs_header((400, 400), 150.1, 2.2, 1.0)))
    check_overlap([grids[0], wide], 0, ["a", "wide"])


def test_without_wcs_only_same_shapes_combine_pixel_by_pixel() -> None:
    grids, _ = _grids()
    assert plan_mode(grids, ["a", "b", "c"]) == "wcs"
    assert plan_mode([ChannelGrid((50, 60), None), ChannelGrid((50, 60), None)], ["x", "y"]) == "pixel"
    with pytest.raises(InvalidParameter, match=r"no celestial WCS.*shapes differ"):
        plan_mode([grids[0], ChannelGrid((50, 60), None)], ["a", "nowcs.fits"])


def test_unknown_method_is_refused() -> None:
    grids, images = _grids()
    assert grids[1].wcs is not None and grids[0].wcs is not None
    with pytest.raises(InvalidParameter, match="method"):
        reproject_channel(images[1], grids[1].wcs, grids[0].wcs, np.empty((2, 2), np.float32), "nearest")
