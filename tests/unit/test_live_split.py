"""The live window diarizer splits a local speaker holding two voices, and embeds each run of
the stream once: fake segmentation-3.0 and CAM++ (the real ones run in the live integration
tests and in the live benchmark)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from saywho.diarize.embed import EMBEDDING_DIM
from saywho.diarize.segment import FRAMES_PER_WINDOW, WINDOW_SAMPLES, LocalActivity, frames_clip
from saywho.live.window import RunPrints, WindowDiarizer
from saywho.types import Audio

VOICE_A = ((20, 100), (130, 210))  # frames of the window where voice A talks, pause to pause
VOICE_B = ((240, 320), (350, 430))  # voice B, given the same local speaker by segmentation


class OneLocalSpeaker:
    """Segmentation that hears one local speaker (slot 0) in ``runs``, shifted by ``shift``."""

    def __init__(self, runs: tuple[tuple[int, int], ...], shift: int = 0) -> None:
        self.runs = runs
        self.shift = shift

    def local_activity(self, audio: Audio, step_s: float) -> LocalActivity:
        del audio, step_s
        activity = np.zeros((1, FRAMES_PER_WINDOW, 3), dtype=np.float32)
        for first, last in self.runs:
            activity[0, first - self.shift : last - self.shift, 0] = 1.0
        count = activity.sum(axis=2)
        return LocalActivity(activity, count, np.zeros(1, dtype=np.int64), FRAMES_PER_WINDOW)


class SignEmbedder:
    """A voice print from the sign of the clip's mean: voice A is +, voice B is -."""

    def __init__(self) -> None:
        self.clips = 0

    def embed(self, clips: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        self.clips += len(clips)
        axes = np.eye(EMBEDDING_DIM, dtype=np.float32)
        return np.stack([axes[0] if float(clip.mean()) > 0 else axes[1] for clip in clips])


def two_voices(shift: int = 0) -> npt.NDArray[np.float32]:
    """A window of the stream starting ``shift`` frames after the first one."""
    samples = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    index = np.arange(WINDOW_SAMPLES + 4 * 270)
    for runs, level in ((VOICE_A, 0.5), (VOICE_B, -0.5)):
        for first, last in runs:
            marks = frames_clip(index, first - shift, last - shift)
            samples[marks[(marks >= 0) & (marks < WINDOW_SAMPLES)]] = level
    return samples


def diarizer(shift: int = 0) -> tuple[WindowDiarizer, SignEmbedder]:
    embedder = SignEmbedder()
    segmenter = OneLocalSpeaker((*VOICE_A, *VOICE_B), shift)
    return WindowDiarizer(segmenter, embedder), embedder  # type: ignore[arg-type]


def test_a_local_speaker_holding_two_voices_is_split_into_a_free_slot() -> None:
    windows, _ = diarizer()
    local = windows.local_speakers(two_voices(), 0, RunPrints(threshold=0.8, min_run_s=1.0))
    active = local.activity > 0.5
    assert active[:, 0].sum() == 160 and active[:, 1].sum() == 160
    assert all(active[first:last, 1].all() for first, last in VOICE_B)
    assert local.prints[0, 0] == 1.0 and local.prints[1, 1] == 1.0


def test_without_split_the_two_voices_stay_one_local_speaker() -> None:
    windows, _ = diarizer()
    local = windows.local_speakers(two_voices(), 0)
    assert (local.activity[:, 0] > 0.5).sum() == 320 and not local.activity[:, 1:].any()


def test_each_run_of_the_stream_is_embedded_once() -> None:
    memory = RunPrints(threshold=0.8, min_run_s=1.0)
    first, embedder = diarizer()
    first.local_speakers(two_voices(), 0, memory)
    assert embedder.clips == 4 + 2  # the four runs, then one print per local speaker
    later, embedder = diarizer(shift=10)  # the next window: the same runs, 10 frames earlier
    local = later.local_speakers(two_voices(10), 10, memory)
    assert embedder.clips == 2  # the runs' prints came from memory
    assert (local.activity[:, 1] > 0.5).sum() == 160


def test_the_memory_of_run_prints_forgets_runs_behind_the_window() -> None:
    memory = RunPrints(threshold=0.8, min_run_s=1.0)
    windows, embedder = diarizer()
    starts = range(0, 600 * 80, 600)  # a long stream: the same talk in every window
    for first_frame in starts:
        windows.local_speakers(two_voices(), first_frame, memory)
        assert len(memory) <= RunPrints.KEEP + 4
    assert embedder.clips == len(starts) * (4 + 2)


def test_a_local_speaker_with_enough_clean_speech_also_gets_a_print_of_its_newest_stretch() -> None:
    windows, _ = diarizer()
    local = windows.local_speakers(two_voices(), 0)  # one local speaker: A, A, B, B (5.4 s)
    assert local.tail_prints is not None and local.tail_first is not None
    assert local.tail_first.tolist() == [350, -1, -1]  # its newest run, after a pause: voice B
    assert local.tail_prints[0, 1] == 1.0 and not local.tail_prints[1:].any()


def test_without_a_pause_the_tail_is_the_last_one_and_a_half_seconds() -> None:
    segmenter = OneLocalSpeaker(((20, 430),))  # one run of 6.9 s, A then B without a pause
    windows = WindowDiarizer(segmenter, SignEmbedder())  # type: ignore[arg-type]
    local = windows.local_speakers(two_voices(), 0)
    assert local.tail_first is not None and local.tail_first.tolist() == [341, -1, -1]


def test_a_newest_run_too_short_for_a_print_gives_no_tail() -> None:
    segmenter = OneLocalSpeaker((*VOICE_A, *VOICE_B, (450, 470)))  # then 20 frames (0.34 s)
    windows = WindowDiarizer(segmenter, SignEmbedder())  # type: ignore[arg-type]
    local = windows.local_speakers(two_voices(), 0)
    assert local.tail_first is not None and local.tail_first.tolist() == [-1, -1, -1]


def test_the_stretch_before_a_tail_is_embedded_on_demand() -> None:
    windows, embedder = diarizer()
    local = windows.local_speakers(two_voices(), 0)  # one local speaker: A, A, B, B
    before = windows.print_before(local, 0, 350)  # the run before the tail's, pause to pause
    assert before is not None and embedder.clips == 2 + 1
    assert before[0] == 240 and before[1][1] == 1.0  # frames 240-319: B
    earlier = windows.print_before(local, 0, 240)
    assert earlier is not None and earlier[0] == 130 and earlier[1][0] == 1.0  # 130-209: A
    inside = windows.print_before(local, 0, 200)  # a stretch ends inside a run: 130-199
    assert inside is not None and inside[0] == 130
    assert windows.print_before(local, 0, 40) is None  # 20 frames: less than 0.5 s
    assert windows.print_before(local, 1, 589) is None  # a local speaker who never talks
