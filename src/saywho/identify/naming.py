"""Names and labels on finished transcripts (pure: transcripts in, new transcripts out).

* :func:`identify` gives diarized speakers the names of enrolled voices (open set);
  :class:`Identification` is the same with its voices and threshold bundled, to send to workers.
* :func:`link_speakers` gives the same person the same label in every transcript of a batch
  (:func:`link_labels` computes the new labels from the speakers alone).
* :func:`relabel` and :func:`with_names` rewrite labels and names everywhere in a transcript.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from saywho.config import EMBEDDING_MODEL
from saywho.errors import VoiceLibraryError
from saywho.identify.match import link, match
from saywho.types import Speaker, Transcript, Turn, Utterance, Word

__all__ = [
    "Identification",
    "VoicePrint",
    "embedding_model_sha256",
    "identify",
    "link_labels",
    "link_speakers",
    "relabel",
    "speech_seconds",
    "with_names",
]


@dataclass(frozen=True, slots=True, eq=False)
class VoicePrint:
    """An enrolled voice ready to match: its name and print, shape (dim,), L2-normalised."""

    name: str
    embedding: npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Identification:
    """Everything :func:`identify` needs, as one picklable value: a snapshot of the library."""

    voices: tuple[VoicePrint, ...]
    threshold: float
    model_sha256: str

    def identification(self) -> Identification:
        """Itself: a fixed set of voices, as the pipeline's identify stage asks for them."""
        return self

    def apply(self, transcript: Transcript) -> Transcript:
        """``transcript`` with its speakers named (see :func:`identify`)."""
        return identify(transcript, self.voices, self.threshold, model_sha256=self.model_sha256)

    def describe(self) -> dict[str, object]:
        """What decides the names, as JSON-ready data: a change here changes the results."""
        prints = hashlib.sha256()
        for voice in sorted(self.voices, key=lambda v: v.name):
            prints.update(json.dumps(voice.name).encode())
            prints.update(np.ascontiguousarray(voice.embedding, dtype="<f4").tobytes())
        return {
            "voices": sorted(v.name for v in self.voices),
            "prints_sha256": prints.hexdigest(),
            "threshold": self.threshold,
            "model_sha256": self.model_sha256,
        }


def embedding_model_sha256(transcript: Transcript) -> str | None:
    """The sha256 of the embedding model that made ``transcript``'s speaker centroids."""
    for model in transcript.models:
        if model.name == EMBEDDING_MODEL:
            return model.sha256
    return None


def identify(
    transcript: Transcript,
    voices: Sequence[VoicePrint],
    threshold: float,
    *,
    model_sha256: str,
) -> Transcript:
    """``transcript`` with each speaker that matches an enrolled voice named after it.

    ``voices`` were made by the model with ``model_sha256``; a transcript made by another
    embedding model is a :class:`VoiceLibraryError` (its centroids are not comparable).
    Names already on the transcript are replaced; confidence is the cosine similarity.
    """
    candidates = [s for s in transcript.speakers if s.centroid is not None]
    if not candidates or not voices:
        return transcript
    made_by = embedding_model_sha256(transcript)
    if made_by != model_sha256:
        raise VoiceLibraryError(
            f"{transcript.source or 'the transcript'}: its speaker embeddings come from model "
            f"{made_by or 'unknown'}, the voice library's from {model_sha256}; "
            "re-enrol the voices with this model or use a library made with it"
        )
    found = match(
        np.array([s.centroid for s in candidates], dtype=np.float32),
        np.stack([v.embedding for v in voices]),
        threshold,
    )
    named = {candidates[m.speaker].label: (voices[m.voice].name, m.score) for m in found}
    speakers = tuple(
        dataclasses.replace(
            s,
            name=named[s.label][0] if s.label in named else None,
            confidence=max(0.0, min(1.0, named[s.label][1])) if s.label in named else None,
        )
        for s in transcript.speakers
    )
    return dataclasses.replace(transcript, speakers=speakers)


