"""``Annotated`` dependency aliases so that route signatures read like sentences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request

from neloura.core.fitsio import FitsImage, ImagePlane, list_hdus
from neloura.errors import NotAFitsImage
from neloura.runtime.images import ImageStore
from neloura.runtime.services import Services
from neloura.settings import Settings


# async: FastAPI runs a plain ``def`` dependency in the thread pool, a hop (two thread switches)
# per request for an attribute read; these two run on the event loop instead.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]


PathQuery = Annotated[str, Query(min_length=1, max_length=4096, description="file path relative to files/")]
HduQuery = Annotated[int | None, Query(ge=0, le=100_000, description="HDU index (default: the recommended image HDU)")]
PlaneQuery = Annotated[int, Query(ge=0, description="plane index along the cube's plane axis (0-based)")]


@dataclass(frozen=True)
class ImageRef:
    """One image HDU named by a request: ``path`` relative to files/, ``file`` resolved."""

    path: str
    file: Path
    hdu: int
    image: FitsImage


@dataclass(frozen=True)
class PlaneRef:
    """One plane of an image HDU named by a request."""

    ref: ImageRef
    index: int
    plane: ImagePlane


def resolve_hdu(file: Path, hdu: int | None, images: ImageStore | None = None) -> int:
    """``hdu`` itself, or the file's recommended image HDU when None.

    Pass ``images`` (``services.images``): the listing then comes from the store's cached,
    bounded inspection (a worker process with a deadline). Without it the file is listed in
    this thread (kept for callers that have no store at hand)."""
    if hdu is not None:
        return hdu
    if images is not None:
        return images.recommended(file)
    _, recommended = list_hdus(file)
    if recommended is None:
        raise NotAFitsImage(f"{file.name} holds no image HDU")
    return recommended


def get_image(services: ServicesDep, path: PathQuery, hdu: HduQuery = None) -> ImageRef:
    """The open image HDU for ``?path=&hdu=`` (403/404 for bad paths, 415 for non-images)."""
    file = services.images.resolve(path)
    index = resolve_hdu(file, hdu, services.images)
    return ImageRef(path, file, index, services.images.get_resolved(file, index))


ImageDep = Annotated[ImageRef, Depends(get_image)]


def get_plane(image: ImageDep, plane: PlaneQuery = 0) -> PlaneRef:
    """``?path=&hdu=&plane=``: one plane (422 when out of range)."""
    return PlaneRef(image, plane, image.image.plane(plane))


PlaneDep = Annotated[PlaneRef, Depends(get_plane)]
