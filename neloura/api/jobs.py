"""Background jobs (detection, artificial-source tests): status, progress, result, cancel, downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import Field

from neloura.api.deps import ServicesDep
from neloura.api.openapi import Out, binary, errors
from neloura.errors import NotFound

router = APIRouter(responses=errors(404, 422), prefix="/api/jobs", tags=["jobs"])

_MEDIA = {
    ".fits": "application/fits",
    ".csv": "text/csv",
    ".json": "application/json",
    ".png": "image/png",
    ".pdf": "application/pdf",
    ".svg": "image/svg+xml",
    ".zip": "application/zip",
}


class JobOut(Out):
    """A job as clients see it (neloura.runtime.jobs.Job.public)."""

    id: str
    kind: str
    state: str = Field(description="queued, running, done, failed or cancelled")
    progress: float = Field(description="0..1")
    message: str
    eta_s: float | None
    created: float = Field(description="seconds since the epoch")
    started: float | None
    finished: float | None
    result: dict[str, Any] | None = Field(description="when done: the result, with the names of its files")
    error: str | None


class JobsOut(Out):
    jobs: list[JobOut]


def user_of(request: Request) -> str:
    """Who queued a job, for fair queueing: the browser session header, else the client address."""
    session = request.headers.get("x-neloura-session", "")[:64]
    host = request.client.host if request.client else "local"
    return f"{host}/{session}" if session else host


@router.get("", summary="Jobs of the server, newest last")
def list_jobs(services: ServicesDep) -> JobsOut:
    return JobsOut.model_validate({"jobs": [job.public() for job in services.jobs.all()]})


@router.get("/{job_id}", summary="Status, progress, ETA and (when done) the result of a job")
def job_status(services: ServicesDep, job_id: str) -> JobOut:
    return JobOut.model_validate(services.jobs.get(job_id).public())


@router.delete("/{job_id}", summary="Cancel a queued or running job")
def cancel_job(services: ServicesDep, job_id: str) -> JobOut:
    return JobOut.model_validate(services.jobs.cancel(job_id).public())


@router.get(
    "/{job_id}/files/{name}",
    response_class=FileResponse,
    responses=binary(*sorted({*_MEDIA.values(), "application/octet-stream"}), description="the result file"),
    summary="Download one result file of a finished job",
)
def job_file(services: ServicesDep, job_id: str, name: str) -> FileResponse:
    job = services.jobs.get(job_id)
    files: dict[str, str] = (job.result or {}).get("files", {})
    if name not in files:  # only names the job itself produced: no path ever comes from the request
        raise NotFound(f"job {job_id} has no result file {name!r}")
    path = Path(files[name])
    if not path.is_file():
        raise NotFound(f"{name} is no longer on the server")
    return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"), filename=name)
