"""Admin gating: 403 without admin mode; off loopback also 403 without the right token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.settings import Settings


def _client(tmp_path: Path, **kw: object) -> Iterator[TestClient]:
    s = Settings(root=tmp_path / "root", demo=False, disk_cache=False, **kw)  # type: ignore[arg-type]
    with TestClient(create_app(s)) as c:
        yield c


@pytest.fixture
def admin_client(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, admin=True)


def test_admin_endpoints_403_without_admin(client: TestClient, settings: Settings) -> None:
    (settings.uploads_dir / "keep.fits").write_bytes(b"x")
    for method, url in [("GET", "/admin/system"), ("POST", "/admin/erase-uploads")]:
        r = client.request(method, url)
        assert r.status_code == 403
        assert "NELOURA_ADMIN" in r.json()["detail"]
    assert (settings.uploads_dir / "keep.fits").exists()
    assert client.get("/api/config").json()["admin"] is False


def test_admin_on_loopback_needs_no_token(admin_client: TestClient) -> None:
    body = admin_client.get("/admin/system").json()
    assert 0 <= body["cpu_percent"] <= 100 * (body["cpu_count"] or 1)
    assert body["memory"]["total"] > 0 and body["disk"]["total"] > 0
    assert admin_client.get("/api/config").json() == {
        "admin": True,
        "admin_token_required": False,
        "upload_max_mb": 2048,
        "cleanup_interval_minutes": 60.0,
        "results_keep_hours": 168.0,
    }


def test_non_loopback_requires_token(tmp_path: Path) -> None:
    for c in _client(tmp_path, admin=True, host="0.0.0.0", admin_token="s3cret"):
        assert c.get("/admin/system").status_code == 403
        assert c.get("/admin/system", headers={"X-Admin-Token": "wrong"}).status_code == 403
        assert c.get("/admin/system", headers={"X-Admin-Token": "s3cret"}).status_code == 200
        assert c.get("/api/config").json()["admin_token_required"] is True


def test_non_loopback_without_configured_token_is_closed(tmp_path: Path) -> None:
    for c in _client(tmp_path, admin=True, host="192.168.1.5", admin_token=""):
        r = c.post("/admin/erase-uploads", headers={"X-Admin-Token": ""})
        assert r.status_code == 403
        assert "NELOURA_ADMIN_TOKEN" in r.json()["detail"]


def test_erase_uploads(admin_client: TestClient, tmp_path: Path) -> None:
    uploads = tmp_path / "root" / "files" / "uploads"
    (uploads / "a.fits").write_bytes(b"a")
    (uploads / "sub").mkdir()
    (uploads / "sub" / "b.fits").write_bytes(b"b")
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    (uploads / "link").symlink_to(outside)
    catalog_uploads = tmp_path / "root" / "catalogs" / "uploads"
    catalog_uploads.mkdir(parents=True, exist_ok=True)
    (catalog_uploads / "c.csv").write_text("ra,dec\n1,2\n")
    body = admin_client.post("/admin/erase-uploads").json()
    expected = ["catalogs/uploads/c.csv", *(f"files/uploads/{n}" for n in ("a.fits", "link", "sub", "sub/b.fits"))]
    assert sorted(body["removed"]) == expected
    assert list(uploads.iterdir()) == [] and list(catalog_uploads.iterdir()) == []
    assert outside.read_text() == "precious"


def test_local_coding_is_admin_only(client: TestClient, tmp_path: Path) -> None:
    for method in ("GET", "POST", "DELETE"):
        assert client.request(method, "/local-coding/run").status_code == 403
    for c in _client(tmp_path / "a", admin=True, host="0.0.0.0", admin_token="t"):
        assert c.post("/local-coding/run").status_code == 403
        assert c.post("/local-coding/run", headers={"X-Admin-Token": "t"}).status_code == 422  # no body
    for c in _client(tmp_path / "b", admin=True):
        r = c.get("/local-coding/anything")
        assert r.status_code == 404 and "no local-coding endpoint" in r.json()["detail"]
