"""FitsImage/ImagePlane on astropy's shipped real files and on synthetic edge cases."""

from __future__ import annotations

import mmap
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import neloura.core.fits_compressed as fits_compressed
from neloura.core.fitsio import FitsImage, header_cards, list_hdus
from neloura.core.synthetic import CubeSpec, make_cube, make_wcs_header
from neloura.errors import InvalidParameter, NotAFitsImage
from tests.conftest import COMPRESSED_DATA, FITS_DATA, WCS_DATA


def _astropy_plane(path: Path, hdu: int) -> np.ndarray:
    """astropy's own scaled data (the reference), first plane of any extra axes."""
    with warnings.catch_warnings(), fits.open(path, memmap=False) as hdul:
        warnings.simplefilter("ignore")
        data = np.asarray(hdul[hdu].data, dtype=np.float64)
    while data.ndim > 2:
        data = data[0]
    return data


REAL_IMAGES = [
    (FITS_DATA / "o4sp040b0_raw.fits", 1),  # HST multi-extension, int16 with BZERO
    (FITS_DATA / "o4sp040b0_raw.fits", 4),
    (FITS_DATA / "scale.fits", 0),  # BSCALE/BZERO int16
    (FITS_DATA / "blank.fits", 0),  # BLANK
    (FITS_DATA / "fixed-1890.fits", 0),
    (FITS_DATA / "arange.fits", 0),  # 3-D
    (FITS_DATA / "comp.fits", 1),  # tile-compressed
    (FITS_DATA / "compressed_image.fits", 1),
    (FITS_DATA / "double_ext.fits", 1),  # compressed with BZERO (uint16)
    (COMPRESSED_DATA / "m13.fits", 0),
    (COMPRESSED_DATA / "m13_rice.fits", 1),
    (COMPRESSED_DATA / "m13_gzip.fits", 1),
    (COMPRESSED_DATA / "m13_hcomp.fits", 1),
    (COMPRESSED_DATA / "m13_plio.fits", 1),
    (COMPRESSED_DATA / "compressed_with_nan.fits", 1),
    (WCS_DATA / "dss.14.29.56-62.41.05.fits.gz", 0),  # gzip-compressed file
]


