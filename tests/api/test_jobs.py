"""GET/DELETE /api/jobs/{id}, the job list and result downloads."""

from __future__ import annotations

from fastapi.testclient import TestClient

from neloura.settings import Settings
from tests.api.job_helpers import wait_job, write_field


def test_unknown_jobs_and_files_are_404(client: TestClient, settings: Settings) -> None:
    assert client.get("/api/jobs/nope").status_code == 404
    assert client.delete("/api/jobs/nope").status_code == 404
    write_field(settings.files_dir)
    job = wait_job(client, client.post("/api/detection", json={"path": "field.fits"}).json()["id"])
    assert client.get(f"/api/jobs/{job['id']}/files/..%2F..%2Fsettings.py").status_code == 404
    assert client.get(f"/api/jobs/{job['id']}/files/other.fits").status_code == 404
    assert any(j["id"] == job["id"] for j in client.get("/api/jobs").json()["jobs"])


def test_delete_cancels_a_job(client: TestClient, settings: Settings) -> None:
    write_field(settings.files_dir)
    body = {"path": "field.fits", "n": 100, "iterations": 400, "flux_min": 1, "flux_max": 100}
    job = client.post("/api/completeness", json=body).json()
    cancelled = client.delete(f"/api/jobs/{job['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.get(f"/api/jobs/{job['id']}").json()["state"] == "cancelled"
