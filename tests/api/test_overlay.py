"""The overlay endpoint: binary payload projected through the image WCS, sizes, colours, filter, errors."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from fastapi.testclient import TestClient

from neloura.core.overlay import HEADER_BYTES, decode_overlay
from neloura.core.synthetic import make_wcs_header
from neloura.settings import Settings

WIDTH, HEIGHT, SCALE = 300, 200, 0.5  # pixels, arcsec/pixel


@pytest.fixture
def scene(settings: Settings) -> dict:
    header = make_wcs_header((HEIGHT, WIDTH), 359.99, -20.0, SCALE, rotation_deg=20)
    primary = fits.PrimaryHDU()
    sci = fits.ImageHDU(np.zeros((HEIGHT, WIDTH), np.float32), header=header, name="SCI")
    (settings.files_dir / "demo").mkdir(parents=True, exist_ok=True)
    fits.HDUList([primary, sci]).writeto(settings.files_dir / "demo" / "field.fits")
    fits.writeto(settings.files_dir / "nowcs.fits", np.zeros((10, 10), np.float32))
    rng = np.random.default_rng(11)
    wcs = WCS(header)
    x = rng.uniform(-WIDTH, 2 * WIDTH, 3_000)
    y = rng.uniform(-HEIGHT, 2 * HEIGHT, 3_000)
    ra, dec = wcs.all_pix2world(x, y, 0)
    ra[:5], dec[:5] = (ra[:5] + 180) % 360, -dec[:5]  # the far side of the sky
    ra[5], dec[5] = np.nan, np.nan
    table = Table(
        {
            "ra": ra,
            "dec": dec,
            "flux": 10 ** rng.uniform(0, 3, ra.size),
            "radius_arcsec": rng.uniform(0.5, 4, ra.size),
            "name": [f"src{i}" for i in range(ra.size)],
        }
    )
    table.write(settings.catalogs_dir / "field.csv", format="ascii.csv")
    inside = np.flatnonzero((x >= -0.5) & (x < WIDTH - 0.5) & (y >= -0.5) & (y < HEIGHT - 0.5))
    inside = inside[inside > 5]
    return {"table": table, "wcs": wcs, "inside": inside}


BASE = {"name": "field.csv", "path": "demo/field.fits", "hdu": 1}


def test_overlay_payload_is_the_projected_footprint(client: TestClient, scene: dict) -> None:
    r = client.get("/api/catalogs/overlay", params={**BASE, "size_col": "5", "size_unit": "px"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    data = decode_overlay(r.content)
    expected = scene["inside"]
    np.testing.assert_array_equal(data.rows, expected)
    assert len(r.content) == HEADER_BYTES + 12 * expected.size
    table = scene["table"]
    rx, ry = scene["wcs"].all_world2pix(table["ra"][expected], table["dec"][expected], 0)
    np.testing.assert_allclose(data.x_pix, rx, atol=1e-3)
    np.testing.assert_allclose(data.y_pix, ry, atol=1e-3)
    assert data.size_px.tolist() == [5.0] * expected.size
    assert (data.width, data.height) == (WIDTH, HEIGHT)
    assert data.pixel_scale_arcsec == pytest.approx(SCALE, rel=1e-6)
    assert data.matched == len(table) - 1  # one row has no position


def test_overlay_sizes_from_a_column_in_arcsec_and_colour_by_log_flux(client: TestClient, scene: dict) -> None:
    params = {**BASE, "size_col": "radius_arcsec", "size_unit": "arcsec", "color_col": "flux", "color_scale": "log"}
    r = client.get("/api/catalogs/overlay", params=params)
    assert r.status_code == 200, r.text
    data = decode_overlay(r.content)
    assert len(r.content) == HEADER_BYTES + 16 * data.rows.size
    table = scene["table"]
    np.testing.assert_allclose(data.size_px, np.asarray(table["radius_arcsec"])[data.rows] / SCALE, rtol=1e-3)
    assert data.color is not None and data.color_log
    np.testing.assert_allclose(data.color, np.log10(np.asarray(table["flux"])[data.rows]), atol=1e-3)


def test_overlay_constant_size_in_arcsec_and_filter(client: TestClient, scene: dict) -> None:
    r = client.get(
        "/api/catalogs/overlay", params={**BASE, "size_col": "2", "size_unit": "arcsec", "filter": "flux > 100"}
    )
    assert r.status_code == 200, r.text
    data = decode_overlay(r.content)
    flux = np.asarray(scene["table"]["flux"])
    expected = scene["inside"][flux[scene["inside"]] > 100]
    np.testing.assert_array_equal(data.rows, expected)
    np.testing.assert_allclose(data.size_px, 2 / SCALE, rtol=1e-6)
    assert data.matched == int(np.sum(flux[6:] > 100) + np.sum(flux[:5] > 100))


def test_overlay_rows_by_index_for_popups(client: TestClient, scene: dict) -> None:
    rows = scene["inside"][:3].tolist()
    r = client.post("/api/catalogs/overlay/rows", json={"name": "field.csv", "rows": rows, "columns": ["name", "flux"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["name", "flux"] and body["index"] == rows
    assert [row[0] for row in body["rows"]] == [f"src{i}" for i in rows]
    everything = client.post("/api/catalogs/overlay/rows", json={"name": "field.csv", "rows": [5]}).json()
    assert everything["columns"][:2] == ["ra", "dec"] and everything["rows"][0][:2] == [None, None]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"path": "nowcs.fits", "hdu": 0}, 422),
        ({"size_col": "nosuch"}, 422),
        ({"size_col": "name"}, 422),
        ({"size_unit": "parsec"}, 422),
        ({"color_col": "nosuch"}, 422),
        ({"color_scale": "cubic"}, 422),
        ({"filter": "flux >"}, 422),
        ({"ra_col": "flux", "dec_col": "nosuch"}, 422),
        ({"path": "../../etc/passwd"}, 403),
        ({"path": "missing.fits"}, 404),
        ({"name": "../secret.csv"}, 403),
        ({"name": "missing.csv"}, 404),
        ({"hdu": 7}, 422),
        ({"plane": 3}, 422),
    ],
)
def test_overlay_errors_are_clear_4xx(client: TestClient, scene: dict, params: dict, status: int) -> None:
    r = client.get("/api/catalogs/overlay", params={**BASE, **params})
    assert r.status_code == status, r.text
    assert r.json()["detail"]


def test_rows_out_of_range(client: TestClient, scene: dict) -> None:
    r = client.post("/api/catalogs/overlay/rows", json={"name": "field.csv", "rows": [10**7]})
    assert r.status_code == 422


def test_symlinks_leading_out_are_refused(client: TestClient, scene: dict, settings: Settings, tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    fits.writeto(outside / "secret.fits", np.zeros((4, 4), np.float32))
    (outside / "secret.csv").write_text("ra,dec\n1,2\n")
    (settings.files_dir / "link.fits").symlink_to(outside / "secret.fits")
    (settings.catalogs_dir / "link.csv").symlink_to(outside / "secret.csv")
    r = client.get("/api/catalogs/overlay", params={**BASE, "path": "link.fits", "hdu": 0})
    assert r.status_code == 403, r.text
    r = client.get("/api/catalogs/overlay", params={**BASE, "name": "link.csv"})
    assert r.status_code == 403, r.text
    r = client.post("/api/catalogs/overlay/rows", json={"name": "link.csv", "rows": [0]})
    assert r.status_code == 403, r.text
    r = client.get("/api/catalogs/overlay?name=field.csv&path=%2e%2e%2f%2e%2e%2fetc%2fpasswd")
    assert r.status_code == 403, r.text


def test_overlay_is_gzip_encoded_when_accepted_and_it_pays(client: TestClient, scene: dict) -> None:
    params = {**BASE, "size_col": "radius_arcsec", "color_col": "flux"}
    plain = client.get("/api/catalogs/overlay", params=params, headers={"Accept-Encoding": "identity"})
    packed = client.get("/api/catalogs/overlay", params=params, headers={"Accept-Encoding": "gzip, deflate"})
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in packed.headers["vary"].lower()
    assert int(packed.headers["content-length"]) <= 0.9 * len(plain.content)  # on the wire
    assert packed.content == plain.content  # httpx inflated it: the same payload, byte for byte
    assert packed.headers["etag"] != plain.headers["etag"]  # one strong tag per representation
    assert decode_overlay(packed.content).rows.size == scene["inside"].size


def test_overlay_stays_raw_when_gzip_would_not_pay(client: TestClient, scene: dict) -> None:
    params = {**BASE, "filter": "flux < 0"}  # nothing passes: a 48-byte header, gzip would grow it
    r = client.get("/api/catalogs/overlay", params=params, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "content-encoding" not in r.headers
    assert len(r.content) == HEADER_BYTES and decode_overlay(r.content).rows.size == 0


def test_overlay_revalidates_by_etag_and_changes_with_the_catalog(
    client: TestClient, scene: dict, settings: Settings
) -> None:
    first = client.get("/api/catalogs/overlay", params=BASE, headers={"Accept-Encoding": "identity"})
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache" and tag.startswith('"')
    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        again = client.get("/api/catalogs/overlay", params=BASE, headers={"If-None-Match": sent})
        assert again.status_code == 304 and again.content == b""
    gz = client.get("/api/catalogs/overlay", params=BASE, headers={"Accept-Encoding": "gzip"}).headers["etag"]
    assert client.get("/api/catalogs/overlay", params=BASE, headers={"If-None-Match": gz}).status_code == 304
    other = client.get("/api/catalogs/overlay", params={**BASE, "size_col": "7"}, headers={"If-None-Match": tag})
    assert other.status_code == 200 and other.headers["etag"] != tag  # other parameters, other payload
    table = scene["table"][:100]  # the catalog changes on disk: the old tag no longer matches
    table.write(settings.catalogs_dir / "field.csv", format="ascii.csv", overwrite=True)
    changed = client.get("/api/catalogs/overlay", params=BASE, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert decode_overlay(changed.content).rows.max() < 100