@pytest.mark.parametrize("in_memory_max", [fits_compressed.IN_MEMORY_MAX_PIXELS, 0])
@pytest.mark.parametrize(("path", "hdu"), REAL_IMAGES, ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_physical_values_equal_astropy_scaled_data(
    path: Path, hdu: int, in_memory_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fits_compressed, "IN_MEMORY_MAX_PIXELS", in_memory_max)
    if in_memory_max == 0:  # windowed path: windows straddle bands of 3 rows, 2 bands kept
        monkeypatch.setattr(fits_compressed, "BAND_ROWS", 3)
        monkeypatch.setattr(fits_compressed, "BAND_CACHE_BYTES", 1)
    reference = _astropy_plane(path, hdu)
    with FitsImage(path, hdu) as image:
        plane = image.plane(0)
        full = plane.full()
        assert full.dtype == np.float32 and full.shape == reference.shape
        np.testing.assert_allclose(full, reference.astype(np.float32), rtol=1e-6, equal_nan=True)
        window = plane.read(1, 4, 2, 7)
        np.testing.assert_allclose(window, reference[1:4, 2:7].astype(np.float32), rtol=1e-6, equal_nan=True)
        if image.compressed and in_memory_max == 0:
            assert image._section is not None  # large-image path: window by window
            assert len(image._section._bands) == 2
            np.testing.assert_allclose(plane.read(2, 9, 0, 3), reference[2:9, :3].astype(np.float32), equal_nan=True)
        finite = reference[np.isfinite(reference)]
        sample = plane.sample(10_000)
        assert np.all(np.isfinite(sample)) and len(sample) == min(len(finite), len(sample))
        if finite.size:
            f32 = finite.astype(np.float32)
            assert f32.min() <= sample.min() and sample.max() <= f32.max()


def test_uncompressed_data_stays_memory_mapped(tmp_path: Path) -> None:
    path = tmp_path / "big.fits"
    fits.PrimaryHDU(np.zeros((512, 512), np.float32)).writeto(path)
    with FitsImage(path, 0) as image:
        chain, base = [], image._data
        while base is not None:
            chain.append(type(base))
            base = getattr(base, "base", None)
    assert mmap.mmap in chain  # a view on the mapped file, never a copy in RAM


def test_integer_scaling_blank_and_inf(tmp_path: Path) -> None:
    raw = np.array([[0, 1, -32768], [32767, 100, 5]], dtype=np.int16)
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 0.5, 1000.0, -32768
    path = tmp_path / "scaled.fits"
    hdu.writeto(path)
    with FitsImage(path, 0) as image:
        values = image.plane().full()
        expected = raw.astype(np.float64) * 0.5 + 1000.0
        expected[0, 2] = np.nan
        np.testing.assert_allclose(values, expected, equal_nan=True)
        assert image.plane().value(2, 0) is None and image.plane().value(1, 1) == 1050.0
    floats = np.array([[1.0, np.inf], [-np.inf, np.nan]], dtype=np.float32)
    fits.PrimaryHDU(floats).writeto(tmp_path / "inf.fits")
    with FitsImage(tmp_path / "inf.fits", 0) as image:
        assert np.isnan(image.plane().full()).sum() == 3
        assert list(image.plane().sample(100)) == [1.0]


def test_unsigned_32bit_with_bzero_is_exact_enough(tmp_path: Path) -> None:
    values = np.array([[0, 1, 4_000_000_000]], dtype=np.uint32)
    path = tmp_path / "u32.fits"
    fits.PrimaryHDU(values).writeto(path)  # astropy stores int32 + BZERO 2**31
    with FitsImage(path, 0) as image:
        np.testing.assert_allclose(image.plane().full(), values.astype(np.float32), rtol=1e-7)


def test_nan_heavy_image_samples_only_finite_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    data = rng.normal(10, 1, (300, 400)).astype(np.float32)
    data[rng.random(data.shape) < 0.97] = np.nan
    path = tmp_path / "nan.fits"
    fits.PrimaryHDU(data).writeto(path)
    with FitsImage(path, 0) as image:
        sample = image.plane().sample(1_000_000)
        assert len(sample) == np.isfinite(data).sum()  # step 1: every finite pixel
        assert np.all(np.isfinite(sample))


def test_sample_covers_edges_not_only_centre(tmp_path: Path) -> None:
    data = np.zeros((1000, 1000), np.float32)
    data[:, :100] = 1.0  # the left tenth of the image is bright
    path = tmp_path / "edges.fits"
    fits.PrimaryHDU(data).writeto(path)
    with FitsImage(path, 0) as image:
        sample = image.plane().sample(10_000)
    assert 0.05 < np.mean(sample == 1.0) < 0.15


def _write_cube(path: Path, stokes: bool) -> tuple[np.ndarray, fits.Header]:
    data, header = make_cube(CubeSpec((6, 20, 30), stokes=stokes), seed=2)
    fits.PrimaryHDU(data, header).writeto(path)
    return data, header


def test_alma_4d_cube_planes_along_freq(tmp_path: Path) -> None:
    data, _ = _write_cube(tmp_path / "alma.fits", stokes=True)
    assert data.shape == (1, 6, 20, 30)
    with FitsImage(tmp_path / "alma.fits", 0) as image:
        assert image.planes == 6 and image.plane_fits_axis == 3
        assert (image.width, image.height) == (30, 20)
        np.testing.assert_array_equal(image.plane(4).full(), data[0, 4])
        spectral = image.wcs.spectral_value(4)
        assert spectral is not None and spectral[2] == "frequency"
        with pytest.raises(InvalidParameter):
            image.plane(6)


def test_stokes_first_cube_planes_along_the_non_degenerate_axis(tmp_path: Path) -> None:
    data = np.arange(3 * 1 * 5 * 4, dtype=np.float32).reshape(3, 1, 5, 4)  # STOKES=3, FREQ=1
    header = make_wcs_header((5, 4), 10.0, 10.0, 1.0)
    header["CTYPE3"], header["CTYPE4"] = "FREQ", "STOKES"
    header["CRVAL3"], header["CDELT3"], header["CRPIX3"], header["CUNIT3"] = 1e11, 1e6, 1.0, "Hz"
    header["CRVAL4"], header["CDELT4"], header["CRPIX4"] = 1.0, 1.0, 1.0
    header["WCSAXES"] = 4
    fits.PrimaryHDU(data, header).writeto(tmp_path / "stokes.fits")
    with FitsImage(tmp_path / "stokes.fits", 0) as image:
        assert image.planes == 1  # the spectral axis wins even when it has one channel
        np.testing.assert_array_equal(image.plane(0).full(), data[0, 0])


def test_3d_cube_without_wcs(tmp_path: Path) -> None:
    data = np.random.default_rng(1).normal(size=(5, 8, 9)).astype(np.float32)
    fits.PrimaryHDU(data).writeto(tmp_path / "cube.fits")
    with FitsImage(tmp_path / "cube.fits", 0) as image:
        assert image.planes == 5
        np.testing.assert_array_equal(image.plane(3).full(), data[3])
        assert not image.wcs.has_celestial


def test_list_hdus_on_multi_extension_file() -> None:
    hdus, recommended = list_hdus(FITS_DATA / "o4sp040b0_raw.fits")
    assert [h.name for h in hdus] == ["PRIMARY", "SCI", "ERR", "DQ", "SCI", "ERR", "DQ"]
    assert hdus[1].kind == "image" and hdus[1].shape == (44, 62) and hdus[1].bitpix == 16
    assert hdus[1].bunit == "COUNTS"
    assert recommended == 1
    tables, none = list_hdus(FITS_DATA / "tb.fits")
    assert none is None and tables[1].kind == "table"
    one_d, none_1d = list_hdus(FITS_DATA / "compressed_float_bzero.fits")  # a 1-D compressed HDU
    assert none_1d is None and one_d[1].compressed and one_d[1].kind == "array" and one_d[1].shape == (3,)
    with pytest.raises(NotAFitsImage):
        FitsImage(FITS_DATA / "compressed_float_bzero.fits", 1)
    compressed, rec = list_hdus(COMPRESSED_DATA / "m13_rice.fits")
    assert rec == 1 and compressed[1].compressed and compressed[1].shape == (300, 300)
    assert compressed[0].kind == "empty"


def test_recommended_is_largest_image(tmp_path: Path) -> None:
    hdul = fits.HDUList(
        [
            fits.PrimaryHDU(np.zeros((10, 10), np.float32)),
            fits.ImageHDU(np.zeros((50, 40), np.float32), name="BIG"),
            fits.ImageHDU(np.zeros((20, 20), np.float32), name="SMALL"),
        ]
    )
    hdul.writeto(tmp_path / "multi.fits")
    hdus, recommended = list_hdus(tmp_path / "multi.fits")
    assert recommended == 1 and hdus[1].name == "BIG"


def test_celestial_flag_in_listing() -> None:
    hdus, _ = list_hdus(WCS_DATA / "dss.14.29.56-62.41.05.fits.gz")
    assert hdus[0].has_celestial_wcs and not hdus[1].has_celestial_wcs


def test_header_cards_include_history_and_comment() -> None:
    cards = header_cards(FITS_DATA / "history_header.fits", 0)
    keys = [c.key for c in cards]
    assert "HISTORY" in keys
    assert all(isinstance(c.value, (str, int, float, bool)) or c.value is None for c in cards)
    checksum = header_cards(FITS_DATA / "o4sp040b0_raw.fits", 1)
    assert any(c.key == "BUNIT" and c.value == "COUNTS" for c in checksum)


def test_huge_header_does_not_hang(tmp_path: Path) -> None:
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                  -32",
        "NAXIS   =                    2",
        "NAXIS1  =                   30",
        "NAXIS2  =                   20",
        *(f"HISTORY processing step {i}" for i in range(12_000)),
        *(f"KEY{i:<5d}= {i:20d} / comment {i}" for i in range(3_000)),
        "END",
    ]
    text = "".join(card.ljust(80) for card in cards)
    header_bytes = text.encode("ascii").ljust(-(-len(text) // 2880) * 2880, b" ")
    data = np.ones((20, 30), ">f4").tobytes()
    path = tmp_path / "huge.fits"
    path.write_bytes(header_bytes + data.ljust(-(-len(data) // 2880) * 2880, b"\0"))
    listed = header_cards(path, 0)
    hdus, _ = list_hdus(path)
    with FitsImage(path, 0) as image:
        assert float(image.plane().full().sum()) == 600.0
    assert len(listed) == 15_005 and hdus[0].kind == "image"
    assert sum(c.key == "HISTORY" for c in listed) == 12_000


def _assert_not_a_fits_image(path: Path) -> None:
    """Neither the HDU listing nor opening HDU 0 reads ``path``: both raise NotAFitsImage."""
    with pytest.raises(NotAFitsImage):
        list_hdus(path)
    with pytest.raises(NotAFitsImage):
        FitsImage(path, 0)


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, not FITS at all" * 100, b"SIMPLE  =                    T" + b" " * 50],
    ids=["empty", "text", "header-only-start"],
)
def test_non_fits_files_raise_not_a_fits_image(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.fits"
    path.write_bytes(content)
    _assert_not_a_fits_image(path)


def test_truncated_data_raises_not_a_fits_image(tmp_path: Path) -> None:
    good = tmp_path / "good.fits"
    fits.PrimaryHDU(np.zeros((200, 300), np.float32)).writeto(good)
    raw = good.read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(NotAFitsImage):
        FitsImage(cut, 0)
    cut_compressed = tmp_path / "cut_rice.fits"
    source = (COMPRESSED_DATA / "m13_rice.fits").read_bytes()
    cut_compressed.write_bytes(source[: len(source) - 20_000])
    with pytest.raises(NotAFitsImage):
        FitsImage(cut_compressed, 1).plane().full()


@pytest.mark.parametrize("content", [b"\x1f\x8b\x08\x00" + b"garbage" * 100, b"\x1f\x8b"])
def test_corrupt_gzip_raises_not_a_fits_image(tmp_path: Path, content: bytes) -> None:
    """A corrupt deflate stream raises zlib.error (not an OSError) inside astropy."""
    path = tmp_path / "broken.fits.gz"
    path.write_bytes(content)
    _assert_not_a_fits_image(path)


def test_table_and_empty_hdus_are_not_images() -> None:
    with pytest.raises(NotAFitsImage):
        FitsImage(FITS_DATA / "tb.fits", 1)
    with pytest.raises(NotAFitsImage):
        FitsImage(FITS_DATA / "o4sp040b0_raw.fits", 0)
    with pytest.raises(InvalidParameter):
        FitsImage(FITS_DATA / "scale.fits", 5)


def test_read_clips_and_value_outside_is_none(tmp_path: Path) -> None:
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    fits.PrimaryHDU(data).writeto(tmp_path / "s.fits")
    with FitsImage(tmp_path / "s.fits", 0) as image:
        plane = image.plane()
        np.testing.assert_array_equal(plane.read(-5, 100, 2, 100), data[:, 2:])
        assert plane.read(5, 6, 0, 4).shape == (0, 4)
        assert plane.value(4, 0) is None and plane.value(-1, 0) is None
        assert plane.value(3, 2) == 11.0  # data[y, x]


@pytest.mark.parametrize("in_memory_max", [fits_compressed.IN_MEMORY_MAX_PIXELS, 0])
def test_read_grid_gives_physical_values_at_rows_and_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory_max: int
) -> None:
    """Strided looks (provisional overview tiles) read physical values of scaled integers and of
    in-memory compressed data; a compressed plane read by section only says it cannot."""
    monkeypatch.setattr(fits_compressed, "IN_MEMORY_MAX_PIXELS", in_memory_max)
    raw = np.random.default_rng(3).integers(-3000, 3000, (60, 80)).astype(np.int16)
    plain = tmp_path / "scaled.fits"
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 0.5, 1000.0, -3000
    hdu.writeto(plain)
    rows, cols = np.array([59, 30, 0]), np.array([79, 1, 40])
    expected = raw[rows][:, cols] * 0.5 + 1000.0
    expected[raw[rows][:, cols] == -3000] = np.nan
    plane = FitsImage(plain, 0).plane(0)
    assert plane.grid_readable
    np.testing.assert_array_equal(plane.read_grid(rows, cols), expected.astype(np.float32))
    packed = tmp_path / "packed.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(raw)]).writeto(packed)
    compressed = FitsImage(packed, 1).plane(0)
    if in_memory_max:
        np.testing.assert_array_equal(compressed.read_grid(rows, cols), raw[rows][:, cols].astype(np.float32))
    else:
        assert not compressed.grid_readable
        with pytest.raises(ValueError):
            compressed.read_grid(rows, cols)
