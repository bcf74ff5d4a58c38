"""Publication figures (matplotlib WCSAxes) of an image, rendered in a job."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from neloura.api.deps import ServicesDep, SettingsDep, resolve_hdu
from neloura.api.openapi import IMAGE_ERRORS, Out, errors
from neloura.api.rgb import Channel
from neloura.api.session import owner_of
from neloura.core.figure_views import ScreenView
from neloura.core.figures import LAYOUTS, FigureOptions
from neloura.core.rgb import MAX_CHANNELS
from neloura.errors import InvalidParameter
from neloura.runtime.detection import safe_stem
from neloura.runtime.figure_layouts import panels_task, rgb_task
from neloura.runtime.figures import figure_task
from neloura.runtime.rgb import ChannelRequest, plan_composite
from neloura.runtime.rgb_render import DisplayQuery

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api", tags=["figures"])

MAX_MARKERS = 200_000


class Markers(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=4096, description="catalog under catalogs/")]
    ra_col: Annotated[str | None, Field(max_length=256)] = None
    dec_col: Annotated[str | None, Field(max_length=256)] = None
    filter: Annotated[str | None, Field(max_length=10_000)] = None
    color: Annotated[str, Field(max_length=32)] = "#00e5ff"
    size_px: Annotated[float, Field(gt=0, le=200, description="marker radius, screen points")] = 10.0


class Contours(BaseModel):
    levels: Annotated[list[float], Field(min_length=1, max_length=50, description="physical values")]
    path: Annotated[str | None, Field(max_length=4096, description="another image (default: this one)")] = None
    hdu: Annotated[int | None, Field(ge=0, le=100_000)] = None
    color: Annotated[str, Field(max_length=32)] = "#ffcc00"


class PanelDisplay(BaseModel):
    stretch: Annotated[str, Field(max_length=16)] = "linear"
    exponent: Annotated[float | None, Field(gt=0, le=1e6)] = None
    vmin: float | None = None
    vmax: float | None = None
    cmap: Annotated[str, Field(max_length=64)] = "gray"
    invert: bool = False


class PanelView(BaseModel):
    cx: float = Field(description="view centre, 0-based image pixels")
    cy: float
    zoom: Annotated[float, Field(gt=0, le=1e6, description="screen pixels per image pixel")]
    rotation: Annotated[float, Field(ge=-3600, le=3600, description="degrees, clockwise on screen")] = 0.0
    flip: bool = Field(False, description="mirrored left-right (after the rotation)")


class FigurePanel(BaseModel):
    """One panel as the page's ``ctx.state().panels`` holds it (plus its viewport on screen)."""

    path: Annotated[str, Field(min_length=1, max_length=4096, description="image path relative to files/")]
    hdu: Annotated[int | None, Field(ge=0, le=100_000)] = None
    plane: Annotated[int, Field(ge=0)] = 0
    display: PanelDisplay = PanelDisplay()
    view: PanelView | None = Field(None, description="the panel's view; none: the whole image")
    view_px: Annotated[
        tuple[
            Annotated[float, Field(ge=1, le=20_000)],
            Annotated[float, Field(ge=1, le=20_000)],
        ],
        Field(description="the panel's viewport (CSS px): the figure shows exactly this screen"),
    ] = (800.0, 800.0)
    title: Annotated[str, Field(max_length=300)] = ""


class RgbFigure(BaseModel):
    """A composite by ``id`` (built by POST /api/rgb) or by its ``channels`` (the same body as POST
    /api/rgb: the same id; built first when it is not yet: 409 until it is)."""

    id: Annotated[str | None, Field(max_length=64)] = None
    channels: Annotated[list[Channel] | None, Field(max_length=MAX_CHANNELS)] = None
    reference: Annotated[int | None, Field(ge=0)] = None
    method: Annotated[str, Field(max_length=16)] = "interp"
    mode: Literal["add", "lupton"] = "add"
    q: Annotated[float, Field(gt=0, le=1e4)] = 8.0
    lupton_stretch: Annotated[float, Field(gt=0, le=1e4)] = 0.5


class FigureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not silently the default

    path: Annotated[str | None, Field(min_length=1, max_length=4096, description="image path relative to files/")] = (
        None
    )
    rgb: RgbFigure | None = Field(None, description="instead of path: an RGB composite")
    panels: Annotated[list[FigurePanel] | None, Field(max_length=4, description="instead of path: a panel layout")] = (
        None
    )
    layout: Literal["1", "1x2", "2x1", "2x2"] | None = Field(None, description="the panels' grid (rows x columns)")
    hdu: Annotated[int | None, Field(ge=0, le=100_000)] = None
    plane: Annotated[int, Field(ge=0)] = 0
    format: Literal["pdf", "svg", "png"] = "pdf"
    width_in: Annotated[float, Field(gt=1, le=40)] = 10.0
    height_in: Annotated[float, Field(gt=1, le=40)] = 10.0
    dpi: Annotated[float, Field(ge=30, le=1200)] = 150.0
    frame: Literal["icrs", "fk5", "fk4", "galactic", "ecliptic"] = "icrs"
    title: Annotated[str, Field(max_length=300)] = ""
    stretch: Annotated[str, Field(max_length=16)] = "linear"
    exponent: Annotated[float | None, Field(gt=0, le=1e6)] = None
    vmin: float | None = None
    vmax: float | None = None
    cmap: Annotated[str, Field(max_length=64)] = "gray"
    invert: bool = False
    region: Annotated[
        tuple[float, float, float, float] | None, Field(description="x0, y0, x1, y1: 0-based pixel bounds (the view)")
    ] = None
    view: PanelView | None = Field(None, description="instead of region: the viewer's view, drawn exactly (its screen)")
    view_px: Annotated[
        tuple[Annotated[float, Field(ge=1, le=20_000)], Annotated[float, Field(ge=1, le=20_000)]],
        Field(description="with view: the viewer's viewport (CSS px)"),
    ] = (800.0, 800.0)
    grid: bool = True
    colorbar: bool = True
    compass: bool = True
    scalebar_arcsec: Annotated[float | None, Field(ge=0, le=360_000, description="0: none; default: automatic")] = None
    distance_mpc: Annotated[float | None, Field(gt=0, le=1e5, description="distance for the kpc scale bar")] = None
    catalog: Markers | None = None
    contours: Contours | None = None


def _region(body: FigureBody, width: int, height: int) -> tuple[int, int, int, int]:
    if body.region is None:
        return 0, 0, width, height
    x0, y0, x1, y1 = body.region
    if not all(np.isfinite(body.region)):
        raise InvalidParameter("region must be finite numbers")
    lo_x, hi_x = sorted((x0, x1))
    lo_y, hi_y = sorted((y0, y1))
    box = (max(0, int(np.floor(lo_x + 0.5))), max(0, int(np.floor(lo_y + 0.5))))
    end = (min(width, int(np.ceil(hi_x + 0.5))), min(height, int(np.ceil(hi_y + 0.5))))
    if end[0] - box[0] < 2 or end[1] - box[1] < 2:
        raise InvalidParameter("the region holds less than 2 x 2 pixels of the image")
    return box[0], box[1], end[0], end[1]


class FigureJob(Out):
    """The job that renders the figure (GET /api/jobs/{id}; its result names the file)."""

    id: str
    kind: str
    state: str
    progress: float
    message: str
    eta_s: float | None
    created: float
    started: float | None
    finished: float | None
    result: dict[str, Any] | None
    error: str | None


