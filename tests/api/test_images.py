"""The images API end to end: listing, header, info, pixel readout, batch conversions, errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from fastapi.testclient import TestClient

from neloura.api.images import MAX_BATCH
from neloura.core.limits import percentile_limits
from neloura.core.synthetic import CubeSpec, make_cube, make_star_field, make_wcs_header
from neloura.settings import Settings
from tests.conftest import COMPRESSED_DATA, FITS_DATA

MAS_DEG = 1.0 / 3.6e6


@pytest.fixture
def files(settings: Settings, tmp_path: Path) -> Path:
    """A files/ folder with a multi-extension image, a cube, real astropy files and bad files."""
    root = settings.files_dir
    image, _ = make_star_field((120, 160), 25, 3.0, seed=11, sky=5.0)
    image[:10, :] = np.nan  # a blank strip at the bottom
    header = make_wcs_header(image.shape, 201.365, -43.019, 0.2, rotation_deg=15.0)
    header["BUNIT"] = "MJy/sr"
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "JWST"
    primary.header.add_history("written by the test")
    fits.HDUList([primary, fits.ImageHDU(image, header, name="SCI")]).writeto(root / "field.fits")
    data, cube_header = make_cube(CubeSpec((8, 24, 32)), seed=3)
    (root / "sub").mkdir()
    fits.PrimaryHDU(data, cube_header).writeto(root / "sub" / "alma.fits")
    shutil.copy(COMPRESSED_DATA / "m13_rice.fits", root / "m13_rice.fits")
    shutil.copy(FITS_DATA / "tb.fits", root / "table.fits")
    (root / "notes.fits").write_text("this is not a FITS file\n" * 20)
    raw = (root / "field.fits").read_bytes()
    (root / "truncated.fits").write_bytes(raw[: len(raw) - 40_000])
    secret = tmp_path / "outside"
    secret.mkdir()
    fits.PrimaryHDU(np.ones((4, 4), np.float32)).writeto(secret / "secret.fits")
    (root / "link.fits").symlink_to(secret / "secret.fits")
    (root / "linkdir").symlink_to(secret)
    return root


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_hdus_lists_every_hdu_with_recommended(client: TestClient, files: Path) -> None:
    body = _ok(client.get("/api/images/hdus", params={"path": "field.fits"}))
    assert body["recommended"] == 1
    primary, sci = body["hdus"]
    assert primary == {
        "index": 0,
        "name": "PRIMARY",
        "kind": "empty",
        "shape": [],
        "bitpix": 8,
        "bunit": "",
        "has_celestial_wcs": False,
        "compressed": False,
        "truncated": False,
        "problem": "",
        "columns": None,
        "recommended": False,
    }
    assert sci["name"] == "SCI" and sci["kind"] == "image" and sci["shape"] == [120, 160]
    assert sci["bitpix"] == -32 and sci["bunit"] == "MJy/sr" and sci["has_celestial_wcs"] and sci["recommended"]
    table = _ok(client.get("/api/images/hdus", params={"path": "table.fits"}))
    assert table["recommended"] is None and table["hdus"][1]["kind"] == "table"


def test_header_returns_all_cards_with_history(client: TestClient, files: Path) -> None:
    body = _ok(client.get("/api/images/header", params={"path": "field.fits", "hdu": 0}))
    keys = [c["key"] for c in body["cards"]]
    assert body["count"] == len(body["cards"]) and "TELESCOP" in keys and "HISTORY" in keys
    history = next(c for c in body["cards"] if c["key"] == "HISTORY")
    assert history["value"] == "written by the test"
    default = _ok(client.get("/api/images/header", params={"path": "field.fits"}))
    assert default["hdu"] == 1 and any(c["key"] == "CTYPE1" and c["value"] == "RA---TAN" for c in default["cards"])
    tables = _ok(client.get("/api/images/header", params={"path": "table.fits", "hdu": 1}))
    assert any(c["key"] == "TFIELDS" for c in tables["cards"])


def test_info_of_an_image(client: TestClient, files: Path) -> None:
    body = _ok(client.get("/api/images/info", params={"path": "field.fits", "hdu": 1}))
    assert (body["width"], body["height"], body["tile_size"]) == (160, 120, 256)
    assert body["max_level"] == 8  # ceil(log2(160))
    assert body["plane_count"] == 1 and body["planes"] == [{"index": 0, "value": None, "unit": "", "kind": ""}]
    assert body["bunit"] == "MJy/sr" and body["name"] == "SCI"
    with fits.open(files / "field.fits") as hdul:
        data = hdul[1].data.astype(np.float32)
    vmin, vmax = percentile_limits(data[np.isfinite(data)], 0.5, 99.5)  # small image: every pixel sampled
    assert body["vmin"] == pytest.approx(vmin, rel=1e-5) and body["vmax"] == pytest.approx(vmax, rel=1e-5)
    wcs = body["wcs"]
    assert wcs["has_celestial"] and wcs["projection"] == "TAN" and wcs["frame"] == "icrs"
    assert wcs["pixel_scale_arcsec"] == pytest.approx(0.2, rel=1e-9)
    default = _ok(client.get("/api/images/info", params={"path": "field.fits"}))
    assert default["hdu"] == 1


def test_info_version_changes_when_the_file_is_replaced(client: TestClient, files: Path) -> None:
    """Tile URLs carry ``version``: a replaced file must not reuse cached tiles of the old one."""
    before = _ok(client.get("/api/images/info", params={"path": "field.fits", "hdu": 1}))["version"]
    again = _ok(client.get("/api/images/info", params={"path": "field.fits", "hdu": 1}))["version"]
    assert before == again
    with fits.open(files / "field.fits") as hdul:
        hdul[1].data = hdul[1].data * 2
        hdul.writeto(files / "replaced.fits")
    (files / "replaced.fits").replace(files / "field.fits")
    after = _ok(client.get("/api/images/info", params={"path": "field.fits", "hdu": 1}))["version"]
    assert after != before


def test_info_of_a_cube_lists_spectral_planes(client: TestClient, files: Path) -> None:
    body = _ok(client.get("/api/images/info", params={"path": "sub/alma.fits", "plane": 5}))
    assert body["plane_count"] == 8 and body["plane"] == 5 and body["shape"] == [1, 8, 24, 32]
    header = fits.getheader(files / "sub/alma.fits")
    expected = header["CRVAL3"] + (np.arange(8) + 1 - header["CRPIX3"]) * header["CDELT3"]
    values = [p["value"] for p in body["planes"]]
    np.testing.assert_allclose(values, expected, atol=1e-3)
    assert {p["unit"] for p in body["planes"]} == {"Hz"} and body["planes"][0]["kind"] == "frequency"
    assert body["bunit"] == "Jy/beam" and body["wcs"]["spectral_axis"] == 3


def test_info_of_tile_compressed_image(client: TestClient, files: Path) -> None:
    body = _ok(client.get("/api/images/info", params={"path": "m13_rice.fits"}))
    assert body["hdu"] == 1 and body["compressed"] and (body["width"], body["height"]) == (300, 300)


def test_pixel_readout_matches_data_and_astropy(client: TestClient, files: Path) -> None:
    with fits.open(files / "field.fits") as hdul:
        data = hdul[1].data
        wcs = WCS(hdul[1].header)
    body = _ok(client.get("/api/images/pixel", params={"path": "field.fits", "hdu": 1, "x": 37, "y": 81}))
    assert body["value"] == pytest.approx(float(data[81, 37]))  # data[y, x]
    assert body["unit"] == "MJy/sr" and body["column"] == 37 and body["row"] == 81
    ra, dec = wcs.all_pix2world([[37.0, 81.0]], 0)[0]
    assert abs(body["ra_deg"] - ra) * np.cos(np.radians(dec)) < MAS_DEG and abs(body["dec_deg"] - dec) < MAS_DEG
    assert body["ra_hms"].startswith("13:25:") and body["dec_dms"].startswith("-43:")
    assert body["spectral"] is None
    blank = _ok(client.get("/api/images/pixel", params={"path": "field.fits", "hdu": 1, "x": 5, "y": 3}))
    assert blank["value"] is None and blank["ra_deg"] is not None
    fractional = _ok(client.get("/api/images/pixel", params={"path": "field.fits", "hdu": 1, "x": 36.6, "y": 81.4}))
    assert fractional["column"] == 37 and fractional["row"] == 81 and fractional["value"] == body["value"]


def test_pixel_readout_in_a_cube_reports_the_spectral_value(client: TestClient, files: Path) -> None:
    data = fits.getdata(files / "sub/alma.fits")
    header = fits.getheader(files / "sub/alma.fits")
    body = _ok(client.get("/api/images/pixel", params={"path": "sub/alma.fits", "plane": 6, "x": 10, "y": 20}))
    assert body["value"] == pytest.approx(float(data[0, 6, 20, 10]))
    freq = header["CRVAL3"] + (7 - header["CRPIX3"]) * header["CDELT3"]
    assert body["spectral"]["value"] == pytest.approx(freq) and body["spectral"]["unit"] == "Hz"
    assert body["unit"] == "Jy/beam"


def test_pixel_without_wcs_has_null_sky(client: TestClient, files: Path, settings: Settings) -> None:
    fits.PrimaryHDU(np.arange(20, dtype=np.int16).reshape(4, 5)).writeto(settings.files_dir / "plain.fits")
    body = _ok(client.get("/api/images/pixel", params={"path": "plain.fits", "x": 4, "y": 3}))
    assert body["value"] == 19.0 and body["ra_deg"] is None and body["dec_deg"] is None


def test_batch_pixel_to_world_and_back(client: TestClient, files: Path) -> None:
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 159, 500), rng.uniform(0, 119, 500)
    body = _ok(
        client.post("/api/images/pixel-to-world", json={"path": "field.fits", "hdu": 1, "x": list(x), "y": list(y)})
    )
    with fits.open(files / "field.fits") as hdul:
        world = WCS(hdul[1].header).all_pix2world(np.column_stack([x, y]), 0)
    assert body["count"] == 500 and body["frame"] == "icrs"
    np.testing.assert_allclose(body["ra_deg"], world[:, 0], atol=MAS_DEG)
    np.testing.assert_allclose(body["dec_deg"], world[:, 1], atol=MAS_DEG)
    back = _ok(
        client.post(
            "/api/images/world-to-pixel",
            json={
                "path": "field.fits",
                "hdu": 1,
                "ra_deg": body["ra_deg"] + [21.0],
                "dec_deg": body["dec_deg"] + [43.0],
            },
        )
    )
    np.testing.assert_allclose(back["x_pix"][:500], x, atol=1e-6)
    np.testing.assert_allclose(back["y_pix"][:500], y, atol=1e-6)
    assert all(back["inside"][:500]) and back["inside"][500] is False and back["x_pix"][500] is None


def test_world_to_pixel_accepts_galactic_input(client: TestClient, files: Path) -> None:
    from astropy.coordinates import SkyCoord

    centre = SkyCoord(201.365, -43.019, unit="deg").galactic
    body = _ok(
        client.post(
            "/api/images/world-to-pixel",
            json={"path": "field.fits", "ra_deg": [centre.l.deg], "dec_deg": [centre.b.deg], "frame": "galactic"},
        )
    )
    assert body["x_pix"][0] == pytest.approx(79.5, abs=1e-5) and body["y_pix"][0] == pytest.approx(59.5, abs=1e-5)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"path": "field.fits", "x": [1.0, 2.0], "y": [1.0]}, 422),
        ({"path": "field.fits", "x": [0.0] * (MAX_BATCH + 1), "y": [0.0] * (MAX_BATCH + 1)}, 422),
        ({"path": "field.fits", "x": ["a"], "y": [1.0]}, 422),
        ({"path": "field.fits", "plane": 3, "x": [1.0], "y": [1.0]}, 422),
        ({"path": "nope.fits", "x": [1.0], "y": [1.0]}, 404),
        ({"x": [1.0], "y": [1.0]}, 422),
    ],
)
def test_batch_errors(client: TestClient, files: Path, body: dict[str, Any], status: int) -> None:
    response = client.post("/api/images/pixel-to-world", json=body)
    assert response.status_code == status and "detail" in response.json()


def test_huge_batch_body_is_refused_before_parsing(client: TestClient, files: Path) -> None:
    payload = b'{"path": "field.fits", "x": [' + b"1.0," * 5_000_000 + b'1.0], "y": [1.0]}'
    response = client.post("/api/images/pixel-to-world", content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "detail" in response.json()


def test_world_to_pixel_errors(client: TestClient, files: Path) -> None:
    bad_frame = {"path": "field.fits", "ra_deg": [1.0], "dec_deg": [1.0], "frame": "martian"}
    assert client.post("/api/images/world-to-pixel", json=bad_frame).status_code == 422
    bad_dec = {"path": "field.fits", "ra_deg": [1.0], "dec_deg": [91.0]}
    assert client.post("/api/images/world-to-pixel", json=bad_dec).status_code == 422
    fits.PrimaryHDU(np.zeros((3, 3), np.float32)).writeto(files / "nowcs.fits")
    no_wcs = {"path": "nowcs.fits", "ra_deg": [1.0], "dec_deg": [1.0]}
    response = client.post("/api/images/world-to-pixel", json=no_wcs)
    assert response.status_code == 422 and "celestial" in response.json()["detail"]


GET_ENDPOINTS = ["/api/images/hdus", "/api/images/header", "/api/images/info", "/api/images/pixel"]
BAD_PATHS = {
    "../secret.fits": {403, 404},
    "sub/../../secret.fits": {403, 404},
    "/etc/passwd": {403, 404},
    "link.fits": {403, 404},  # a symlink leading out of files/
    "linkdir/secret.fits": {403, 404},
    "nope.fits": {404},
    "sub": {404},  # a folder is not an image
}


def _extra(endpoint: str) -> dict[str, Any]:
    return {"x": 0, "y": 0} if endpoint.endswith("pixel") else {}


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
@pytest.mark.parametrize("bad", list(BAD_PATHS))
def test_paths_are_confined_on_every_get_endpoint(client: TestClient, files: Path, endpoint: str, bad: str) -> None:
    response = client.get(endpoint, params={"path": bad, **_extra(endpoint)})
    assert response.status_code in BAD_PATHS[bad], response.text
    assert "detail" in response.json() and "secret" not in str(response.json().get("cards", ""))


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
def test_url_encoded_traversal_is_refused(client: TestClient, files: Path, endpoint: str) -> None:
    extra = "&x=0&y=0" if endpoint.endswith("pixel") else ""
    for raw in ("%2e%2e%2fsecret.fits", "%2E%2E/secret.fits", "%2fetc%2fpasswd", "..%5csecret.fits"):
        response = client.get(f"{endpoint}?path={raw}{extra}")
        assert response.status_code in (403, 404), (raw, response.text)


@pytest.mark.parametrize("endpoint", ["/api/images/pixel-to-world", "/api/images/world-to-pixel"])
@pytest.mark.parametrize("bad", list(BAD_PATHS))
def test_paths_are_confined_on_batch_endpoints(client: TestClient, files: Path, endpoint: str, bad: str) -> None:
    body: dict[str, Any] = {"path": bad, "x": [0.0], "y": [0.0], "ra_deg": [0.0], "dec_deg": [0.0]}
    response = client.post(endpoint, json=body)
    assert response.status_code in BAD_PATHS[bad], response.text


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
def test_non_fits_file_is_415(client: TestClient, files: Path, endpoint: str) -> None:
    response = client.get(endpoint, params={"path": "notes.fits", "hdu": 0, **_extra(endpoint)})
    assert response.status_code == 415 and "FITS" in response.json()["detail"]


def test_truncated_file_is_refused(client: TestClient, files: Path) -> None:
    for endpoint in ("/api/images/info", "/api/images/pixel"):
        response = client.get(endpoint, params={"path": "truncated.fits", "hdu": 1, "x": 0, "y": 0})
        assert response.status_code in (415, 422) and "detail" in response.json()


def test_table_or_empty_hdu_asked_as_image(client: TestClient, files: Path) -> None:
    for params in ({"path": "table.fits", "hdu": 1}, {"path": "field.fits", "hdu": 0}, {"path": "table.fits"}):
        response = client.get("/api/images/info", params=params)
        assert response.status_code in (415, 422) and "detail" in response.json()


@pytest.mark.parametrize(
    "params",
    [
        {"path": "field.fits", "hdu": -1},
        {"path": "field.fits", "hdu": 7},
        {"path": "field.fits", "hdu": "one"},
        {"path": "field.fits", "plane": -1},
        {"path": "field.fits", "plane": 1},
        {"path": ""},
        {},
    ],
)
def test_bad_parameters_are_422(client: TestClient, files: Path, params: dict[str, Any]) -> None:
    response = client.get("/api/images/info", params=params)
    assert response.status_code == 422 and response.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"x": "abc", "y": 1},
        {"x": 1},
        {"x": 160, "y": 0},
        {"x": 0, "y": -0.6},
        {"x": "nan", "y": 1},
        {"x": "inf", "y": 0},
    ],
)
def test_bad_pixel_parameters_are_422(client: TestClient, files: Path, params: dict[str, Any]) -> None:
    response = client.get("/api/images/pixel", params={"path": "field.fits", "hdu": 1, **params})
    assert response.status_code == 422 and response.json()["detail"]


def test_default_hdu_follows_a_rewritten_file(client: TestClient, files: Path) -> None:
    path = files / "changing.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros((5, 5), np.float32))]).writeto(path)
    assert _ok(client.get("/api/images/info", params={"path": "changing.fits"}))["hdu"] == 0
    replacement = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((6, 7), np.float32))])
    replacement.writeto(path, overwrite=True)
    body = _ok(client.get("/api/images/info", params={"path": "changing.fits"}))
    assert body["hdu"] == 1 and (body["width"], body["height"]) == (7, 6)


def test_nul_byte_in_path_is_404(client: TestClient, files: Path) -> None:
    # no file can have such a name: "no such file", said plainly (core/paths.confine)
    response = client.get("/api/images/hdus?path=field%00.fits")
    assert response.status_code == 404 and "field" in response.json()["detail"]
