"""``Annotated`` dependency aliases so that route signatures read like sentences."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request

from neloura.core.fitsio import FitsImage, ImagePlane, list_hdus
from neloura.errors import NotAFitsImage
from neloura.runtime.services import Services
from neloura.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_services(request: Request) -> Services:
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


_RECOMMENDED: OrderedDict[tuple[Path, int, int], int | None] = OrderedDict()
_RECOMMENDED_LOCK = threading.Lock()


def resolve_hdu(file: Path, hdu: int | None) -> int:
    """``hdu`` itself, or the file's recommended image HDU when None (remembered per file version)."""
    if hdu is not None:
        return hdu
    stat = file.stat()
    key = (file, stat.st_mtime_ns, stat.st_size)
    with _RECOMMENDED_LOCK:
        known = key in _RECOMMENDED
        recommended = _RECOMMENDED.get(key)
    if not known:
        _, recommended = list_hdus(file)
        with _RECOMMENDED_LOCK:
            _RECOMMENDED[key] = recommended
            while len(_RECOMMENDED) > 1024:
                _RECOMMENDED.popitem(last=False)
    if recommended is None:
        raise NotAFitsImage(f"{file.name} holds no image HDU")
    return recommended


def get_image(services: ServicesDep, path: PathQuery, hdu: HduQuery = None) -> ImageRef:
    """The open image HDU for ``?path=&hdu=`` (403/404 for bad paths, 415 for non-images)."""
    file = services.images.resolve(path)
    index = resolve_hdu(file, hdu)
    return ImageRef(path, file, index, services.images.get_resolved(file, index))


ImageDep = Annotated[ImageRef, Depends(get_image)]


def get_plane(image: ImageDep, plane: PlaneQuery = 0) -> PlaneRef:
    """``?path=&hdu=&plane=``: one plane (422 when out of range)."""
    return PlaneRef(image, plane, image.image.plane(plane))


PlaneDep = Annotated[PlaneRef, Depends(get_plane)]
