"""Segmentation maps as overlays on the open image: open/check, rendered windows, the label under
a pixel, one segment's properties (photutils SourceCatalog) and the catalog rows on it.

Every route names the image (``path``, ``hdu``, ``plane``) and the map (``seg``, ``seg_hdu``),
both under files/; the map is put on the image's grid once (nearest-neighbour reprojection when
the grids differ) and kept. A map that is not integer is refused with a 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from neloura.api.deps import PlaneDep, ServicesDep, resolve_hdu
from neloura.api.openapi import IMAGE_ERRORS, Out, binary, errors
from neloura.errors import InvalidParameter
from neloura.runtime.segmentation import SegmentationMap, render_png

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api/segmentation", tags=["segmentation"])

MAX_RENDER = 4096
FiniteQ = Annotated[float, Query(allow_inf_nan=False, description="0-based pixel coordinate")]


class SegmentationInfoOut(Out):
    path: str
    hdu: int
    seg: str
    seg_hdu: int
    width: int = Field(description="of the map on the image's grid, pixels")
    height: int
    n_labels: int
    max_label: int
    reprojected: bool = Field(description="the map was put on the image's grid (nearest neighbour)")


class LabelOut(Out):
    x: float
    y: float
    label: int = Field(description="0: no segment")


class BboxOut(Out):
    x_min: int
    x_max: int
    y_min: int
    y_max: int


class SegmentOut(Out):
    """photutils SourceCatalog properties (0-based pixels; null where undefined)."""

    label: int
    area_px: float | None = Field(description="null when every pixel of the segment is blank")
    area_arcsec2: float | None
    x_centroid: float | None
    y_centroid: float | None
    segment_flux: float | None = Field(description="in flux_unit")
    flux_unit: str
    max_value: float | None
    min_value: float | None
    semimajor_axis_px: float | None
    semiminor_axis_px: float | None
    orientation_deg: float | None
    ellipticity: float | None
    eccentricity: float | None
    bbox: BboxOut
    color: str = Field(description="#rrggbb, the segment's colour in the overlay")
    ra_deg: float | None
    dec_deg: float | None
    catalog: str | None
    rows: list[int] = Field(description="0-based rows of the catalog on the segment")


@dataclass(frozen=True)
class SegRef:
    name: str
    hdu: int
    map: SegmentationMap


def get_segmentation(
    services: ServicesDep,
    plane: PlaneDep,
    seg: Annotated[str, Query(min_length=1, max_length=4096, description="segmentation map relative to files/")],
    seg_hdu: Annotated[int | None, Query(ge=0, le=100_000, description="its HDU (default: recommended)")] = None,
) -> SegRef:
    """The segmentation map ``seg`` on the grid of the image ``path``/``hdu``."""
    file = services.images.resolve(seg)
    index = resolve_hdu(file, seg_hdu, services.images)
    image = services.images.get_resolved(file, index)
    segmap = services.segmentation.get(plane.ref.image, image, seg)
    return SegRef(seg, index, segmap)


SegDep = Annotated[SegRef, Depends(get_segmentation)]


@router.get(
    "/info",
    response_model=SegmentationInfoOut,
    summary="Open a segmentation map on an image: its grid, labels, reprojection",
)
def info(plane: PlaneDep, seg: SegDep) -> dict[str, Any]:
    labels = seg.map.labels
    return {
        "path": plane.ref.path,
        "hdu": plane.ref.hdu,
        "seg": seg.name,
        "seg_hdu": seg.hdu,
        "width": int(labels.shape[1]),
        "height": int(labels.shape[0]),
        "n_labels": seg.map.n_labels,
        "max_label": seg.map.max_label,
        "reprojected": seg.map.reprojected,
    }


@router.get("/render.png", response_class=Response, responses=binary("image/png", description="the rendered labels"))
def render(
    seg: SegDep,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    width: Annotated[int, Query(ge=1, le=MAX_RENDER)],
    height: Annotated[int, Query(ge=1, le=MAX_RENDER)],
    outline: bool = False,
    selected: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """The map over the image window [x0, x1] x [y0, y1] (0-based pixel-edge coordinates, y up),
    sampled nearest-pixel onto width x height: RGBA PNG, a stable colour per label, alpha 0 off
    segments; ``outline`` draws outlines only; the ``selected`` label is drawn in white."""
    values = (x0, y0, x1, y1)
    if not all(abs(v) < 1e9 for v in values) or x1 <= x0 or y1 <= y0:
        raise InvalidParameter("x0 < x1 and y0 < y1 must be finite pixel coordinates")
    png = render_png(seg.map, values, (width, height), outline=outline, selected=selected or None)
    return Response(content=png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/label", response_model=LabelOut, summary="The label under a pixel (0 = no segment)")
def label(seg: SegDep, x: FiniteQ, y: FiniteQ) -> dict[str, Any]:
    return {"x": x, "y": y, "label": seg.map.label_at(x, y)}


@router.get(
    "/segment",
    response_model=SegmentOut,
    summary="One segment's properties (photutils SourceCatalog) and the catalog rows on it",
)
def segment(
    services: ServicesDep,
    plane: PlaneDep,
    seg: SegDep,
    label: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="segment label (int32 map)")] = None,
    x: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    y: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    catalog: Annotated[
        str | None, Query(max_length=4096, description="catalog (under catalogs/) to link rows from")
    ] = None,
    ra_col: Annotated[str | None, Query(max_length=256)] = None,
    dec_col: Annotated[str | None, Query(max_length=256)] = None,
) -> dict[str, Any]:
    """Give ``label``, or a pixel ``x``, ``y`` (0-based) on the segment; 422 off every segment."""
    if label is None:
        if x is None or y is None:
            raise InvalidParameter("give a label, or x and y")
        label = seg.map.label_at(x, y)
        if label == 0:
            raise InvalidParameter(f"no segment at x={x:g}, y={y:g}")
    return services.segmentation.properties(
        plane.ref.image, plane.index, seg.map, label, catalog=catalog or None, ra_col=ra_col, dec_col=dec_col
    )
