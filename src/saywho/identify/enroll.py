"""Enrolment: a voice print from an audio file, or from a speaker of a finished transcript.

From audio, the diarizer runs on the file (segmentation-3.0 finds the speech, CAM++ embeds
it, clustering separates voices), so an enrolment print is made exactly the way the speaker
centroids it will be compared with are made. The person who talks most is enrolled; too little
speech is refused with the amount needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from saywho import models
from saywho.config import EMBEDDING_MODEL, DiarizeConfig
from saywho.diarize.diarizer import Diarizer
from saywho.errors import VoiceLibraryError
from saywho.identify.naming import embedding_model_sha256, speech_seconds
from saywho.identify.store import AddOutcome, VoiceLibrary
from saywho.types import Audio, Span, Transcript

__all__ = ["MIN_ENROLL_SPEECH_S", "Enroller", "Enrolment", "enroll_from_transcript"]

MIN_ENROLL_SPEECH_S = 3.0
"""Seconds of one person's speech an enrolment needs (CAM++ prints from less are unsteady)."""


@dataclass(frozen=True, slots=True, eq=False)
class Enrolment:
    """A print made from audio: embedding (dim,), the speech behind it, the other voices heard.

    ``other_speakers_s`` holds the seconds of each other voice the diarizer found in the file
    (the enrolled one is the voice that talks most).
    """

    embedding: npt.NDArray[np.float32]
    seconds: float
    model_sha256: str
    other_speakers_s: tuple[float, ...]


class Enroller:
    """Loads the diarization models once; :meth:`enroll` makes prints from audio."""

    def __init__(self, min_speech_s: float = MIN_ENROLL_SPEECH_S, threads: int = 0) -> None:
        self.min_speech_s = min_speech_s
        self._diarizer = Diarizer(DiarizeConfig(), threads=threads)
        self.model_sha256 = models.spec(EMBEDDING_MODEL).sha256

    def enroll(self, audio: Audio, *, span: Span | None = None, source: str = "") -> Enrolment:
        """The print of the main voice in ``audio`` (or in ``span`` of it)."""
        if span is not None:
            if span.start >= audio.duration_s:
                raise VoiceLibraryError(
                    f"{source}: --span starts at {span.start:g} s, after the end "
                    f"({audio.duration_s:.1f} s)"
                )
            audio = Audio(audio.slice(span).copy(), audio.sample_rate)
        diarization = self._diarizer.diarize(audio)
        seconds = {
            label: sum(t.span.duration for t in diarization.exclusive_turns if t.label == label)
            for label in diarization.centroids
        }
        main = max(seconds, key=lambda label: seconds[label], default=None)
        found_s = seconds[main] if main is not None else 0.0
        if main is None or found_s < self.min_speech_s:
            raise VoiceLibraryError(
                f"{source or 'the audio'}: {found_s:.1f} s of speech found; enrolling needs at "
                f"least {self.min_speech_s:g} s of one person speaking (better 10 s or more)"
            )
        return Enrolment(
            embedding=np.asarray(diarization.centroids[main], dtype=np.float32),
            seconds=found_s,
            model_sha256=self.model_sha256,
            other_speakers_s=tuple(s for label, s in sorted(seconds.items()) if label != main),
        )


def enroll_from_transcript(
    library: VoiceLibrary,
    transcript: Transcript,
    label: str,
    name: str,
    *,
    replace: bool = False,
    min_speech_s: float = MIN_ENROLL_SPEECH_S,
) -> AddOutcome:
    """Enrol speaker ``label`` of ``transcript`` as ``name`` (from its stored centroid).

    The same function serves the command line, the review page and the server.
    """
    speaker = next((s for s in transcript.speakers if s.label == label), None)
    if speaker is None:
        labels = ", ".join(s.label for s in transcript.speakers) or "none"
        raise VoiceLibraryError(f"{transcript.source}: no speaker {label!r}; speakers: {labels}")
    if speaker.centroid is None:
        raise VoiceLibraryError(
            f"{transcript.source}: speaker {label} has no voice embedding (the result predates "
            "voice embeddings or was made without diarization); transcribe it again"
        )
    sha256 = embedding_model_sha256(transcript)
    if sha256 is None:
        raise VoiceLibraryError(
            f"{transcript.source}: the result does not say which embedding model made it"
        )
    seconds = speech_seconds(transcript, label)
    if seconds < min_speech_s:
        raise VoiceLibraryError(
            f"{transcript.source}: {label} speaks for {seconds:.1f} s; enrolling needs at least "
            f"{min_speech_s:g} s of speech"
        )
    return library.add(
        name,
        np.array(speaker.centroid, dtype=np.float32),
        seconds,
        sha256,
        source=f"{transcript.source}#{label}",
        replace=replace,
    )
