"""Admin mode: ``/admin/*`` (and ``/local-coding/*``, via :data:`AdminDep`) need NELOURA_ADMIN=true;
on a non-loopback bind they also need the ``X-Admin-Token`` header equal to NELOURA_ADMIN_TOKEN."""

from __future__ import annotations

import secrets
from typing import Annotated

import psutil
from fastapi import APIRouter, Depends, Header
from pydantic import Field

from neloura.api.deps import ServicesDep, SettingsDep
from neloura.api.openapi import Out, errors
from neloura.errors import Forbidden, NotFound


def require_admin(settings: SettingsDep, x_admin_token: Annotated[str | None, Header()] = None) -> None:
    """403 unless admin mode is on and, off loopback, the right token is sent."""
    if not settings.admin:
        raise Forbidden("admin mode is off (start the server with NELOURA_ADMIN=true)")
    if settings.is_loopback:
        return
    if not settings.admin_token:
        raise Forbidden("admin endpoints on a non-loopback address need NELOURA_ADMIN_TOKEN to be set")
    if not x_admin_token or not secrets.compare_digest(x_admin_token, settings.admin_token):
        raise Forbidden("missing or wrong X-Admin-Token header")


AdminDep = Annotated[None, Depends(require_admin)]

router = APIRouter(responses=errors(422), tags=["admin"])


class ConfigOut(Out):
    admin: bool
    admin_token_required: bool
    upload_max_mb: int
    cleanup_interval_minutes: float
    results_keep_hours: float


class SystemOut(Out):
    cpu_percent: float
    cpu_count: int | None
    load_average: list[float]
    memory: dict[str, float]
    disk: dict[str, float]
    process: dict[str, int]


class ErasedOut(Out):
    removed: list[str] = Field(description="paths removed, relative to the data root")


@router.get(
    "/api/config", summary="What the page needs to know: admin mode, upload limit, how long uploads and results stay"
)
def config(settings: SettingsDep) -> ConfigOut:
    return ConfigOut.model_validate(
        {
            "admin": settings.admin,
            "admin_token_required": settings.admin and not settings.is_loopback,
            "upload_max_mb": settings.upload_max_mb,
            "cleanup_interval_minutes": settings.cleanup_interval_minutes,
            "results_keep_hours": settings.results_keep_hours,
        }
    )


@router.get("/admin/system", summary="CPU, memory and disk of the server (psutil)")
def system(_: AdminDep, settings: SettingsDep) -> SystemOut:
    vm = psutil.virtual_memory()
    disk = psutil.disk_usage(str(settings.root))
    proc = psutil.Process()
    return SystemOut.model_validate(
        {
            "cpu_percent": psutil.cpu_percent(interval=0.1),
            "cpu_count": psutil.cpu_count(),
            "load_average": list(psutil.getloadavg()),
            "memory": {"total": vm.total, "available": vm.available, "percent": vm.percent},
            "disk": {"total": disk.total, "used": disk.used, "free": disk.free, "percent": disk.percent},
            "process": {"rss": proc.memory_info().rss, "threads": proc.num_threads()},
        }
    )


@router.post("/admin/erase-uploads", summary="Empty files/uploads/ and catalogs/uploads/ now")
def erase_uploads(_: AdminDep, services: ServicesDep, settings: SettingsDep) -> ErasedOut:
    removed = services.cleanup.erase_all()
    return ErasedOut(removed=[p.relative_to(settings.root).as_posix() for p in removed])


@router.api_route(
    "/local-coding/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
def local_coding_gate(rest: str, _: AdminDep) -> None:
    """``/local-coding/*`` is admin-only (403 otherwise). The sandboxed-Python routes live in
    ``neloura.api.coding`` (listed before ``admin`` in ``ROUTERS``, each using :data:`AdminDep`);
    any other path under ``/local-coding/`` is a 404 for an admin."""
    raise NotFound(f"no local-coding endpoint /local-coding/{rest} in this build")
