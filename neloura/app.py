"""The composition root: ``create_app(settings)`` wires routers, services, errors and static files."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from neloura import __version__
from neloura.api import openapi
from neloura.api.body_limit import BodyLimitMiddleware
from neloura.api.fast_tiles import TileFastPath
from neloura.api.origin import HostPolicy, OriginMiddleware
from neloura.api.session import SessionMiddleware
from neloura.errors import InvalidFilter, NelouraError, status_for
from neloura.runtime.services import Services, stop_with_master
from neloura.settings import Settings

log = logging.getLogger("neloura")

# One entry per capability: the module under neloura.api that defines ``router``.
ROUTERS: tuple[str, ...] = (
    "health",
    "images",
    "tiles",
    "data_tiles",
    "files",
    "coding",  # before "admin": its /local-coding/{rest} catch-all must not shadow these routes
    "admin",
    "ws",
    "display",
    "pages",
    "catalogs",
    "crossmatch",
    "overlay",
    "jobs",
    "detection",
    "completeness",
    "docs",
    "plotter",
    "segmentation",
    "cubes",
    "cube_jobs",
    "pixel_table",
    "rgb",
    "contours",
    "regions",
    "sky",
    "cutouts",
    "sed",
    "figures",
)


# Routes whose bodies may be as large as NELOURA_UPLOAD_MAX_MB; every other body is capped at
# NELOURA_REQUEST_MAX_MB while it streams in.
UPLOAD_PATHS = frozenset({"/api/files/upload", "/api/catalogs/upload"})
# A 422 names the first errors only: a list of 200,000 wrong items in a 1.6 MB body would
# otherwise answer 17 MB of messages (and spend seconds writing them).
MAX_REPORTED_ERRORS = 20


async def _prepare_routes(app: FastAPI) -> None:
    """Route once a path that matches nothing, so that every router is walked. FastAPI builds a
    router's per-route state (parameter and response models) on the first request that reaches it
    (~100 ms for the image routes), and the first route run in the thread pool imports anyio's
    event-loop backend (~50 ms): done here, at startup, the first request a user makes, say the
    first view of an image, pays for neither. The request goes to the router alone (no
    middleware, no session) and answers 404."""

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        pass

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/api/.prepare-routes", "raw_path": b"/api/.prepare-routes", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    try:
        await run_in_threadpool(int)
        await app.router(scope, receive, send)
    except Exception:  # an optimisation only: never stops the server
        log.warning("routes not prepared at startup", exc_info=True)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: Services = app.state.services
    await services.start()
    await _prepare_routes(app)
    try:
        yield
    finally:
        await services.stop()


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NelouraError)
    body: dict[str, object] = {"detail": exc.message}
    if isinstance(exc, InvalidFilter):
        body["position"] = exc.position
        body["columns"] = exc.columns
    return JSONResponse(body, status_code=status_for(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    parts = []
    for err in errors[:MAX_REPORTED_ERRORS]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    if len(errors) > MAX_REPORTED_ERRORS:
        parts.append(f"and {len(errors) - MAX_REPORTED_ERRORS:,} more errors")
    return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error (logged on the server)"}, status_code=500)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()
    if settings.workers > 1:
        stop_with_master()
    settings.ensure_folders()
    app = FastAPI(
        title="Neloura",
        version=__version__,
        description="Astronomical images, catalogs and source detection in the browser.",
        lifespan=_lifespan,
        docs_url=None,  # /docs is served by neloura.api.docs from the pinned local Swagger UI (no CDN)
        redoc_url=None,
        # no OpenTelemetry here: skip FastAPI's per-request check for configured providers
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.services = Services(settings)
    app.add_middleware(
        BodyLimitMiddleware,
        default_bytes=settings.request_max_mb * 1024 * 1024,
        upload_bytes=settings.upload_max_mb * 1024 * 1024,
        upload_paths=UPLOAD_PATHS,
    )
    # ready tiles skip FastAPI's routing; inside the session and Origin middleware (neloura.api.fast_tiles)
    app.add_middleware(TileFastPath, tiles=app.state.services.tiles)
    # every job and run belongs to the browser session of this cookie (neloura.api.session)
    app.add_middleware(SessionMiddleware)
    # outermost: a foreign Host or Origin is refused before anything reads the request
    app.add_middleware(OriginMiddleware, policy=HostPolicy(settings.allowed_hosts, settings.host))
    app.add_exception_handler(NelouraError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
    for name in ROUTERS:
        module = importlib.import_module(f"neloura.api.{name}")
        app.include_router(module.router)
    openapi.install(app)
    return app
