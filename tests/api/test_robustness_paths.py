"""API sweep, routes and paths: every route is in the table and its valid request works; every
parameter that names a file (query, path or JSON body) gets ``..`` escapes, absolute paths,
backslashes, a NUL byte, a double-encoded ``..`` and symlinks leading out of files/, catalogs/ and
psf/: the answer is 403/404/422 JSON with a ``detail``, never outside content; deep links stay on
this site; listings skip odd symlinks; unknown routes and methods answer JSON.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neloura.settings import Settings
from tests.api.robustness import (
    BY_KEY,
    ENDPOINTS,
    Endpoint,
    assert_clean_error,
    assert_outside_untouched,
    case,
    encode_path_value,
    route_keys,
    send,
)


def _is_redirect(ep: Endpoint) -> bool:
    return ep.ok == (307,)


# --------------------------------------------------------------------------------------------
# Coverage of the table, and that each valid request works
# --------------------------------------------------------------------------------------------


def test_every_route_is_in_the_table(app_client: tuple[FastAPI, TestClient, Settings]) -> None:
    routes = route_keys(app_client[0])
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
        url = f"/api/jobs/{encode_path_value(job['id'])}/files/{encode_path_value(value)}"
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
        response = api.get(f"/{route}/{encode_path_value(extra + value)}", follow_redirects=False)
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


def test_the_outside_folder_is_untouched(world: dict[str, Path]) -> None:
    """Nothing in this module's requests deleted or changed the files outside the data root."""
    assert_outside_untouched(world)
