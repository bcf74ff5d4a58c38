"""Data tiles and stretch tables over HTTP: the values of the PNG tiles' pyramid (full
resolution and block-mean levels, display orientation), gzip and identity encodings, ETag/304,
NaN kept, errors; the stretch table equals the PNG renderer's table."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient

from neloura.core import data_tiles as dt
from neloura.core.pyramid import block_mean
from neloura.core.stretch import LUT_SIZE, lookup_table
from neloura.core.tiles import Pyramid
from neloura.settings import Settings

H, W = 300, 520  # max_level 10; full resolution 3x2 tiles with smaller edge tiles


@pytest.fixture
def data(settings: Settings) -> np.ndarray:
    rng = np.random.default_rng(7)
    array = rng.normal(100.0, 10.0, size=(H, W)).astype(np.float32)
    array[rng.random(array.shape) < 0.05] = np.nan
    array[:, :7] = np.nan
    fits.PrimaryHDU(array).writeto(settings.files_dir / "img.fits")
    # the same physical values as scaled integers with BLANK
    raw = np.round((np.nan_to_num(array, nan=-1000.0) - 50.0) / 0.01).astype(np.int32)
    hdu = fits.PrimaryHDU(raw)
    hdu.header.update(BSCALE=0.01, BZERO=50.0, BLANK=-100000)
    raw[np.isnan(array)] = -100000
    hdu.data = raw
    hdu.writeto(settings.files_dir / "scaled.fits", output_verify="silentfix")
    return array


def get_tile(client: TestClient, level: int, col: int, row: int, path: str = "img.fits", **headers: str):
    return client.get(f"/api/images/data-tiles/{level}/{col}_{row}.u16", params={"path": path}, headers=headers)


def decode(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == dt.MEDIA_TYPE
    return dt.unpack(response.content).values()  # the test client undoes Content-Encoding


def close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=2e-4, atol=0.02)


def test_full_resolution_tiles_hold_the_flipped_array_region(client: TestClient, data: np.ndarray) -> None:
    g = Pyramid(W, H)
    for col, row in [(0, 0), (1, 0), (2, 1)]:
        box = g.tile(10, col, row)
        close(decode(get_tile(client, 10, col, row)), data[::-1][box.y0 : box.y1, box.x0 : box.x1])


def test_reduced_levels_hold_the_block_means(client: TestClient, data: np.ndarray) -> None:
    for level, k in [(9, 2), (8, 4), (5, 32), (0, 1024)]:
        close(decode(get_tile(client, level, 0, 0)), block_mean(data[::-1], k)[:256, :256])


def test_scaled_integers_give_the_same_physical_values(client: TestClient, data: np.ndarray) -> None:
    close(decode(get_tile(client, 10, 0, 0, "scaled.fits")), decode(get_tile(client, 10, 0, 0)))


def test_gzip_when_accepted_identity_otherwise(client: TestClient, data: np.ndarray) -> None:
    zipped = client.get(
        "/api/images/data-tiles/10/1_0.u16", params={"path": "img.fits"}, headers={"Accept-Encoding": "gzip"}
    )
    assert zipped.headers["content-encoding"] == "gzip" and "accept-encoding" in zipped.headers["vary"].lower()
    plain = get_tile(client, 10, 1, 0, **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert len(plain.content) == dt.HEADER.size + 2 * 256 * 256
    assert plain.content == zipped.content  # httpx decoded the gzip body
    assert plain.headers["etag"] != zipped.headers["etag"]
    assert zipped.num_bytes_downloaded < len(plain.content)  # bytes on the wire: compressed
    assert gzip.decompress(dt.encode_tile(np.zeros((4, 4)))) == dt.encode_tile(np.zeros((4, 4)), gzip=False)


def test_etag_and_304(client: TestClient, data: np.ndarray) -> None:
    first = get_tile(client, 10, 0, 0)
    assert "max-age" in first.headers["cache-control"]
    again = get_tile(client, 10, 0, 0, **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert get_tile(client, 10, 0, 1).headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/images/data-tiles/10/9_0.u16", 422),  # no such tile
        ("/api/images/data-tiles/11/0_0.u16", 422),  # no such level
        ("/api/images/data-tiles/10/0_0.png", 422),
        ("/api/images/data-tiles/10/a_b.u16", 422),
    ],
)
def test_bad_tiles_are_422(client: TestClient, data: np.ndarray, url: str, status: int) -> None:
    response = client.get(url, params={"path": "img.fits"})
    assert response.status_code == status and "detail" in response.json()


def test_missing_and_outside_paths(client: TestClient, data: np.ndarray) -> None:
    assert client.get("/api/images/data-tiles/0/0_0.u16", params={"path": "nope.fits"}).status_code == 404
    assert client.get("/api/images/data-tiles/0/0_0.u16", params={"path": "../../etc/passwd"}).status_code in (403, 404)
    assert client.get("/api/images/data-tiles/0/0_0.u16", params={"path": "img.fits", "hdu": 3}).status_code == 422


def test_stretch_table_is_the_png_renderers_table(client: TestClient, data: np.ndarray) -> None:
    for params in ({"stretch": "log", "exponent": 300}, {"stretch": "sqrt"}):
        body = client.get("/api/images/stretch-table", params={"path": "img.fits", "vmin": 80, "vmax": 120, **params})
        assert body.status_code == 200 and len(body.content) == LUT_SIZE
        want = lookup_table(str(params["stretch"]), params.get("exponent"))[:LUT_SIZE]  # type: ignore[arg-type]
        np.testing.assert_array_equal(np.frombuffer(body.content, np.uint8), want)
    histequ = client.get("/api/images/stretch-table", params={"path": "img.fits", "vmin": 80, "vmax": 120})
    table = np.frombuffer(histequ.content, np.uint8)
    assert table[0] == 0 and table[-1] == 254 and (np.diff(table.astype(int)) >= 0).all()
    assert 100 < table[LUT_SIZE // 2] < 154  # normal data: the middle of the limits is the median
    again = client.get(
        "/api/images/stretch-table",
        params={"path": "img.fits", "vmin": 80, "vmax": 120},
        headers={"If-None-Match": histequ.headers["etag"]},
    )
    assert again.status_code == 304
    bad = client.get("/api/images/stretch-table", params={"path": "img.fits", "stretch": "cubic"})
    assert bad.status_code == 422


def test_tile_compressed_multi_extension_file(client: TestClient, settings: Settings) -> None:
    rng = np.random.default_rng(3)
    array = rng.integers(-500, 20000, size=(200, 300)).astype(np.int32)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(array, compression_type="RICE_1")]).writeto(
        settings.files_dir / "comp.fits"
    )
    got = decode(client.get("/api/images/data-tiles/9/0_0.u16", params={"path": "comp.fits", "hdu": 1}))
    want = array[::-1][:, :256].astype(np.float64)  # full resolution: the first 256 columns
    # uniform values over 20,500: about one linear 16-bit step of the tile's range
    np.testing.assert_allclose(got, want, rtol=0, atol=2 * np.ptp(want) / dt.MAX_CODE)
