"""The jobs API under ``/v1``: what the server offers, uploads (one job a file), the job
list and its live events, a job's status, re-run, deletion, result, media and speakers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from saywho import __version__
from saywho.server.options import JobOptions, RerunRequest
from saywho.server.results import (
    UnknownSpeakerError,
    file_name,
    formats,
    media_type,
    render_result,
)
from saywho.server.schema import errors, upload_schema
from saywho.server.security import token_required
from saywho.server.service import JobService
from saywho.server.uploads import UploadError, receive_upload
from saywho.types import Transcript

__all__ = ["router"]

_EVENTS_EVERY_S = 0.4
_KEEPALIVE_S = 15.0


class SpeakerRequest(BaseModel):
    """A speaker of a job and the name to give it (empty: back to its label)."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=64)
    name: str = Field(max_length=100)


def router(service: JobService) -> APIRouter:
    """The jobs API's routes."""
    jobs = APIRouter()
    settings = service.settings

    @jobs.get("/v1/info", summary="What this server offers")
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

    @jobs.post(
        "/v1/jobs",
        status_code=201,
        summary="Upload one or more media files: one job each",
        openapi_extra=upload_schema(settings.models),
        responses=errors(400, 413, 415, 422, 429),
    )
    async def create_jobs(request: Request) -> dict[str, list[dict[str, Any]]]:
        await run_in_threadpool(service.check_room, 1)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_upload_bytes + 1_000_000:
            raise UploadError(413, "the upload is larger than this server's limit")
        upload = await receive_upload(
            request.stream(),
            request.headers.get("content-type"),
            settings.paths.uploads,
            max_bytes=settings.max_upload_bytes,
            max_files=settings.max_files,
        )
        queued = await run_in_threadpool(service.queue, upload)
        return {"jobs": [job.public() for job in queued]}

    @jobs.get("/v1/jobs", summary="Every job, oldest first")
    def list_jobs() -> dict[str, list[dict[str, Any]]]:
        return {"jobs": [job.public() for job in service.all()]}

    @jobs.get(
        "/v1/jobs/{job_id}",
        summary="A job: status, stage, percent, error",
        responses=errors(404, 422),
    )
    def get_job(job_id: str) -> dict[str, Any]:
        return service.get(job_id).public()

    @jobs.delete(
        "/v1/jobs/{job_id}",
        status_code=204,
        summary="Delete a job and its files",
        responses=errors(404, 422),
    )
    def delete_job(job_id: str) -> Response:
        service.delete(job_id)
        return Response(status_code=204)

    @jobs.post(
        "/v1/jobs/{job_id}/rerun",
        status_code=202,
        summary="Run a job again, new options",
        responses=errors(404, 422),
    )
    def rerun(job_id: str, body: RerunRequest) -> dict[str, Any]:
        job = service.get(job_id)
        options = JobOptions.parse(body.model_dump(), settings.models)
        return service.rerun(job, options).public()

    @jobs.get(
        "/v1/jobs/{job_id}/result",
        summary="The job's transcript in any format of the writer registry",
        responses={200: {"content": {"text/plain": {}}}, **errors(404, 409, 422)},
    )
    def result(
        job_id: str,
        format: Annotated[str, Query(max_length=20, description="json, srt, vtt, txt, …")] = "json",
    ) -> Response:
        job = service.done(job_id)
        if format not in formats():
            raise HTTPException(422, f"unknown format {format!r}; known: {', '.join(formats())}")
        body = render_result(service.transcript(job), format)
        name = file_name(Path(job.filename).stem or "transcript", format)
        return Response(
            body,
            media_type=media_type(format),
            headers={"Content-Disposition": _attachment(name)},
        )

    @jobs.get(
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
        job = service.get(job_id)
        return FileResponse(service.media(job), media_type=job.media_type)

    @jobs.get(
        "/v1/jobs/{job_id}/speakers",
        summary="The job's speakers: label and name",
        responses=errors(404, 409, 422),
    )
    def speakers(job_id: str) -> dict[str, list[dict[str, Any]]]:
        return _speakers(service.transcript(service.done(job_id)))

    @jobs.post(
        "/v1/jobs/{job_id}/rename",
        summary="Name a speaker of this job (kept on the server)",
        responses=errors(404, 409, 422),
    )
    def rename(job_id: str, body: SpeakerRequest) -> dict[str, list[dict[str, Any]]]:
        job = service.done(job_id)
        try:
            transcript = service.rename_speaker(job, body.label, body.name.strip() or None)
        except UnknownSpeakerError:
            raise HTTPException(404, f"job {job_id} has no speaker {body.label!r}") from None
        return _speakers(transcript)

    @jobs.get(
        "/v1/events",
        summary="Server-sent events: the job list, each time it changes",
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def events(request: Request) -> StreamingResponse:
        return StreamingResponse(
            _job_events(service, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store"},
        )

    return jobs


async def _job_events(service: JobService, request: Request) -> AsyncIterator[str]:
    last = ""
    quiet_s = 0.0
    while not await request.is_disconnected():
        jobs = await run_in_threadpool(service.all)
        payload = json.dumps({"jobs": [job.public() for job in jobs]})
        if payload != last:
            last, quiet_s = payload, 0.0
            yield f"event: jobs\ndata: {payload}\n\n"
        elif quiet_s >= _KEEPALIVE_S:
            quiet_s = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(_EVENTS_EVERY_S)
        quiet_s += _EVENTS_EVERY_S


def _speakers(transcript: Transcript) -> dict[str, list[dict[str, Any]]]:
    return {"speakers": [{"label": s.label, "name": s.name} for s in transcript.speakers]}


def _attachment(filename: str) -> str:
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
