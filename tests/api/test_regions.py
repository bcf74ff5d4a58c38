"""POST /api/regions/*: statistics on full-resolution physical pixels (BSCALE/BZERO/BLANK), flux
units, conversion, parsing for the page, cutouts, catalog selections and clear 4xx answers."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import regions
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from fastapi.testclient import TestClient
from regions import CirclePixelRegion, PixCoord

from neloura.core.synthetic import make_wcs_header
from neloura.settings import Settings

W, H, SCALE = 300, 200, 0.5


@pytest.fixture
def scene(settings: Settings) -> dict:
    header = make_wcs_header((H, W), 150.0, 2.0, SCALE, rotation_deg=25)
    header["BUNIT"] = "MJy/sr"
    rng = np.random.default_rng(5)
    raw = rng.integers(100, 2000, (H, W)).astype(np.int16)
    raw[10:20, 30:40] = -999  # BLANK
    header["BSCALE"], header["BZERO"], header["BLANK"] = 0.5, 10.0, -999
    hdu = fits.ImageHDU(raw, header=header, name="SCI")
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 0.5, 10.0, -999
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(settings.files_dir / "field.fits")
    physical = raw.astype(np.float64) * 0.5 + 10.0
    physical[raw == -999] = np.nan
    wcs = WCS(header)
    ra, dec = wcs.all_pix2world([35.0, 150.0, 250.0], [15.0, 100.0, 20.0], 0)
    Table({"ra": ra, "dec": dec}).write(settings.catalogs_dir / "cat.csv", format="ascii.csv")
    return {"physical": physical, "wcs": wcs}


def test_stats_of_a_sky_circle_on_physical_pixels(client: TestClient, scene: dict) -> None:
    ra, dec = scene["wcs"].all_pix2world([[35.2, 15.3]], 0)[0]
    text = f'icrs\ncircle({ra:.8f},{dec:.8f},6.13")\n'
    r = client.post("/api/regions/stats", json={"path": "field.fits", "hdu": 1, "regions": text})
    assert r.status_code == 200, r.text
    (row,) = r.json()["regions"]
    mask = CirclePixelRegion(PixCoord(35.2, 15.3), 12.26).to_mask(mode="center").to_image((H, W)) > 0
    values = scene["physical"][mask]
    values = values[np.isfinite(values)]
    assert row["npix"] == values.size and row["index"] == 0 and row["shape"] == "circle"
    assert row["sum"] == pytest.approx(values.sum(), rel=1e-6) and row["median"] == pytest.approx(np.median(values))
    pix_sr = (SCALE / 206264.80624709636) ** 2
    exact = CirclePixelRegion(PixCoord(35.2, 15.3), 12.26).to_mask(mode="exact").to_image((H, W))
    flux = np.nansum(scene["physical"] * exact) * 1e12 * pix_sr  # MJy/sr x sr -> µJy
    assert row["flux_unit"] == "uJy" and row["flux"] == pytest.approx(flux, rel=1e-3)
    assert row["area_arcsec2"] == pytest.approx(
        np.sum(np.where(np.isfinite(scene["physical"]), exact, 0)) * SCALE**2, rel=1e-3
    )
    assert {
        "index",
        "shape",
        "npix",
        "area_arcsec2",
        "sum",
        "mean",
        "median",
        "std",
        "min",
        "max",
        "flux",
        "flux_unit",
    } <= row.keys()


def test_malformed_text_is_422_naming_the_line(client: TestClient, scene: dict) -> None:
    r = client.post(
        "/api/regions/stats", json={"path": "field.fits", "regions": "image\ncircle(1,2,3)\nbox(1,2,oops,4)\n"}
    )
    assert r.status_code == 422 and "line 3" in r.json()["detail"]


def test_unsupported_shapes_are_listed_and_the_rest_measured(client: TestClient, scene: dict) -> None:
    text = "image\ncircle(50,50,5)\nvector(1,2,3,4)\nprojection(1,2,3,4,5)\nbox(100,100,10,10,0)\n"
    body = client.post("/api/regions/stats", json={"path": "field.fits", "regions": text}).json()
    assert [r["shape"] for r in body["regions"]] == ["circle", "box"]
    assert [(s["line"], s["shape"]) for s in body["skipped"]] == [(3, "vector"), (4, "projection")]


@pytest.mark.parametrize("to", ["ds9", "crtf"])
@pytest.mark.parametrize("system", ["sky", "pixel"])
def test_convert_round_trips(client: TestClient, scene: dict, to: str, system: str) -> None:
    text = "image\ncircle(50.5,60.5,7)\nellipse(100,80,10,4,30)\npolygon(10,10,30,12,20,30)\n"
    out = client.post("/api/regions/convert", json={"path": "field.fits", "regions": text, "to": to, "system": system})
    assert out.status_code == 200, out.text
    converted = out.json()["regions"]
    assert converted.lstrip().startswith("#CRTF" if to == "crtf" else "# Region file format: DS9")
    a = client.post("/api/regions/parse", json={"path": "field.fits", "regions": text}).json()["regions"]
    b = client.post("/api/regions/parse", json={"path": "field.fits", "regions": converted}).json()["regions"]
    for x, y in zip(a, b, strict=True):
        assert x["shape"] == y["shape"]
        assert np.allclose(x["points"], y["points"], atol=0.02) and np.allclose(x["sizes"], y["sizes"], atol=0.02)


def test_parse_gives_zero_based_pixels(client: TestClient, scene: dict) -> None:
    body = client.post(
        "/api/regions/parse", json={"path": "field.fits", "regions": "image\n-circle(11,21,5) # color=red text={a}\n"}
    ).json()
    (shape,) = body["regions"]
    assert shape["points"] == [[10.0, 20.0]] and shape["sizes"] == [5.0]
    assert shape["include"] is False and shape["color"] == "red" and shape["text"] == "a" and shape["line"] == 2


def test_cutout_histogram_profile(client: TestClient, scene: dict) -> None:
    body = {"path": "field.fits", "hdu": 1, "regions": "image\ncircle(151,101,10)\n", "index": 0}
    r = client.post("/api/regions/cutout", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/fits"
    with fits.open(io.BytesIO(r.content)) as hdul:
        assert hdul[0].data.shape == hdul["MASK"].data.shape == (21, 21)
        assert hdul[0].data[10, 10] == pytest.approx(scene["physical"][100, 150])
        assert WCS(hdul[0].header).has_celestial
    h = client.post("/api/regions/histogram", json={**body, "bins": 10}).json()
    assert sum(h["counts"]) == h["n"] > 300
    p = client.post("/api/regions/profile", json={**body, "step_px": 2.5}).json()
    assert len(p["profile"]) == 4 and all(v is None or math.isfinite(v) for v in p["profile"])
    bad = client.post("/api/regions/profile", json={**body, "regions": "image\nbox(10,10,4,4,0)\n"})
    assert bad.status_code == 422
    assert client.post("/api/regions/cutout", json={**body, "index": 5}).status_code == 422


def test_regions_to_catalog_rows_and_back(client: TestClient, scene: dict) -> None:
    text = "image\ncircle(36,16,8)\ncircle(151,101,8)\n-circle(151,101,3)\n"
    r = client.post("/api/regions/catalog", json={"path": "field.fits", "regions": text, "name": "cat.csv"})
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [0]  # row 1 sits in an excluded circle, row 2 outside
    back = client.post(
        "/api/regions/from-catalog", json={"path": "field.fits", "name": "cat.csv", "rows": [0, 1, 2]}
    ).json()
    assert [p["row"] for p in back["regions"]] == [0, 1, 2]
    assert np.allclose(back["regions"][1]["points"], [[150.0, 100.0]], atol=1e-3)
    assert (
        client.post(
            "/api/regions/from-catalog", json={"path": "field.fits", "name": "cat.csv", "rows": [9]}
        ).status_code
        == 422
    )


def test_sky_regions_on_an_image_without_wcs_are_refused(client: TestClient, settings: Settings) -> None:
    fits.writeto(settings.files_dir / "plain.fits", np.zeros((10, 10), np.float32))
    r = client.post("/api/regions/stats", json={"path": "plain.fits", "regions": 'fk5\ncircle(1,2,3")\n'})
    assert r.status_code == 422 and "celestial" in r.json()["detail"]
    ok = client.post("/api/regions/stats", json={"path": "plain.fits", "regions": "image\ncircle(5,5,2)\n"})
    assert ok.status_code == 200 and ok.json()["regions"][0]["flux_unit"] == "count"


def test_saved_region_links(client: TestClient, settings: Settings) -> None:
    text = "image\ncircle(10,10,3)\n"
    first = client.post("/api/regions/links", json={"regions": text}).json()["id"]
    assert client.post("/api/regions/links", json={"regions": text}).json()["id"] == first  # content-addressed
    assert client.get(f"/api/regions/links/{first}").json()["regions"] == text
    assert client.get("/api/regions/links/0123456789abcdef01234567").status_code == 404
    assert client.get("/api/regions/links/..%2F..%2Fsettings").status_code in (404, 422)
    assert client.post("/api/regions/links", json={"regions": "image\ncircle(1)\n"}).status_code == 422


SHIPPED = sorted(p for p in Path(regions.__file__).parent.glob("io/*/tests/data/*") if p.suffix in (".reg", ".crtf"))


def test_every_region_file_shipped_with_regions_imports_on_an_image(client: TestClient, settings: Settings) -> None:
    """The package's own files (DS9 in every frame, CRTF from CASA and CARTA) on its own all-sky
    Galactic CAR header (shapes/tests/data/example_header.fits): parse, measure and convert."""
    header = fits.getheader(SHIPPED[0].parents[4] / "shapes" / "tests" / "data" / "example_header.fits")
    data = np.arange(400 * 300, dtype=np.float32).reshape(300, 400)
    fits.PrimaryHDU(data, header=header).writeto(settings.files_dir / "allsky.fits")
    assert len(SHIPPED) >= 20
    for path in SHIPPED:
        body = {"path": "allsky.fits", "regions": path.read_text()}
        parsed = client.post("/api/regions/parse", json=body)
        assert parsed.status_code == 200, (path.name, parsed.text)
        assert parsed.json()["count"] > 0
        for system in ("sky", "pixel"):
            out = client.post("/api/regions/convert", json={**body, "to": "ds9", "system": system})
            assert out.status_code == 200, (path.name, out.text)


@pytest.mark.parametrize(
    ("route", "text", "words"),
    [
        ("stats", "image\ncircle(10,10,1e6)\n", "pixels of bounding boxes"),
        ("cutout", "image\ncircle(10,10,1e6)\n", "pixels of bounding boxes"),
        ("histogram", "image\nbox(10,10,1e6,1e6,0)\n", "pixels of bounding boxes"),
        ("stats", "image\n" + "circle(5,5,1)\n" * 20_001, "at most 20,000"),
        ("parse", "image\npolygon(" + ",".join(["1,2,3,4"] * 5001) + ")\n", "vertices"),
    ],
)
def test_hostile_sizes_are_refused_before_masks_are_built(
    client: TestClient, scene: dict, route: str, text: str, words: str
) -> None:
    r = client.post(f"/api/regions/{route}", json={"path": "field.fits", "regions": text, "index": 0})
    assert r.status_code == 422 and words in r.json()["detail"]


HOSTILE = [
    "image\ncircle(1e308,1,1)\n",
    "image\ncircle(1,1,1e308)\n",
    "image\nbox(1,1,1e300,2,0)\n",
    "image\ncircle(1,2,3) # text={unclosed\n",
    "image\npolygon()\n",
    'fk5\ncircle(150,2,1e300")\n',
    "image\nellipse(10,10,3,2,1e300)\n",
    "image\nline(1,1,1,1)\n",
    "image\ncircle(" + "1" * 5000 + ",1,1)\n",
    "image\ntext(1,1) # text={héllo ✓}\n",
    "#CRTFv0\ncircle[[1e308pix, 1pix], 3pix]\n",
    "\ufeffimage\ncircle(5,5,2)\n",
    "image\nannulus(10,10," + ",".join(str(i) for i in range(1, 30)) + ")\n",
    "image\ncircle(5,5,2)\x00\n",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_odd_region_text_never_fails_the_server(client: TestClient, scene: dict, text: str) -> None:
    for route in ("stats", "parse", "convert", "cutout", "histogram", "profile", "catalog"):
        r = client.post(f"/api/regions/{route}", json={"path": "field.fits", "regions": text, "name": "cat.csv"})
        assert r.status_code < 500, (route, r.text)
        if r.status_code >= 400:
            assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_stats_on_a_cube_plane_and_a_tile_compressed_image(client: TestClient, settings: Settings) -> None:
    rng = np.random.default_rng(9)
    cube = rng.normal(1.0, 0.2, (6, 40, 50)).astype(np.float32)
    cube[3, 10:30, 10:30] += 5.0
    header = make_wcs_header((40, 50), 150.0, 2.0, 1.0)
    header["CTYPE3"], header["CRVAL3"], header["CDELT3"], header["CRPIX3"], header["CUNIT3"] = (
        "FREQ",
        2.3e11,
        1e6,
        1,
        "Hz",
    )
    header["BUNIT"] = "Jy/beam"
    header["BMAJ"] = header["BMIN"] = 3.0 / 3600
    fits.PrimaryHDU(cube, header=header).writeto(settings.files_dir / "cube.fits")
    text = "image\ncircle(21,21,6)\n"
    mask = CirclePixelRegion(PixCoord(20, 20), 6).to_mask(mode="center").to_image((40, 50)) > 0
    for plane in (0, 3):
        row = client.post("/api/regions/stats", json={"path": "cube.fits", "plane": plane, "regions": text}).json()[
            "regions"
        ][0]
        assert row["mean"] == pytest.approx(float(cube[plane][mask].mean()), rel=1e-6)
        beam_px = math.pi / (4 * math.log(2)) * 3.0 * 3.0  # beam area in 1" pixels
        exact = CirclePixelRegion(PixCoord(20, 20), 6).to_mask(mode="exact").to_image((40, 50))
        assert row["flux_unit"] == "uJy" and row["flux"] == pytest.approx(
            1e6 * float(np.sum(cube[plane] * exact)) / beam_px, rel=1e-4
        )
    assert client.post("/api/regions/stats", json={"path": "cube.fits", "plane": 6, "regions": text}).status_code == 422
    comp = fits.CompImageHDU(cube[3], header=make_wcs_header((40, 50), 150.0, 2.0, 1.0), compression_type="RICE_1")
    fits.HDUList([fits.PrimaryHDU(), comp]).writeto(settings.files_dir / "comp.fits")
    decompressed = fits.getdata(settings.files_dir / "comp.fits", 1)  # quantised: compare with astropy's values
    row = client.post("/api/regions/stats", json={"path": "comp.fits", "hdu": 1, "regions": text}).json()["regions"][0]
    assert row["npix"] == int(mask.sum()) and row["mean"] == pytest.approx(float(decompressed[mask].mean()), rel=1e-6)
