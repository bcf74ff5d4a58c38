"""Issue 13.3 and 14.12: another web page cannot drive the server (Origin), a foreign Host is
refused (DNS rebinding), loopback is decided by address, every page carries the security
headers, and /docs works offline from the pinned swagger-ui-dist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from neloura.api.origin import CONTENT_SECURITY_POLICY, HostPolicy
from neloura.app import create_app
from neloura.core.hosts import is_loopback_host
from neloura.settings import Settings

LOCAL = "http://127.0.0.1:8000"
EVIL = "https://evil.example"


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(root=tmp_path / "root", demo=False, disk_cache=False, admin=True, allowed_hosts=[])
    with TestClient(create_app(settings), base_url=LOCAL) as client:
        yield client, settings


def _fits() -> bytes:
    import io

    buffer = io.BytesIO()
    fits.PrimaryHDU(np.ones((8, 8), np.float32)).writeto(buffer)
    return buffer.getvalue()


def test_cross_site_form_post_cannot_empty_the_uploads(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    (settings.uploads_dir / "keep.fits").write_bytes(b"x")
    refused = client.post("/admin/erase-uploads", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and "evil.example" in refused.json()["detail"]
    assert (settings.uploads_dir / "keep.fits").exists()
    # a cross-site request that hides its Origin is refused too; same-origin and scripts pass
    assert client.post("/admin/erase-uploads", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/admin/erase-uploads", headers={"Origin": "null"}).status_code == 403
    assert client.post("/admin/erase-uploads", headers={"Origin": LOCAL}).status_code == 200
    assert not (settings.uploads_dir / "keep.fits").exists()


def test_cross_origin_upload_and_ws_are_refused(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    files = {"file": ("a.fits", _fits(), "application/octet-stream")}
    for origin in (EVIL, "http://localhost:3000", "http://127.0.0.1:8001"):  # other sites, other local ports
        response = client.post("/api/files/upload", files=files, headers={"Origin": origin})
        assert response.status_code == 403, origin
    assert list(settings.uploads_dir.iterdir()) == []
    assert client.post("/api/files/upload", files=files, headers={"Origin": LOCAL}).status_code == 200
    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect("/ws", headers={"Origin": EVIL, "Host": "127.0.0.1:8000"}):
            pass
    assert denied.value.status_code == 403 and "evil.example" in denied.value.json()["detail"]
    with client.websocket_connect("/ws", headers={"Origin": LOCAL, "Host": "127.0.0.1:8000"}) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_foreign_host_is_refused(admin: tuple[TestClient, Settings]) -> None:
    client, _ = admin
    for host in ("evil.example", "127.0.0.1.evil.example", "127.evil.example:8000"):
        response = client.get("/api/health", headers={"Host": host})
        assert response.status_code == 403 and "NELOURA_ALLOWED_HOSTS" in response.json()["detail"], host
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "127.1.2.3"):
        assert client.get("/api/health", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NELOURA_ALLOWED_HOSTS", "neloura.example.org, *.lab.example")
    settings = Settings(root=tmp_path)
    assert settings.allowed_hosts == ["neloura.example.org", "*.lab.example"]
    policy = HostPolicy(settings.allowed_hosts, "0.0.0.0")
    assert policy.host_allowed("neloura.example.org") and policy.host_allowed("a.lab.example")
    assert not policy.host_allowed("evil.example") and not policy.host_allowed("lab.example.evil")
    assert policy.origin_allowed("https://neloura.example.org", "127.0.0.1:8000")  # behind a proxy
    assert HostPolicy([], "192.168.1.5").host_allowed("192.168.1.5")  # the address it listens on


def test_loopback_is_decided_by_address(tmp_path: Path) -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("127.8.9.10") and is_loopback_host("::1")
    assert is_loopback_host("localhost") and is_loopback_host("::ffff:127.0.0.1")
    assert not is_loopback_host("127.evil.example") and not is_loopback_host("10.0.0.1")
    assert not Settings(root=tmp_path, host="127.evil.invalid").is_loopback
    assert not Settings(root=tmp_path, host="0.0.0.0").is_loopback
    assert Settings(root=tmp_path, host="127.0.0.2").is_loopback


def test_security_headers_on_every_page(client: TestClient) -> None:
    for url in ("/", "/api/health", "/static/js/main.js", "/docs", "/api/images/info?path=missing.fits"):
        response = client.get(url)
        assert response.headers["x-content-type-options"] == "nosniff", url
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, url
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
    assert (
        "script-src 'self'" in CONTENT_SECURITY_POLICY
        and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY.split("script-src")[1].split(";")[0]
    )


def test_docs_come_from_the_local_swagger_ui(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources)  # nothing from a CDN
    assert "<script>" not in page.text  # no inline script (the CSP forbids them)
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert "/vendor/swagger-ui-dist/swagger-ui-bundle.js" in sources
    assert client.get("/openapi.json").json()["info"]["title"] == "Neloura"
