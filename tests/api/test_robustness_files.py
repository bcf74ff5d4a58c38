"""API sweep, files and uploads: non-FITS, empty, truncated and table-only files under files/ on
every image endpoint answer 415/422; uploads with escaping file names or folders never write
outside files/uploads/ (catalogs/uploads/); broken and huge uploads are refused; erasing uploads
never removes anything outside uploads/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.settings import Settings
from tests.api.robustness import (
    BAD_NAMES,
    ENDPOINTS,
    HEADERS_READABLE,
    Endpoint,
    assert_clean_error,
    assert_outside_untouched,
    case,
    send,
)

# --------------------------------------------------------------------------------------------
# Non-FITS, empty, truncated, table-only files on every image endpoint
# --------------------------------------------------------------------------------------------

METADATA_ROUTES = {"GET /api/images/hdus", "GET /api/images/header"}
IMAGE_ROUTES = [e for e in ENDPOINTS if e.image]


@pytest.mark.parametrize(
    ("ep", "bad"),
    [case(ep, bad, id=f"{ep.key}:{bad}") for ep in IMAGE_ROUTES for bad in BAD_NAMES],
)
def test_bad_fits_files_on_image_endpoints(api: TestClient, ep: Endpoint, bad: str) -> None:
    value = f"bad/{bad}"
    query = {"path": value, "hdu": None} if "path" in ep.query else None
    body = {**ep.body, "path": value, "hdu": 0} if ep.body and "path" in ep.body else None
    if body is not None and ep.key in ("POST /api/detection", "POST /api/completeness", "POST /api/photometry"):
        body["hdu"] = 1 if bad == "table_only.fits" else 0
    response = send(api, ep, query=query, body=body)
    allowed: tuple[int, ...] = (415, 422)
    if ep.key in METADATA_ROUTES and bad in HEADERS_READABLE:
        allowed = (200, 415, 422)
    assert_clean_error(response, allowed)


# --------------------------------------------------------------------------------------------
# Uploads never write outside their folder
# --------------------------------------------------------------------------------------------

UPLOAD_NAMES = {
    "dotdot": "../../../escaped.fits",
    "absolute": "/tmp/escaped.fits",
    "backslashes": "..\\..\\..\\escaped.fits",
    "nul": "escaped.fits\x00.txt",
    "hidden": ".hidden.fits",
    "long": "a" * 5000 + ".fits",
    "empty": "",
}
UPLOAD_FOLDERS = {
    "dotdot": "../../..",
    "absolute": "/tmp",
    "symlink": "../link_out",
    "backslashes": "..\\..",
    "nul": "a\x00b",
}


def _fits_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    fits.PrimaryHDU(np.arange(64, dtype=np.float32).reshape(8, 8)).writeto(buffer)
    return buffer.getvalue()


def _outside_snapshot(world: dict[str, Path]) -> set[str]:
    """Every file outside the data root in this module's temporary folder."""
    found = set()
    for path in world["base"].rglob("*"):
        if world["root"] not in path.parents:
            found.add(str(path))
    return found


def _assert_inside(path: Path, folder: Path) -> None:
    resolved = path.resolve()
    assert folder.resolve() in resolved.parents, f"{resolved} is outside {folder}"


def _upload_stays_inside(
    app_client: tuple[FastAPI, TestClient, Settings],
    world: dict[str, Path],
    route: str,
    allowed: tuple[int, ...],
    **send: Any,
) -> None:
    """Upload to ``route``: the answer is one of ``allowed``; a kept file lies in its uploads folder
    and nothing outside the data root appeared."""
    _, api, settings = app_client
    before = _outside_snapshot(world)
    response = api.post(route, **send)
    assert_clean_error(response, allowed)
    if response.status_code == 200 and route == "/api/files/upload":
        _assert_inside(settings.files_dir / response.json()["path"], settings.uploads_dir)
    elif response.status_code == 200:
        _assert_inside(settings.catalogs_dir / response.json()["name"], settings.catalogs_dir / "uploads")
    assert _outside_snapshot(world) == before


@pytest.mark.parametrize("label", [case(label, id=f"upload_name:{label}") for label in UPLOAD_NAMES])
def test_image_upload_names_stay_in_uploads(
    app_client: tuple[FastAPI, TestClient, Settings], world: dict[str, Path], label: str
) -> None:
    file = (UPLOAD_NAMES[label], _fits_bytes(), "application/fits")
    _upload_stays_inside(app_client, world, "/api/files/upload", (200, 400, 403, 415, 422), files={"file": file})