@router.post(
    "/figures",
    summary="A publication figure of an image, an RGB composite or a panel layout (WCSAxes; PDF, SVG or PNG): the job",
    response_model=FigureJob,
    responses=errors(409),  # 409: the composite is not built (yet)
)
def figures(request: Request, services: ServicesDep, settings: SettingsDep, body: FigureBody) -> dict[str, Any]:
    sources = [body.path is not None, body.rgb is not None, body.panels is not None]
    if sum(sources) != 1:
        raise InvalidParameter("give exactly one of path (an image), rgb (a composite) or panels (a layout)")
    if body.rgb is not None:
        return rgb_figure(request, services, settings, body, body.rgb)
    if body.panels is not None:
        return panels_figure(request, services, settings, body, body.panels)
    assert body.path is not None
    file = services.images.resolve(body.path)
    hdu = resolve_hdu(file, body.hdu, services.images)
    image = services.images.get_resolved(file, hdu)
    image.plane(body.plane)
    if not image.wcs.has_celestial:
        raise InvalidParameter("a figure needs an image with a celestial WCS")
    if body.view is not None and body.region is not None:
        raise InvalidParameter("give region or view, not both")
    region, view = _view_region(body, body.view, body.view_px, image.width, image.height)
    vmin, vmax = body.vmin, body.vmax
    if vmin is None or vmax is None:
        default = services.images.default_limits(body.path, hdu, body.plane)
        vmin = default[0] if vmin is None else vmin
        vmax = default[1] if vmax is None else vmax
    sample = None
    if body.stretch == "histequ":
        sample = services.images.sample(body.path, hdu, body.plane)[::4].tolist()
    options = _options(body, float(vmin), float(vmax), image.bunit)
    if body.catalog is not None:
        ra, dec = services.catalogs.radec(body.catalog.name, body.catalog.ra_col, body.catalog.dec_col)
        rows = services.catalogs.select(body.catalog.name, body.catalog.filter) if body.catalog.filter else None
        if rows is not None:
            ra, dec = ra[rows], dec[rows]
        x, y = image.wcs.world_to_pixel(ra, dec, body.plane)
        with np.errstate(invalid="ignore"):
            keep = (x >= region[0] - 0.5) & (x < region[2] - 0.5) & (y >= region[1] - 0.5) & (y < region[3] - 0.5)
        if keep.sum() > MAX_MARKERS:
            raise InvalidParameter(f"{int(keep.sum())} markers in the region; at most {MAX_MARKERS} (use a filter)")
        options.marker_ra, options.marker_dec = ra[keep].tolist(), dec[keep].tolist()
        options.marker_color, options.marker_size_px = body.catalog.color, body.catalog.size_px
    options.check()
    contours = None
    if body.contours is not None and body.contours.path:
        other = services.images.resolve(body.contours.path)
        other_hdu = resolve_hdu(other, body.contours.hdu, services.images)
        services.images.get_resolved(other, other_hdu)
        contours = {"image_path": str(other), "hdu": other_hdu}
    tag = uuid.uuid4().hex[:12]
    name = f"{safe_stem(file)}_{tag}.{body.format}"
    job = services.jobs.submit(
        "figure",
        figure_task,
        {
            "image_path": str(file),
            "hdu": hdu,
            "plane": body.plane,
            "region": region,
            "options": options.__dict__,
            "sample": sample,
            "contours": contours,
            "view": view,
            "out_dir": str(settings.images_dir / "figures" / tag),
            "name": name,
        },
        user=owner_of(request),
        memory_bytes=600 * 2**20,
    )
    return job.public()


def _options(body: FigureBody, vmin: float, vmax: float, unit: str) -> FigureOptions:
    return FigureOptions(
        fmt=body.format,
        width_in=body.width_in,
        height_in=body.height_in,
        dpi=body.dpi,
        frame=body.frame,
        title=body.title,
        stretch=body.stretch,
        exponent=body.exponent,
        vmin=vmin,
        vmax=vmax,
        cmap=body.cmap,
        invert=body.invert,
        unit=unit,
        grid=body.grid,
        colorbar=body.colorbar,
        compass=body.compass,
        scalebar_arcsec=body.scalebar_arcsec,
        distance_mpc=body.distance_mpc,
        contour_levels=list(body.contours.levels) if body.contours else [],
        contour_color=body.contours.color if body.contours else "#ffcc00",
    )


