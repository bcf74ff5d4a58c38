"""Robustness and security sweep over the whole HTTP API.

Data-driven: ``ENDPOINTS`` holds one valid request per route (checked to succeed), and the
tests below derive their cases from it and from ``app.routes`` itself:

* every parameter that names a file (query, path or JSON body) gets ``..`` escapes, absolute
  paths, backslashes, a NUL byte, a double-encoded ``..`` and symlinks leading out of files/,
  catalogs/ and psf/: the answer is 403/404/422 JSON with a ``detail``, never outside content;
* every query parameter of every route (read from ``app.routes``) gets malformed values (wrong
  types, negative/huge numbers, NaN/inf, empty, 100 KB, NUL), every JSON body field gets wrong
  types and huge values, every JSON route gets broken bodies: never a 500, always JSON;
* non-FITS, empty, truncated and table-only files under files/ on every image endpoint: 415/422;
* uploads with escaping file names or folders never write outside files/uploads/ (catalogs/uploads/).

One app and one data root per module: hundreds of requests share them (a new app and demo set per
case would take minutes); every case only reads, except uploads, which write into uploads/.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from astropy.io import fits
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.core.demo import GalaxyField, write_demo
from neloura.settings import Settings

IMAGE = "demo/galaxy.fits"
CATALOG = "demo_sources.csv"
SECRET = "NELOURA-OUTSIDE-SECRET-7f3a"  # written only outside the data root
PASSWD_MARK = "root:x:0:0"


# --------------------------------------------------------------------------------------------
# One valid request per route
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A valid request to one route; ``paths`` names the parameters that carry a data path,
    as ``(where, name, root)`` with where in query/path/body and root the data folder."""

    method: str
    template: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    paths: tuple[tuple[str, str, str], ...] = ()
    ok: tuple[int, ...] = (200,)
    image: bool = False  # reads a FITS image from files/ named by the ``path`` field

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


