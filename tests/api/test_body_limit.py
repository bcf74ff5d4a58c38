"""Bodies are capped while they stream in: declared or chunked, JSON 413, nothing kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.settings import Settings


@pytest.fixture
def small_client(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(root=tmp_path / "root", demo=False, disk_cache=False, request_max_mb=1, upload_max_mb=2)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"x" * n


def test_declared_oversize_body_is_a_json_413(small_client: tuple[TestClient, Settings]) -> None:
    client, _ = small_client
    r = client.post("/api/images/pixel-to-world", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                    headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413
    assert "1 MB" in r.json()["detail"]


def test_chunked_oversize_body_is_a_json_413(small_client: tuple[TestClient, Settings]) -> None:
    client, _ = small_client
    r = client.post("/api/images/pixel-to-world", content=_chunks(3 * 1024 * 1024),
                    headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/json"


def test_chunked_oversize_upload_keeps_nothing(small_client: tuple[TestClient, Settings]) -> None:
    client, settings = small_client
    boundary = "BOUNDARY"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\nra,dec\r\n").encode()  # fmt: skip

    def body() -> Iterator[bytes]:
        yield head
        yield from _chunks(5 * 1024 * 1024)

    for url in ("/api/catalogs/upload", "/api/files/upload"):
        r = client.post(url, content=body(), headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert r.status_code == 413, (url, r.text)
    catalog_uploads = settings.catalogs_dir / "uploads"
    assert not catalog_uploads.exists() or list(catalog_uploads.rglob("*")) == []
    assert list(settings.uploads_dir.iterdir()) == []


def test_bodies_under_the_limit_pass(small_client: tuple[TestClient, Settings]) -> None:
    client, _ = small_client
    r = client.post("/api/images/pixel-to-world", json={"path": "missing.fits", "x": [1.0], "y": [2.0]})
    assert r.status_code == 404  # reached the route: the body was accepted
