"""Background jobs (detection, artificial-source tests...): status, progress, result, cancel, downloads.

A job belongs to the browser session that queued it (:mod:`neloura.api.session`): another
session gets 404 for it (status, cancel, files); an admin sees every job. States are read from
the durable job store, so any server process answers for any job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse
from pydantic import Field

from neloura.api.admin import require_admin
from neloura.api.deps import ServicesDep, SettingsDep
from neloura.api.openapi import Out, binary, errors
from neloura.api.session import owner_of
from neloura.errors import Forbidden, NotFound
from neloura.runtime.services import Services

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


class CompletenessSummaryOut(Out):
    """The one JSON result file: ``completeness.json`` of a completeness job (the summary that
    neloura.core.completeness_report.summarise writes, with the run's settings)."""

    bins: list[dict[str, float | int | None]] = Field(
        description="per log-flux bin: flux, flux_lo, flux_hi, injected, recovered, completeness, error, ..."
    )
    flux_50: float | None = Field(description="flux at 50 % completeness (null when the fit failed)")
    flux_90: float | None
    flux_unit: str
    n_injected: int
    n_recovered: int


def _file_responses() -> dict[int | str, dict[str, Any]]:
    """The result file's media types: bytes, except completeness.json (a ``$ref`` to its model)."""
    answer = binary(*sorted({*_MEDIA.values(), "application/octet-stream"} - {"application/json"}),
                    description="the result file")  # fmt: skip
    answer[200]["model"] = CompletenessSummaryOut
    return answer


def viewer_of(
    request: Request, settings: SettingsDep, x_admin_token: Annotated[str | None, Header()] = None
) -> str | None:
    """Whose jobs the request may see: its session's owner key, or None (every job) for an admin
    (admin mode on and, off loopback, the right ``X-Admin-Token``: the rule of ``/admin/*``)."""
    try:
        require_admin(settings, x_admin_token)
    except Forbidden:
        return owner_of(request)
    return None


ViewerDep = Annotated[str | None, Depends(viewer_of)]


@router.get("", summary="Your session's jobs (an admin's: every job), oldest first")
def list_jobs(services: ServicesDep, viewer: ViewerDep) -> JobsOut:
    return JobsOut.model_validate({"jobs": [job.public() for job in services.jobs.all(viewer)]})


@router.get("/{job_id}", summary="Status, progress, ETA and (when done) the result of one of your jobs")
def job_status(services: ServicesDep, viewer: ViewerDep, job_id: str) -> JobOut:
    return JobOut.model_validate(services.jobs.get(job_id, viewer).public())


@router.delete("/{job_id}", summary="Cancel one of your queued or running jobs")
def cancel_job(services: ServicesDep, viewer: ViewerDep, job_id: str) -> JobOut:
    return JobOut.model_validate(services.jobs.cancel(job_id, viewer).public())


@router.get(
    "/{job_id}/files/{name}",
    response_class=FileResponse,
    responses=_file_responses(),
    summary="Download one result file of one of your finished jobs",
)
def job_file(services: ServicesDep, viewer: ViewerDep, job_id: str, name: str) -> FileResponse:
    job = services.jobs.get(job_id, viewer)
    files: dict[str, str] = (job.result or {}).get("files", {})
    if name not in files:  # only names the job itself produced: no path ever comes from the request
        raise NotFound(f"job {job_id} has no result file {name!r}")
    path = Path(files[name])
    if not path.is_file():
        raise NotFound(f"{name} is no longer on the server (results are kept {_kept(services)})")
    return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"), filename=name)


def _kept(services: Services) -> str:
    hours = services.settings.results_keep_hours
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"
