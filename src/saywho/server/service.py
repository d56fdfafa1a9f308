"""The jobs behind the API, for the routers: lookups that answer 404 or 409, queueing an
upload, re-runs, deletion and results. The HTTP details (bodies, headers, streams) stay in
the routers (:mod:`saywho.server.routes`)."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

from fastapi.exceptions import HTTPException

from saywho.audio.probe import probe_media
from saywho.errors import AudioDecodeError
from saywho.server.jobs import JOB_ID, Job, JobStore, NewJob, new_job_id
from saywho.server.options import JobOptions
from saywho.server.results import read_result, rename_speaker, write_result
from saywho.server.security import without_paths
from saywho.server.settings import ServerSettings
from saywho.server.uploads import Upload, UploadError
from saywho.server.worker import WorkerPool
from saywho.types import Transcript

__all__ = ["JobService"]


@dataclass(frozen=True, slots=True)
class JobService:
    """The job store and the worker pool of a server with ``settings``."""

    store: JobStore
    pool: WorkerPool
    settings: ServerSettings

    def start(self) -> None:
        """Recover the jobs a dead process left running, then start the workers."""
        self.store.recover()
        shutil.rmtree(self.settings.paths.uploads, ignore_errors=True)  # cut off by the last stop
        self.pool.start()

    def stop(self) -> None:
        """Stop the workers (a running job goes back to the queue)."""
        self.pool.stop()

    def all(self) -> list[Job]:
        """Every job, oldest first."""
        return self.store.all()

    def get(self, job_id: str) -> Job:
        """The job ``job_id``; 404 if there is none."""
        job = self.store.get(job_id) if JOB_ID.match(job_id) else None
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job

    def done(self, job_id: str) -> Job:
        """The job ``job_id``, which has a result; 404 if there is none, 409 if not done."""
        job = self.get(job_id)
        if job.status != "done":
            raise HTTPException(409, f"job {job_id} has no result: it is {job.status}")
        return job

    def transcript(self, job: Job) -> Transcript:
        """The result of a done job."""
        return read_result(self.settings.paths.result(job.id))

    def rename_speaker(self, job: Job, label: str, name: str | None) -> Transcript:
        """Name speaker ``label`` of a done job (``None``: back to its label); the result
        is kept. Raises :class:`UnknownSpeakerError` if the job has no such speaker."""
        return rename_speaker(self.settings.paths.result(job.id), label, name)

    def media(self, job: Job) -> Path:
        """The job's uploaded media; 404 if it is gone."""
        path = self.settings.paths.media(job.id)
        if not path.exists():
            raise HTTPException(404, "the job's media is gone")
        return path

    def check_room(self, adding: int) -> None:
        """Refuse (429) ``adding`` more jobs when the queue would be over its limit."""
        limit = self.settings.max_queued_jobs
        if self.store.count("queued") + adding > limit:
            raise UploadError(429, f"the queue is full ({limit} jobs waiting); try again later")

    def queue(self, upload: Upload) -> list[Job]:
        """One queued job for each file of ``upload``, with the options of its form fields;
        the files move into the jobs' folders (or are deleted, if the upload is refused)."""
        try:
            jobs = self._queue(upload)
        finally:
            for part in upload.files:
                part.path.unlink(missing_ok=True)
        self.pool.notify()
        return jobs

    def _queue(self, upload: Upload) -> list[Job]:
        settings = self.settings
        options = JobOptions.parse(upload.fields, settings.models)
        probes = []
        for part in upload.files:
            try:
                probes.append(
                    probe_media(part.path, max_duration_s=settings.config.decode.max_duration_s)
                )
            except AudioDecodeError as error:
                reason = without_paths(str(error), {part.path: part.filename}, settings.paths.root)
                raise AudioDecodeError(f"{part.filename}: {reason}") from None
        self.check_room(len(upload.files))
        new = []
        for part, found in zip(upload.files, probes, strict=True):
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
        return self.store.add(new)

    def add_finished(
        self, media: Path, filename: str, transcript: Transcript, options: JobOptions
    ) -> Job:
        """A done job from a transcript made elsewhere (a live session) and its ``media``
        (a WAV file, moved into the job's folder). The media and the result are in place
        before the job appears, so a done job always has both."""
        job_id = new_job_id()
        folder = self.settings.paths.job(job_id)
        folder.mkdir(parents=True)
        try:
            size_bytes = media.stat().st_size
            media.replace(self.settings.paths.media(job_id))
            transcript = dataclasses.replace(transcript, source=filename)
            speakers = write_result(self.settings.paths.result(job_id), transcript)
            new = NewJob(job_id, options, filename, "audio/wav", size_bytes)
            return self.store.add_done(new, transcript.duration_s, speakers)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def rerun(self, job: Job, options: JobOptions) -> Job:
        """Queue ``job`` again with ``options``; 404 if it was deleted meanwhile."""
        self.settings.paths.result(job.id).unlink(missing_ok=True)
        requeued = self.store.requeue(job.id, options)
        if requeued is None:
            raise HTTPException(404, f"no job {job.id!r}")
        self.pool.notify()
        return requeued

    def delete(self, job_id: str) -> None:
        """Delete job ``job_id`` and its files; 404 if there is no such job."""
        job = self.get(job_id)
        self.store.delete(job.id)
        shutil.rmtree(self.settings.paths.job(job.id), ignore_errors=True)
