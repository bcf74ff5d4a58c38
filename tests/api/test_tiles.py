"""Tile endpoint over HTTP: pixels equal the expected rendering, caching headers, parameter
errors, path confinement (of the histogram too), real files, provisional overview tiles.
The histogram and limits: test_tiles_histogram.py; shared helpers: tile_helpers.py."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient
from PIL import Image

from neloura.core.colormaps import palette
from neloura.core.pyramid import block_mean
from neloura.core.stretch import NAN_INDEX, apply, lookup_table
from neloura.core.tiles import Pyramid
from neloura.settings import Settings
from tests.api.tile_helpers import H, W, expected, indices, tile, write_image
from tests.conftest import COMPRESSED_DATA, FITS_DATA


@pytest.fixture
def data(settings: Settings) -> np.ndarray:
    return write_image(settings.files_dir)


def test_full_resolution_tile_equals_the_flipped_array_region(client: TestClient, data: np.ndarray) -> None:
    vmin, vmax = 80.0, 120.0
    g = Pyramid(W, H)
    for col, row in [(0, 0), (1, 0), (2, 1)]:
        box = g.tile(10, col, row)
        got = indices(tile(client, 10, col, row, vmin=vmin, vmax=vmax))
        region = data[::-1][box.y0 : box.y1, box.x0 : box.x1]  # display: FITS row 0 at the bottom
        np.testing.assert_array_equal(got, expected(region, vmin, vmax))
    # the top-left tile shows the LAST array rows, first row of the tile = last FITS row
    got = indices(tile(client, 10, 1, 0, vmin=vmin, vmax=vmax))
    np.testing.assert_array_equal(got[0], expected(data[H - 1, 256:512][None], vmin, vmax)[0])


def test_edge_tiles_are_smaller(client: TestClient, data: np.ndarray) -> None:
    assert indices(tile(client, 10, 2, 1, vmin=0, vmax=1)).shape == (H - 256, W - 512)
    assert indices(tile(client, 0, 0, 0, vmin=0, vmax=1)).shape == (1, 1)


def test_reduced_levels_equal_numpy_block_means(client: TestClient, data: np.ndarray) -> None:
    vmin, vmax = 90.0, 110.0
    for level, k in [(9, 2), (8, 4), (5, 32), (0, 1024)]:
        got = indices(tile(client, level, 0, 0, vmin=vmin, vmax=vmax))
        reference = expected(block_mean(data[::-1], k)[:256, :256], vmin, vmax).astype(int)
        diff = np.abs(got.astype(int) - reference)
        # float32 cascade vs float64 reference: a value on a palette boundary may round either way
        assert diff.max() <= 1 and (diff == 0).mean() > 0.999


def test_nan_is_transparent_by_default_or_the_given_colour(client: TestClient, data: np.ndarray) -> None:
    response = tile(client, 10, 0, 0, vmin=80, vmax=120)
    got = indices(response)
    assert (got[:, :7] == NAN_INDEX).all()
    rgba = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGBA"))
    assert (rgba[:, :7, 3] == 0).all() and (rgba[:, 7:, 3][got[:, 7:] != NAN_INDEX] == 255).all()
    red = np.asarray(Image.open(io.BytesIO(tile(client, 10, 0, 0, nan_color="#ff0000").content)).convert("RGBA"))
    assert red[0, 0].tolist() == [255, 0, 0, 255]


def test_defaults_are_linear_gray_and_the_default_limits(client: TestClient, data: np.ndarray) -> None:
    finite = data[np.isfinite(data)]
    vmin, vmax = np.percentile(finite, [0.5, 99.5])
    got = indices(tile(client, 10, 1, 0))
    region = data[::-1][0:256, 256:512]
    diff = np.abs(got.astype(int) - expected(region, float(vmin), float(vmax)).astype(int))
    assert diff.max() <= 1  # the default limits come from a sample, not all pixels
    histogram = client.get("/api/images/histogram", params={"path": "img.fits"}).json()
    explicit = tile(
        client, 10, 1, 0, vmin=histogram["default_limits"]["vmin"], vmax=histogram["default_limits"]["vmax"]
    )
    np.testing.assert_array_equal(got, indices(explicit))


@pytest.mark.parametrize("stretch", ["log", "sqrt", "squared", "power", "asinh", "sinh"])
def test_stretch_parameter(client: TestClient, data: np.ndarray, stretch: str) -> None:
    got = indices(tile(client, 10, 0, 1, vmin=70, vmax=130, stretch=stretch))
    region = data[::-1][256:H, 0:256]
    np.testing.assert_array_equal(got, expected(region, 70.0, 130.0, stretch))


def test_colormap_invert_and_palette(client: TestClient, data: np.ndarray) -> None:
    viridis = Image.open(io.BytesIO(tile(client, 10, 0, 0, cmap="viridis").content))
    assert np.array(viridis.getpalette()[: 255 * 3]).reshape(255, 3).tolist() == palette("viridis").rgb[:255].tolist()
    inverted = Image.open(io.BytesIO(tile(client, 10, 0, 0, cmap="viridis", invert=True).content))
    np.testing.assert_array_equal(
        np.array(inverted.getpalette()[: 255 * 3]).reshape(255, 3), palette("viridis").rgb[:255][::-1]
    )
    assert tile(client, 10, 0, 0, cmap="viridis_r").status_code == 200


def test_jpeg_option(client: TestClient, data: np.ndarray) -> None:
    response = tile(client, 10, 1, 0, "jpg", vmin=80, vmax=120)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    rgb = np.asarray(Image.open(io.BytesIO(response.content)).convert("L")).astype(float)
    exact = palette("gray").rgb[expected(data[::-1][0:256, 256:512], 80, 120)][..., 0].astype(float)
    assert np.abs(rgb - exact).mean() < 6  # lossy, but the same picture


def test_etag_cache_control_and_304(client: TestClient, data: np.ndarray) -> None:
    first = tile(client, 10, 0, 0)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = client.get("/api/images/tiles/10/0_0.png", params={"path": "img.fits"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert tile(client, 10, 0, 0).content == first.content
    others = {
        tile(client, 10, 0, 0, **p).headers["etag"]
        for p in ({"stretch": "log"}, {"cmap": "hot"}, {"vmin": 1}, {"invert": True}, {"nan_color": "red"})
    }
    assert len(others | {etag}) == 6


def test_changed_file_changes_the_etag(client: TestClient, settings: Settings, data: np.ndarray) -> None:
    before = tile(client, 10, 0, 0).headers["etag"]
    fits.PrimaryHDU(data * 2).writeto(settings.files_dir / "img.fits", overwrite=True)
    import os

    os.utime(settings.files_dir / "img.fits", (2e9, 2e9))
    assert tile(client, 10, 0, 0).headers["etag"] != before


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/images/tiles/11/0_0.png", {}),
        ("/api/images/tiles/10/3_0.png", {}),
        ("/api/images/tiles/10/0_2.png", {}),
        ("/api/images/tiles/-1/0_0.png", {}),
        ("/api/images/tiles/10/0_0.gif", {}),
        ("/api/images/tiles/10/0-0.png", {}),
        ("/api/images/tiles/x/0_0.png", {}),
        ("/api/images/tiles/10/0_0.png", {"stretch": "cubic"}),
        ("/api/images/tiles/10/0_0.png", {"stretch": "power", "exponent": -2}),
        ("/api/images/tiles/10/0_0.png", {"cmap": "nope"}),
        ("/api/images/tiles/10/0_0.png", {"vmin": 5, "vmax": 1}),
        ("/api/images/tiles/10/0_0.png", {"vmin": "abc"}),
        ("/api/images/tiles/10/0_0.png", {"nan_color": "#12"}),
        ("/api/images/tiles/10/0_0.png", {"hdu": 3}),
        ("/api/images/tiles/10/0_0.png", {"plane": 1}),
        ("/api/images/tiles/10/0_0.png", {"hdu": -1}),
    ],
)
def test_bad_parameters_are_422_with_a_detail(client: TestClient, data: np.ndarray, url: str, params: dict) -> None:
    response = client.get(url, params={"path": "img.fits", **params})
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


ENDPOINTS = ["/api/images/tiles/0/0_0.png", "/api/images/histogram"]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_paths_are_confined(client: TestClient, settings: Settings, tmp_path: Path, url: str) -> None:
    secret = tmp_path / "secret.fits"
    fits.PrimaryHDU(np.ones((8, 8), np.float32)).writeto(secret)
    (settings.files_dir / "out.fits").symlink_to(secret)
    (settings.files_dir / "sub").mkdir()
    for bad in ("../secret.fits", "sub/../../secret.fits", str(secret), "out.fits"):
        response = client.get(url, params={"path": bad})
        assert response.status_code == 403, (bad, response.text)
    # URL-encoded dots: decoded once by the server, still refused
    response = client.get(f"{url}?path=%2e%2e%2fsecret.fits")
    assert response.status_code == 403
    assert client.get(f"{url}?path=%252e%252e%252fsecret.fits").status_code == 404  # literal name
    assert client.get(url, params={"path": "missing.fits"}).status_code == 404
    assert client.get(url).status_code == 422  # path is required


@pytest.mark.parametrize("url", ENDPOINTS)
def test_not_fits_is_415(client: TestClient, settings: Settings, url: str) -> None:
    (settings.files_dir / "notes.fits").write_text("not a FITS file at all")
    response = client.get(url, params={"path": "notes.fits"})
    assert response.status_code == 415 and response.json()["detail"]


# -- real files shipped with astropy ----------------------------------------------------------


@pytest.mark.parametrize("name", ["m13.fits", "m13_gzip.fits", "m13_rice.fits", "m13_hcomp.fits", "m13_plio.fits"])
def test_m13_tile_compressed_variants(client: TestClient, settings: Settings, name: str) -> None:
    shutil.copy(COMPRESSED_DATA / name, settings.files_dir / name)
    hdu = 0 if name == "m13.fits" else 1
    with fits.open(COMPRESSED_DATA / name) as hdul:
        truth = np.asarray(hdul[hdu].data, dtype=np.float64)
    g = Pyramid(truth.shape[1], truth.shape[0])
    params = {"path": name, "hdu": hdu, "vmin": float(truth.min()), "vmax": float(truth.max())}
    response = client.get(f"/api/images/tiles/{g.max_level}/0_0.png", params=params)
    box = g.tile(g.max_level, 0, 0)
    region = truth[::-1][box.y0 : box.y1, box.x0 : box.x1].astype(np.float32)
    np.testing.assert_array_equal(indices(response), expected(region, params["vmin"], params["vmax"]))
    overview = client.get(f"/api/images/tiles/{g.max_level - 2}/0_0.png", params=params)
    reduced = block_mean(truth[::-1].astype(np.float32), 4)
    got = indices(overview).astype(int)
    assert np.abs(got - expected(reduced, params["vmin"], params["vmax"]).astype(int)).max() <= 1
    assert client.get("/api/images/histogram", params={"path": name, "hdu": hdu}).status_code == 200


def test_bzero_integers_display_physical_values(client: TestClient, settings: Settings) -> None:
    shutil.copy(FITS_DATA / "o4sp040b0_raw.fits", settings.files_dir / "raw.fits")
    with fits.open(FITS_DATA / "o4sp040b0_raw.fits") as hdul:
        physical = np.asarray(hdul[1].data, dtype=np.float64)  # astropy applies BZERO=32768
        assert hdul[1].header["BZERO"] == 32768
    vmin, vmax = float(physical.min()), float(physical.max())
    response = client.get(
        "/api/images/tiles/6/0_0.png", params={"path": "raw.fits", "hdu": 1, "vmin": vmin, "vmax": vmax}
    )
    np.testing.assert_array_equal(indices(response), expected(physical[::-1].astype(np.float32), vmin, vmax))
    body = client.get("/api/images/histogram", params={"path": "raw.fits", "hdu": 1}).json()
    assert body["limits"]["minmax"] == {"vmin": vmin, "vmax": vmax}
    # an HDU without data is not an image
    assert client.get("/api/images/tiles/0/0_0.png", params={"path": "raw.fits", "hdu": 2}).status_code == 415


def test_cube_planes_render_their_own_values(client: TestClient, settings: Settings) -> None:
    cube = np.stack([np.full((40, 30), 10.0 * i, np.float32) for i in range(3)])
    fits.PrimaryHDU(cube).writeto(settings.files_dir / "cube.fits")
    for plane in range(3):
        got = indices(
            client.get(
                "/api/images/tiles/6/0_0.png", params={"path": "cube.fits", "plane": plane, "vmin": 0, "vmax": 20}
            )
        )
        assert (got == expected(np.array([[10.0 * plane]], np.float32), 0, 20)[0, 0]).all()


def test_degenerate_images(client: TestClient, settings: Settings) -> None:
    fits.PrimaryHDU(np.full((50, 60), np.nan, np.float32)).writeto(settings.files_dir / "nan.fits")
    fits.PrimaryHDU(np.array([[5.0]], np.float32)).writeto(settings.files_dir / "one.fits")
    blank = fits.PrimaryHDU(np.arange(100, dtype=np.int16).reshape(10, 10))
    blank.header["BLANK"] = 7
    blank.writeto(settings.files_dir / "blank.fits")
    nan_tile = indices(client.get("/api/images/tiles/6/0_0.png", params={"path": "nan.fits"}))
    assert nan_tile.shape == (50, 60) and (nan_tile == NAN_INDEX).all()
    assert client.get("/api/images/histogram", params={"path": "nan.fits"}).json()["sample_size"] == 0
    assert indices(client.get("/api/images/tiles/0/0_0.png", params={"path": "one.fits"})).shape == (1, 1)
    got = indices(client.get("/api/images/tiles/4/0_0.png", params={"path": "blank.fits", "vmin": 0, "vmax": 99}))
    assert got[::-1][0, 7] == NAN_INDEX and (got != NAN_INDEX).sum() == 99  # BLANK is no data


def test_overview_tiles_before_the_levels_are_strided_uncached_and_announced_when_replaced(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8: a reduced-level tile asked for while the block means are still being built is
    drawn at once from the source pixel nearest each block centre, marked ``no-store`` with its
    own ETag and never kept; when the levels exist ``levels:ready`` goes out on /ws and the same
    tile is the block mean, cacheable."""
    import threading

    from neloura.app import create_app
    from neloura.runtime import tiles as tiles_module

    monkeypatch.setattr(tiles_module, "PROVISIONAL_MIN_PIXELS", 0)  # a small image stands for a large one
    settings.limits_sample_size = 46_875  # the sample grid: every 8th row and column from 4
    rng = np.random.default_rng(9)
    array = rng.normal(100.0, 10.0, size=(1500, 2000)).astype(np.float32)
    array[:40, :] = np.nan
    fits.PrimaryHDU(array).writeto(settings.files_dir / "big.fits")
    gate = threading.Event()
    with TestClient(create_app(settings)) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        services.levels._pool.submit(gate.wait)  # the level build queues behind this
        try:
            with client.websocket_connect("/ws") as ws:
                assert ws.receive_json()["type"] == "hello"
                info = client.get("/api/images/info", params={"path": "big.fits"}).json()
                assert info["levels_ready"] is False
                params = {"path": "big.fits", "vmin": 80, "vmax": 120}
                early = client.get("/api/images/tiles/9/1_0.png", params=params)  # factor 4
                assert early.status_code == 200 and early.headers["cache-control"] == "no-store"
                pyramid = Pyramid(2000, 1500)
                box = pyramid.tile(9, 1, 0)
                rows = np.minimum(np.arange(box.y0, box.y1) * 4 + 2, 1499)
                cols = np.minimum(np.arange(box.x0, box.x1) * 4 + 2, 1999)
                strided = array[::-1][rows][:, cols]
                expected = apply(strided, 80.0, 120.0, lookup_table("linear", 1.0))
                got = np.asarray(Image.open(io.BytesIO(early.content)))
                assert got.shape == expected.shape
                assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
                assert services.tiles.cache.get(early.headers["etag"]) is None  # never kept
                # a level as coarse as the sample grid takes one grid point inside each block (no I/O)
                coarse = np.asarray(
                    Image.open(io.BytesIO(client.get("/api/images/tiles/8/0_0.png", params=params).content))
                )
                r, c = np.mgrid[: coarse.shape[0], : coarse.shape[1]]
                lowest = np.maximum(1500 - (r + 1) * 8, 0)
                grid_rows = 4 + 8 * np.minimum(-(-(lowest - 4) // 8), 186)
                grid_cols = 4 + 8 * np.minimum(-(-(c * 8 - 4) // 8), 249)
                inside = (grid_rows >= lowest) & (grid_rows < 1500 - r * 8) & (grid_cols < (c + 1) * 8)
                assert inside[:-1, :-1].all()  # whole blocks (the last row/column may be partial)
                picked = apply(array[grid_rows, grid_cols], 80.0, 120.0, lookup_table("linear", 1.0))
                assert np.abs(coarse.astype(int) - picked.astype(int)).max() <= 1
                gate.set()
                event = ws.receive_json()
                while event["type"] != "levels:ready":
                    event = ws.receive_json()
                assert event == {"type": "levels:ready", "path": "big.fits", "hdu": 0, "plane": 0}
        finally:
            gate.set()
        late = client.get("/api/images/tiles/9/1_0.png", params=params)
        assert late.headers["cache-control"] == "public, max-age=600"
        assert late.headers["etag"] != early.headers["etag"]
        means = block_mean(array[::-1], 4)[box.y0 : box.y1, box.x0 : box.x1]
        final = np.asarray(Image.open(io.BytesIO(late.content)))
        assert np.abs(final.astype(int) - apply(means, 80.0, 120.0, lookup_table("linear", 1.0)).astype(int)).max() <= 1
        assert client.get("/api/images/info", params={"path": "big.fits"}).json()["levels_ready"] is True


def test_display_parameters_are_validated_and_documented_as_query_parameters(
    client: TestClient, data: np.ndarray
) -> None:
    """The tile route validates its query as one model: the same 422s as separate parameters
    (naming the parameter), the last of a repeated parameter wins, unknown ones are ignored,
    and the OpenAPI schema lists every parameter."""
    for bad, name in (({"hdu": -1}, "hdu"), ({"vmin": "abc"}, "vmin"), ({"invert": "maybe"}, "invert")):
        response = tile(client, 10, 0, 0, **bad)
        assert response.status_code == 422 and name in response.json()["detail"], response.text
    missing = client.get("/api/images/tiles/10/0_0.png")
    assert missing.status_code == 422 and "required" in missing.json()["detail"]
    repeated = client.get("/api/images/tiles/10/0_0.png?path=img.fits&vmin=5&vmax=1&vmin=0&junk=1")
    assert np.array_equal(indices(repeated), indices(tile(client, 10, 0, 0, vmin=0, vmax=1)))
    operation = client.get("/openapi.json").json()["paths"]["/api/images/tiles/{level}/{name}"]["get"]
    names = {p["name"]: p for p in operation["parameters"]}
    assert set(names) >= {"level", "name", "path", "hdu", "plane", "stretch", "cmap", "invert", "vmin", "vmax"}
    assert names["path"]["required"] and names["path"]["in"] == "query" and not names["vmin"]["required"]
