"""POST /api/rgb and the composite's routes on the three-instrument star field written as FITS files."""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from fastapi.testclient import TestClient
from PIL import Image

from neloura.app import create_app
from neloura.runtime.file_lock import exclusive
from neloura.settings import Settings
from tests.core.rgb_fields import write_fields


def wait_ready(client: TestClient, rgb_id: str, timeout: float = 120.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        state = client.get(f"/api/rgb/{rgb_id}").json()
        if state["state"] != "building" or time.monotonic() > end:
            return state
        time.sleep(0.1)


@pytest.fixture
def fields(settings: Settings) -> list[str]:
    names = write_fields(settings.files_dir)
    data = np.zeros((20, 30), np.float32)
    fits.PrimaryHDU(data).writeto(settings.files_dir / "nowcs_a.fits")
    fits.PrimaryHDU(data + 1).writeto(settings.files_dir / "nowcs_b.fits")
    fits.PrimaryHDU(np.zeros((25, 30), np.float32)).writeto(settings.files_dir / "nowcs_c.fits")
    far = fits.getheader(settings.files_dir / names[2])
    far["CRVAL1"], far["CRVAL2"] = 10.0, -40.0
    fits.PrimaryHDU(fits.getdata(settings.files_dir / names[2]), far).writeto(settings.files_dir / "far.fits")
    return names


def _body(names: list[str], **extra: Any) -> dict[str, Any]:
    return {"channels": [{"path": n} for n in names], **extra}


def _png(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGBA"))


def test_build_reopen_tiles_and_exports(client: TestClient, settings: Settings, fields: list[str]) -> None:
    body = _body(fields[::-1])  # c (0.11"), b, a (0.03"): the reference is the finest, channel 2
    first = client.post("/api/rgb", json=body).json()
    assert first["state"] in ("building", "ready") and first["width"] == 460 and first["reference"] == 2
    state = wait_ready(client, first["id"])
    assert state["state"] == "ready", state
    assert [c["filter"] for c in state["channels"]] == ["F444W", "F814W", "F438W"]
    again = client.post("/api/rgb", json={**body, "channels": [{**c, "color": "#ffaa00"} for c in body["channels"]]})
    assert again.json()["id"] == first["id"] and again.json()["state"] == "ready"  # cached: no second build
    assert again.json()["display"][0]["color"] == "#ffaa00"
    rid = first["id"]
    max_level = state["max_level"]
    url = f"/api/rgb/{rid}/tiles/{max_level}/0_0.png"
    tile = client.get(url)
    red = _png(tile)
    assert tile.headers["etag"] and client.get(url, headers={"If-None-Match": tile.headers["etag"]}).status_code == 304
    recoloured = _png(client.get(url, params={"color": "00ff00,00ff00,00ff00"}))
    assert recoloured[..., 0].max() == 0 and recoloured[..., 1].max() > 200 and red[..., 0].max() > 200
    limits = _png(client.get(url, params={"vmax": "1e9,1e9,1e9"}))
    assert limits[..., :3].max() < red[..., :3].max()
    assert _png(client.get(f"/api/rgb/{rid}/tiles/{max_level - 2}/0_0.png", params={"mode": "lupton"})).shape[:2] == (
        115,
        115,
    )
    # readout: every channel's physical value and the sky position, through the reference WCS
    ref_wcs = WCS(fits.getheader(settings.files_dir / fields[0]))
    pix = client.get(f"/api/rgb/{rid}/pixel", params={"x": 230, "y": 229}).json()
    sky = ref_wcs.pixel_to_world(230, 229)
    assert pix["ra_deg"] == pytest.approx(sky.ra.deg, abs=1e-9) and len(pix["channels"]) == 3
    assert pix["channels"][2]["value"] == pytest.approx(float(fits.getdata(settings.files_dir / fields[0])[229, 230]))
    # FITS cube: NAXIS3 = channels in the request's order, reference celestial WCS
    with fits.open(io.BytesIO(client.get(f"/api/rgb/{rid}/fits").content)) as hdul:
        cube = hdul[0]
        assert cube.data.shape == (3, 460, 460) and cube.header["CH1FILT"] == "F444W"
        cube_wcs = WCS(cube.header).celestial
        assert np.allclose(cube_wcs.pixel_to_world_values(10, 20), ref_wcs.pixel_to_world_values(10, 20))
        assert np.array_equal(cube.data[2], fits.getdata(settings.files_dir / fields[0]))
    png = _png(client.get(f"/api/rgb/{rid}/png", params={"width": 200}))
    assert png.shape[:2] == (200, 200)
    zs = client.get(f"/api/rgb/{rid}/limits", params={"channel": 1, "mode": "zscale"}).json()
    assert zs["vmin"] < zs["vmax"]
    mm = client.get(f"/api/rgb/{rid}/limits", params={"channel": 2, "mode": "minmax"}).json()
    reference = fits.getdata(settings.files_dir / fields[0])
    assert (mm["vmin"], mm["vmax"]) == pytest.approx((float(reference.min()), float(reference.max())))


def test_presets_order_channels_by_pivot_from_headers(client: TestClient, fields: list[str]) -> None:
    answer = client.post("/api/rgb/presets", json=_body(fields)).json()
    assert [c["filter"] for c in answer["channels"]] == ["F444W", "F814W", "F438W"]
    assert [c["color"] for c in answer["channels"]] == ["#ff0000", "#00ff00", "#0000ff"] and answer["complete"]


def test_pixel_mode_without_wcs_when_shapes_match(client: TestClient, fields: list[str]) -> None:
    state = client.post("/api/rgb", json=_body(["nowcs_a.fits", "nowcs_b.fits"])).json()
    assert state["mode"] == "pixel"
    state = wait_ready(client, state["id"])
    assert state["state"] == "ready"
    pix = client.get(f"/api/rgb/{state['id']}/pixel", params={"x": 3, "y": 4}).json()
    assert [c["value"] for c in pix["channels"]] == [0.0, 1.0] and pix["ra_deg"] is None


@pytest.mark.parametrize(
    ("names", "status", "text"),
    [
        (["a.fits"], 422, "2 to 5"),
        (["a.fits", "b.fits", "c.fits", "a.fits", "b.fits", "c.fits"], 422, "2 to 5"),
        (["a.fits", "missing.fits"], 404, "missing"),
        (["a.fits", "../../etc/passwd"], 403, ""),
        (["a.fits", "nowcs_c.fits"], 422, "no celestial WCS"),
        (["a.fits", "far.fits"], 422, "does not overlap"),
    ],
)
def test_bad_composites_are_clear_4xx(
    client: TestClient, fields: list[str], names: list[str], status: int, text: str
) -> None:
    response = client.post("/api/rgb", json=_body(names))
    assert response.status_code == status, response.text
    assert text in response.json()["detail"]


def test_bad_display_parameters_and_unknown_ids(client: TestClient, fields: list[str]) -> None:
    assert client.post("/api/rgb", json={**_body(fields), "method": "nearest"}).status_code == 422
    assert client.post("/api/rgb", json=_body(fields, reference=7)).status_code == 422
    bad_colour = {"channels": [{"path": "a.fits", "color": "#zz0000"}, {"path": "b.fits"}]}
    assert client.post("/api/rgb", json=bad_colour).status_code == 422
    assert client.get("/api/rgb/0123456789abcdef0123456789abcdef").status_code == 404
    assert client.get("/api/rgb/..%2F..%2Fetc").status_code == 404
    rid = wait_ready(client, client.post("/api/rgb", json=_body(fields[:2])).json()["id"])["id"]
    for params in ({"color": "ff0000"}, {"vmin": "a,b"}, {"stretch": "nope,linear"}, {"mode": "screen"}):
        response = client.get(f"/api/rgb/{rid}/tiles/9/0_0.png", params=params)
        assert response.status_code == 422 and response.json()["detail"], params
    assert client.get(f"/api/rgb/{rid}/tiles/30/0_0.png").status_code == 422


def test_open_rgb_redirects_to_the_page(client: TestClient, fields: list[str]) -> None:
    response = client.get(
        "/open-rgb", params={"r": "c.fits", "g": "b.fits", "b": "a.fits", "r_vmax": "5"}, follow_redirects=False
    )
    assert response.status_code == 307
    location = response.headers["location"]
    assert location.startswith("/?ch0=c.fits") and "ch0_vmax=5" in location and "ch2_color=%230000ff" in location
    assert client.get("/open-rgb", params={"r": "a.fits"}, follow_redirects=False).status_code == 422
    assert client.get("/open-rgb", params={"r": "a.fits", "g": "nope.fits"}, follow_redirects=False).status_code == 404


def test_a_build_of_another_worker_is_building_not_failed(
    client: TestClient, settings: Settings, fields: list[str]
) -> None:
    """A second server worker on the same data root knows nothing of the first one's build job: while
    the build holds its folder lock it says "building", and "ready" once the composite is complete."""
    first = client.post("/api/rgb", json=_body(fields)).json()
    assert wait_ready(client, first["id"])["state"] == "ready"
    folder = settings.cache_dir / "rgb" / first["id"]
    (folder / "complete").rename(folder / "complete.kept")  # as if still being built
    with TestClient(create_app(settings)) as other:
        with exclusive(folder / ".build.lock"):  # the first worker's job building it
            building = other.get(f"/api/rgb/{first['id']}").json()
            assert building["state"] == "building" and building["error"] is None
        assert other.get(f"/api/rgb/{first['id']}").json()["state"] == "failed"  # lock gone, never completed
        (folder / "complete.kept").rename(folder / "complete")
        assert other.get(f"/api/rgb/{first['id']}").json()["state"] == "ready"
