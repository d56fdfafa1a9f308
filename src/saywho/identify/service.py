"""The voice library as every door uses it: one service for the CLI, batch and the server.

* :func:`library_identification` reads a library into an :class:`Identification`, the
  snapshot the pipeline's identify stage matches speakers against.
* :class:`LibraryVoices` reads the library afresh for each file (the server: a voice enrolled
  while it runs names the next job's speakers); an :class:`Identification` is itself a fixed
  source of voices (the CLI and batch read the library once, before the work).
* :class:`Naming` is what ``transcribe`` does to a batch of speakers beyond the pipeline:
  link the same person across files, and learn recurring strangers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saywho import models
from saywho.config import EMBEDDING_MODEL
from saywho.errors import ConfigError
from saywho.identify.match import DEFAULT_THRESHOLD
from saywho.identify.naming import (
    Identification,
    embedding_model_sha256,
    link_speakers,
    speech_seconds,
    with_names,
)
from saywho.identify.store import VoiceLibrary
from saywho.types import Transcript

__all__ = ["LibraryVoices", "Naming", "library_identification"]

_log = logging.getLogger(__name__)


def library_identification(path: Path, threshold: float) -> Identification | None:
    """The voices of the library at ``path`` made by this install's embedding model, ready to
    match at ``threshold``; ``None`` when it holds none. Reading never creates a library:
    a missing or damaged one is a :class:`~saywho.errors.VoiceLibraryError`."""
    sha256 = models.spec(EMBEDDING_MODEL).sha256
    with VoiceLibrary(path) as library:
        prints = library.prints(sha256)
    return Identification(prints, threshold, sha256) if prints else None


@dataclass(frozen=True, slots=True)
class LibraryVoices:
    """The library at ``path``, read again each time the pipeline asks for its voices;
    no library there yet means no names."""

    path: Path
    threshold: float = DEFAULT_THRESHOLD

    def identification(self) -> Identification | None:
        """The library's voices as they are now."""
        if not self.path.exists():
            return None
        return library_identification(self.path, self.threshold)


@dataclass(frozen=True, slots=True)
class Naming:
    """Speakers' names for a batch of files: the library read once (``identification``, for
    the pipeline), then linking across files and learning, after the pipeline."""

    path: Path
    identification: Identification | None
    threshold: float
    link: bool
    learn: bool

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        identify: bool | None,
        threshold: float = DEFAULT_THRESHOLD,
        link: bool = False,
        learn: bool = False,
        chosen: bool = False,
    ) -> Naming:
        """Read the library at ``path`` once for the whole batch.

        ``identify``: ``None`` names speakers when the library exists, ``True`` requires
        it (unless ``learn`` will make it), ``False`` leaves speakers unnamed. ``chosen``
        says the user named ``path``: a missing library there gets a warning.
        """
        if not -1.0 <= threshold <= 1.0:
            raise ConfigError(f"--identify-threshold must be in [-1, 1], got {threshold}")
        if learn and not link:
            raise ConfigError("--learn needs --link-speakers")
        identification = None
        # --identify with no library is an error (--learn makes one)
        if identify is not False and (path.exists() or (identify is True and not learn)):
            identification = library_identification(path, threshold)
        elif chosen and identify is None and not learn:
            _log.warning("warning: %s: no voice library there yet; speakers keep labels", path)
        return cls(path, identification, threshold, link, learn)

    def batch(self, transcripts: Sequence[Transcript]) -> tuple[tuple[Transcript, ...], list[str]]:
        """Link labels across the batch (and learn recurring strangers); returns the new
        transcripts and messages for the user."""
        if not self.link or not transcripts:
            return tuple(transcripts), []
        linked, seen = link_speakers(transcripts, self.threshold)
        if not self.learn:
            return linked, []
        return self._learn(linked, seen)

    def _learn(
        self,
        linked: tuple[Transcript, ...],
        seen: tuple[tuple[str, tuple[int, ...]], ...],
    ) -> tuple[tuple[Transcript, ...], list[str]]:
        result, notes = list(linked), []
        with VoiceLibrary(self.path, create=True) as library:
            taken = set(library.names())
            number = 1
            for label, files in seen:
                speakers = [(i, s) for i in files for s in linked[i].speakers if s.label == label]
                unnamed = all(s.name is None and s.centroid is not None for _, s in speakers)
                if len(files) < 2 or not unnamed:
                    continue
                while f"unknown-{number}" in taken:
                    number += 1
                name = f"unknown-{number}"
                taken.add(name)
                for i, speaker in speakers:
                    sha256 = embedding_model_sha256(linked[i])
                    if sha256 is None or speaker.centroid is None:
                        continue
                    library.add(
                        name,
                        np.array(speaker.centroid, dtype=np.float32),
                        speech_seconds(linked[i], label),
                        sha256,
                        source=f"{linked[i].source}#{label}",
                    )
                    result[i] = with_names(result[i], {label: name})
                notes.append(
                    f"learned {name} ({label}, heard in {len(files)} files): "
                    f"saywho voices rename {name} NAME"
                )
        return tuple(result), notes
