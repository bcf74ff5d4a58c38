"""The page, deep-link redirects and static/vendor files."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fastapi.testclient import TestClient


def test_index_serves_the_page(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert '<script type="module" src="/static/js/main.js"' in r.text


def test_open_redirect_keeps_every_query_parameter(client: TestClient) -> None:
    r = client.get("/open/demo/galaxy.fits?hdu=1&plane=2&cmap=magma&vmin=-1.5", follow_redirects=False)
    assert r.status_code == 307
    url = urlsplit(r.headers["location"])
    assert url.path == "/"
    assert parse_qsl(url.query) == [
        ("path", "demo/galaxy.fits"),
        ("hdu", "1"),
        ("plane", "2"),
        ("cmap", "magma"),
        ("vmin", "-1.5"),
    ]


def test_open_redirect_encodes_odd_names(client: TestClient) -> None:
    r = client.get("/open/my%20dir/a%26b.fits?hdu=0", follow_redirects=False)
    assert dict(parse_qsl(urlsplit(r.headers["location"]).query)) == {"path": "my dir/a&b.fits", "hdu": "0"}


def test_search_redirect_fills_the_search(client: TestClient) -> None:
    r = client.get("/search/Galaxy%20field", follow_redirects=False)
    assert r.status_code == 307
    assert dict(parse_qsl(urlsplit(r.headers["location"]).query)) == {"search": "Galaxy field"}


def test_static_and_vendor_files(client: TestClient) -> None:
    js = client.get("/static/js/main.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    osd = client.get("/vendor/openseadragon/build/openseadragon/openseadragon.min.js")
    assert osd.status_code == 200
    assert len(osd.content) > 100_000


def test_static_paths_are_confined(client: TestClient) -> None:
    assert client.get("/static/../neloura/settings.py").status_code in (403, 404)
    assert client.get("/static/%2e%2e/neloura/settings.py").status_code in (403, 404)
    r = client.get("/vendor/..%2Fpackage.json")
    assert r.status_code in (403, 404)
    assert r.json()["detail"]
    assert client.get("/static/js/nope.js").status_code == 404
