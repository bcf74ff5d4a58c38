"""Jobs on a Dask cluster through the HTTP API (``NELOURA_DASK_SCHEDULER``): detection, completeness,
batch cutouts and RGB builds, on a ``distributed.LocalCluster`` started by the test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.runtime.dask_jobs import on_cluster, run_on_cluster
from neloura.runtime.detection import detection_task
from neloura.settings import Settings
from tests.api.job_helpers import wait_job, write_field
from tests.core.detection_fields import moffat_psf
from tests.core.rgb_fields import write_fields
from tests.sed_fields import NIRCAM, SOURCES, WFC3, write_band

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    # threads of this process (small for a 2-core machine; the workers see the same files), on
    # loopback TCP: the job processes connect to it as to a remote scheduler
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


@pytest.fixture
def dask_client(settings: Settings, cluster: Any) -> Iterator[TestClient]:
    settings.dask_scheduler = cluster.scheduler_address
    with TestClient(create_app(settings)) as client:
        client.cookies.set("neloura_session", "d" * 43)  # one session: job events reach only their owner's sockets
        yield client


def _worker_addresses(cluster: Any) -> set[str]:
    return {str(address) for address in cluster.scheduler_info["workers"]}


def test_detection_runs_on_the_cluster_with_progress(dask_client: TestClient, settings: Settings, cluster: Any) -> None:
    write_field(settings.files_dir)
    with dask_client.websocket_connect("/ws") as ws:
        ws.receive_json()
        start = dask_client.post("/api/detection", json={"path": "field.fits", "threshold_sigma": 5, "fwhm_px": 3})
        assert start.status_code == 200, start.text
        job_id = start.json()["id"]
        events = []
        while not events or events[-1]["state"] in ("queued", "running"):
            event = ws.receive_json()
            if event.get("type") == "job" and event["id"] == job_id:
                events.append(event)
    job = wait_job(dask_client, job_id)
    assert job["state"] == "done", job
    assert job["result"]["dask_worker"] in _worker_addresses(cluster)  # ran on the cluster, not in the job process
    messages = [e["message"] for e in events]
    assert any("Dask scheduler" in m for m in messages)
    assert any(0.0 < e["progress"] < 1.0 and "Dask" not in e["message"] for e in events)  # relayed from the worker
    table = Table.read(settings.catalogs_dir / job["result"]["catalog"])
    assert len(table) == job["result"]["n_sources"] > 30


def test_completeness_iterations_run_on_the_cluster(dask_client: TestClient, settings: Settings, cluster: Any) -> None:
    write_field(settings.files_dir)
    header = fits.Header()
    header["PIXELSCL"] = 0.0275
    fits.PrimaryHDU(moffat_psf(0.33, 0.0275).astype(np.float32), header=header).writeto(settings.psf_dir / "p.fits")
    body = {"path": "field.fits", "psf": "p.fits", "n": 30, "iterations": 2, "flux_min": 0.5, "flux_max": 50}
    job = wait_job(dask_client, dask_client.post("/api/completeness", json=body).json()["id"], timeout=240)
    assert job["state"] == "done", job
    done = cluster.scheduler.task_prefixes.get("dask_iteration")  # each iteration was a task of the cluster
    assert done is not None and sum(done.state_counts.values()) >= 2
    assert {"completeness.png", "completeness.json"} <= set(job["result"]["files"])


def test_batch_cutouts_run_on_the_cluster(dask_client: TestClient, settings: Settings, cluster: Any) -> None:
    write_band(settings.files_dir, NIRCAM, seed=1)
    write_band(settings.files_dir, WFC3, seed=2)
    rows = "\n".join(f"s{i},{ra},{dec}" for i, (ra, dec, _) in enumerate(SOURCES))
    (settings.catalogs_dir / "targets.csv").write_text(f"name,ra,dec\n{rows}\n")
    body = {"catalog": "targets.csv", "size_arcsec": 2.0, "id_col": "name", "pdf": False}
    job = wait_job(dask_client, dask_client.post("/api/cutouts/batch", json=body).json()["id"])
    assert job["state"] == "done", job
    assert job["result"]["n_cutouts"] == 2 * len(SOURCES) and job["result"]["dask_worker"] in _worker_addresses(cluster)
    download = dask_client.get(f"/api/jobs/{job['id']}/files/{job['result']['files'][0]}")
    assert download.status_code == 200 and download.content[:2] == b"PK"


def test_rgb_builds_run_on_the_cluster(dask_client: TestClient, settings: Settings, cluster: Any) -> None:
    names = write_fields(settings.files_dir)
    first = dask_client.post("/api/rgb", json={"channels": [{"path": n} for n in names]}).json()
    end = time.monotonic() + 180
    state = first
    while state["state"] == "building" and time.monotonic() < end:
        time.sleep(0.2)
        state = dask_client.get(f"/api/rgb/{first['id']}").json()
    assert state["state"] == "ready", state
    jobs = [j for j in dask_client.get("/api/jobs").json()["jobs"] if j["kind"] == "rgb"]
    job = wait_job(dask_client, jobs[-1]["id"])  # "ready" is seen on disk just before the job reports done
    assert job["state"] == "done" and job["result"]["dask_worker"] in _worker_addresses(cluster)
    png = dask_client.get(f"/api/rgb/{first['id']}/png", params={"width": 64})
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"


def test_errors_on_the_cluster_come_back_as_the_jobs_error(settings: Settings, cluster: Any) -> None:
    func, kwargs = on_cluster(detection_task, {"image_path": str(settings.files_dir / "gone.fits")}, "tcp://x:1")
    assert func is run_on_cluster and kwargs["dask_target"] == "neloura.runtime.detection:detection_task"
    assert on_cluster(detection_task, {"a": 1}, "") == (detection_task, {"a": 1})  # no scheduler: unchanged
    with pytest.raises(Exception, match=r"gone\.fits|unexpected keyword|missing"):
        run_on_cluster(lambda f, m: None, dask_address=cluster.scheduler_address, dask_target=kwargs["dask_target"])
    with pytest.raises(ValueError, match="not a Neloura job function"):
        run_on_cluster(lambda f, m: None, dask_address=cluster.scheduler_address, dask_target="os:system")
