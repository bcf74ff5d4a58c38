"""Segmentation endpoints: same-grid and reprojected maps, the label under a pixel, properties
equal to photutils' SourceCatalog called directly, catalog rows on a segment, rendered windows,
and the clear refusals (not integer, no WCS to reproject, off every segment, bad paths)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from fastapi.testclient import TestClient
from photutils.segmentation import SegmentationImage, SourceCatalog, detect_sources
from PIL import Image
from reproject import reproject_interp

from neloura.core.segmentation import label_colors
from neloura.core.synthetic import make_star_field, make_wcs_header
from neloura.settings import Settings
from tests.api.job_helpers import wait_job, write_field

SHAPE = (180, 220)


@pytest.fixture
def scene(settings: Settings) -> dict:
    data, _ = make_star_field(SHAPE, 30, 3.0, seed=21, snr_range=(20, 300), noise_sigma=1.0, edge_px=8)
    data = data.astype(np.float32)
    data[100, 100:104] = np.nan
    header = make_wcs_header(SHAPE, 210.0, -30.0, 0.3, rotation_deg=25)
    header["BUNIT"] = "MJy/sr"
    segm = detect_sources(data, 3.0, n_pixels=5)
    labels = segm.data.astype(np.int32)
    folder = settings.files_dir / "seg"
    folder.mkdir(parents=True)
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, header, name="SCI")]).writeto(folder / "image.fits")
    fits.PrimaryHDU(labels, header).writeto(folder / "segm.fits")
    fits.PrimaryHDU(labels.astype(np.int16)).writeto(folder / "segm_nowcs.fits")
    fits.PrimaryHDU(data, header).writeto(folder / "float.fits")
    # the same map on another grid: finer pixels, shifted, rotated differently
    other = make_wcs_header((300, 300), 210.0003, -30.0002, 0.2, rotation_deg=-10)
    wcs_img, wcs_other = WCS(header), WCS(other)
    yy, xx = np.mgrid[0:300, 0:300]
    ix, iy = wcs_img.all_world2pix(*wcs_other.all_pix2world(xx.ravel(), yy.ravel(), 0), 0)
    ix, iy = np.floor(ix + 0.5).astype(int), np.floor(iy + 0.5).astype(int)
    inside = (ix >= 0) & (ix < SHAPE[1]) & (iy >= 0) & (iy < SHAPE[0])
    resampled = np.zeros(300 * 300, np.int32)
    resampled[inside] = labels[iy[inside], ix[inside]]
    fits.PrimaryHDU(resampled.reshape(300, 300), other).writeto(folder / "segm_other.fits")
    fits.PrimaryHDU(np.zeros((30, 30), np.int32)).writeto(folder / "small_nowcs.fits")
    reference = SourceCatalog(data, SegmentationImage(labels), mask=~np.isfinite(data))
    ra, dec = wcs_img.all_pix2world(reference.x_centroid, reference.y_centroid, 0)
    Table({"ra": ra, "dec": dec, "label": reference.label}).write(settings.catalogs_dir / "centroids.csv")
    return {"data": data, "labels": labels, "reference": reference, "wcs": wcs_img}


BASE = {"path": "seg/image.fits", "hdu": 1, "seg": "seg/segm.fits"}


def test_info_and_label_readout(client: TestClient, scene: dict) -> None:
    r = client.get("/api/segmentation/info", params=BASE)
    assert r.status_code == 200, r.text
    body = r.json()
    labels = scene["labels"]
    assert (body["width"], body["height"], body["reprojected"]) == (SHAPE[1], SHAPE[0], False)
    assert body["n_labels"] == len(np.unique(labels)) - 1 and body["max_label"] == labels.max()
    ys, xs = np.nonzero(labels)
    for x, y in zip(xs[::97], ys[::97], strict=True):
        got = client.get("/api/segmentation/label", params={**BASE, "x": x + 0.3, "y": y - 0.4}).json()
        assert got["label"] == labels[y, x]
    assert client.get("/api/segmentation/label", params={**BASE, "x": -5, "y": 3}).json()["label"] == 0


def test_properties_equal_photutils_and_link_catalog_rows(client: TestClient, scene: dict) -> None:
    reference = scene["reference"]
    area_sr = float(np.radians(0.3 / 3600) ** 2)
    for label in (1, 7, int(scene["labels"].max())):
        r = client.get("/api/segmentation/segment", params={**BASE, "label": label, "catalog": "centroids.csv"})
        assert r.status_code == 200, r.text
        got, want = r.json(), reference.select_label(label)
        assert got["area_px"] == want.area.value
        assert got["area_arcsec2"] == pytest.approx(want.area.value * 0.09, rel=1e-6)
        assert got["x_centroid"] == pytest.approx(want.x_centroid, abs=1e-9)
        assert got["y_centroid"] == pytest.approx(want.y_centroid, abs=1e-9)
        # MJy/sr summed over the pixel solid angle: µJy
        assert got["flux_unit"] == "uJy"
        assert got["segment_flux"] == pytest.approx(want.segment_flux * 1e12 * area_sr, rel=1e-4)
        assert got["semimajor_axis_px"] == pytest.approx(want.semimajor_axis.value, rel=1e-9)
        assert got["orientation_deg"] == pytest.approx(want.orientation.value, abs=1e-6)
        ra, dec = scene["wcs"].all_pix2world(want.x_centroid, want.y_centroid, 0)
        assert got["ra_deg"] == pytest.approx(float(ra), abs=1e-9) and got["dec_deg"] == pytest.approx(float(dec))
        assert got["color"] == "#{:02x}{:02x}{:02x}".format(*label_colors(np.array([label]))[0])
        # the centroid catalog's row of this label (row = label - 1) lies on the segment, if its
        # centroid is on one of its own pixels (a crescent's centroid may be off it)
        cx, cy = int(np.floor(want.x_centroid + 0.5)), int(np.floor(want.y_centroid + 0.5))
        expected = [label - 1] if scene["labels"][cy, cx] == label else []
        assert got["rows"] == expected
    by_pixel = client.get("/api/segmentation/segment", params={**BASE, "x": cx, "y": cy}).json()
    assert by_pixel["label"] == scene["labels"][cy, cx]


def test_reprojected_map_lands_on_the_image_grid(client: TestClient, scene: dict) -> None:
    params = {**BASE, "seg": "seg/segm_other.fits"}
    body = client.get("/api/segmentation/info", params=params).json()
    assert body["reprojected"] is True and (body["width"], body["height"]) == (SHAPE[1], SHAPE[0])
    # equal to reproject called directly (nearest-neighbour through both full WCSs)
    with fits.open(client.app.state.settings.files_dir / "seg" / "segm_other.fits") as hdul:
        direct, _ = reproject_interp(hdul[0], scene["wcs"], shape_out=SHAPE, order="nearest-neighbor")
    direct = np.where(np.isfinite(direct), direct, 0).astype(int)
    labels = scene["labels"]
    ys, xs = np.nonzero(labels)
    got = [
        client.get("/api/segmentation/label", params={**params, "x": x, "y": y}).json()["label"]
        for x, y in zip(xs[::23], ys[::23], strict=True)
    ]
    np.testing.assert_array_equal(got, direct[ys[::23], xs[::23]])
    assert np.mean(np.array(got) == labels[ys[::23], xs[::23]]) > 0.8  # resampled twice: edges may move
    nowcs = client.get("/api/segmentation/info", params={**BASE, "seg": "seg/segm_nowcs.fits"}).json()
    assert nowcs["reprojected"] is False and nowcs["n_labels"] == len(np.unique(labels)) - 1


def test_render_window(client: TestClient, scene: dict) -> None:
    labels = scene["labels"]
    window = {"x0": -0.5, "y0": -0.5, "x1": SHAPE[1] - 0.5, "y1": SHAPE[0] - 0.5}
    r = client.get("/api/segmentation/render.png", params={**BASE, **window, "width": SHAPE[1], "height": SHAPE[0]})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    rgba = np.asarray(Image.open(io.BytesIO(r.content)))
    flipped = labels[::-1]
    np.testing.assert_array_equal(rgba[..., 3] > 0, flipped > 0)
    np.testing.assert_array_equal(rgba[flipped > 0, :3], label_colors(flipped[flipped > 0]))
    outline = client.get(
        "/api/segmentation/render.png",
        params={**BASE, **window, "width": SHAPE[1], "height": SHAPE[0], "outline": True, "selected": 3},
    )
    lines = np.asarray(Image.open(io.BytesIO(outline.content)))
    assert 0 < (lines[..., 3] > 0).sum() < (rgba[..., 3] > 0).sum()
    assert ((lines[..., :3] == 255).all(axis=-1) & (flipped == 3)).any()


@pytest.mark.parametrize(
    ("params", "status", "needle"),
    [
        ({"seg": "seg/float.fits"}, 422, "not an integer segmentation map"),
        ({"seg": "seg/small_nowcs.fits"}, 422, "needs a celestial WCS"),
        ({"seg": "seg/missing.fits"}, 404, "missing"),
        ({"seg": "../outside.fits"}, 403, ""),
        ({"seg": "seg/segm.fits", "seg_hdu": 4}, 422, ""),
    ],
)
def test_bad_maps_are_refused_clearly(client: TestClient, scene: dict, params: dict, status: int, needle: str) -> None:
    r = client.get("/api/segmentation/info", params={**BASE, **params})
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]


def test_bad_segment_requests(client: TestClient, scene: dict) -> None:
    off = client.get("/api/segmentation/segment", params={**BASE, "x": 0, "y": 0})
    assert off.status_code == 422 and "no segment at x=0, y=0" in off.json()["detail"]
    missing = client.get("/api/segmentation/segment", params={**BASE, "label": 100_000})
    assert missing.status_code == 422 and "label 100000" in missing.json()["detail"]
    neither = client.get("/api/segmentation/segment", params=BASE)
    assert neither.status_code == 422
    window = {"x0": 5, "y0": 0, "x1": 1, "y1": 10, "width": 10, "height": 10}
    assert client.get("/api/segmentation/render.png", params={**BASE, **window}).status_code == 422
    huge = {**window, "x1": 50, "width": 100_000}
    assert client.get("/api/segmentation/render.png", params={**BASE, **huge}).status_code == 422


def test_detection_writes_a_segmentation_map_linked_to_its_catalog(client: TestClient, settings: Settings) -> None:
    write_field(settings.files_dir)
    start = client.post("/api/detection", json={"path": "field.fits", "threshold_sigma": 5, "segmentation": True})
    job = wait_job(client, start.json()["id"])
    assert job["state"] == "done", job
    result = job["result"]
    assert result["segmentation"].startswith("results/segmentation/") and result["segmentation"].endswith("_segm.fits")
    assert (settings.files_dir / result["segmentation"]).is_file()
    assert any(name.endswith("_segm.fits") for name in result["files"])
    table = Table.read(settings.catalogs_dir / result["catalog"])
    params = {"path": "field.fits", "seg": result["segmentation"]}
    info = client.get("/api/segmentation/info", params=params).json()
    assert info["reprojected"] is False and info["n_labels"] == len(table) and info["max_label"] == len(table)
    for row in (0, len(table) // 2, len(table) - 1):
        x, y, source_id = float(table["x_pix"][row]), float(table["y_pix"][row]), int(table["id"][row])
        assert client.get("/api/segmentation/label", params={**params, "x": x, "y": y}).json()["label"] == source_id
        segment = client.get(
            "/api/segmentation/segment", params={**params, "label": source_id, "catalog": result["catalog"]}
        ).json()
        assert row in segment["rows"]  # detection -> segment -> catalog row
        box = segment["bbox"]
        assert box["x_min"] <= round(x) <= box["x_max"] and box["y_min"] <= round(y) <= box["y_max"]
    plain = client.post("/api/detection", json={"path": "field.fits", "threshold_sigma": 5})
    assert "segmentation" not in wait_job(client, plain.json()["id"])["result"]
