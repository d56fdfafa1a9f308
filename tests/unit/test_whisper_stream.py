"""A stream's Whisper twin: how many new tokens a capped decoding may ask for, and how much
of faster-whisper's 30 s of features a short buffer has encoded, padded with what."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from saywho.asr.whisper import _FirstWindow, _SecondWindowError, silent_padding, token_cap


def test_a_short_prompt_leaves_the_wanted_tokens_up_to_200() -> None:
    assert token_cap(136, None, None) == 136
    assert token_cap(136, "We met on Thursday.", None) == 136
    assert token_cap(256, "We met on Thursday.", None) == 200


def test_a_long_prompt_and_hotwords_leave_less_room_in_448_tokens() -> None:
    prompt = "x" * 200  # at most 201 tokens with its leading space
    assert token_cap(256, prompt, "Quilter Saywho") == 200  # room for 227
    assert token_cap(256, prompt, "x" * 100) == 448 - 5 - 201 - 101


def test_faster_whisper_keeps_at_most_223_tokens_of_a_prompt() -> None:
    many_bytes = "é" * 400  # 800 bytes: kept to 223 tokens
    assert token_cap(400, "x" * 200, many_bytes) == 448 - 5 - 201 - 223
    assert token_cap(400, many_bytes, many_bytes) == 1  # no room: one token, not an error


class _Encoder:
    """Records the shape of the features each encoding is given."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, features: Any) -> Any:
        self.shapes.append(features.shape)
        return features


_FEATURES = np.zeros((1, 80, 3000), dtype=np.float32)  # faster-whisper's 30 s, padded


@pytest.mark.parametrize(
    ("duration_s", "frames"), [(0.5, 1500), (13.0, 1500), (13.01, 3000), (20.0, 3000)]
)
def test_a_buffer_2_s_shorter_than_the_short_window_is_encoded_in_it(
    duration_s: float, frames: int
) -> None:
    encoder = _Encoder()
    window = _FirstWindow(encoder, short_window_s=15.0)
    window.start(duration_s)
    window(_FEATURES)
    assert encoder.shapes == [(1, 80, frames)]


def test_without_a_short_window_every_buffer_is_encoded_in_30_s() -> None:
    encoder = _Encoder()
    window = _FirstWindow(encoder, short_window_s=None)
    window.start(1.0)
    window(_FEATURES[0])
    assert encoder.shapes == [(80, 3000)]


def test_each_decoding_encodes_one_window_only() -> None:
    encoder = _Encoder()
    window = _FirstWindow(encoder, short_window_s=15.0)
    for duration_s in (4.0, 14.0):  # a new decoding decides its window afresh
        window.start(duration_s)
        window(_FEATURES)
        with pytest.raises(_SecondWindowError):
            window(_FEATURES)
    assert encoder.shapes == [(1, 80, 1500), (1, 80, 3000)]


def test_the_padding_after_the_content_is_silence_2_below_its_peak() -> None:
    features = np.zeros((1, 3, 8), dtype=np.float32)  # faster-whisper's padding: zeros
    features[0, :, :5] = [[0.1, 0.5, 0.2, 0.3, 0.4], [0.9, 1.25, 0.0, -0.2, 0.3], [0.0] * 5]
    padded = silent_padding(features, 5)
    np.testing.assert_array_equal(padded[..., :5], features[..., :5])
    np.testing.assert_allclose(padded[..., 5:], np.full((1, 3, 3), 1.25 - 2.0))
    assert not features[..., 5:].any()  # the caller's features are left as they were


@pytest.mark.parametrize("content_frames", [0, 8, 9])
def test_features_without_padding_are_left_alone(content_frames: int) -> None:
    features = np.arange(16, dtype=np.float32).reshape(2, 8)
    assert silent_padding(features, content_frames) is features


def test_a_first_window_is_encoded_with_silence_after_the_buffer() -> None:
    encoder = _Encoder()
    window = _FirstWindow(encoder, short_window_s=15.0)
    window.start(3.0)  # 300 frames of audio
    features = np.zeros((1, 80, 3000), dtype=np.float32)
    features[..., :300] = 1.5
    encoded = window(features)
    assert encoded.shape == (1, 80, 1500)
    assert (encoded[..., :300] == 1.5).all() and (encoded[..., 300:] == -0.5).all()
