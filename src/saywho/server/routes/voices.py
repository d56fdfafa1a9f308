"""The voice library under ``/v1``: enrol a job's speaker, list, rename and remove voices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.exceptions import HTTPException
from pydantic import BaseModel, ConfigDict, Field

from saywho.server.jobs import Job
from saywho.server.routes.jobs import SpeakerRequest
from saywho.server.schema import errors
from saywho.server.service import JobService
from saywho.server.voices import Voice, VoiceLibrary

__all__ = ["router"]


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job_id: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)


class VoiceRename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


def router(service: JobService, library: VoiceLibrary) -> APIRouter:
    """The voice library's routes; the voices come from the results of ``service``'s jobs."""
    voices = APIRouter()

    def enroll_speaker(job: Job, label: str, name: str) -> dict[str, Any]:
        transcript = service.transcript(job)
        speaker = next((s for s in transcript.speakers if s.label == label), None)
        if speaker is None:
            raise HTTPException(404, f"job {job.id} has no speaker {label!r}")
        voice = library.enroll(transcript, label, name.strip() or speaker.display)
        service.rename_speaker(job, label, voice.name)  # the job shows the name too
        return _voice(voice)

    @voices.post(
        "/v1/jobs/{job_id}/enroll",
        status_code=201,
        summary="Remember a speaker's voice",
        responses=errors(404, 409, 422),
    )
    def enroll_from_job(job_id: str, body: SpeakerRequest) -> dict[str, Any]:
        return enroll_speaker(service.done(job_id), body.label, body.name)

    @voices.get("/v1/voices", summary="The voice library")
    def list_voices() -> dict[str, list[dict[str, Any]]]:
        return {"voices": [_voice(v) for v in library.list_voices()]}

    @voices.post(
        "/v1/voices",
        status_code=201,
        summary="Enrol a job's speaker into the library",
        responses=errors(404, 409, 422),
    )
    def enroll(body: EnrollRequest) -> dict[str, Any]:
        return enroll_speaker(service.done(body.job_id), body.label, body.name)

    @voices.patch("/v1/voices/{name}", summary="Rename a voice", responses=errors(404, 422))
    def rename_voice(name: str, body: VoiceRename) -> dict[str, Any]:
        try:
            return _voice(library.rename(name, body.name))
        except LookupError:
            raise HTTPException(404, f"no voice {name!r}") from None

    @voices.delete(
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

    return voices


def _voice(voice: Voice) -> dict[str, Any]:
    return {"name": voice.name, "samples": voice.samples, "seconds": voice.seconds}
