"""The public API: what ``saywho`` exports, typed ``transcribe`` shortcuts, ``saywho.write``."""

from __future__ import annotations

import inspect
from pathlib import Path

import pysubs2
import pytest

import saywho
from saywho.config import PipelineConfig, config_from_options
from saywho.formats import write_binary
from saywho.types import Span, Transcript, Utterance, Word


def test_all_is_pinned() -> None:
    assert sorted(saywho.__all__) == sorted(
        [
            *("FORMATS", "AttributeConfig", "Audio", "AudioDecodeError", "ConfigError"),
            *("DiarizeConfig", "ModelError", "ModelInfo", "OutputError", "Pipeline"),
            *("PipelineConfig", "ProgressHook", "RecognizeConfig", "SaywhoError", "Span"),
            *("Speaker", "Transcript", "Utterance", "VadConfig", "Word", "WriteConfig"),
            *("__version__", "transcribe", "write"),
        ]
    )
    for name in saywho.__all__:
        assert getattr(saywho, name) is not None


def test_transcribe_shortcuts_are_config_options_with_types() -> None:
    """Each keyword is a field (or stage switch) of the config: one home per option."""
    parameters = inspect.signature(saywho.transcribe).parameters
    shortcuts = [n for n in parameters if n not in ("path", "config", "progress")]
    assert len(shortcuts) >= 10
    for name in shortcuts:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].annotation != "Any"
        assert parameters[name].default is None
        config_from_options(PipelineConfig(), {name: _example(name)})  # a known option


def _example(name: str) -> object:
    values: dict[str, object] = {
        "model": "tiny.en",
        "language": "en",
        "task": "translate",
        "initial_prompt": "Hello.",
        "device": "cpu",
        "vad": False,
        "diarize": False,
    }
    return values.get(name, 2)


def _transcript() -> Transcript:
    tokens = ("Good", "morning", "and", "thank", "you", "for", "coming", "in", "today.")
    words = tuple(
        Word(text, Span(0.5 + i * 0.5, 0.9 + i * 0.5), 0.9, "SPEAKER_00", 0.8)
        for i, text in enumerate(tokens)
    )
    utterance = Utterance(
        Span(0.5, words[-1].span.end if words[-1].span else 5.0),
        " ".join(w.text for w in words),
        words,
        "SPEAKER_00",
    )
    return Transcript("talk.wav", 6.0, "en", 0.99, (utterance,), PipelineConfig())


def test_write_makes_the_file_the_stream_writer_makes(tmp_path: Path) -> None:
    transcript = _transcript()
    narrow = saywho.WriteConfig(max_line_width=20, speaker_labels="never")
    path = saywho.write(transcript, "srt", tmp_path / "sub" / "talk.srt", options=narrow)
    assert path == tmp_path / "sub" / "talk.srt"
    with (tmp_path / "expected.srt").open("wb") as stream:
        write_binary(transcript, "srt", stream, options=narrow)
    assert path.read_bytes() == (tmp_path / "expected.srt").read_bytes()
    events = pysubs2.load(str(path)).events
    assert events and all(len(line) <= 20 for e in events for line in e.plaintext.splitlines())
    docx = saywho.write(transcript, "docx", str(tmp_path / "talk.docx"))
    assert docx.read_bytes().startswith(b"PK")


def test_write_refuses_an_unknown_format_before_writing(tmp_path: Path) -> None:
    with pytest.raises(saywho.OutputError, match="unknown output format 'pdf'"):
        saywho.write(_transcript(), "pdf", tmp_path / "talk.pdf")
    assert not list(tmp_path.iterdir())


def test_write_to_a_folder_that_cannot_exist_is_an_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(saywho.OutputError, match="cannot write"):
        saywho.write(_transcript(), "txt", blocker / "talk.txt")
