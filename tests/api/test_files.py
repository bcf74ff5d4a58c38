"""File browser: listing, search, thumbnails, uploads (validation leaves nothing behind)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient
from PIL import Image

from neloura.app import create_app
from neloura.settings import Settings


def _fits_bytes(data: np.ndarray) -> bytes:
    buf = io.BytesIO()
    fits.PrimaryHDU(data).writeto(buf)
    return buf.getvalue()


@pytest.fixture
def tree(settings: Settings) -> Path:
    files = settings.files_dir
    (files / "Deep" / "Inner").mkdir(parents=True)
    rng = np.random.default_rng(3)
    (files / "Deep" / "Inner" / "M31_Field.fits").write_bytes(_fits_bytes(rng.normal(size=(40, 60)).astype("f4")))
    (files / "Deep" / "notes.txt").write_text("hello")
    (files / "top.fits").write_bytes(_fits_bytes(np.zeros((8, 8), "f4")))
    (files / ".hidden.fits").write_bytes(b"x")
    return files


def test_list_root_folders_first(client: TestClient, tree: Path) -> None:
    body = client.get("/api/files").json()
    assert body["folder"] == "" and body["parent"] is None
    names = [(e["name"], e["kind"]) for e in body["entries"]]
    assert names == [("Deep", "folder"), ("uploads", "folder"), ("top.fits", "fits")]


def test_list_subfolder(client: TestClient, tree: Path) -> None:
    body = client.get("/api/files", params={"folder": "Deep"}).json()
    assert body["parent"] == ""
    assert [(e["path"], e["kind"]) for e in body["entries"]] == [("Deep/Inner", "folder"), ("Deep/notes.txt", "file")]


def test_list_refuses_escapes_and_missing(client: TestClient, tree: Path) -> None:
    assert client.get("/api/files", params={"folder": "../"}).status_code == 403
    assert client.get("/api/files", params={"folder": "/etc"}).status_code == 403
    assert client.get("/api/files", params={"folder": "nope"}).status_code == 404
    assert client.get("/api/files", params={"folder": "top.fits"}).status_code == 404


def test_symlink_out_is_not_listed(client: TestClient, tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.mkdir()
    (tree / "escape").symlink_to(outside)
    names = [e["name"] for e in client.get("/api/files").json()["entries"]]
    assert "escape" not in names
    assert client.get("/api/files", params={"folder": "escape"}).status_code == 403


def test_search_is_recursive_and_case_insensitive(client: TestClient, tree: Path) -> None:
    body = client.get("/api/files/search", params={"q": "m31_f"}).json()
    assert [e["path"] for e in body["entries"]] == ["Deep/Inner/M31_Field.fits"]
    assert client.get("/api/files/search", params={"q": "zzz"}).json()["entries"] == []
    assert client.get("/api/files/search", params={"q": ""}).status_code == 422


def test_thumbnail_is_a_small_png_with_row0_at_bottom(client: TestClient, settings: Settings) -> None:
    data = np.zeros((64, 32), "f4")
    data[:8, :] = 100.0  # bright bottom rows (FITS row 0)
    (settings.files_dir / "grad.fits").write_bytes(_fits_bytes(data))
    r = client.get("/api/files/thumbnail", params={"path": "grad.fits", "size": 32})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = np.asarray(Image.open(io.BytesIO(r.content)))
    assert img.shape == (32, 16)
    assert img[-1].mean() > 200 and img[0].mean() < 20


def test_thumbnail_errors(client: TestClient, tree: Path) -> None:
    assert client.get("/api/files/thumbnail", params={"path": "nope.fits"}).status_code == 404
    assert client.get("/api/files/thumbnail", params={"path": "../x.fits"}).status_code == 403
    assert client.get("/api/files/thumbnail", params={"path": "Deep/notes.txt", "hdu": 0}).status_code == 415


def test_upload_good_fits(client: TestClient, settings: Settings) -> None:
    payload = _fits_bytes(np.arange(100, dtype="f4").reshape(10, 10))
    r = client.post("/api/files/upload", files={"file": ("my image (1).fits", payload, "application/fits")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["path"] == "uploads/my_image_1_.fits"
    assert body["recommended"] == 0
    assert (settings.uploads_dir / "my_image_1_.fits").read_bytes() == payload
    again = client.post("/api/files/upload", files={"file": ("my image (1).fits", payload)}).json()
    assert again["path"] == "uploads/my_image_1_-1.fits"


@pytest.mark.parametrize(
    ("name", "content", "status", "words"),
    [
        ("notes.fits", b"just some text, not FITS at all" * 200, 415, "not a FITS file"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, 415, "not a FITS file name"),
        ("empty.fits", b"", 422, "empty"),
    ],
)
def test_upload_rejects_non_fits(
    client: TestClient, settings: Settings, name: str, content: bytes, status: int, words: str
) -> None:
    r = client.post("/api/files/upload", files={"file": (name, content)})
    assert r.status_code == status
    assert words in r.json()["detail"]
    assert os.listdir(settings.uploads_dir) == []


def test_upload_rejects_truncated_fits(client: TestClient, settings: Settings) -> None:
    payload = _fits_bytes(np.ones((100, 100), "f4"))
    r = client.post("/api/files/upload", files={"file": ("cut.fits", payload[: len(payload) // 2])})
    assert r.status_code == 415
    assert "truncated" in r.json()["detail"]
    assert os.listdir(settings.uploads_dir) == []


def test_upload_size_limit(tmp_path: Path) -> None:
    s = Settings(root=tmp_path / "r", demo=False, disk_cache=False, upload_max_mb=1)
    with TestClient(create_app(s)) as c:
        big = _fits_bytes(np.zeros((800, 800), "f4"))  # 2.5 MB
        r = c.post("/api/files/upload", files={"file": ("big.fits", big)})
        assert r.status_code == 413
        assert "1 MB" in r.json()["detail"]
        assert os.listdir(s.uploads_dir) == []


def test_upload_folder_is_confined(client: TestClient, settings: Settings) -> None:
    payload = _fits_bytes(np.zeros((4, 4), "f4"))
    r = client.post("/api/files/upload", files={"file": ("a.fits", payload)}, data={"folder": "../../x"})
    assert r.status_code == 403
    assert not (settings.root / "x").exists()


def test_upload_limit_enforced_while_streaming(tmp_path: Path) -> None:
    """Without Content-Length (chunked), the limit still holds as bytes arrive; nothing kept."""
    s = Settings(root=tmp_path / "r", demo=False, disk_cache=False, upload_max_mb=1)
    payload = _fits_bytes(np.zeros((800, 800), "f4"))
    head = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.fits"\r\n\r\n'

    def body():
        yield head
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]
        yield b"\r\n--XyZ--\r\n"

    with TestClient(create_app(s)) as c:
        r = c.post("/api/files/upload", content=body(), headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
        assert r.status_code == 413
        assert os.listdir(s.uploads_dir) == []


def test_upload_needs_a_multipart_file_part(client: TestClient, settings: Settings) -> None:
    r = client.post("/api/files/upload", content=b"SIMPLE", headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 422 and "multipart/form-data" in r.json()["detail"]
    r = client.post("/api/files/upload", data={"folder": "x"}, files={"other": ("a.fits", b"x")})
    assert r.status_code == 422 and "no part named 'file'" in r.json()["detail"]
    assert os.listdir(settings.uploads_dir) == []


def test_symlink_loop_is_skipped_not_a_500(client: TestClient, tree: Path) -> None:
    (tree / "loop").symlink_to(tree / "loop")
    assert client.get("/api/files").status_code == 200
    assert "loop" not in [e["name"] for e in client.get("/api/files").json()["entries"]]
    assert client.get("/api/files/search", params={"q": "o"}).status_code == 200


def test_malformed_multipart_is_a_422(client: TestClient, settings: Settings) -> None:
    r = client.post(
        "/api/files/upload",
        content=b"--XyZ\r\nthis is not a header line at all\r\n\r\n\x00\x01--XyZ--",
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert r.status_code == 422 and "malformed multipart" in r.json()["detail"]
    long_name = "a" * 5000 + ".fits"
    r = client.post("/api/files/upload", files={"file": (long_name, _fits_bytes(np.zeros((4, 4), "f4")))})
    assert r.status_code == 422
    assert os.listdir(settings.uploads_dir) == []


@pytest.mark.parametrize("count", [3, 100])  # listed here / in the bounded worker (over 64 HDUs)
def test_upload_answer_and_hdu_listing_carry_every_hdu(client: TestClient, settings: Settings, count: int) -> None:
    """The HDU list rendered once (by the parse worker for a large file) is the listing itself:
    every field of every HDU, the recommended one flagged, in the upload answer and in /hdus.
    The body arrives in 1 MB batches: a 3 MB upload crosses several."""
    hdus = [fits.PrimaryHDU()] + [fits.ImageHDU(np.zeros((2, 3), np.float32), name=f"E{i}") for i in range(count)]
    hdus.append(fits.ImageHDU(np.ones((1024, 768), np.float32), name="BIG"))
    buffer = io.BytesIO()
    fits.HDUList(hdus).writeto(buffer)
    answer = client.post("/api/files/upload", files={"file": ("many.fits", buffer.getvalue())})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["recommended"] == count + 1 and body["size"] == len(buffer.getvalue())
    listing = client.get("/api/images/hdus", params={"path": body["path"]}).json()
    assert listing["recommended"] == count + 1 and listing["path"] == body["path"]
    assert body["hdus"] == listing["hdus"] and len(listing["hdus"]) == count + 2
    big = listing["hdus"][-1]
    assert big["name"] == "BIG" and big["shape"] == [1024, 768] and big["kind"] == "image" and big["recommended"]
    assert [h["recommended"] for h in listing["hdus"]].count(True) == 1
    expected = {"index", "name", "kind", "shape", "bitpix", "bunit", "has_celestial_wcs", "compressed"}
    assert expected | {"truncated", "problem", "columns", "recommended"} == set(big)
    assert "listing" not in big
