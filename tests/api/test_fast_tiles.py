"""The tiles' lean ASGI path (neloura.api.fast_tiles) answers exactly as the routes do, keeps
the security headers and the session cookie, and leaves every first use and refusal to the
routes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from astropy.io import fits
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neloura.api import data_tiles, tiles
from neloura.api.fast_tiles import TileFastPath
from neloura.app import create_app
from neloura.settings import Settings

TILE = "/api/images/tiles/9/0_0.png"
DATA_TILE = "/api/images/data-tiles/9/0_0.u16"


@pytest.fixture
def settings_with_image(settings: Settings) -> Settings:
    rng = np.random.default_rng(3)
    data = rng.normal(100.0, 10.0, size=(300, 400)).astype(np.float32)
    data[rng.random(data.shape) < 0.05] = np.nan
    fits.PrimaryHDU(data).writeto(settings.files_dir / "img.fits")
    return settings


def _app(settings: Settings, *, fast: bool) -> FastAPI:
    app = create_app(settings)
    if not fast:  # before the first request builds the middleware stack
        app.user_middleware = [m for m in app.user_middleware if m.cls is not TileFastPath]
    return app


@pytest.fixture
def pair(settings_with_image: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    with (
        TestClient(_app(settings_with_image, fast=True)) as fast,
        TestClient(_app(settings_with_image, fast=False)) as slow,
    ):
        yield fast, slow


def _same(fast: TestClient, slow: TestClient, url: str, **kwargs: object) -> None:
    a, b = fast.get(url, **kwargs), slow.get(url, **kwargs)  # type: ignore[arg-type]
    assert a.status_code == b.status_code, (url, a.text, b.text)
    assert a.content == b.content
    heads = [{k: v for k, v in r.headers.items() if k != "set-cookie"} for r in (a, b)]
    assert heads[0] == heads[1]
    assert list(a.headers.keys()) == list(b.headers.keys())


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"stretch": "asinh", "cmap": "viridis", "vmin": "90", "vmax": "120"},
        {"stretch": "histequ", "invert": "true", "nan_color": "#ff000080"},
        {"stretch": "log", "exponent": "300", "cmap": "magma_r", "vmin": "95"},
    ],
)
def test_the_same_answer_as_the_route(pair: tuple[TestClient, TestClient], params: dict[str, str]) -> None:
    fast, slow = pair
    for client in pair:  # first use (through the route): opens the file, computes the limits
        assert client.get(TILE, params={"path": "img.fits"}).status_code == 200
    for url in (TILE, TILE.replace(".png", ".jpg"), "/api/images/tiles/8/0_0.png", "/api/images/tiles/9/1_1.png"):
        _same(fast, slow, url, params={"path": "img.fits", **params})
    etag = fast.get(TILE, params={"path": "img.fits", **params}).headers["etag"]
    _same(fast, slow, TILE, params={"path": "img.fits", **params}, headers={"If-None-Match": etag})


def test_data_tiles_the_same_answer_as_the_route(pair: tuple[TestClient, TestClient]) -> None:
    fast, slow = pair
    for client in pair:
        assert client.get(DATA_TILE, params={"path": "img.fits"}).status_code == 200
    for encoding in ("gzip", "identity"):
        headers = {"Accept-Encoding": encoding}
        _same(fast, slow, DATA_TILE, params={"path": "img.fits"}, headers=headers)
        etag = fast.get(DATA_TILE, params={"path": "img.fits"}, headers=headers).headers["etag"]
        _same(fast, slow, DATA_TILE, params={"path": "img.fits"}, headers={**headers, "If-None-Match": etag})


@pytest.mark.parametrize(
    ("url", "params", "status"),
    [
        (TILE, {"path": "img.fits", "stretch": "cubic"}, 422),
        (TILE, {"path": "img.fits", "vmin": "5", "vmax": "1"}, 422),
        (TILE, {"path": "img.fits", "hdu": "-1"}, 422),
        (TILE, {"path": "img.fits", "hdu": "3"}, 422),
        (TILE, {"path": "missing.fits"}, 404),
        (TILE, {"path": "../../etc/passwd"}, 403),
        ("/api/images/tiles/9/0_0.gif", {"path": "img.fits"}, 422),
        ("/api/images/tiles/x/0_0.png", {"path": "img.fits"}, 422),
        ("/api/images/tiles/99/0_0.png", {"path": "img.fits"}, 422),
        ("/api/images/tiles/9/9_9.png", {"path": "img.fits"}, 422),
        ("/api/images/tiles/9/0_0.png/more", {"path": "img.fits"}, 404),
        (DATA_TILE.replace(".u16", ".png"), {"path": "img.fits"}, 422),
        (DATA_TILE, {"path": "img.fits", "plane": "4"}, 422),
    ],
)
def test_refusals_are_the_routes(
    pair: tuple[TestClient, TestClient], url: str, params: dict[str, str], status: int
) -> None:
    fast, slow = pair
    for client in pair:  # the plane is ready: the lean path is tried first
        assert client.get(TILE, params={"path": "img.fits"}).status_code == 200
    _same(fast, slow, url, params=params)
    answer = fast.get(url, params=params)
    assert answer.status_code in (status, 403 if status == 404 else status)
    assert answer.headers["content-type"] == "application/json"
    assert "detail" in answer.json()


def test_ready_tiles_never_reach_the_router(settings_with_image: Settings) -> None:
    app = create_app(settings_with_image)
    tile_routers = (tiles.router, data_tiles.router)  # both tile routes (and the histogram) are gone
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "original_router", None) not in tile_routers]
    app.state.services.tiles.spec("img.fits", 9, 0, 0, "png")  # opens the plane, computes its limits
    with TestClient(app) as client:
        for url in (TILE, "/api/images/tiles/9/1_0.png", DATA_TILE):
            client.cookies.clear()  # a new browser: the answer hands out a session cookie
            answer = client.get(url, params={"path": "img.fits", "cmap": "plasma"})
            assert answer.status_code == 200, url
            assert answer.headers["x-content-type-options"] == "nosniff"  # the Origin middleware's headers
            assert "content-security-policy" in answer.headers
            assert "neloura_session" in answer.headers["set-cookie"]  # the session middleware's cookie
        # not ready (another file), and refused: both go on to the (removed) routes
        assert client.get(TILE, params={"path": "other.fits"}).status_code == 404
        assert client.get(TILE, params={"path": "img.fits", "stretch": "cubic"}).status_code == 404


def test_a_foreign_host_is_refused_before_the_lean_path(settings_with_image: Settings) -> None:
    with TestClient(create_app(settings_with_image)) as client:
        assert client.get(TILE, params={"path": "img.fits"}).status_code == 200
        answer = client.get(TILE, params={"path": "img.fits"}, headers={"Host": "evil.example"})
        assert answer.status_code == 403
