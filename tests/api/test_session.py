"""The session cookie and job ownership: a job belongs to the session that queued it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from neloura.api.session import COOKIE
from neloura.app import create_app
from neloura.settings import Settings
from tests.api.job_helpers import write_field

ALICE = {"Cookie": f"{COOKIE}={'A' * 43}"}
BOB = {"Cookie": f"{COOKIE}={'b' * 43}"}


def _wait(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    end = time.monotonic() + 120
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def test_first_visit_gets_a_random_httponly_lax_cookie(client: TestClient) -> None:
    first = client.get("/", headers={"Cookie": ""})
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie  # plain HTTP on loopback
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) >= 43
    other = client.get("/api/health", headers={"Cookie": ""}).headers["set-cookie"].split(";")[0]
    assert other.split("=", 1)[1] != value  # random per session
    again = client.get("/api/health", headers={"Cookie": f"{COOKIE}={value}"})
    assert "set-cookie" not in again.headers  # a valid cookie is kept
    forged = client.get("/api/health", headers={"Cookie": f"{COOKIE}=short"})
    assert forged.headers["set-cookie"].split(";")[0] != f"{COOKIE}=short"  # not a session: a new one


def test_jobs_belong_to_the_session_that_queued_them(client: TestClient, settings: Settings) -> None:
    write_field(settings.files_dir)
    job_id = client.post("/api/detection", json={"path": "field.fits"}, headers=ALICE).json()["id"]
    job = _wait(client, job_id, ALICE)
    assert job["state"] == "done" and job["result"]["files"]
    name = job["result"]["files"][0]
    # Bob: as if it did not exist
    assert client.get(f"/api/jobs/{job_id}", headers=BOB).status_code == 404
    assert client.delete(f"/api/jobs/{job_id}", headers=BOB).status_code == 404
    assert client.get(f"/api/jobs/{job_id}/files/{name}", headers=BOB).status_code == 404
    assert all(j["id"] != job_id for j in client.get("/api/jobs", headers=BOB).json()["jobs"])
    # Alice: hers
    assert client.get(f"/api/jobs/{job_id}/files/{name}", headers=ALICE).status_code == 200
    assert [j["id"] for j in client.get("/api/jobs", headers=ALICE).json()["jobs"]] == [job_id]
    assert "owner" not in job  # the owner key never leaves the server


def test_bob_cannot_cancel_alices_running_job(client: TestClient, settings: Settings) -> None:
    write_field(settings.files_dir)
    body = {"path": "field.fits", "n": 100, "iterations": 400, "flux_min": 1, "flux_max": 100}
    job_id = client.post("/api/completeness", json=body, headers=ALICE).json()["id"]
    assert client.delete(f"/api/jobs/{job_id}", headers=BOB).status_code == 404
    assert client.get(f"/api/jobs/{job_id}", headers=ALICE).json()["state"] in ("queued", "running")
    assert client.delete(f"/api/jobs/{job_id}", headers=ALICE).json()["state"] == "cancelled"


def test_an_admin_sees_every_job(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path / "root", demo=False, disk_cache=False, admin=True)
    settings.ensure_folders()
    write_field(settings.files_dir)
    with TestClient(create_app(settings)) as client:
        job_id = client.post("/api/detection", json={"path": "field.fits"}, headers=ALICE).json()["id"]
        assert client.get(f"/api/jobs/{job_id}", headers=BOB).status_code == 200  # admin mode on loopback
        assert job_id in [j["id"] for j in client.get("/api/jobs", headers=BOB).json()["jobs"]]
        _wait(client, job_id, ALICE)


def test_job_events_reach_only_the_owners_socket(client: TestClient, settings: Settings) -> None:
    write_field(settings.files_dir)
    with client.websocket_connect("/ws", headers=BOB) as bob, client.websocket_connect("/ws", headers=ALICE) as alice:
        assert bob.receive_json()["type"] == alice.receive_json()["type"] == "hello"
        job_id = client.post("/api/detection", json={"path": "field.fits"}, headers=ALICE).json()["id"]
        while (event := alice.receive_json()).get("state") != "done":
            assert event.get("id") in (job_id, None)
        _wait(client, job_id, ALICE)
        # Bob's socket heard nothing of it: the next thing it gets is its own job's event
        own = client.post("/api/detection", json={"path": "field.fits"}, headers=BOB).json()["id"]
        while (event := bob.receive_json()).get("type") != "job":
            pass
        assert event["id"] == own
        _wait(client, own, BOB)


def test_a_restarted_server_lists_finished_jobs_and_their_files(settings: Settings) -> None:
    write_field(settings.files_dir)
    with TestClient(create_app(settings)) as first:
        job_id = first.post("/api/detection", json={"path": "field.fits"}, headers=ALICE).json()["id"]
        done = _wait(first, job_id, ALICE)
    with TestClient(create_app(settings)) as second:  # a new server on the same data root
        listed = second.get("/api/jobs", headers=ALICE).json()["jobs"]
        assert [(j["id"], j["state"]) for j in listed] == [(job_id, "done")]
        assert second.get(f"/api/jobs/{job_id}", headers=ALICE).json()["result"] == done["result"]
        name = done["result"]["files"][0]
        assert second.get(f"/api/jobs/{job_id}/files/{name}", headers=ALICE).status_code == 200
        assert second.get(f"/api/jobs/{job_id}", headers=BOB).status_code == 404
