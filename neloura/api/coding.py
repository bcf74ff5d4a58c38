"""``/local-coding/*``: sandboxed Python runs (admin only, like ``/admin/*``).

Every route needs :data:`~neloura.api.admin.AdminDep` (403 without NELOURA_ADMIN=true; off
loopback the ``X-Admin-Token`` too). Runs belong to the browser session (``api.session``: the
page's HttpOnly cookie): another session's run is a 404 here, even for another admin.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from neloura.api.admin import AdminDep
from neloura.api.deps import ServicesDep, SettingsDep, resolve_hdu
from neloura.api.openapi import Out, binary, errors
from neloura.api.session import owner_of
from neloura.errors import InvalidParameter
from neloura.runtime.catalog_export import export_stream
from neloura.runtime.coding_sandbox import Limits
from neloura.runtime.services import Services

router = APIRouter(responses=errors(404, 409, 413, 422), prefix="/local-coding", tags=["coding"])

RunId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


class ImageContext(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="the viewer's file, relative to files/")
    hdu: int | None = Field(default=None, ge=0, le=100_000)
    plane: int = Field(default=0, ge=0)


class CatalogContext(BaseModel):
    name: str = Field(min_length=1, max_length=4096, description="catalog name under catalogs/")
    filter: str | None = Field(default=None, max_length=10_000)


class SelectionContext(BaseModel):
    catalog: str = Field(min_length=1, max_length=4096, description="the catalog the rows belong to")
    rows: list[Annotated[int, Field(ge=0)]] = Field(max_length=1_000_000, description="0-based row numbers")


class Point(BaseModel):
    x: float
    y: float


class RunIn(BaseModel):
    code: str = Field(max_length=200_000, description="the Python script")
    timeout_s: float | None = Field(default=None, gt=0, description="wall-clock limit (default: the server's)")
    image: ImageContext | None = Field(default=None, description="the page's image (neloura_session.image())")
    catalog: CatalogContext | None = Field(default=None, description="catalog + filter (neloura_session.catalog())")
    cursor: Point | None = Field(default=None, description="last pointer position, 0-based pixels")
    view: dict[str, float] | None = Field(default=None, description="{cx, cy, zoom} of the viewer")
    regions: str | None = Field(
        default=None, max_length=2_000_000, description="DS9 text of the page's regions (neloura_session.regions())"
    )
    selection: SelectionContext | None = Field(
        default=None, description="selected catalog rows (neloura_session.selection())"
    )


RunState = Literal["running", "done", "failed", "stopped"]


class StartedOut(Out):
    run_id: str
    state: RunState = Field(description="queued runs say running too")


class RunOut(Out):
    """A run as its owner sees it (neloura.runtime.coding.Run.public)."""

    run_id: str
    state: RunState = Field(description="queued runs say running (see queued)")
    queued: bool = Field(description="waiting for a free sandbox")
    stdout: str
    stderr: str
    figures: list[str] = Field(description="URLs of the run's PNG figures")
    images: list[str] = Field(description="images the run sent back, relative to files/")
    tables: list[str] = Field(description="tables the run sent back, relative to catalogs/")
    exit_code: int | None
    reason: str | None = Field(description="why it ended, for a person (timeout, memory, stopped...)")
    timeout_s: float
    elapsed_s: float | None
    isolation: str | None = Field(description="how the sandbox is isolated on this server")


def _image_context(services: Services, image: ImageContext) -> dict[str, Any]:
    file = services.images.resolve(image.path)
    hdu = resolve_hdu(file, image.hdu, services.images)
    services.images.get_resolved(file, hdu).plane(image.plane)  # 415 / 422 now, not inside the run
    return {"file": str(file), "path": image.path, "hdu": hdu, "plane": image.plane}


@router.post("/run", summary="Start a sandboxed Python run; its output streams over /ws")
def start_run(_: AdminDep, body: RunIn, request: Request, services: ServicesDep, settings: SettingsDep) -> StartedOut:
    timeout = settings.coding_timeout_s if body.timeout_s is None else body.timeout_s
    if timeout > settings.coding_timeout_max_s:
        raise InvalidParameter(f"timeout_s: at most {settings.coding_timeout_max_s:g} s")
    limits = Limits(timeout_s=timeout, memory_mb=settings.coding_memory_mb, output_mb=settings.coding_output_mb)
    context: dict[str, Any] = {"image": None, "catalog": None, "files_dir": str(settings.files_dir.resolve())}
    if body.image is not None:
        context["image"] = _image_context(services, body.image)
    files: dict[str, Any] = {}
    if body.catalog is not None and "catalog" in body.code:  # exported only for scripts that can ask for it
        files["catalog.fits"] = export_stream(services.catalogs, body.catalog.name, "fits", filter=body.catalog.filter)
        context["catalog"] = {"file": "catalog.fits", "name": body.catalog.name, "filter": body.catalog.filter}
    if body.regions:  # files in the scratch folder: the spec line stays small whatever the page sends
        files["regions.reg"] = [body.regions.encode()]
        context["regions"] = "regions.reg"
    if body.selection is not None:
        files["selection.json"] = [json.dumps(body.selection.model_dump()).encode()]
        context["selection"] = "selection.json"
    if body.cursor is not None:
        context["cursor"] = body.cursor.model_dump()
    if body.view is not None:
        context["view"] = body.view
    run = services.coding.submit(owner_of(request), body.code, limits, context, files)
    return StartedOut(run_id=run.id, state=run.public()["state"])


@router.get("/runs/{run_id}", summary="State, output, figures, exit code and reason of one of your runs")
def get_run(_: AdminDep, run_id: RunId, request: Request, services: ServicesDep) -> RunOut:
    return RunOut.model_validate(services.coding.get(run_id, owner_of(request)).public())


@router.delete("/runs/{run_id}", summary="Stop one of your runs (kills its whole process group)")
def stop_run(_: AdminDep, run_id: RunId, request: Request, services: ServicesDep) -> RunOut:
    return RunOut.model_validate(services.coding.request_stop(run_id, owner_of(request)).public())


@router.get(
    "/runs/{run_id}/figures/{index}",
    response_class=FileResponse,
    responses=binary("image/png", description="the figure"),
    summary="One matplotlib figure of one of your runs (PNG)",
)
def run_figure(
    _: AdminDep, run_id: RunId, index: Annotated[int, Path(ge=0, le=10_000)], request: Request, services: ServicesDep
) -> FileResponse:
    return FileResponse(services.coding.figure(run_id, owner_of(request), index), media_type="image/png")