def _submit(request: Request, services: ServicesDep, task: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    job = services.jobs.submit("figure", task, kwargs, user=owner_of(request), memory_bytes=600 * 2**20)
    return job.public()


def _out(settings: SettingsDep, stem: str, fmt: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:12]
    return {"out_dir": str(settings.images_dir / "figures" / tag), "name": f"{stem}_{tag}.{fmt}"}


def rgb_figure(
    request: Request, services: ServicesDep, settings: SettingsDep, body: FigureBody, rgb: RgbFigure
) -> dict[str, Any]:
    """The composite named by ``rgb`` (id, or channels -> the same id; built when it is not yet)."""
    cid = rgb.id
    if rgb.channels is not None:
        requests = [ChannelRequest(c.path, c.hdu, c.plane) for c in rgb.channels]
        plan = plan_composite(services.images, requests, rgb.reference, rgb.method)
        if cid is not None and cid != plan.id:
            raise InvalidParameter("rgb: the id is not the composite of these channels")
        cid = plan.id
        if not (services.rgb.folder(cid) / "complete").is_file():
            services.rgb.create(plan, user=owner_of(request))  # builds it (a job); 409 below until done
    if cid is None:
        raise InvalidParameter("rgb: give the composite's id or its channels")
    comp = services.rgb.get(cid)
    channels = rgb.channels or []
    if channels and len(channels) != comp.count:
        raise InvalidParameter(f"rgb: {len(channels)} channels given, the composite has {comp.count}")

    def entries(name: str) -> str:
        values = [getattr(c, name) for c in channels]
        return ",".join("" if v is None else ("1" if v is True else "0" if v is False else str(v)) for v in values)

    query = DisplayQuery(
        color=entries("color"),
        vmin=entries("vmin"),
        vmax=entries("vmax"),
        stretch=entries("stretch"),
        visible=entries("visible"),
        weight=entries("weight"),
        mode=rgb.mode,
        q=rgb.q,
        lupton_stretch=rgb.lupton_stretch,
    )
    resolved = services.rgb_render.resolve(comp, query)
    header = services.rgb.reference_header(comp)
    if not len(header):
        raise InvalidParameter("a figure needs a composite with a celestial WCS (this one is in pixel mode)")
    options = _options(body, 0.0, 1.0, "")
    options.colorbar = False
    options.check()
    kwargs = {
        "folder": str(services.rgb.folder(cid)),
        "displays": list(resolved.displays),
        "mode": resolved.mode,
        "q": resolved.q,
        "lupton_stretch": resolved.lupton_stretch,
        "wcs_header": header.tostring(),
        **_rgb_view(body, int(comp.meta["width"]), int(comp.meta["height"])),
        "options": options.__dict__,
        **_out(settings, f"rgb_{cid[:8]}", body.format),
    }
    return _submit(request, services, rgb_task, kwargs)


def _rgb_view(body: FigureBody, width: int, height: int) -> dict[str, Any]:
    if body.view is not None and body.region is not None:
        raise InvalidParameter("give region or view, not both")
    region, view = _view_region(body, body.view, body.view_px, width, height)
    return {"region": region, "view": view}


def _view_region(
    body: FigureBody, view: PanelView | None, view_px: tuple[float, float], width: int, height: int
) -> tuple[tuple[int, int, int, int], dict[str, Any] | None]:
    """(the pixel region to read, the screen view or None): a view reads the image box under its
    screen's four corners (and is drawn exactly); without one, the body's region or the whole image."""
    if view is None:
        return _region(body, width, height), None
    screen = ScreenView(view.cx, view.cy, view.zoom, view_px[0], view_px[1], view.rotation, view.flip)
    screen.check()
    return _region(body.model_copy(update={"region": screen.image_bounds()}), width, height), asdict(screen)


def _panel_spec(services: ServicesDep, panel: FigurePanel, body: FigureBody, index: int) -> dict[str, Any]:
    file = services.images.resolve(panel.path)
    hdu = resolve_hdu(file, panel.hdu, services.images)
    image = services.images.get_resolved(file, hdu)
    image.plane(panel.plane)
    if not image.wcs.has_celestial:
        raise InvalidParameter(f"panel {index + 1}: a figure needs an image with a celestial WCS")
    d = panel.display
    vmin, vmax = d.vmin, d.vmax
    if vmin is None or vmax is None:
        default = services.images.default_limits(panel.path, hdu, panel.plane)
        vmin, vmax = (default[0] if vmin is None else vmin), (default[1] if vmax is None else vmax)
    region, view = _view_region(body.model_copy(update={"region": None}), panel.view, panel.view_px, image.width,
                                image.height)  # fmt: skip
    options = _options(body, float(vmin), float(vmax), image.bunit)
    options.stretch, options.exponent, options.cmap, options.invert = d.stretch, d.exponent, d.cmap, d.invert
    options.title, options.scalebar_arcsec = panel.title, body.scalebar_arcsec
    options.contour_levels = []
    options.check()
    sample = services.images.sample(panel.path, hdu, panel.plane)[::4].tolist() if d.stretch == "histequ" else None
    return {"image_path": str(file), "hdu": hdu, "plane": panel.plane, "region": region,
            "options": options.__dict__, "sample": sample, "view": view}  # fmt: skip


def panels_figure(
    request: Request, services: ServicesDep, settings: SettingsDep, body: FigureBody, panels: list[FigurePanel]
) -> dict[str, Any]:
    """One WCSAxes subplot per panel, in ``layout`` (default: 1, 1x2 or 2x2 by the panel count)."""
    if not panels:
        raise InvalidParameter("panels: at least one panel")
    layout = body.layout or {1: "1", 2: "1x2"}.get(len(panels), "2x2")
    rows, cols = LAYOUTS[layout]
    if len(panels) > rows * cols:
        raise InvalidParameter(f"layout {layout} holds {rows * cols} panel(s), got {len(panels)}")
    specs = [_panel_spec(services, p, body, i) for i, p in enumerate(panels)]
    options = _options(body, 0.0, 1.0, "")
    options.check()
    kwargs = {"panels": specs, "layout": layout, "options": options.__dict__, **_out(settings, "panels", body.format)}
    return _submit(request, services, panels_task, kwargs)
