"""Region text reading: equal to the regions package on its own test files, line numbers in errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import regions
from regions import Regions

from neloura.core.region_files import detect_format, read_regions, record_from_region
from neloura.errors import InvalidRegions

DATA = sorted(p for p in Path(regions.__file__).parent.glob("io/*/tests/data/*") if p.suffix in (".reg", ".crtf"))


def test_the_package_ships_region_files() -> None:
    assert len([p for p in DATA if p.suffix == ".reg"]) >= 15
    assert len([p for p in DATA if p.suffix == ".crtf"]) >= 4


@pytest.mark.parametrize("path", DATA, ids=lambda p: p.name)
def test_every_shipped_file_reads_like_the_package(path: Path) -> None:
    text = path.read_text()
    ours = read_regions(text)
    assert ours.format == ("crtf" if path.suffix == ".crtf" else "ds9")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = [record_from_region(r) for r in Regions.parse(text, format=ours.format)]
    assert len(ours.records) == len(reference) > 0
    for a, b in zip(ours.records, reference, strict=True):
        assert (a.shape, a.frame, a.include) == (b.shape, b.frame, b.include)
        assert np.allclose(a.points, b.points, rtol=0, atol=1e-9)
        assert a.sizes == pytest.approx(b.sizes, rel=1e-12)
        assert a.angle_deg == pytest.approx(b.angle_deg, abs=1e-9)
        assert a.meta.get("text") == b.meta.get("text")
        assert a.line >= 1


def test_line_numbers_and_unsupported_shapes_are_listed() -> None:
    text = (
        "# Region file format: DS9\nglobal color=green\nimage\ncircle(10,20,5) # text={a}\n"
        "vector(1,2,3,4)\n-box(5,6,2,3,30)\nphysical\ncircle(1,1,1)\n"
    )
    out = read_regions(text)
    assert [(r.line, r.shape, r.include) for r in out.records] == [(4, "circle", True), (6, "box", False)]
    assert out.records[0].points == [(9.0, 19.0)]  # DS9 image pixels are 1-based
    assert out.records[0].meta["color"] == "green" and out.records[0].meta["text"] == "a"
    assert [(s.line, s.shape) for s in out.skipped] == [(5, "vector"), (8, "circle")]
    assert "physical" in out.skipped[1].reason


def test_ellipse_semi_axes_become_full_widths_and_sky_sizes_arcsec() -> None:
    out = read_regions('fk5\nellipse(10.5,-20.25,3",1\',45)\nannulus(1,2,1",2",3")\n')
    ellipse, *annuli = out.records
    assert ellipse.sizes == pytest.approx((6.0, 120.0)) and ellipse.angle_deg == 45.0
    assert [a.sizes for a in annuli] == [(1.0, 2.0), (2.0, 3.0)]  # a multi-annulus splits


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("image\ncircle(1,2,3)\ncircle(1,2)\n", 3, "circle takes"),
        ("image\ncircle(1,2,zz)\n", 2, "line 2"),
        ("image\nfrobnicate(1,2,3)\n", 2, "frobnicate"),
        ("image\n\n\ncircle(1,2,-3)\n", 4, "positive"),
        ("image\npolygon(1,2,3,4,5)\n", 2, "polygon"),
        ('fk5\ncircle(10,95,3")\n', 2, "latitude"),
        ("image\nannulus(1,2,5,3)\n", 2, "outer"),
        ("image\ncircle(1,2,5)\nbox(1,2e8,3,4)\n", 3, "beyond"),  # |pixel| above 1e8 is no image's
        ("#CRTFv0\ncircle[[1pix, 2pix], 3pix]\ncircle[[1pix, 2pix]\n", 3, "line 3"),
        ("#CRTFv0\nnotashape[[1deg, 2deg], 3deg]\n", 2, "line 2"),
    ],
)
def test_malformed_text_names_the_line_and_reason(text: str, line: int, words: str) -> None:
    with pytest.raises(InvalidRegions) as err:
        read_regions(text)
    assert f"line {line}" in err.value.message and words in err.value.message


def test_format_detection() -> None:
    assert detect_format("  #CRTFv0\n") == "crtf"
    assert detect_format("# Region file format: DS9\n") == "ds9"


FAST_FORMS = (
    "fk5\ncircle(150.1,2.2,3.5\")\ncircle(150.1,2.2,0.5')\ncircle(150.1,2.2,0.001)\ncircle(150.1d,-2.2d,0.01d)\n"
    "circle(2.62r,0.04r,1e-5r)\npoint(150.2,2.3) # point=cross\nline(150,2,150.01,2.01)\n"
    "polygon(150,2,150.01,2,150.01,2.01)\nellipse(150,2,3\",1',45)\nellipse(150,2,3\",1',0)\n"
    'box(150,2,4",2",-30.5)\nbox(150,2,4",2")\nellipse(150,2,3",1\',0.5r)\n'
    'galactic\ncircle(120.5,-30.25,2")\nimage\ncircle(10.5,20,5)\nellipse(10,20,3,1,30)\nbox(5,6,2,3,0)\n'
    "point(1,1)\npolygon(1,1,5,1,5,5,1,5)\nline(1,2,3,4)\n-circle(3,3,1e1)\n"
)


def test_plain_number_lines_read_like_the_package() -> None:
    """The fast path (plain numbers, unit suffixes) gives the records of the package's own parser."""
    ours = read_regions(FAST_FORMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = [record_from_region(r) for r in Regions.parse(FAST_FORMS, format="ds9")]
    assert len(ours.records) == len(reference) == 21
    for a, b in zip(ours.records, reference, strict=True):
        assert (a.shape, a.frame, a.include) == (b.shape, b.frame, b.include)
        assert np.allclose(a.points, b.points, rtol=1e-12, atol=1e-9)
        assert a.sizes == pytest.approx(b.sizes, rel=1e-12)
        assert a.angle_deg == pytest.approx(b.angle_deg, abs=1e-9)
    assert ours.records[0].sizes == (3.5,) and ours.records[1].sizes == pytest.approx((30.0,))
    assert ours.records[2].sizes == pytest.approx((3.6,))  # a bare sky size is in degrees (DS9)
    assert ours.records[14].points == [(9.5, 19.0)]  # 1-based pixels
    # without an angle: DS9's angle 0 (the package's own reader takes the 4th value for the angle),
    # by the fast path and by the package path (sexagesimal) alike
    box = read_regions("image\nbox(5,6,2,3)\n").records[0]
    assert (box.points, box.sizes, box.angle_deg) == ([(4.0, 5.0)], (2.0, 3.0), 0.0)
    for text in ("fk5\nellipse(150,2,3\",1')\n", "fk5\nellipse(10:00:00,2:00:00,3\",1')\n"):
        ellipse = read_regions(text).records[0]
        assert ellipse.sizes == pytest.approx((6.0, 120.0)) and ellipse.angle_deg == 0.0


def test_forms_outside_the_fast_path_go_through_the_package() -> None:
    circle = read_regions("image\ncircle(1i,2i,3i)\n").records[0]  # DS9's "i" suffix: image pixels
    assert (circle.points, circle.sizes) == ([(0.0, 1.0)], (3.0,))
    for line in ('circle(1,2,3")', "circle(1:2:3,4,5)"):
        with pytest.raises(InvalidRegions, match="line 2"):
            read_regions(f"image\n{line}\n")
