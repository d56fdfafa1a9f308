"""The FastAPI app: REST API under ``/v1``, the web page, the offline API docs.

``create_app(settings)`` builds it; the lifespan recovers jobs left running by a dead
process and starts the worker pool. Errors of saywho become HTTP statuses with the error's
message as ``{"detail": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from saywho import __version__
from saywho.audio.probe import probe_media
from saywho.errors import AudioDecodeError, ConfigError, OutputError, SaywhoError
from saywho.server.guard import COOKIE, Guard
from saywho.server.jobs import JOB_ID, Job, JobStore, NewJob, new_job_id
from saywho.server.options import JobOptions, RerunRequest
from saywho.server.results import (
    UnknownSpeakerError,
    file_name,
    formats,
    media_type,
    read_result,
    rename_speaker,
    render_result,
)
from saywho.server.review import review_page
from saywho.server.schema import allowed_methods, errors, truthful_openapi, upload_schema
from saywho.server.security import (
    TokenCheck,
    token_required,
    without_paths,
)
from saywho.server.settings import ServerSettings
from saywho.server.uploads import UploadedFile, UploadError, receive_upload
from saywho.server.voices import Voice, VoiceLibrary, open_voice_library
from saywho.server.worker import WorkerPool

__all__ = ["create_app"]

# Our pages load only our own scripts, styles and data, and no other site may frame them.
_PAGES = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_EVENTS_EVERY_S = 0.4
_KEEPALIVE_S = 15.0


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=200)


class SpeakerRequest(BaseModel):
    """A speaker of a job and the name to give it (empty: back to its label)."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=64)
    name: str = Field(max_length=100)


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job_id: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)


