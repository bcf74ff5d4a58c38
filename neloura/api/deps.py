"""``Annotated`` dependency aliases so that route signatures read like sentences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request

from neloura.core.fitsio import FitsImage, ImagePlane
from neloura.runtime.images import ImageStore
from neloura.runtime.services import Services
from neloura.settings import Settings


# async: FastAPI runs a plain ``def`` dependency in the thread pool, a hop (two thread switches)
# per request for an attribute read; these two run on the event loop instead.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def services_of(request: Request) -> Services:
    """The app's services (for a route that takes ``request`` and no other dependency)."""
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    return services_of(request)


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


def resolve_hdu(file: Path, hdu: int | None, images: ImageStore) -> int:
    """``hdu`` itself, or the file's recommended image HDU when None, from the store's cached,
    bounded inspection (a worker process with a deadline; WCS keyword bounds checked)."""
    return images.recommended(file, hdu)


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