@pytest.mark.parametrize("label", list(UPLOAD_FOLDERS))
def test_image_upload_folders_stay_in_uploads(
    app_client: tuple[FastAPI, TestClient, Settings], world: dict[str, Path], label: str
) -> None:
    file = ("ok.fits", _fits_bytes(), "application/fits")
    _upload_stays_inside(
        app_client,
        world,
        "/api/files/upload",
        (200, 403, 404, 422),
        files={"file": file},
        data={"folder": UPLOAD_FOLDERS[label]},
    )


@pytest.mark.parametrize("label", list(UPLOAD_NAMES))
def test_catalog_upload_names_stay_in_uploads(
    app_client: tuple[FastAPI, TestClient, Settings], world: dict[str, Path], label: str
) -> None:
    file = (UPLOAD_NAMES[label].replace(".fits", ".csv"), b"ra,dec\n1.0,2.0\n", "text/csv")
    _upload_stays_inside(app_client, world, "/api/catalogs/upload", (200, 400, 403, 415, 422), files={"file": file})


UPLOAD_BODIES: dict[str, tuple[bytes, str]] = {
    "not_multipart": (b"SIMPLE  =                    T", "application/fits"),
    "no_boundary": (b"--x\r\n\r\n", "multipart/form-data"),
    "no_file_part": (
        b'--b\r\nContent-Disposition: form-data; name="folder"\r\n\r\nx\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    "truncated": (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.fits"\r\n\r\nSIMPLE',
        "multipart/form-data; boundary=b",
    ),
    "garbage": (b"\x00\xff" * 1000, "multipart/form-data; boundary=b"),
    "not_fits": (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.fits"\r\n\r\nhello\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
}


@pytest.mark.parametrize(
    ("route", "label"),
    [
        case(route, label, id=f"broken_upload:{route}:{label}")
        for route in ("/api/files/upload", "/api/catalogs/upload")
        for label in UPLOAD_BODIES
    ],
)
def test_broken_uploads(api: TestClient, route: str, label: str) -> None:
    raw, content_type = UPLOAD_BODIES[label]
    response = api.post(route, content=raw, headers={"content-type": content_type})
    assert_clean_error(response, (400, 413, 415, 422))


def test_declared_huge_upload_is_refused_before_reading(api: TestClient) -> None:
    for route in ("/api/files/upload", "/api/catalogs/upload"):
        response = api.post(
            route,
            content=b"x",
            headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(10**15)},
        )
        assert_clean_error(response, (400, 413, 422))


def test_erase_uploads_only_removes_inside_uploads(tmp_path: Path) -> None:
    """Admin erase-uploads: links leading out are removed as links; their targets, and files/ outside
    uploads/, stay."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "keep.fits").write_bytes(b"keep")
    (outside / "dir" / "inner.fits").write_bytes(b"inner")
    settings = Settings(root=tmp_path / "root", demo=False, disk_cache=False, admin=True)  # loopback host
    settings.ensure_folders()
    (settings.files_dir / "mine.fits").write_bytes(b"mine")
    uploads = settings.uploads_dir
    (uploads / "old.fits").write_bytes(b"x")
    (uploads / "sub").mkdir()
    (uploads / "sub" / "deep.fits").write_bytes(b"y")
    (uploads / "link_file.fits").symlink_to(outside / "keep.fits")
    (uploads / "link_dir").symlink_to(outside / "dir", target_is_directory=True)
    (uploads / "sub" / "link_up").symlink_to(settings.files_dir, target_is_directory=True)
    (uploads / "loop").symlink_to("loop")
    with TestClient(create_app(settings)) as client:
        response = client.post("/admin/erase-uploads")
    assert response.status_code == 200, response.text
    assert sorted(p.name for p in uploads.iterdir()) == []
    assert (outside / "keep.fits").read_bytes() == b"keep"
    assert (outside / "dir" / "inner.fits").read_bytes() == b"inner"
    assert (settings.files_dir / "mine.fits").read_bytes() == b"mine"


def test_the_outside_folder_is_untouched(world: dict[str, Path]) -> None:
    """Nothing in this module's requests deleted or changed the files outside the data root."""
    assert_outside_untouched(world)