IMG_Q = {"path": IMAGE, "hdu": 1}
FILE_PATH = (("query", "path", "files"),)
CAT_NAME = (("query", "name", "catalogs"),)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/health"),
    Endpoint("GET", "/api/images/hdus", query={"path": IMAGE}, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/images/header", query=IMG_Q, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/images/info", query=IMG_Q, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/images/pixel", query={**IMG_Q, "x": 10, "y": 12}, paths=FILE_PATH, image=True),
    Endpoint(
        "POST",
        "/api/images/pixel-to-world",
        body={"path": IMAGE, "hdu": 1, "x": [1.0, 2.0], "y": [3.0, 4.0]},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint(
        "POST",
        "/api/images/world-to-pixel",
        body={"path": IMAGE, "hdu": 1, "ra_deg": [24.17], "dec_deg": [15.78]},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint(
        "GET",
        "/api/images/tiles/{level}/{name}",
        path_params={"level": "3", "name": "0_0.png"},
        query=IMG_Q,
        paths=(*FILE_PATH, ("path", "name", "none")),
        image=True,
    ),
    Endpoint("GET", "/api/images/histogram", query=IMG_Q, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/files", query={"folder": "demo"}, paths=(("query", "folder", "files"),)),
    Endpoint("GET", "/api/files/search", query={"q": "gal"}),
    Endpoint("GET", "/api/files/thumbnail", query=IMG_Q, paths=FILE_PATH, image=True),
    Endpoint("POST", "/api/files/upload", ok=(200, 422)),  # multipart: see the upload tests
    Endpoint("GET", "/api/config"),
    Endpoint("GET", "/admin/system", ok=(403,)),  # admin mode is off in these settings
    Endpoint("POST", "/admin/erase-uploads", ok=(403,)),
    *(
        Endpoint(
            method, "/local-coding/{rest}", path_params={"rest": "run"}, paths=(("path", "rest", "none"),), ok=(403,)
        )
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    ),
    Endpoint("GET", "/api/images/colormaps"),
    Endpoint(
        "GET", "/api/images/colormaps/{name}.png", path_params={"name": "viridis"}, paths=(("path", "name", "none"),)
    ),
    Endpoint("GET", "/api/images/limits", query={**IMG_Q, "mode": "zscale"}, paths=FILE_PATH, image=True),
    Endpoint("GET", "/api/images/colorbar", query=IMG_Q, paths=FILE_PATH, image=True),
    Endpoint("GET", "/"),
    Endpoint("GET", "/open/{path}", path_params={"path": IMAGE}, ok=(307,)),
    Endpoint("GET", "/search/{text}", path_params={"text": "gal"}, ok=(307,)),
    Endpoint(
        "GET", "/static/{relative}", path_params={"relative": "index.html"}, paths=(("path", "relative", "static"),)
    ),
    Endpoint(
        "GET",
        "/vendor/{relative}",
        path_params={"relative": "openseadragon/package.json"},
        paths=(("path", "relative", "static"),),
    ),
    Endpoint("GET", "/api/catalogs"),
    Endpoint("POST", "/api/catalogs/upload", ok=(200, 422)),  # multipart: see the upload tests
    Endpoint("GET", "/api/catalogs/open", query={"name": CATALOG}, paths=CAT_NAME),
    Endpoint("GET", "/api/catalogs/columns", query={"name": CATALOG}, paths=CAT_NAME),
    Endpoint(
        "GET",
        "/api/catalogs/rows",
        query={"name": CATALOG, "filter": "mag_ab < 25", "sort": "-flux_ujy"},
        paths=CAT_NAME,
    ),
    Endpoint("GET", "/api/catalogs/stats", query={"name": CATALOG, "column": "mag_ab"}, paths=CAT_NAME),
    Endpoint("GET", "/api/catalogs/export", query={"name": CATALOG, "format": "csv"}, paths=CAT_NAME),
    Endpoint(
        "GET",
        "/api/catalogs/cone",
        query={"name": CATALOG, "ra": "24.174", "dec": "15.784", "radius_arcsec": 10},
        paths=CAT_NAME,
    ),
    Endpoint(
        "GET",
        "/api/catalogs/box",
        query={"name": CATALOG, "ra_min": "24.17", "ra_max": "24.18", "dec_min": "15.78", "dec_max": "15.79"},
        paths=CAT_NAME,
    ),
    Endpoint(
        "POST",
        "/api/catalogs/crossmatch",
        body={"a": CATALOG, "b": CATALOG, "radius_arcsec": 1.0},
        paths=(("body", "a", "catalogs"), ("body", "b", "catalogs")),
    ),
    Endpoint(
        "GET",
        "/api/catalogs/overlay",
        query={"name": CATALOG, "path": IMAGE, "hdu": 1},
        paths=(("query", "name", "catalogs"), ("query", "path", "files")),
        image=True,
    ),
    Endpoint(
        "POST",
        "/api/catalogs/overlay/rows",
        body={"name": CATALOG, "rows": [0, 1]},
        paths=(("body", "name", "catalogs"),),
    ),
    Endpoint("GET", "/api/jobs"),
    Endpoint(
        "GET", "/api/jobs/{job_id}", path_params={"job_id": "nope"}, paths=(("path", "job_id", "none"),), ok=(404,)
    ),
    Endpoint(
        "DELETE", "/api/jobs/{job_id}", path_params={"job_id": "nope"}, paths=(("path", "job_id", "none"),), ok=(404,)
    ),
    Endpoint(
        "GET",
        "/api/jobs/{job_id}/files/{name}",
        path_params={"job_id": "nope", "name": "sources.csv"},
        paths=(("path", "job_id", "none"), ("path", "name", "none")),
        ok=(404,),
    ),
    # Jobs are only queued (the worker pool runs them); the sweep sends invalid bodies, which never queue.
    Endpoint(
        "POST",
        "/api/detection",
        body={"path": IMAGE, "hdu": 1, "threshold_sigma": 50.0},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint(
        "POST",
        "/api/photometry",
        body={"path": IMAGE, "hdu": 1, "x_pix": [100.0], "y_pix": [120.0]},
        paths=(("body", "path", "files"),),
        image=True,
    ),
    Endpoint("GET", "/api/psf"),
    Endpoint(
        "POST",
        "/api/completeness",
        body={"path": IMAGE, "hdu": 1, "n": 5, "iterations": 1, "flux_min": 1.0, "flux_max": 10.0, "psf": "gauss.fits"},
        paths=(("body", "path", "files"), ("body", "psf", "psf")),
        image=True,
    ),
)
BY_KEY = {e.key: e for e in ENDPOINTS}
SKIP_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/ws"}


def _walk(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI wraps included routers
        if inner is not None:
            yield from _walk(inner.routes)
        else:
            yield route


def _template(path: str) -> str:
    return re.sub(r"\{(\w+):path\}", r"{\1}", path)


def _route_keys(app: FastAPI) -> set[str]:
    keys = set()
    for route in _walk(app.routes):
        if route.path in SKIP_ROUTES:
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                keys.add(f"{method} {_template(route.path)}")
    return keys


def _query_params(app: FastAPI) -> dict[str, list[tuple[str, Any]]]:
    """Every route's query parameters with their annotation, from the route's dependency tree."""
    out: dict[str, list[tuple[str, Any]]] = {}

    def collect(dep: Any) -> list[tuple[str, Any]]:
        found = [(p.alias, p.field_info.annotation) for p in dep.query_params]
        for sub in dep.dependencies:
            found += collect(sub)
        return found

    for route in _walk(app.routes):
        dep = getattr(route, "dependant", None)
        if dep is None or route.path in SKIP_ROUTES:
            continue
        for method in getattr(route, "methods", None) or ():
            out[f"{method} {_template(route.path)}"] = collect(dep)
    return out


# --------------------------------------------------------------------------------------------
# The data root: demo set, bad FITS files, symlinks leading out
# --------------------------------------------------------------------------------------------


def _bad_files(files: Path) -> dict[str, bytes]:
    good = (files / IMAGE).read_bytes()
    header_end = good.index(b"END" + b" " * 77) + 80
    first_header = -(-header_end // 2880) * 2880
    table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=np.arange(3.0))])
    table_only = fits.HDUList([fits.PrimaryHDU(), table])
    raw = Path(files / "bad" / ".table.tmp")
    raw.parent.mkdir(parents=True, exist_ok=True)
    table_only.writeto(raw)
    table_bytes = raw.read_bytes()
    raw.unlink()
    return {
        "text.fits": b"this is not a FITS file at all\n" * 10,
        "png.fits": b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,
        "empty.fits": b"",
        "half_header.fits": good[:1000],
        "truncated_data.fits": good[: len(good) // 4],  # inside the SCI data
        "one_block.fits": good[:first_header],
        "garbage.fits.gz": b"\x1f\x8b\x08\x00" + b"garbage" * 100,
        "table_only.fits": table_bytes,
        "huge_dims.fits": _header_only(BITPIX=-32, NAXIS=2, NAXIS1=200_000, NAXIS2=200_000),
        "odd_bitpix.fits": _header_only(BITPIX=7, NAXIS=2, NAXIS1=4, NAXIS2=4) + b"\0" * 2880,
        "naxis_999.fits": _header_only(BITPIX=8, NAXIS=999),
        "nan_axes.fits": _header_only(BITPIX=16, NAXIS=2, NAXIS1="NAN", NAXIS2=-5),
    }


def _header_only(**cards: Any) -> bytes:
    """A hand-written primary header (no validation: astropy would refuse to write these)."""
    text = "SIMPLE  =                    T"
    text = text.ljust(80)
    for key, value in cards.items():
        shown = f"'{value}'" if isinstance(value, str) else str(value)
        text += f"{key:<8}= {shown:>20}".ljust(80)
    text += "END".ljust(80)
    return text.ljust(2880).encode("ascii")


BAD_NAMES = (
    "text.fits",
    "png.fits",
    "empty.fits",
    "half_header.fits",
    "truncated_data.fits",
    "one_block.fits",
    "garbage.fits.gz",
    "table_only.fits",
    "huge_dims.fits",
    "odd_bitpix.fits",
    "naxis_999.fits",
    "nan_axes.fits",
)
# Files whose headers are all intact: listing HDUs and reading cards may succeed.
HEADERS_READABLE = {
    "truncated_data.fits",
    "table_only.fits",
    "one_block.fits",
    "huge_dims.fits",
    "odd_bitpix.fits",
    "naxis_999.fits",
    "nan_axes.fits",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("robust")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (outside / "secret.csv").write_text(f"ra,dec,note\n24.17,15.78,{SECRET}\n")
    secret_image = fits.PrimaryHDU(np.full((8, 8), 1234.5, dtype=np.float32))
    secret_image.header["OBJECT"] = SECRET
    secret_image.writeto(outside / "secret.fits")
    root = base / "root"
    settings = Settings(root=root, demo=False, disk_cache=False, admin=False)  # as tests/conftest.py
    settings.ensure_folders()
    write_demo(
        settings.files_dir,
        settings.catalogs_dir,
        field=GalaxyField(shape=(256, 256), n_stars=60, n_background_galaxies=4),
    )
    for name, data in _bad_files(settings.files_dir).items():
        (settings.files_dir / "bad" / name).write_bytes(data)
    fits.PrimaryHDU(np.ones((9, 9), dtype=np.float32)).writeto(settings.psf_dir / "gauss.fits")
    for folder, file_name in (
        (settings.files_dir, "secret.fits"),
        (settings.catalogs_dir, "secret.csv"),
        (settings.psf_dir, "secret.fits"),
    ):
        (folder / "link_out").symlink_to(outside, target_is_directory=True)
        (folder / f"link_{file_name}").symlink_to(outside / file_name)
        (folder / "loop").symlink_to("loop")  # a symlink loop: resolve() raises
    return {"base": base, "outside": outside, "root": root}


@pytest.fixture(scope="module")
def app_client(world: dict[str, Path]) -> Iterator[tuple[FastAPI, TestClient, Settings]]:
    settings = Settings(root=world["root"], demo=False, disk_cache=False, admin=False)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client, settings


@pytest.fixture(scope="module")
def api(app_client: tuple[FastAPI, TestClient, Settings]) -> TestClient:
    return app_client[1]


# --------------------------------------------------------------------------------------------
# Known bugs in areas whose owners are still at work: strict xfails, listed in the sweep report.
# Remove an entry when its owner fixes it (strict=True turns the fixed case into a failure).
# --------------------------------------------------------------------------------------------

KNOWN_BUGS: dict[str, str] = {}


def case(*values: Any, id: str) -> Any:
    """One parametrized case, marked as a strict xfail when ``KNOWN_BUGS`` lists its id."""
    marks = [pytest.mark.xfail(reason=KNOWN_BUGS[id], strict=True)] if id in KNOWN_BUGS else []
    return pytest.param(*values, id=id, marks=marks)


# --------------------------------------------------------------------------------------------
# Sending requests
# --------------------------------------------------------------------------------------------


def _encode_path_value(value: str) -> str:
    """Percent-encode everything, dots too: httpx would otherwise resolve ``..`` client-side."""
    return quote(value, safe="").replace(".", "%2E")


def send(
    client: TestClient,
    ep: Endpoint,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
    body: Any = None,
    raw_body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    params = {**ep.path_params, **(path_params or {})}
    url = ep.template
    for name, value in params.items():
        encoded = _encode_path_value(value) if name in (path_params or {}) else quote(value, safe="/")
        url = url.replace("{" + name + "}", encoded)
    q = {**ep.query, **(query or {})}
    q = {k: v for k, v in q.items() if v is not None}
    kwargs: dict[str, Any] = {"params": q, "headers": headers or {}, "follow_redirects": False}
    if raw_body is not None:
        kwargs["content"] = raw_body
    elif body is not None or ep.body is not None:
        kwargs["json"] = ep.body if body is None else body
    return client.request(ep.method, url, **kwargs)


def assert_clean_error(response: Any, allowed: tuple[int, ...] | range) -> None:
    """``allowed`` status, and a 4xx is JSON with a string ``detail``; no outside content."""
    text = response.content[:2_000_000].decode("latin-1")
    assert response.status_code in allowed, f"{response.status_code}: {text[:300]}"
    assert SECRET not in text and PASSWD_MARK not in text, "outside content leaked"
    assert "Traceback" not in text
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), text[:300]
        detail = response.json().get("detail")
        assert isinstance(detail, str) and detail, response.json()


def _is_redirect(ep: Endpoint) -> bool:
    return ep.ok == (307,)


# --------------------------------------------------------------------------------------------
# Coverage of the table, and that each valid request works
# --------------------------------------------------------------------------------------------


def test_every_route_is_in_the_table(app_client: tuple[FastAPI, TestClient, Settings]) -> None:
    routes = _route_keys(app_client[0])
    assert routes - set(BY_KEY) == set(), "new routes: add a valid request to ENDPOINTS"
    assert set(BY_KEY) - routes == set(), "ENDPOINTS names routes that no longer exist"


@pytest.mark.parametrize("ep", [case(e, id=e.key) for e in ENDPOINTS if "upload" not in e.template])
def test_valid_request_works(api: TestClient, ep: Endpoint) -> None:
    """The baseline of every case below: the unmodified request succeeds (or is refused as designed)."""
    response = send(api, ep)
    assert response.status_code in ep.ok, response.text[:300]
    if _is_redirect(ep):
        assert response.headers["location"].startswith("/?")
    if ep.key == "POST /api/completeness":  # the detection job is kept for the job-file test below
        api.delete(f"/api/jobs/{response.json()['id']}")


def test_job_file_names_cannot_escape(api: TestClient, world: dict[str, Path]) -> None:
    """A finished job serves only the files it produced, whatever name is asked for."""
    import time

    ep = BY_KEY["POST /api/detection"]
    job = send(api, ep).json()
    deadline = time.monotonic() + 120
    while job["state"] not in ("done", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = api.get(f"/api/jobs/{job['id']}").json()
    assert job["state"] == "done", job
    names = job["result"]["files"]
    assert names
    ok = api.get(f"/api/jobs/{job['id']}/files/{quote(names[0])}")
    assert ok.status_code == 200 and ok.content
    for template in ESCAPES.values():
        value = template.format(outside=world["outside"], secret="secret.fits")
        url = f"/api/jobs/{_encode_path_value(job['id'])}/files/{_encode_path_value(value)}"
        assert_clean_error(api.get(url), (403, 404, 422))


# --------------------------------------------------------------------------------------------
# Paths leading out of the data folders
# --------------------------------------------------------------------------------------------

ESCAPES: dict[str, str] = {
    "dotdot": "../../etc/passwd",
    "dotdot_deep": "../" * 12 + "etc/passwd",
    "inner_dotdot": "demo/../../etc/passwd",
    "dotdot_to_outside": "../../outside/secret.fits",
    "absolute": "/etc/passwd",
    "absolute_secret": "{outside}/secret.fits",
    "backslashes": "..\\..\\etc\\passwd",
    "inner_backslashes": "demo\\..\\..\\outside\\secret.fits",
    "nul": "demo/galaxy.fits\x00.png",
    "double_encoded": "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "mixed_encoded": "..%2f..%2fetc%2fpasswd",
    "tilde": "~/.bashrc",
    "file_url": "file:///etc/passwd",
    "symlink_dir": "link_out/{secret}",
    "symlink_file": "link_{secret}",
    "symlink_loop": "loop/x",
    "too_long_name": "n" * 300,
}
SECRET_FILE = {
    "files": "secret.fits",
    "catalogs": "secret.csv",
    "psf": "secret.fits",
    "static": "secret.txt",
    "none": "x",
}

PATH_CASES = [
    case(ep, where, name, root, label, id=f"{ep.key}:{name}:{label}")
    for ep in ENDPOINTS
    for where, name, root in ep.paths
    for label in ESCAPES
]


@pytest.mark.parametrize(("ep", "where", "name", "root", "label"), PATH_CASES)
def test_path_escapes_are_refused(
    api: TestClient, world: dict[str, Path], ep: Endpoint, where: str, name: str, root: str, label: str
) -> None:
    value = ESCAPES[label].format(outside=world["outside"], secret=SECRET_FILE[root])
    if where == "query":
        response = send(api, ep, query={name: value})
    elif where == "path":
        response = send(api, ep, path_params={name: value})
    else:
        response = send(api, ep, body={**(ep.body or {}), name: value})
    assert_clean_error(response, (403, 404, 422))


@pytest.mark.parametrize("label", list(ESCAPES), ids=str)
@pytest.mark.parametrize("route", ["open", "search"])
def test_deep_links_stay_on_this_site(api: TestClient, world: dict[str, Path], route: str, label: str) -> None:
    """Deep links only redirect to the page itself (no open redirect, whatever the path)."""
    value = ESCAPES[label].format(outside=world["outside"], secret="secret.fits")
    for extra in ("", "//evil.example/", "/\\evil.example"):
        response = api.get(f"/{route}/{_encode_path_value(extra + value)}", follow_redirects=False)
        assert response.status_code == 307
        location = response.headers["location"]
        assert location.startswith("/?") and not location.startswith("//"), location


LISTINGS = (
    "GET /api/files",
    "GET /api/files/search?q=o",
    "GET /api/catalogs",
    "GET /api/psf",
    "GET /api/files?folder=demo",
)


@pytest.mark.parametrize("request_line", [case(line, id=f"listing:{line}") for line in LISTINGS])
def test_listings_survive_odd_symlinks(api: TestClient, request_line: str) -> None:
    """Listings skip symlinks that lead out or loop; they never show outside files."""
    method, url = request_line.split(" ")
    response = api.request(method, url)
    assert_clean_error(response, (200,))
    assert "secret" not in response.text


# --------------------------------------------------------------------------------------------
# Malformed query parameters, from app.routes
# --------------------------------------------------------------------------------------------

BAD_VALUES: dict[str, str] = {
    "word": "abc",
    "negative": "-1",
    "huge_negative": "-99999999999999999999999",
    "huge": "99999999999999999999999",
    "overflow_float": "1e309",
    "nan": "nan",
    "inf": "inf",
    "minus_inf": "-inf",
    "empty": "",
    "spaces": "   ",
    "long": "x" * 60_000,  # httpx refuses longer query strings (64 KiB); bodies get 100 KB
    "nul": "a\x00b",
    "unicode": "\u202e\ud7ff\U0001f600",
    "json": '{"$where": "1"}',
    "sql": "1; DROP TABLE t; --",
}


def _make_query_cases() -> list[Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(root=Path(tmp), demo=False, disk_cache=False))  # folders only, never started
        cases = []
        for key, params in sorted(_query_params(app).items()):
            if key not in BY_KEY:
                continue
            for name, _annotation in params:
                for label in BAD_VALUES:
                    cases.append(case(BY_KEY[key], name, label, id=f"{key}:{name}:{label}"))
        return cases


def _route_query_map() -> dict[str, list[tuple[str, Any]]]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return _query_params(create_app(Settings(root=Path(tmp), demo=False, disk_cache=False)))


_ROUTE_QUERY = _route_query_map()
QUERY_CASES = _make_query_cases()


@pytest.mark.parametrize(("ep", "name", "label"), QUERY_CASES)
def test_malformed_query_parameter(api: TestClient, ep: Endpoint, name: str, label: str) -> None:
    response = send(api, ep, query={name: BAD_VALUES[label]})
    assert_clean_error(response, range(200, 500))


@pytest.mark.parametrize(
    ("ep", "name", "label"),
    [
        case(ep, name, label, id=f"{ep.key}:{name}:{label}")
        for ep in ENDPOINTS
        for name in ep.path_params
        for label in BAD_VALUES
        if label != "long"  # covered by the too_long_name path escape (URLs over 64 KiB are refused client-side)
    ],
)
def test_malformed_path_parameter(api: TestClient, ep: Endpoint, name: str, label: str) -> None:
    response = send(api, ep, path_params={name: BAD_VALUES[label] or " "})
    assert_clean_error(response, range(200, 500))


BAD_FILTERS: dict[str, str] = {
    "unbalanced": "(mag_ab < 25",
    "deep_nesting": "(" * 4990 + "mag_ab" + ")" * 4990 + " < 1",  # just under the 10,000-character cap
    "long_chain": " && ".join(["mag_ab < 25"] * 1500),
    "unknown_column": "nosuchcolumn > 1",
    "sql_injection": "1=1; DROP TABLE catalog; --",
    "sql_union": "mag_ab < 25) UNION SELECT * FROM read_csv_auto('/etc/passwd') --",
    "duckdb_function": "read_text('/etc/passwd') != ''",
    "quote_column": '"mag_ab" < 25 OR "a"="a',
    "python": "__import__('os').system('true')",
    "string_compare": "kind == 'star' || kind == \"x\"",
    "division_by_zero": "mag_ab / 0 > 1",
    "huge_number": "mag_ab < 1e99999",
    "nan": "mag_ab < nan",
    "only_operator": "&&",
    "unicode": "mag_ab \u2264 25",
}
FILTER_ROUTES = [
    e
    for e in ENDPOINTS
    if "filter" in e.query
    or e.key
    in (
        "GET /api/catalogs/stats",
        "GET /api/catalogs/export",
        "GET /api/catalogs/cone",
        "GET /api/catalogs/box",
        "GET /api/catalogs/overlay",
    )
]


@pytest.mark.parametrize(
    ("ep", "param", "label"),
    [
        case(ep, param, label, id=f"{ep.key}:{param}:{label}")
        for ep in FILTER_ROUTES
        for param in ("filter", "sort", "columns", "computed")
        if param == "filter" or param in {n for n, _ in _ROUTE_QUERY.get(ep.key, [])}
        for label in BAD_FILTERS
    ],
)
def test_malformed_catalog_expression(api: TestClient, ep: Endpoint, param: str, label: str) -> None:
    """Filter, sort, column and computed-column text is parsed by our grammar, never pasted into SQL."""
    value = BAD_FILTERS[label]
    if param == "computed":
        value = f"c={value}"
    response = send(api, ep, query={param: value})
    assert_clean_error(response, range(200, 500))


# --------------------------------------------------------------------------------------------
# Malformed JSON bodies
# --------------------------------------------------------------------------------------------

BAD_FIELD_VALUES: dict[str, Any] = {
    "string": "abc",
    "negative": -1,
    "huge_int": 10**30,
    "huge_float": 1e308,
    "null": None,
    "list": [1, 2],
    "object": {"a": 1},
    "bool": True,
    "long": "x" * 100_000,
    "long_list": [0.5] * 200_000,
    "nested_list": [[1.0, 2.0]],
}
RAW_NUMBERS = {"nan": "NaN", "inf": "Infinity", "minus_inf": "-Infinity", "big_exponent": "1e999"}
JSON_ROUTES = [e for e in ENDPOINTS if e.body is not None]


@pytest.mark.parametrize(
    ("ep", "name", "label"),
    [
        case(ep, name, label, id=f"{ep.key}:{name}:{label}")
        for ep in JSON_ROUTES
        for name in ep.body or {}
        for label in [*BAD_FIELD_VALUES, *RAW_NUMBERS]
    ],
)
def test_malformed_body_field(api: TestClient, ep: Endpoint, name: str, label: str) -> None:
    assert ep.body is not None
    if label in RAW_NUMBERS:  # JSON extensions that Python's json accepts
        marker = "__RAW__"
        text = json.dumps({**ep.body, name: marker}).replace(f'"{marker}"', RAW_NUMBERS[label])
        response = send(api, ep, raw_body=text.encode(), headers={"content-type": "application/json"})
    else:
        response = send(api, ep, body={**ep.body, name: BAD_FIELD_VALUES[label]})
    assert_clean_error(response, range(200, 500))
    if response.status_code < 300 and ep.key in ("POST /api/detection", "POST /api/completeness"):
        job = response.json().get("id") or response.json().get("job_id")
        if job:
            api.delete(f"/api/jobs/{job}")


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BROKEN_BODIES: dict[str, tuple[bytes, str]] = {
    "not_json": (b"{this is not json", "application/json"),
    "empty": (b"", "application/json"),
    "array": (b"[1, 2, 3]", "application/json"),
    "string": (b'"path"', "application/json"),
    "null": (b"null", "application/json"),
    "deeply_nested": (_nested(100_000), "application/json"),
    "nested_object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    "huge": (b'{"x": [' + b"1.5," * 5_000_000 + b'1.5], "path": "demo/galaxy.fits"}', "application/json"),
    "huge_string": (b'{"path": "' + b"a" * 20_000_000 + b'"}', "application/json"),
    "invalid_utf8": (b'{"path": "\xff\xfe"}', "application/json"),
    "text_plain": (b'{"path": "demo/galaxy.fits"}', "text/plain"),
    "form": (b"path=demo%2Fgalaxy.fits", "application/x-www-form-urlencoded"),
    "xml": (b"<path>demo/galaxy.fits</path>", "application/xml"),
}


@pytest.mark.parametrize(
    ("ep", "label"),
    [case(ep, label, id=f"{ep.key}:{label}") for ep in JSON_ROUTES for label in BROKEN_BODIES],
)
def test_broken_json_body(api: TestClient, ep: Endpoint, label: str) -> None:
    raw, content_type = BROKEN_BODIES[label]
    response = send(api, ep, raw_body=raw, headers={"content-type": content_type})
    assert_clean_error(response, (400, 413, 415, 422))


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


@pytest.mark.parametrize("label", [case(label, id=f"upload_name:{label}") for label in UPLOAD_NAMES])
def test_image_upload_names_stay_in_uploads(
    app_client: tuple[FastAPI, TestClient, Settings], world: dict[str, Path], label: str
) -> None:
    _, api, settings = app_client
    before = _outside_snapshot(world)
    response = api.post("/api/files/upload", files={"file": (UPLOAD_NAMES[label], _fits_bytes(), "application/fits")})
    assert_clean_error(response, (200, 400, 403, 415, 422))
    if response.status_code == 200:
        _assert_inside(settings.files_dir / response.json()["path"], settings.uploads_dir)
    assert _outside_snapshot(world) == before


@pytest.mark.parametrize("label", list(UPLOAD_FOLDERS))
def test_image_upload_folders_stay_in_uploads(
    app_client: tuple[FastAPI, TestClient, Settings], world: dict[str, Path], label: str
) -> None:
    _, api, settings = app_client
    before = _outside_snapshot(world)
    response = api.post(
        "/api/files/upload",
        files={"file": ("ok.fits", _fits_bytes(), "application/fits")},
        data={"folder": UPLOAD_FOLDERS[label]},
    )
    assert_clean_error(response, (200, 403, 404, 422))
    if response.status_code == 200:
        _assert_inside(settings.files_dir / response.json()["path"], settings.uploads_dir)
    assert _outside_snapshot(world) == before


@pytest.mark.parametrize("label", list(UPLOAD_NAMES))
def test_catalog_upload_names_stay_in_uploads(
    app_client: tuple[FastAPI, TestClient, Settings], world: dict[str, Path], label: str
) -> None:
    _, api, settings = app_client
    before = _outside_snapshot(world)
    name = UPLOAD_NAMES[label].replace(".fits", ".csv")
    response = api.post("/api/catalogs/upload", files={"file": (name, b"ra,dec\n1.0,2.0\n", "text/csv")})
    assert_clean_error(response, (200, 400, 403, 415, 422))
    if response.status_code == 200:
        _assert_inside(settings.catalogs_dir / response.json()["name"], settings.catalogs_dir / "uploads")
    assert _outside_snapshot(world) == before


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


WS_MESSAGES: dict[str, Any] = {
    "escape": {"type": "view", "path": "../../etc/passwd"},
    "absolute": {"type": "view", "path": "/etc/passwd"},
    "symlink_out": {"type": "view", "path": "link_out/secret.fits"},
    "loop": {"type": "view", "path": "loop/x"},
    "long": {"type": "view", "path": "x" * 100_000},
    "nul": {"type": "view", "path": "a\x00b"},
    "wrong_type": {"type": "view", "path": 12},
    "list": [1, 2, 3],
    "unknown": {"type": "shutdown"},
    "not_json": "{not json",
}


@pytest.mark.parametrize("label", list(WS_MESSAGES))
def test_websocket_survives_odd_messages(api: TestClient, label: str) -> None:
    """/ws ignores or closes on bad messages; the server keeps answering."""
    message = WS_MESSAGES[label]
    with api.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        if isinstance(message, str):
            ws.send_text(message)
        else:
            ws.send_json(message)
    assert api.get("/api/health").status_code == 200
    with api.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/api/nope", 404),
        ("PUT", "/api/images/info", 405),
        ("OPTIONS", "/api/files", 405),
        ("TRACE", "/", 405),
        ("GET", "/static/", 404),
        ("GET", "/static/%2e%2e/%2e%2e/README.md", 403),
        ("GET", "/vendor/%2e%2e/package.json", 403),
    ],
)
def test_unknown_routes_and_methods_answer_json(api: TestClient, method: str, url: str, status: int) -> None:
    assert_clean_error(api.request(method, url), (status,))


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
    """Nothing in the sweep deleted or changed the files outside the data root."""
    assert (world["outside"] / "secret.txt").read_text() == SECRET
    assert sorted(p.name for p in world["outside"].iterdir()) == ["secret.csv", "secret.fits", "secret.txt"]
    assert math.isfinite(float(fits.getdata(world["outside"] / "secret.fits")[0, 0]))
    files = world["root"] / "files"
    for kept in [files / IMAGE, world["root"] / "catalogs" / CATALOG, *(files / "bad" / name for name in BAD_NAMES)]:
        assert kept.is_file(), f"{kept} was deleted by the sweep"
