"""One bar per file: stages weighted into one share that never goes back; human durations."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from saywho.config import DiarizeConfig, PipelineConfig, RecognizeConfig, VadConfig
from saywho.progress import (
    STAGE_WEIGHTS,
    FileProgress,
    expected_stages,
    format_duration,
    progress_bar,
)

ALL = ("decode", "detect", "recognize", "segment", "embed", "write")


def test_expected_stages_follow_the_config() -> None:
    assert expected_stages(PipelineConfig()) == ALL
    no_diarize = PipelineConfig(diarize=DiarizeConfig(enabled=False))
    assert expected_stages(no_diarize) == ("decode", "detect", "recognize", "write")
    no_vad = PipelineConfig(vad=VadConfig(enabled=False))
    assert "detect" not in expected_stages(no_vad)
    speakers_only = PipelineConfig(recognize=RecognizeConfig(enabled=False))
    assert expected_stages(speakers_only) == ("decode", "segment", "embed", "write")


def test_a_stage_is_weighted_by_its_share_of_the_work() -> None:
    total = sum(STAGE_WEIGHTS[s] for s in ALL)
    start = FileProgress(ALL).advance("decode", 10.0, 10.0)
    assert start.fraction == pytest.approx(STAGE_WEIGHTS["decode"] / total)
    half = start.advance("detect", 1.0, 1.0).advance("recognize", 50.0, 100.0)
    expected = STAGE_WEIGHTS["decode"] + STAGE_WEIGHTS["detect"] + STAGE_WEIGHTS["recognize"] / 2
    assert half.fraction == pytest.approx(expected / total)
    assert half.label == "recognizing"


def test_done_leaves_only_the_writing_and_write_ends_at_one() -> None:
    done = FileProgress(ALL).advance("decode", 0.0, 5.0).advance("done", 5.0, 5.0)
    assert done.fraction == pytest.approx(1 - STAGE_WEIGHTS["write"] / sum(STAGE_WEIGHTS.values()))
    assert done.advance("write", 1.0, 1.0).fraction == pytest.approx(1.0)


def test_stages_in_another_order_and_unknown_stages() -> None:
    """per-turn diarizes first; an unknown stage is named but weighs nothing."""
    first = FileProgress(ALL).advance("segment", 10.0, 10.0).advance("embed", 10.0, 10.0)
    assert first.advance("recognize", 0.0, 10.0).fraction == pytest.approx(
        (STAGE_WEIGHTS["segment"] + STAGE_WEIGHTS["embed"]) / sum(STAGE_WEIGHTS.values())
    )
    odd = first.advance("thinking", 3.0, 10.0)
    assert odd.fraction == first.fraction
    assert odd.label == "thinking"


@given(
    st.lists(
        st.tuples(
            st.sampled_from((*ALL, "done", "other")),
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        max_size=40,
    )
)
def test_the_share_only_moves_forward_and_stays_in_zero_one(
    reports: list[tuple[str, float, float]],
) -> None:
    now = FileProgress(ALL)
    for stage, done_s, total_s in reports:
        later = now.advance(stage, done_s, total_s)
        assert now.fraction <= later.fraction <= 1.0
        now = later


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0.0 s"),
        (3.44, "3.4 s"),
        (7.4, "7.4 s"),
        (12.4, "12 s"),
        (59.6, "1 min 00 s"),
        (65.0, "1 min 05 s"),
        (3599.0, "59 min 59 s"),
        (3600.0, "1 h 00 min"),
        (3720.0, "1 h 02 min"),
        (3 * 3600 + 59 * 60 + 50, "4 h 00 min"),
        (float("nan"), "n/a"),
        (-1.0, "n/a"),
    ],
)
def test_durations_in_human_units(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_the_bar_names_the_stage_beside_the_eta() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False)
    with progress_bar(console) as bar:
        bar.add_task("a.wav", total=1.0, completed=0.5, stage="recognizing")
        bar.add_task("worker", total=None)  # a task without a stage shows none
    line = next(line for line in out.getvalue().splitlines() if "a.wav" in line)
    assert "50%" in line
    assert line.rstrip().endswith("recognizing")
    assert line.index("eta") < line.index("recognizing")


def test_stages_side_by_side_each_count_and_both_are_named() -> None:
    """Diarization runs while Whisper recognizes: their reports interleave."""
    total = sum(STAGE_WEIGHTS[s] for s in ALL)
    now = FileProgress(ALL).advance("decode", 1.0, 1.0).advance("detect", 1.0, 1.0)
    now = now.advance("recognize", 20.0, 100.0).advance("segment", 100.0, 100.0)
    now = now.advance("embed", 50.0, 100.0).advance("recognize", 40.0, 100.0)
    expected = (
        STAGE_WEIGHTS["decode"]
        + STAGE_WEIGHTS["detect"]
        + STAGE_WEIGHTS["recognize"] * 0.4
        + STAGE_WEIGHTS["segment"]
        + STAGE_WEIGHTS["embed"] * 0.5
    )
    assert now.fraction == pytest.approx(expected / total)
    assert now.label == "recognizing + diarizing"
    finished = now.advance("embed", 100.0, 100.0)
    assert finished.label == "recognizing"
    assert finished.advance("recognize", 100.0, 100.0).label == "recognizing"
