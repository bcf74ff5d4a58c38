"""The file browser: folders and files under files/, recursive search, thumbnails, uploads."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from neloura.api.deps import ServicesDep, SettingsDep
from neloura.api.openapi import Out, binary, errors
from neloura.core.files import list_folder, search, thumbnail_png
from neloura.core.paths import confine, relative_to_root
from neloura.errors import InvalidParameter, NotFound, PayloadTooLarge
from neloura.runtime.uploads import receive_upload

router = APIRouter(responses=errors(404, 413, 415, 422, 503), prefix="/api/files", tags=["files"])

_THUMBS: OrderedDict[tuple[str, float, int, int, int], bytes] = OrderedDict()
_THUMBS_LOCK = threading.Lock()
_THUMBS_KEPT = 256


class EntryOut(Out):
    name: str
    path: str = Field(description="relative to files/, POSIX")
    kind: str
    size: int = Field(description="bytes (0 for folders)")
    mtime: float = Field(description="seconds since the epoch")


class FolderOut(Out):
    folder: str
    parent: str | None
    entries: list[EntryOut]
    uploads_temporary_minutes: float


class SearchOut(Out):
    query: str
    entries: list[EntryOut]


class UploadOut(Out):
    path: str = Field(description="where the upload was kept, relative to files/")
    name: str
    size: int
    hdus: list[dict[str, Any]] = Field(description="as GET /api/images/hdus lists them")
    recommended: int | None
    temporary_minutes: float


@router.get("", summary="List one folder under files/ (folders first)")
def list_files(settings: SettingsDep, folder: str = "") -> FolderOut:
    root = settings.files_dir
    path = confine(root, folder) if folder else root.resolve()
    if not path.is_dir():
        raise NotFound(f"not a folder: {folder}")
    rel = "" if path == root.resolve() else relative_to_root(root, path)
    parent = None if not rel else rel.rpartition("/")[0]
    entries = [asdict(e) for e in list_folder(root, path)]
    return FolderOut.model_validate(
        {"folder": rel, "parent": parent, "entries": entries, "uploads_temporary_minutes": _minutes(settings)}
    )


@router.get("/search", summary="Recursive case-insensitive search of file and folder names")
def search_files(settings: SettingsDep, q: Annotated[str, Query(min_length=1, max_length=200)]) -> SearchOut:
    return SearchOut.model_validate({"query": q, "entries": [asdict(e) for e in search(settings.files_dir, q)]})


@router.get(
    "/thumbnail",
    response_class=Response,
    responses=binary("image/png", description="the preview"),
    summary="Small grey PNG preview of an image HDU (recommended HDU by default)",
)
def thumbnail(
    services: ServicesDep,
    path: str,
    hdu: int | None = None,
    plane: Annotated[int, Query(ge=0)] = 0,
    size: Annotated[int, Query(ge=16, le=512)] = 128,
) -> Response:
    absolute = services.images.resolve(path)
    if hdu is None:
        recommended = services.images.inspect(absolute).recommended
        if recommended is None:
            raise InvalidParameter(f"{path} holds no image HDU")
        hdu = recommended
    key = (str(absolute), absolute.stat().st_mtime, hdu, plane, size)
    with _THUMBS_LOCK:
        png = _THUMBS.get(key)
    if png is None:
        png = thumbnail_png(services.images.get_resolved(absolute, hdu), plane, size)
        with _THUMBS_LOCK:
            _THUMBS[key] = png
            while len(_THUMBS) > _THUMBS_KEPT:
                _THUMBS.popitem(last=False)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "the FITS file"},
                        "folder": {"type": "string", "description": "optional sub-folder of uploads/"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/upload",
    response_model=UploadOut,
    summary="Upload a FITS file into files/uploads/ (validated; temporary)",
    openapi_extra=_UPLOAD_BODY,
)
async def upload(request: Request, services: ServicesDep, settings: SettingsDep) -> Response:
    """Streams the body to disk as it arrives: the size limit is enforced before the body is read
    when Content-Length says it is too big, and as bytes arrive otherwise (for ``.gz`` uploads,
    on the decompressed bytes). Validation and the HDU listing run in a bounded worker: the
    event loop never parses FITS."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.upload_max_mb * 1024 * 1024 + 65536:
        raise PayloadTooLarge(f"upload larger than the limit of {settings.upload_max_mb} MB")
    kept = await receive_upload(
        settings, request.headers.get("content-type", ""), request.stream(), images=services.images
    )
    found = await services.images.inspect_async(kept)
    # the HDU list comes rendered from the worker that validated a large file (3,000 HDUs
    # rendered here would hold the GIL, and so the event loop, for tens of milliseconds)
    listing = found.listing or await asyncio.to_thread(services.images.listing, kept)
    head = {
        "path": relative_to_root(settings.files_dir, kept),
        "name": kept.name,
        "size": kept.stat().st_size,
        "recommended": found.recommended,
        "temporary_minutes": _minutes(settings),
    }
    return Response(json.dumps(head)[:-1].encode() + b',"hdus":' + listing + b"}", media_type="application/json")


def _minutes(settings: Any) -> float:
    return float(settings.cleanup_interval_minutes)
