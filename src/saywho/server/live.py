"""Live sessions in the server: the models, one session at a time, and the session's thread.

:class:`LiveRoom` loads the live models at the first session (the server's pipeline config
with the session's options) and keeps them; it holds one session at a time. A
:class:`LiveSession` steps its engine on a thread of its own (a step takes about a second,
never on the event loop) and reports what it has to say through ``emit``, which the
WebSocket's sender reads; the receiver feeds it audio from the event loop. When the stream
stops the session runs the engine's final pass and stores the result as an ordinary done
job, with the recording as its media.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from saywho.config import LiveConfig, PipelineConfig
from saywho.errors import ConfigError, SaywhoError
from saywho.live import LiveEngine, open_engine
from saywho.live.session import LIVE_MODEL, LiveModels, with_live_model
from saywho.server.jobs import Job
from saywho.server.live_protocol import INTERNAL, job_message, update_message
from saywho.server.options import JobOptions
from saywho.server.security import without_paths
from saywho.server.service import JobService
from saywho.server.voices import VoiceLibrary
from saywho.types import SAMPLE_RATE, Transcript

__all__ = ["Claim", "End", "LiveRoom", "LiveSession"]

log = logging.getLogger(__name__)

_IDLE_WAIT_S = 0.05  # between checks whether a step is due
_MAX_PENDING_RENAMES = 100


@dataclass(frozen=True, slots=True)
class End:
    """The last thing a session emits: close the connection with ``code`` and ``reason``."""

    code: int = 1000
    reason: str = ""


Emit = Callable[[dict[str, Any] | End], None]
"""Sends a message to the client (thread-safe)."""


class LiveRoom:
    """The live sessions of one server: one at a time, on models loaded once."""

    def __init__(self, service: JobService, voices: VoiceLibrary) -> None:
        self.service = service
        self.voices = voices
        self._busy = threading.Lock()
        self._models: LiveModels | None = None
        self._models_lock = threading.Lock()

    @property
    def max_s(self) -> float:
        """The longest session, in seconds of audio and of wall time (the server's
        ``--max-duration``)."""
        longest = self.service.settings.config.decode.max_duration_s
        return longest if longest is not None else float("inf")

    def claim(self) -> Claim | None:
        """Take the room for a session; None if another session holds it."""
        return Claim(self._busy) if self._busy.acquire(blocking=False) else None

    def open(self, claim: Claim, options: JobOptions, emit: Emit) -> LiveSession:
        """A session with ``options`` under ``claim`` (loads the models the first time:
        seconds); the session frees the room when it ends. Raises :class:`SaywhoError`."""
        settings = self.service.settings
        config = options.config(settings.config)
        if LIVE_MODEL in settings.models:  # the fast model where it serves the language
            config = with_live_model(config)
        models = self._loaded(config)
        uploads = self.service.settings.paths.uploads
        uploads.mkdir(parents=True, exist_ok=True)
        recording = uploads / f"live-{secrets.token_hex(8)}.wav"
        identification = self.voices.voices().identification()
        began = time.monotonic()
        engine = open_engine(
            models,
            LiveConfig(),
            clock=lambda: time.monotonic() - began,
            voices=identification,
            recording=recording,
        )
        return LiveSession(self, claim, engine, recording, options, emit)

    def _loaded(self, config: PipelineConfig) -> LiveModels:
        """The models for ``config``: those kept, with the session's settings (language,
        speaker counts), when it runs the same models; else loaded (and kept instead: one
        set in memory)."""
        with self._models_lock:
            if self._models is not None and self._models.config == config:
                return self._models
            if self._models is not None:
                try:
                    return self._models.with_config(config)
                except ConfigError:  # other models: load them
                    pass
            self._models = None  # free the old set before loading the new one
            self._models = LiveModels(config)
            return self._models


class Claim:
    """The room held for one session: :meth:`release` frees it, once (again: nothing)."""

    def __init__(self, busy: threading.Lock) -> None:
        self._busy = busy
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        """Free the room for the next session (the first call only)."""
        with self._lock:
            if self._held:
                self._held = False
                self._busy.release()


class LiveSession:
    """One live session; :meth:`start` runs it on its own thread until :meth:`stop`."""

    def __init__(
        self,
        room: LiveRoom,
        claim: Claim,
        engine: LiveEngine,
        recording: Path,
        options: JobOptions,
        emit: Emit,
    ) -> None:
        self.room = room
        self.claim = claim
        self.engine = engine
        self.recording = recording
        self.options = options
        self.emit = emit
        self._renames: queue.SimpleQueue[tuple[str, str | None]] = queue.SimpleQueue()
        self._ending = threading.Event()
        self._outcome: Literal["job", "discard"] = "job"
        self._thread = threading.Thread(target=self._run, name="saywho-live", daemon=True)
        self._began = time.monotonic()

    def start(self) -> None:
        """Run the session on its thread."""
        self._thread.start()

    def feed(self, samples: npt.NDArray[np.float32]) -> None:
        """More of the stream (any thread); what goes past the longest session is dropped."""
        if self._ending.is_set():
            return
        left_s = self.room.max_s - self.engine.heard_s
        if math.isfinite(left_s):
            samples = samples[: max(0, math.floor(left_s * SAMPLE_RATE))]
        self.engine.feed(samples)

    def rename(self, label: str, name: str | None) -> None:
        """Name speaker ``label`` (applied between two steps; a flood of renames is cut)."""
        if self._renames.qsize() < _MAX_PENDING_RENAMES:
            self._renames.put((label, name))

    def stop(self) -> None:
        """End the stream: the session finishes and becomes a job."""
        self._ending.set()

    def discard(self) -> None:
        """End the session without a job; its recording is deleted."""
        self._outcome = "discard"
        self._ending.set()

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the session's thread to end."""
        self._thread.join(timeout_s)

    def _run(self) -> None:
        last: list[dict[str, Any] | End] = [End()]
        try:
            self._stream()
            if self._outcome == "discard":
                self._discard()
                return
            job = self._finish()
            if job is not None:
                last.insert(0, job_message(job.id))
        except Exception as error:  # a failure ends this session, never the server
            log.exception("live session failed")
            self._discard()
            message = "internal error"
            if isinstance(error, SaywhoError):  # no path of the server in what the client reads
                paths = self.room.service.settings.paths
                message = without_paths(str(error), {self.recording: "the recording"}, paths.root)
            last = [
                {"type": "error", "message": f"the live session failed: {message}"},
                End(INTERNAL, "the live session failed"),
            ]
        finally:
            self.claim.release()  # before the last word: a client told "job" may start again
            for said in last:
                self.emit(said)

    def _stream(self) -> None:
        """Step whenever a step is due, until the stream stops or reaches its longest."""
        engine = self.engine
        while not self._ending.is_set():
            if self._renamed():
                self.emit(update_message(engine.last_update()))
            longest_s = self.room.max_s
            if max(engine.heard_s, time.monotonic() - self._began) >= longest_s:
                self.emit(_notice(f"the session reached its longest ({longest_s:.0f} s)"))
                self._ending.set()
                break
            if engine.due():
                self.emit(update_message(engine.step()))
            else:
                self._ending.wait(_IDLE_WAIT_S)
        self._renamed()

    def _renamed(self) -> bool:
        """Apply the renames asked for since the last call (of speakers the session has
        met; others are ignored); whether there were any."""
        renamed = False
        known: set[str] | None = None
        while True:
            try:
                label, name = self._renames.get_nowait()
            except queue.Empty:
                return renamed
            if known is None:
                known = {s.label for s in self.engine.last_update().speakers}
            if label in known:
                self.engine.rename(label, name)
                renamed = True

    def _finish(self) -> Job | None:
        """The final pass, stored as a done job (None: nothing was heard, no job)."""
        if self.engine.heard_s <= 0:
            self._discard()
            self.emit({"type": "error", "message": "no audio was received: no job was made"})
            return None
        self.emit({"type": "finishing"})
        before = len(self.engine.committed)
        transcript: Transcript = self.engine.finish()
        last = self.engine.committed[before:]  # the words the end of the stream committed
        self.emit(update_message(dataclasses.replace(self.engine.last_update(), committed=last)))
        filename = time.strftime("live-%Y%m%d-%H%M%S.wav")
        return self.room.service.add_finished(self.recording, filename, transcript, self.options)

    def _discard(self) -> None:
        self.engine.close()
        self.recording.unlink(missing_ok=True)


def _notice(text: str) -> dict[str, Any]:
    return {"type": "notice", "message": text}
