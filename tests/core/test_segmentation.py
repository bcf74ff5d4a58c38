"""Segmentation maps: integer checks, stable colours, window sampling and outlines, properties
equal to photutils' SourceCatalog on the whole image, reprojection, detection footprints."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.wcs import WCS
from photutils.segmentation import SegmentationImage, SourceCatalog, detect_sources

from neloura.core.segmentation import (
    MAX_LABEL,
    color_hex,
    detection_segments,
    label_colors,
    labels_from_values,
    outline_mask,
    render_labels,
    reproject_labels,
    sample_window,
    segment_properties,
)
from neloura.core.synthetic import make_star_field, make_wcs_header
from neloura.errors import NotASegmentationMap


def field(seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    data, _ = make_star_field((160, 200), 25, 3.0, seed=seed, snr_range=(20, 300), noise_sigma=1.0, edge_px=6)
    segm = detect_sources(data, 3.0, n_pixels=5)
    assert segm is not None and segm.n_labels > 10
    return data, segm.data.astype(np.int32)


def test_integer_maps_are_accepted_others_refused() -> None:
    ints = np.array([[0, 1], [2, 7]], np.int16)
    np.testing.assert_array_equal(labels_from_values(ints.astype(np.float32)), ints)
    with_nan = np.array([[np.nan, 3.0], [3.0, 0.0]], np.float32)
    np.testing.assert_array_equal(labels_from_values(with_nan), [[0, 3], [3, 0]])
    with pytest.raises(NotASegmentationMap, match=r"not an integer segmentation map: 1 pixels .*0\.5 at x=1, y=0"):
        labels_from_values(np.array([[1.0, 0.5], [2.0, 3.0]]))
    with pytest.raises(NotASegmentationMap, match="must be >= 0"):
        labels_from_values(np.array([[1.0, -2.0]]))
    with pytest.raises(NotASegmentationMap, match="labels up to"):
        labels_from_values(np.array([[float(MAX_LABEL)]]))
    with pytest.raises(NotASegmentationMap, match="2-D"):
        labels_from_values(np.zeros((2, 2, 2)))


def test_colours_are_stable_bright_and_varied() -> None:
    labels = np.arange(0, 2000)
    colours = label_colors(labels)
    assert (colours[0] == 0).all() and (colours[1:] >= 64).all()
    np.testing.assert_array_equal(colours, label_colors(labels.reshape(40, 50)).reshape(-1, 3))
    assert len({tuple(c) for c in colours[1:]}) > 1990  # neighbours rarely share a colour
    assert color_hex(17) == "#{:02x}{:02x}{:02x}".format(*label_colors(np.array([17]))[0])


def test_window_sampling_at_one_to_one_and_zoomed() -> None:
    labels = np.arange(12, dtype=np.int32).reshape(3, 4)
    grid = sample_window(labels, -0.5, -0.5, 3.5, 2.5, 4, 3)
    np.testing.assert_array_equal(grid, labels[::-1])  # first output row is the top (y up)
    zoomed = sample_window(labels, -0.5, -0.5, 3.5, 2.5, 8, 6)
    np.testing.assert_array_equal(zoomed, np.repeat(np.repeat(labels[::-1], 2, 0), 2, 1))
    outside = sample_window(labels, 10, 10, 20, 20, 5, 5)
    assert not outside.any()


def test_outlines_and_selected_label() -> None:
    grid = np.zeros((7, 7), np.int32)
    grid[1:6, 1:6] = 3
    edge = outline_mask(grid)
    assert edge[1, 1:6].all() and not edge[3, 3] and not edge[0].any()
    rgba = render_labels(grid, outline=True)
    assert rgba[3, 3, 3] == 0 and rgba[1, 3, 3] == 255 and rgba[0, 0, 3] == 0
    filled = render_labels(grid, selected=3)
    assert tuple(filled[1, 3]) == (255, 255, 255, 255) and filled[3, 3, 3] == 255
    assert tuple(filled[3, 3, :3]) == tuple(label_colors(np.array([3]))[0])


def test_properties_equal_photutils_on_the_whole_image() -> None:
    data, labels = field()
    data[40:42, :] = np.nan  # NaN pixels are masked, as photutils is told here too
    reference = SourceCatalog(data, SegmentationImage(labels), mask=~np.isfinite(data))
    for label in (1, 5, int(labels.max())):
        ys, xs = np.nonzero(labels == label)
        y0, y1, x0, x1 = ys.min() - 2, ys.max() + 3, xs.min() - 3, xs.max() + 2
        y0, x0 = max(y0, 0), max(x0, 0)
        got = segment_properties(data[y0:y1, x0:x1], labels[y0:y1, x0:x1], label, offset=(x0, y0))
        want = reference.select_label(label)
        assert got["area_px"] == pytest.approx(want.area.value)
        assert got["x_centroid"] == pytest.approx(want.x_centroid, abs=1e-9)
        assert got["y_centroid"] == pytest.approx(want.y_centroid, abs=1e-9)
        assert got["segment_flux"] == pytest.approx(want.segment_flux, rel=1e-9)
        assert got["semimajor_axis_px"] == pytest.approx(want.semimajor_axis.value, rel=1e-9)
        assert got["semiminor_axis_px"] == pytest.approx(want.semiminor_axis.value, rel=1e-9)
        assert got["orientation_deg"] == pytest.approx(want.orientation.value, abs=1e-7)
        assert got["ellipticity"] == pytest.approx(want.ellipticity.value, abs=1e-9)
        assert got["bbox"] == {"x_min": want.bbox_xmin, "x_max": want.bbox_xmax,
                               "y_min": want.bbox_ymin, "y_max": want.bbox_ymax}  # fmt: skip
    scaled = segment_properties(data, labels, 1, pixel_area_sr=1e-12, flux_factor=2.0)
    assert scaled["segment_flux"] == pytest.approx(2.0 * reference.select_label(1).segment_flux)
    assert scaled["area_arcsec2"] == pytest.approx(reference.select_label(1).area.value * 1e-12 * (206264.806247) ** 2)


def test_reprojection_is_nearest_neighbour_through_both_wcs() -> None:
    _, labels = field()
    seg_header = make_wcs_header(labels.shape, 150.0, 2.0, 0.2, rotation_deg=0)
    img_header = make_wcs_header((120, 140), 150.0005, 2.0003, 0.25, rotation_deg=30)
    seg_wcs, img_wcs = WCS(seg_header), WCS(img_header)
    out = reproject_labels(labels, seg_wcs, img_wcs, (120, 140))
    assert out.dtype == np.int32 and set(np.unique(out)) <= set(np.unique(labels))  # labels never mixed
    yy, xx = np.mgrid[0:120, 0:140]
    sx, sy = seg_wcs.all_world2pix(*img_wcs.all_pix2world(xx.ravel(), yy.ravel(), 0), 0)
    ix, iy = np.floor(sx + 0.5).astype(int), np.floor(sy + 0.5).astype(int)
    inside = (ix >= 0) & (ix < labels.shape[1]) & (iy >= 0) & (iy < labels.shape[0])
    frac_x, frac_y = np.abs(sx - np.round(sx)), np.abs(sy - np.round(sy))
    clear = inside & (frac_x < 0.45) & (frac_y < 0.45)  # away from pixel edges, rounding is unambiguous
    np.testing.assert_array_equal(out.ravel()[clear], labels[iy[clear], ix[clear]])
    assert (out.ravel()[~inside] == 0).all()


def test_detection_segments_are_labelled_by_catalog_id() -> None:
    data, truth = make_star_field((150, 150), 12, 3.0, seed=8, snr_range=(40, 200), noise_sigma=1.0, edge_px=10)
    ids = np.arange(101, 113)
    sky, rms = np.zeros_like(data), np.ones_like(data)
    labels = detection_segments(data, truth["x_pix"], truth["y_pix"], ids, sky=sky, rms=rms, fwhm_px=3.0)
    ix, iy = np.round(truth["x_pix"]).astype(int), np.round(truth["y_pix"]).astype(int)
    np.testing.assert_array_equal(labels[iy, ix], ids)  # each source's pixel carries its id
    assert set(np.unique(labels)) == {0, *ids.tolist()}
    # the union of segments is the photutils footprint of the S/N image holding a peak
    assert (labels > 0).sum() > 12 * 9
    empty = detection_segments(data, [], [], [], sky=sky, rms=rms, fwhm_px=3.0)
    assert not empty.any()
