"""The FastAPI app: REST API under ``/v1``, the web page, the offline API docs.

``create_app(settings)`` assembles it from the routers of :mod:`saywho.server.routes` over
one :class:`JobService`; the lifespan recovers jobs left running by a dead process and
starts the worker pool. Errors of saywho become HTTP statuses with the error's message as
``{"detail": ...}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from saywho import __version__
from saywho.errors import AudioDecodeError, ConfigError, OutputError, SaywhoError
from saywho.server.guard import Guard
from saywho.server.jobs import JobStore
from saywho.server.live import LiveRoom
from saywho.server.routes import jobs as job_routes
from saywho.server.routes import live as live_routes
from saywho.server.routes import pages as page_routes
from saywho.server.routes import voices as voice_routes
from saywho.server.schema import allowed_methods, truthful_openapi
from saywho.server.security import TokenCheck
from saywho.server.service import JobService
from saywho.server.settings import ServerSettings
from saywho.server.uploads import UploadError
from saywho.server.voices import VoiceLibrary, open_voice_library
from saywho.server.worker import WorkerPool

__all__ = ["create_app"]


def create_app(
    settings: ServerSettings, token: TokenCheck | None, voices: VoiceLibrary | None = None
) -> FastAPI:
    """The app for ``settings``; ``token`` checks API tokens (None: no token exists)."""
    paths = settings.paths
    paths.root.mkdir(parents=True, exist_ok=True)
    store = JobStore(paths.database)
    library = voices if voices is not None else open_voice_library(settings.voices_path)
    pool = WorkerPool(
        store,
        paths,
        settings.config,
        settings.workers,
        library,
        max_memory_bytes=settings.max_job_memory_bytes,
    )
    service = JobService(store, pool, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        yield
        await run_in_threadpool(service.stop)

    app = FastAPI(
        title="saywho",
        version=__version__,
        summary="Who said what, and when: offline transcription with speakers.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/v1/openapi.json",
        lifespan=lifespan,
    )
    app.openapi = truthful_openapi(app, settings.models)  # type: ignore[method-assign]
    app.add_middleware(Guard, settings=settings, token=token)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    routers = (
        page_routes.router(service, token),
        job_routes.router(service),
        voice_routes.router(service, library),
        live_routes.router(LiveRoom(service, library)),
    )
    for router in routers:
        app.include_router(router)
    _add_error_handlers(app, [*app.routes, *(route for r in routers for route in r.routes)])
    return app


def _add_error_handlers(app: FastAPI, routes: Sequence[BaseRoute]) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # A path served by several routes (GET and POST /v1/jobs are two) gets a 405 from the
        # first alone, naming only its own methods: name all of them.
        if error.status_code == 405:
            allow = ", ".join(allowed_methods(routes, request.url.path))
            error = StarletteHTTPException(
                405, error.detail, {**(error.headers or {}), "Allow": allow}
            )
        return await http_exception_handler(request, error)

    statuses: list[tuple[type[SaywhoError], int]] = [
        (UploadError, 400),
        (AudioDecodeError, 415),
        (ConfigError, 422),
        (OutputError, 422),
        (SaywhoError, 400),
    ]

    async def handle(request: Request, error: Exception) -> JSONResponse:
        status = 400
        for kind, code in statuses:
            if isinstance(error, kind):
                status = code
                break
        if isinstance(error, UploadError):
            status = error.status
        return JSONResponse({"detail": str(error)}, status_code=status)

    for kind, _ in statuses:
        app.add_exception_handler(kind, handle)