class VoiceRename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.recover()
        shutil.rmtree(paths.uploads, ignore_errors=True)  # uploads cut off by the last stop
        pool.start()
        yield
        await run_in_threadpool(pool.stop)

    app = FastAPI(
        title="saywho",
        version=__version__,
        summary="Who said what, and when: offline transcription with speakers.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/v1/openapi.json",
        lifespan=lifespan,
    )
    _add_error_handlers(app)
    app.openapi = truthful_openapi(app, settings.models)  # type: ignore[method-assign]
    app.add_middleware(Guard, settings=settings, token=token)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )

    def job_or_404(job_id: str) -> Job:
        job = store.get(job_id) if JOB_ID.match(job_id) else None
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job

    def done_or_409(job_id: str) -> Job:
        job = job_or_404(job_id)
        if job.status != "done":
            raise HTTPException(409, f"job {job_id} has no result: it is {job.status}")
        return job

    # -- pages ----------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(_static("index.html"), headers={"Content-Security-Policy": _PAGES})

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_static("docs.html"), headers={"Content-Security-Policy": _PAGES})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
        suffix = Path(name).suffix
        if name not in ("app.js", "style.css", "docs.js", "favicon.svg"):
            raise HTTPException(404, "no such file")
        return Response(_static(name), media_type=types[suffix] + "; charset=utf-8")

    @app.get("/jobs/{job_id}", include_in_schema=False)
    def review(job_id: str) -> HTMLResponse:
        job = done_or_409(job_id)
        transcript = read_result(paths.result(job.id))
        # The page's own policy (a <meta>) limits scripts and styles to its inline ones;
        # frame-ancestors only works as a header.
        return HTMLResponse(
            review_page(transcript, job.id, job.media_type),
            headers={"Content-Security-Policy": "frame-ancestors 'none'"},
        )

    # -- API ------------------------------------------------------------------------------

    @app.get("/v1/info", summary="What this server offers")
    def info(request: Request) -> dict[str, Any]:
        client = request.client.host if request.client else None
        return {
            "version": __version__,
            "formats": list(formats()),
            "models": list(settings.models),
            "default_model": settings.config.recognize.model,
            "token_required": token_required(settings.auth, client),
            "max_upload_bytes": settings.max_upload_bytes,
        }

    @app.post(
        "/v1/login",
        summary="Check the API token and keep it in a cookie for the page",
        responses=errors(401, 422),
    )
    def login(body: LoginRequest, response: Response) -> dict[str, bool]:
        if token is None or not token.accepts(body.token):
            raise HTTPException(401, "wrong API token")
        response.set_cookie(COOKIE, body.token, httponly=True, samesite="strict")
        return {"ok": True}

    @app.post(
        "/v1/jobs",
        status_code=201,
        summary="Upload one or more media files: one job each",
        openapi_extra=upload_schema(settings.models),
        responses=errors(400, 413, 415, 422, 429),
    )
    async def create_jobs(request: Request) -> dict[str, list[dict[str, Any]]]:
        await run_in_threadpool(_check_queue, store, settings, 1)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_upload_bytes + 1_000_000:
            raise UploadError(413, "the upload is larger than this server's limit")
        upload = await receive_upload(
            request.stream(),
            request.headers.get("content-type"),
            paths.uploads,
            max_bytes=settings.max_upload_bytes,
            max_files=settings.max_files,
        )
        try:
            jobs = await run_in_threadpool(
                _queue_upload, store, settings, upload.files, upload.fields
            )
        finally:
            for part in upload.files:
                part.path.unlink(missing_ok=True)
        pool.notify()
        return {"jobs": [job.public() for job in jobs]}

    @app.get("/v1/jobs", summary="Every job, oldest first")
    def list_jobs() -> dict[str, list[dict[str, Any]]]:
        return {"jobs": [job.public() for job in store.all()]}

    @app.get(
        "/v1/jobs/{job_id}",
        summary="A job: status, stage, percent, error",
        responses=errors(404, 422),
    )
    def get_job(job_id: str) -> dict[str, Any]:
        return job_or_404(job_id).public()

    @app.delete(
        "/v1/jobs/{job_id}",
        status_code=204,
        summary="Delete a job and its files",
        responses=errors(404, 422),
    )
    def delete_job(job_id: str) -> Response:
        job = job_or_404(job_id)
        store.delete(job.id)
        shutil.rmtree(paths.job(job.id), ignore_errors=True)
        return Response(status_code=204)

    @app.post(
        "/v1/jobs/{job_id}/rerun",
        status_code=202,
        summary="Run a job again, new options",
        responses=errors(404, 422),
    )
    def rerun(job_id: str, body: RerunRequest) -> dict[str, Any]:
        job = job_or_404(job_id)
        options = JobOptions.parse(body.model_dump(), settings.models)
        paths.result(job.id).unlink(missing_ok=True)
        requeued = store.requeue(job.id, options)
        if requeued is None:
            raise HTTPException(404, f"no job {job_id!r}")
        pool.notify()
        return requeued.public()

    @app.get(
        "/v1/jobs/{job_id}/result",
        summary="The job's transcript in any format of the writer registry",
        responses={200: {"content": {"text/plain": {}}}, **errors(404, 409, 422)},
    )
    def result(
        job_id: str,
        format: Annotated[str, Query(max_length=20, description="json, srt, vtt, txt, …")] = "json",
    ) -> Response:
        job = done_or_409(job_id)
        if format not in formats():
            raise HTTPException(422, f"unknown format {format!r}; known: {', '.join(formats())}")
        body = render_result(read_result(paths.result(job.id)), format)
        name = file_name(Path(job.filename).stem or "transcript", format)
        return Response(
            body,
            media_type=media_type(format),
            headers={"Content-Disposition": _attachment(name)},
        )

    @app.get(
        "/v1/jobs/{job_id}/media",
        summary="The uploaded media (for the player)",
        responses={
            200: {"content": {"audio/*": {}, "video/*": {}, "application/octet-stream": {}}},
            206: {"description": "the part a Range header asked for"},
            416: {"description": "a Range outside the file"},
            **errors(404, 422),
        },
    )
    def media(job_id: str) -> FileResponse:
        job = job_or_404(job_id)
        path = paths.media(job.id)
        if not path.exists():
            raise HTTPException(404, "the job's media is gone")
        return FileResponse(path, media_type=job.media_type)

    @app.get(
        "/v1/jobs/{job_id}/speakers",
        summary="The job's speakers: label and name",
        responses=errors(404, 409, 422),
    )
    def speakers(job_id: str) -> dict[str, list[dict[str, Any]]]:
        job = done_or_409(job_id)
        transcript = read_result(paths.result(job.id))
        return {"speakers": [_speaker(s.label, s.name) for s in transcript.speakers]}

    @app.post(
        "/v1/jobs/{job_id}/rename",
        summary="Name a speaker of this job (kept on the server)",
        responses=errors(404, 409, 422),
    )
    def rename(job_id: str, body: SpeakerRequest) -> dict[str, list[dict[str, Any]]]:
        job = done_or_409(job_id)
        name = body.name.strip() or None
        try:
            transcript = rename_speaker(paths.result(job.id), body.label, name)
        except UnknownSpeakerError:
            raise HTTPException(404, f"job {job_id} has no speaker {body.label!r}") from None
        return {"speakers": [_speaker(s.label, s.name) for s in transcript.speakers]}

    @app.post(
        "/v1/jobs/{job_id}/enroll",
        status_code=201,
        summary="Remember a speaker's voice",
        responses=errors(404, 409, 422),
    )
    def enroll_from_job(job_id: str, body: SpeakerRequest) -> dict[str, Any]:
        return _enroll(library, paths_result=paths.result, job=done_or_409(job_id), body=body)

    @app.get("/v1/voices", summary="The voice library")
    def list_voices() -> dict[str, list[dict[str, Any]]]:
        return {"voices": [_voice(v) for v in library.list_voices()]}

    @app.post(
        "/v1/voices",
        status_code=201,
        summary="Enrol a job's speaker into the library",
        responses=errors(404, 409, 422),
    )
    def enroll(body: EnrollRequest) -> dict[str, Any]:
        speaker = SpeakerRequest(label=body.label, name=body.name)
        return _enroll(
            library, paths_result=paths.result, job=done_or_409(body.job_id), body=speaker
        )

    @app.patch("/v1/voices/{name}", summary="Rename a voice", responses=errors(404, 422))
    def rename_voice(name: str, body: VoiceRename) -> dict[str, Any]:
        try:
            return _voice(library.rename(name, body.name))
        except LookupError:
            raise HTTPException(404, f"no voice {name!r}") from None

    @app.delete(
        "/v1/voices/{name}",
        status_code=204,
        summary="Remove a voice",
        responses=errors(404, 422),
    )
    def remove_voice(name: str) -> Response:
        try:
            library.remove(name)
        except LookupError:
            raise HTTPException(404, f"no voice {name!r}") from None
        return Response(status_code=204)

    @app.get(
        "/v1/events",
        summary="Server-sent events: the job list, each time it changes",
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def events(request: Request) -> StreamingResponse:
        return StreamingResponse(
            _job_events(store, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store"},
        )

    return app


def _check_queue(store: JobStore, settings: ServerSettings, adding: int) -> None:
    if store.count("queued") + adding > settings.max_queued_jobs:
        raise UploadError(
            429, f"the queue is full ({settings.max_queued_jobs} jobs waiting); try again later"
        )


def _queue_upload(
    store: JobStore,
    settings: ServerSettings,
    uploaded: tuple[UploadedFile, ...],
    fields: dict[str, str],
) -> list[Job]:
    options = JobOptions.parse(fields, settings.models)
    probes = []
    for part in uploaded:
        try:
            probes.append(
                probe_media(part.path, max_duration_s=settings.config.decode.max_duration_s)
            )
        except AudioDecodeError as error:
            reason = without_paths(str(error), {part.path: part.filename}, settings.paths.root)
            raise AudioDecodeError(f"{part.filename}: {reason}") from None
    _check_queue(store, settings, len(uploaded))
    new = []
    for part, found in zip(uploaded, probes, strict=True):
        job_id = new_job_id()
        settings.paths.job(job_id).mkdir(parents=True)
        part.path.replace(settings.paths.media(job_id))
        new.append(
            NewJob(
                job_id,
                options,
                part.filename,
                found.media_type,
                part.size_bytes,
                found.duration_s,
            )
        )
    return store.add(new)


def _enroll(
    library: VoiceLibrary,
    *,
    paths_result: Callable[[str], Path],
    job: Job,
    body: SpeakerRequest,
) -> dict[str, Any]:
    transcript = read_result(paths_result(job.id))
    speaker = next((s for s in transcript.speakers if s.label == body.label), None)
    if speaker is None:
        raise HTTPException(404, f"job {job.id} has no speaker {body.label!r}")
    name = body.name.strip() or speaker.display
    voice = library.enroll(transcript, body.label, name)
    rename_speaker(paths_result(job.id), body.label, voice.name)  # the job shows the name too
    return _voice(voice)


async def _job_events(store: JobStore, request: Request) -> AsyncIterator[str]:
    last = ""
    quiet_s = 0.0
    while not await request.is_disconnected():
        jobs = await run_in_threadpool(store.all)
        payload = json.dumps({"jobs": [job.public() for job in jobs]})
        if payload != last:
            last, quiet_s = payload, 0.0
            yield f"event: jobs\ndata: {payload}\n\n"
        elif quiet_s >= _KEEPALIVE_S:
            quiet_s = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(_EVENTS_EVERY_S)
        quiet_s += _EVENTS_EVERY_S


def _speaker(label: str, name: str | None) -> dict[str, Any]:
    return {"label": label, "name": name}


def _voice(voice: Voice) -> dict[str, Any]:
    return {"name": voice.name, "samples": voice.samples, "seconds": voice.seconds}


def _attachment(filename: str) -> str:
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _static(name: str) -> str:
    if name == "favicon.svg":  # the review page's icon (formats/review), shared
        return (files("saywho.formats") / "review" / name).read_text(encoding="utf-8")
    return (files("saywho.server") / "static" / name).read_text(encoding="utf-8")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # A path served by several routes (GET and POST /v1/jobs are two) gets a 405 from the
        # first alone, naming only its own methods: name all of them.
        if error.status_code == 405:
            allow = ", ".join(allowed_methods(app, request.url.path))
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
