"""saywho: who said what, and when, in recorded speech, entirely offline.

    >>> import saywho
    >>> transcript = saywho.transcribe("examples/interview.wav", model="tiny.en")
    >>> saywho.write(transcript, "srt", "interview.srt")

Load the models once and reuse them with :class:`Pipeline`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from saywho.config import (
    AttributeConfig,
    Device,
    DiarizeConfig,
    PipelineConfig,
    RecognizeConfig,
    Task,
    VadConfig,
    WriteConfig,
    config_from_options,
)
from saywho.errors import AudioDecodeError, ConfigError, ModelError, OutputError, SaywhoError
from saywho.formats import FORMATS
from saywho.outputs import write_file as write
from saywho.pipeline import Pipeline, ProgressHook
from saywho.types import Audio, ModelInfo, Span, Speaker, Transcript, Utterance, Word

__all__ = [
    "FORMATS",
    "AttributeConfig",
    "Audio",
    "AudioDecodeError",
    "ConfigError",
    "DiarizeConfig",
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
    "WriteConfig",
    "__version__",
    "transcribe",
    "write",
]

try:
    __version__ = version("saywho")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"


def transcribe(
    path: Path | str,
    config: PipelineConfig | None = None,
    *,
    model: str | None = None,
    language: str | None = None,
    task: Task | None = None,
    beam_size: int | None = None,
    initial_prompt: str | None = None,
    device: Device | None = None,
    vad: bool | None = None,
    diarize: bool | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    progress: ProgressHook | None = None,
) -> Transcript:
    """Transcribe one file, with speakers.

    ``config`` (default: :class:`PipelineConfig`) holds every setting, one frozen config per
    stage; the keywords are shortcuts for the most used of them (the fields of the same
    name; ``vad`` and ``diarize`` switch those stages off with ``False``), applied on top.
    ``progress`` is called as ``progress(stage, done_s, total_s)``. Loads the models on
    every call: use :class:`Pipeline` for many files. Raises :class:`SaywhoError`
    subclasses (:class:`AudioDecodeError`, :class:`ConfigError`, :class:`ModelError`).
    """
    shortcuts = {
        "model": model,
        "language": language,
        "task": task,
        "beam_size": beam_size,
        "initial_prompt": initial_prompt,
        "device": device,
        "vad": vad,
        "diarize": diarize,
        "num_speakers": num_speakers,
        "min_speakers": min_speakers,
        "max_speakers": max_speakers,
    }
    chosen = config_from_options(config if config is not None else PipelineConfig(), shortcuts)
    return Pipeline(chosen).transcribe(path, progress=progress)
