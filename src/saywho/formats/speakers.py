"""Who to show: the display name of a speaker label, ``UNKNOWN`` where diarization found none.

Pure: no I/O. Every writer asks :func:`shown_speaker` so that all formats agree.
"""

from __future__ import annotations

from saywho.types import Transcript

__all__ = ["UNKNOWN", "has_speakers", "shown_speaker", "speaker_labels"]

UNKNOWN = "UNKNOWN"
"""Shown for a word or utterance without a speaker in a transcript that has speakers."""


def has_speakers(transcript: Transcript) -> bool:
    """Whether speakers were looked for: there are speakers, turns, or attributed words."""
    return bool(
        transcript.speakers
        or transcript.turns
        or any(u.speaker is not None for u in transcript.utterances)
        or any(w.speaker is not None for w in transcript.words)
    )


def shown_speaker(transcript: Transcript, label: str | None) -> str | None:
    """The name to write for ``label``.

    The enrolled name if any, else the label; ``UNKNOWN`` for ``None`` when the transcript
    has speakers; ``None`` (write no speaker at all) when it has none.
    """
    if label is not None:
        return transcript.speaker_display(label)
    return UNKNOWN if has_speakers(transcript) else None


def speaker_labels(transcript: Transcript) -> tuple[str, ...]:
    """Every speaker label of ``transcript``, in order of first appearance.

    Listed speakers first, then labels that only turns, utterances or words carry.
    """
    labels: dict[str, None] = {}
    for speaker in transcript.speakers:
        labels.setdefault(speaker.label)
    for turn in transcript.turns:
        labels.setdefault(turn.label)
    for utterance in transcript.utterances:
        if utterance.speaker is not None:
            labels.setdefault(utterance.speaker)
        for word in utterance.words:
            if word.speaker is not None:
                labels.setdefault(word.speaker)
    return tuple(labels)
