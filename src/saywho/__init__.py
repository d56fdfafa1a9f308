"""saywho: who said what, and when, in recorded speech, entirely offline.

    >>> import saywho
    >>> transcript = saywho.transcribe("interview.mp3", model="tiny.en")
    >>> transcript.language, transcript.text

Load the models once and reuse them with :class:`Pipeline`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from saywho.config import PipelineConfig, RecognizeConfig, VadConfig, config_from_options
from saywho.errors import AudioDecodeError, ConfigError, ModelError, OutputError, SaywhoError
from saywho.pipeline import Pipeline, ProgressHook
from saywho.types import Audio, ModelInfo, Span, Speaker, Transcript, Utterance, Word

__all__ = [
    "Audio",
    "AudioDecodeError",
    "ConfigError",
    "ModelError",
    "ModelInfo",
    "OutputError",
    "Pipeline",
    "PipelineConfig",
    "ProgressHook",
    "RecognizeConfig",
    "SaywhoError",
    "Span",
    "Speaker",
    "Transcript",
    "Utterance",
    "VadConfig",
    "Word",
    "__version__",
    "transcribe",
]

try:
    __version__ = version("saywho")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"


def transcribe(path: Path | str, **options: Any) -> Transcript:
    """Transcribe one file with default settings changed by ``options``.

    Options are the fields of :class:`RecognizeConfig` and :class:`VadConfig` (``model``,
    ``language``, ``task``, ``beam_size``, ``initial_prompt``, ``hotwords``, ``threads``,
    ``threshold``, …) and ``vad=False`` to skip voice activity detection. Loads the models on
    every call: use :class:`Pipeline` for many files.
    """
    config = config_from_options(PipelineConfig(), options)
    return Pipeline(config).transcribe(path)
