"""The messages of /v1/live: what a client may send, and what an engine's update becomes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from saywho.live import Committed, LiveUpdate
from saywho.server.live_protocol import (
    MAX_AUDIO_BYTES,
    MAX_TEXT_CHARS,
    LiveProtocolError,
    Rename,
    Start,
    Stop,
    job_message,
    parse_audio,
    parse_text,
    update_message,
)
from saywho.server.options import JobOptions
from saywho.types import Span, Speaker, Word

MODELS = ("tiny.en", "base")


def test_start_rename_and_stop_are_read() -> None:
    start = parse_text(
        '{"type": "start", "options": {"language": "en", "num_speakers": "2"}}', MODELS
    )
    assert start == Start(JobOptions(language="en", num_speakers=2))
    assert parse_text('{"type": "start"}', MODELS) == Start(JobOptions())
    rename = parse_text('{"type": "rename", "label": "SPEAKER_01", "name": " Ann "}', MODELS)
    assert rename == Rename("SPEAKER_01", "Ann")
    back = parse_text('{"type": "rename", "label": "SPEAKER_01", "name": ""}', MODELS)
    assert back == Rename("SPEAKER_01", None)
    assert parse_text('{"type": "stop"}', MODELS) == Stop()


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("{nope", 1007, "must be JSON"),
        ("[1, 2]", 1007, "a JSON object"),
        ('{"type": "sing"}', 1008, "unknown message type 'sing'"),
        ('{"kind": "stop"}', 1008, "unknown message type None"),
        ('{"type": "stop", "now": true}', 1008, "unknown key 'now'"),
        ('{"type": "start", "options": []}', 1008, "options must be a JSON object"),
        (
            '{"type": "start", "options": {"model": "base"}}',
            1008,
            "does not take the option 'model'",
        ),
        ('{"type": "start", "options": {"max_speakers": 99}}', 1008, "max_speakers must be"),
        ('{"type": "start", "options": {"min_speakers": 3, "max_speakers": 2}}', 1008, "speakers"),
        ('{"type": "rename", "name": "Ann"}', 1008, "the speaker's label"),
        ('{"type": "rename", "label": "SPEAKER_00", "name": 7}', 1008, "at most 100"),
        ('{"type": "rename", "label": "SPEAKER_00", "name": "' + "a" * 101 + '"}', 1008, "100"),
        (json.dumps({"type": "stop", "pad": "x" * MAX_TEXT_CHARS}), 1009, "characters"),
    ],
)
def test_broken_messages_are_named(text: str, code: int, says: str) -> None:
    with pytest.raises(LiveProtocolError) as caught:
        parse_text(text, MODELS)
    assert caught.value.code == code
    assert says in str(caught.value)


def test_audio_is_little_endian_float32() -> None:
    samples = np.array([0.0, 0.5, -1.0, np.nan], dtype="<f4")
    parsed = parse_audio(samples.tobytes())
    assert parsed.dtype == np.float32 and parsed.shape == (4,)
    np.testing.assert_array_equal(parsed[:3], [0.0, 0.5, -1.0])
    assert math.isnan(parsed[3])  # the engine's recording makes it silence
    assert parse_audio(b"").shape == (0,)
    assert parse_audio(b"\0" * MAX_AUDIO_BYTES).shape == (MAX_AUDIO_BYTES // 4,)
    with pytest.raises(LiveProtocolError, match="4 bytes each") as odd:
        parse_audio(b"\0" * 6)
    assert odd.value.code == 1007
    with pytest.raises(LiveProtocolError, match="shorter pieces") as big:
        parse_audio(b"\0" * (MAX_AUDIO_BYTES + 4))
    assert big.value.code == 1009


def test_an_update_becomes_the_message_the_page_reads() -> None:
    said = Word("Hello", Span(1.0, 1.4), 0.9, "SPEAKER_00")
    pending = Word("there", Span(1.5, 1.83333), 0.8)
    update = LiveUpdate(
        committed=(Committed(said, 2.5),),
        tentative=(pending,),
        speakers=(Speaker("SPEAKER_00", "Ann"), Speaker("SPEAKER_01")),
        heard_s=3.01234,
        delay_s=0.51234,
        load=0.41234,
        step_s=1.0,
        notice="busy",
    )
    message = update_message(update)
    assert message == {
        "type": "update",
        "committed": [{"text": "Hello", "start": 1.0, "end": 1.4, "speaker": "SPEAKER_00"}],
        "tentative": [{"text": "there", "start": 1.5, "end": 1.833, "speaker": None}],
        "speakers": [
            {"label": "SPEAKER_00", "name": "Ann"},
            {"label": "SPEAKER_01", "name": None},
        ],
        "heard_s": 3.012,
        "delay_s": 0.512,
        "load": 0.412,
        "notice": "busy",
    }
    json.dumps(message, allow_nan=False)  # what the socket sends is strict JSON
    assert job_message("ab" * 12) == {"type": "job", "id": "ab" * 12, "url": f"/jobs/{'ab' * 12}"}
