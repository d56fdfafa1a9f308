"""How many new tokens a capped Whisper decoding may ask for."""

from __future__ import annotations

from saywho.asr.whisper import token_cap


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
