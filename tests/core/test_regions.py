"""Sky -> pixel regions through the full WCS equal regions' to_pixel; DS9 placement on flipped and
rotated images; DS9 and CRTF round trips in sky and pixel coordinates."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import astropy
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from regions import Regions

from neloura.core.region_files import read_regions
from neloura.core.regions import PixelShape, to_pixel_shapes, to_region, write_regions
from neloura.core.synthetic import make_wcs_header
from neloura.core.wcs import ImageWcs
from neloura.errors import InvalidParameter

WCSAXES_DATA = Path(astropy.__file__).parent / "visualization/wcsaxes/tests/data"
WCS_DATA = Path(astropy.__file__).parent / "wcs/tests/data"
ALL_SHAPES = (
    "icrs\n"
    'circle(150.01,2.02,7.5")\n'
    'ellipse(150.0,2.0,9",4",30)\n'
    'box(149.99,1.99,20",6",-25)\n'
    "polygon(150.02,2.0,150.025,2.004,150.018,2.006)\n"
    'annulus(150.0,2.01,3",6")\n'
    'ellipse(150.005,2.0,3",2",6",4",70)\n'
    'box(149.995,2.005,4",2",8",4",10)\n'
    "line(150.0,2.0,150.01,2.01)\n"
    "point(150.003,2.003) # point=cross\n"
    "# text(150.004,2.004) text={hello}\n"
)


def _header(kind: str) -> fits.Header:
    if kind == "msx-galactic":
        h = fits.Header.fromtextfile(WCSAXES_DATA / "msx_header")
        return h
    h = make_wcs_header((400, 500), 150.0, 2.0, 0.36, rotation_deg=30.0 if kind == "rotated" else 0.0)
    if kind == "flipped":  # east to the right: mirrored parity
        h["CDELT1"] = -h["CDELT1"]
    if kind == "flipped-rotated":
        h["CDELT1"] = -h["CDELT1"]
        h["PC1_1"], h["PC1_2"], h["PC2_1"], h["PC2_2"] = 0.5, -math.sqrt(3) / 2, math.sqrt(3) / 2, 0.5
    h["NAXIS"], h["NAXIS1"], h["NAXIS2"] = 2, 500, 400
    return h


def _shapes_text(kind: str) -> str:
    if kind != "msx-galactic":
        return ALL_SHAPES
    return (
        'galactic\ncircle(0.1,0.05,60")\nellipse(0.0,0.0,90",40",30)\n'
        'box(-0.1,0.1,200",60",-25)\nannulus(0.05,0.0,30",60")\n'
    )


@pytest.mark.parametrize("kind", ["standard", "flipped", "rotated", "flipped-rotated", "msx-galactic"])
def test_sky_to_pixel_equals_regions_to_pixel(kind: str) -> None:
    header = _header(kind)
    text = _shapes_text(kind)
    ours = to_pixel_shapes(read_regions(text).records, ImageWcs.from_header(header))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = [r.to_pixel(WCS(header)) for r in Regions.parse(text, format="ds9")]
    assert len(ours) == len(reference)
    for shape, ref in zip(ours, reference, strict=True):
        mine = to_region(shape)
        for attr in ("center", "start", "end", "vertices"):
            if hasattr(ref, attr):
                a, b = getattr(mine, attr), getattr(ref, attr)
                assert np.allclose([a.x, a.y], [b.x, b.y], atol=1e-7), (shape.shape, attr)
        for attr in ("radius", "width", "height", "inner_radius", "outer_radius", "inner_width", "outer_width"):
            if hasattr(ref, attr):
                assert getattr(mine, attr) == pytest.approx(getattr(ref, attr), rel=1e-8), (shape.shape, attr)
        if hasattr(ref, "angle"):
            diff = (mine.angle.deg - ref.angle.deg + 180) % 360 - 180
            assert abs(diff) < 1e-6, (shape.shape, mine.angle.deg, ref.angle.deg)


def test_distorted_sip_image_equals_regions() -> None:
    header = fits.getheader(WCS_DATA / "sip.fits")
    iw = ImageWcs.from_header(header)
    assert iw.wcs is not None and iw.wcs.sip is not None
    ra, dec = iw.pixel_to_world([60.0], [70.0])
    text = f'icrs\ncircle({ra[0]},{dec[0]},20")\nellipse({ra[0]},{dec[0]},40",10",60)\n'
    ours = to_pixel_shapes(read_regions(text).records, iw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = [r.to_pixel(WCS(header)) for r in Regions.parse(text, format="ds9")]
    assert to_region(ours[0]).radius == pytest.approx(reference[0].radius, rel=1e-8)
    assert to_region(ours[1]).width == pytest.approx(reference[1].width, rel=1e-8)
    assert ours[1].angle_deg == pytest.approx(reference[1].angle.deg, abs=1e-6)


def _sky_ellipse_offsets(angle_deg: float, w: float, h: float, t: np.ndarray) -> np.ndarray:
    """Points of the sky ellipse as (east, north) arcsec offsets, DS9's angle: width axis at the
    angle from west through north (PA = angle - 90)."""
    pa = math.radians(angle_deg - 90)
    ex, ey = math.sin(pa), math.cos(pa)  # width axis direction (east, north)
    hx, hy = math.cos(pa), -math.sin(pa)
    return np.stack(
        [0.5 * w * np.cos(t) * ex + 0.5 * h * np.sin(t) * hx, 0.5 * w * np.cos(t) * ey + 0.5 * h * np.sin(t) * hy], 1
    )


def _north_angle(iw: ImageWcs) -> float:
    """Pixel angle (deg, counter-clockwise from +x) of north at (150, 2)."""
    x, y = iw.world_to_pixel([150.0, 150.0], [2.0, 2.0 + 1 / 3600])
    return math.degrees(math.atan2(y[1] - y[0], x[1] - x[0]))


@pytest.mark.parametrize("kind", ["standard", "flipped", "rotated", "flipped-rotated"])
def test_flipped_and_rotated_images_place_regions_as_ds9(kind: str) -> None:
    """DS9 (Base::mapAngleFromRef): a sky angle maps to angle + north rotation on a normal image,
    and is mirrored (180 - angle ...) on an east-right (XX) one; the drawn outline lies on the sky
    ellipse (DS9 ellipse radii 20" x 8", angle 30 from west through north)."""
    header = _header(kind)
    iw = ImageWcs.from_header(header)
    (shape,) = to_pixel_shapes(read_regions('icrs\nellipse(150.0,2.0,20",8",30)\n').records, iw)
    rotation = _north_angle(iw) - 90.0
    expected = 180.0 - 30.0 + rotation if "flipped" in kind else 30.0 + rotation
    if kind == "flipped":
        assert expected % 180 == pytest.approx(150.0)
    assert abs((shape.angle_deg - expected + 90) % 180 - 90) < 1e-4
    # outline points in pixels -> sky -> offsets from the centre: on the sky ellipse
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    a = math.radians(shape.angle_deg)
    w, h = shape.sizes
    cx, cy = shape.points[0]
    px = cx + 0.5 * w * np.cos(t) * math.cos(a) - 0.5 * h * np.sin(t) * math.sin(a)
    py = cy + 0.5 * w * np.cos(t) * math.sin(a) + 0.5 * h * np.sin(t) * math.cos(a)
    ra, dec = iw.pixel_to_world(px, py)
    east = (ra - 150.0) * math.cos(math.radians(2.0)) * 3600
    north = (dec - 2.0) * 3600
    outline = _sky_ellipse_offsets(30.0, 40.0, 16.0, np.linspace(0, 2 * np.pi, 3600))
    ours = np.stack([east, north], 1)
    distance = np.hypot(ours[:, None, 0] - outline[None, :, 0], ours[:, None, 1] - outline[None, :, 1]).min(axis=1)
    assert distance.max() < 0.05  # arcsec (the outline is sampled every 0.1 degree)


def _pixel_shapes() -> list[PixelShape]:
    return [
        PixelShape("circle", [(100.5, 120.25)], (12.0,), meta={"color": "red", "text": "c"}),
        PixelShape("ellipse", [(200.0, 150.0)], (30.0, 12.0), 35.0),
        PixelShape("box", [(250.0, 100.0)], (40.0, 10.0), 120.0, include=False),
        PixelShape("polygon", [(10.0, 10.0), (40.0, 12.0), (25.0, 35.0)]),
        PixelShape("annulus", [(300.0, 300.0)], (5.0, 9.0)),
        PixelShape("line", [(1.0, 2.0), (50.0, 60.0)]),
        PixelShape("point", [(77.0, 88.0)], meta={"point": "cross"}),
        PixelShape("text", [(60.0, 70.0)], meta={"text": "label here"}),
        PixelShape("ellipse_annulus", [(350.0, 200.0)], (6.0, 3.0, 12.0, 6.0), 20.0),
    ]


@pytest.mark.parametrize("fmt", ["ds9", "crtf"])
@pytest.mark.parametrize("system", ["sky", "pixel"])
@pytest.mark.parametrize("kind", ["standard", "flipped", "rotated"])
def test_round_trip_write_read_gives_the_same_regions(fmt: str, system: str, kind: str) -> None:
    iw = ImageWcs.from_header(_header(kind))
    shapes = _pixel_shapes()
    text, left_out = write_regions(shapes, iw, fmt, system)
    kept = [s for i, s in enumerate(shapes) if i not in left_out]
    assert left_out == ([8] if fmt == "crtf" else [])
    back = to_pixel_shapes(read_regions(text).records, iw)
    assert len(back) == len(kept)
    # CRTF sky text carries 6 decimals of a degree (3.6 mas = 0.01 px here); DS9 text 8
    atol = 0.02 if (fmt, system) == ("crtf", "sky") else 1e-3
    for a, b in zip(kept, back, strict=True):
        assert a.shape == b.shape and a.include == b.include
        assert np.allclose(a.points, b.points, atol=atol), (a.shape, a.points, b.points)
        assert np.allclose(a.sizes, b.sizes, rtol=1e-4, atol=atol), (a.shape, a.sizes, b.sizes)
        if a.shape in ("ellipse", "box", "ellipse_annulus"):
            period = 180.0
            assert abs((a.angle_deg - b.angle_deg + period / 2) % period - period / 2) < 1e-3
        if a.shape == "text":
            assert b.meta["text"] == "label here"


def test_sky_regions_projected_beyond_the_pixel_bound_are_refused() -> None:
    """A sky region meets the bound of pixel records once projected (within_pixel_bounds): on a
    0.001"/px image a 10 degree circle (3.6e7 px) is kept, a 60 degree one (2.2e8 px) is not."""
    wcs = ImageWcs.from_header(make_wcs_header((400, 500), 150.0, 2.0, 0.001))
    kept = to_pixel_shapes(read_regions("icrs\ncircle(150,2,10)\n").records, wcs)
    assert kept[0].sizes[0] == pytest.approx(3.6e7, rel=1e-3)
    with pytest.raises(InvalidParameter, match="line 2: the circle does not project"):
        to_pixel_shapes(read_regions("icrs\ncircle(150,2,60)\n").records, wcs)