def with_names(transcript: Transcript, names: Mapping[str, str]) -> Transcript:
    """``transcript`` with the speakers labelled as the keys of ``names`` given those names."""
    speakers = tuple(
        dataclasses.replace(s, name=names[s.label], confidence=None) if s.label in names else s
        for s in transcript.speakers
    )
    return dataclasses.replace(transcript, speakers=speakers)


def speech_seconds(transcript: Transcript, label: str) -> float:
    """Seconds of diarized speech of ``label`` (overlapped stretches included)."""
    return sum(turn.span.duration for turn in transcript.turns if turn.label == label)


def link_speakers(
    transcripts: Sequence[Transcript], threshold: float
) -> tuple[tuple[Transcript, ...], tuple[tuple[str, tuple[int, ...]], ...]]:
    """Give each person one label across ``transcripts``.

    Speakers with the same name are one person; unnamed speakers are clustered by voice
    (cosine ≥ ``threshold``), never two of one transcript together. Labels are renumbered
    ``SPEAKER_00``… by first appearance over the batch. Returns the relabelled transcripts and,
    for each label, the indices of the transcripts it appears in.
    """
    mappings, seen = link_labels([t.speakers for t in transcripts], threshold)
    relabelled = tuple(relabel(t, m) for t, m in zip(transcripts, mappings, strict=True))
    return relabelled, seen


def link_labels(
    speakers: Sequence[Sequence[Speaker]], threshold: float
) -> tuple[tuple[dict[str, str], ...], tuple[tuple[str, tuple[int, ...]], ...]]:
    """:func:`link_speakers` on the speakers of each transcript alone: for each transcript,
    its old label → new label, and for each new label the transcripts it appears in."""
    rows = [(index, speaker) for index, group in enumerate(speakers) for speaker in group]
    if not rows:
        return tuple({} for _ in speakers), ()
    names = sorted({s.name for _, s in rows if s.name is not None})
    dim = next((len(s.centroid) for _, s in rows if s.centroid is not None), 1)
    embeddings = np.array(
        [s.centroid if s.centroid is not None else np.zeros(dim) for _, s in rows],
        dtype=np.float32,
    )
    # A speaker without a centroid cannot be compared: it stays alone (a group of its own).
    groups = [index if s.centroid is not None else -1 - row for row, (index, s) in enumerate(rows)]
    fixed = [names.index(s.name) if s.name is not None else None for _, s in rows]
    clusters = link(embeddings, groups, threshold, fixed=fixed)
    mappings: list[dict[str, str]] = [{} for _ in speakers]
    seen: dict[str, set[int]] = {}
    for (index, speaker), cluster in zip(rows, clusters, strict=True):
        label = f"SPEAKER_{int(cluster):02d}"
        mappings[index][speaker.label] = label
        seen.setdefault(label, set()).add(index)
    return tuple(mappings), tuple((label, tuple(sorted(files))) for label, files in seen.items())


def relabel(transcript: Transcript, mapping: Mapping[str, str]) -> Transcript:
    """``transcript`` with every speaker label ``old`` replaced by ``mapping[old]`` (all at
    once, so labels may swap); labels missing from ``mapping`` stay."""

    def new(label: str | None) -> str | None:
        return None if label is None else mapping.get(label, label)

    def word(w: Word) -> Word:
        return dataclasses.replace(
            w, speaker=new(w.speaker), overlapping=tuple(mapping.get(o, o) for o in w.overlapping)
        )

    def utterance(u: Utterance) -> Utterance:
        return dataclasses.replace(u, speaker=new(u.speaker), words=tuple(word(w) for w in u.words))

    speakers: list[Speaker] = [
        dataclasses.replace(s, label=mapping.get(s.label, s.label)) for s in transcript.speakers
    ]
    return dataclasses.replace(
        transcript,
        speakers=tuple(sorted(speakers, key=lambda s: s.label)),
        turns=tuple(sorted(Turn(t.span, mapping.get(t.label, t.label)) for t in transcript.turns)),
        utterances=tuple(utterance(u) for u in transcript.utterances),
    )
