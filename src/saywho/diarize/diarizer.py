"""The diarization stage: segment ─► embed ─► cluster ─► reconstruct.

local speakers per 10 s window (segmentation-3.0, windows ``window_step_s`` apart)
  ─► a CAM++ voice print per local speaker (from the frames where it talks alone)
  ─► global clustering of the reliable prints (unknown count, or the caller's hints)
  ─► every local speaker matched to a cluster, one-to-one per window
  ─► frame-level activity averaged over windows ─► turns (overlap kept) + exclusive turns
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from saywho import models
from saywho.config import EMBEDDING_MODEL, SEGMENTATION_MODEL, DiarizeConfig
from saywho.device import Resolved
from saywho.diarize.calibrate import calibrated_threshold, same_speaker_pairs
from saywho.diarize.cluster import assign_to_centroids, closer_elsewhere, cluster_embeddings
from saywho.diarize.embed import MIN_SAMPLES, Embedder
from saywho.diarize.reconstruct import (
    FrameActivity,
    exclusive,
    frame_activity,
    move_runs,
    said_over,
    short_runs,
    to_turns,
)
from saywho.diarize.requests import EmbeddingRequest, embedding_requests, frames_to_samples
from saywho.diarize.segment import (
    FRAME_STEP_SAMPLES,
    FRAMES_PER_WINDOW,
    GRID,
    RECEPTIVE_FIELD_SAMPLES,
    WINDOW_SAMPLES,
    LocalActivity,
    Segmenter,
    frames_clip,
)
from saywho.diarize.split import apply_splits, run_candidates, second_voices
from saywho.types import SAMPLE_RATE, Audio, Diarization, ModelInfo, StageHook

__all__ = ["Diarizer", "diarization_models"]

MAX_EMBEDDING_S = 4.0
RECHECK_MAX_S = 2.0
SPLIT_RUN_MAX_S = 1.5  # each run is embedded from its middle 1.5 s, to bound the cost
SPLIT_TOLERANCE_S = 0.25  # runs of two windows this close at both ends share one print
_PROGRESS_EVERY = 16  # prints between progress reports


def diarization_models() -> tuple[ModelInfo, ...]:
    """The two speaker models (segmentation-3.0, CAM++), with their sha256."""
    return tuple(
        ModelInfo(name, "diarize", models.spec(name).sha256)
        for name in (SEGMENTATION_MODEL, EMBEDDING_MODEL)
    )


class Diarizer:
    """Loads the two speaker models once; :meth:`diarize` answers who spoke when."""

    def __init__(
        self,
        config: DiarizeConfig,
        threads: int = 0,
        device: Resolved = "cpu",
        *,
        beside: bool = False,
    ) -> None:
        """``beside``: it will run while another engine computes (its threads then sleep
        when idle instead of spinning, leaving the cores to the other)."""
        self.config = config
        spinning = not beside
        self._segmenter = Segmenter(
            models.model_file(SEGMENTATION_MODEL), threads, device, spinning=spinning
        )
        self._embedder = Embedder(
            models.model_file(EMBEDDING_MODEL), threads, device, spinning=spinning
        )

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        """The models this stage runs, with their sha256."""
        return diarization_models()

    @property
    def segmenter(self) -> Segmenter:
        """The loaded segmentation-3.0 (the live engine's windows share it)."""
        return self._segmenter

    @property
    def embedder(self) -> Embedder:
        """The loaded CAM++ (the live engine's windows share it)."""
        return self._embedder

    def diarize(self, audio: Audio, progress: StageHook | None = None) -> Diarization:
        """Who spoke when in ``audio`` (16 kHz mono)."""
        total_s = audio.duration_s
        hook = progress if progress is not None else _no_progress
        local = self._segmenter.local_activity(
            audio, self.config.window_step_s, lambda done_s: hook("segment", done_s, total_s)
        )
        local = self._split_two_voices(audio, local)
        requests = embedding_requests(
            local.activity,
            GRID.step_s,
            min_embedding_s=self.config.min_embedding_s,
            reliable_s=self.config.reliable_embedding_s,
            max_embedding_s=MAX_EMBEDDING_S,
        )
        # Frames past the end of the recording (the last window is padded) hold no samples.
        requests = tuple(r for r in requests if _clip(audio, local, r).shape[0] >= MIN_SAMPLES)
        if not requests:
            return Diarization((), (), {})
        embeddings = self._embed(
            audio, local, requests, lambda share: hook("embed", share * total_s, total_s)
        )
        return self._cluster_and_reconstruct(audio, local, requests, embeddings)

    def _split_two_voices(self, audio: Audio, local: LocalActivity) -> LocalActivity:
        """Give the second voice of a local speaker that holds two its own local slot
        (see :mod:`saywho.diarize.split`)."""
        threshold = self.config.split_threshold
        if threshold is None:
            return local
        candidates = run_candidates(
            local.activity, round(self.config.reliable_embedding_s / GRID.step_s)
        )
        moves = second_voices(
            candidates,
            local.window_start,
            local.n_frames,
            lambda stretches: self._embedder.embed(
                [frames_clip(audio.samples, a, b) for a, b in stretches]
            ),
            threshold=threshold,
            frames_per_window=FRAMES_PER_WINDOW,
            max_frames=round(SPLIT_RUN_MAX_S / GRID.step_s),
            tolerance_frames=round(SPLIT_TOLERANCE_S / GRID.step_s),
            recording_threshold=self.config.cluster_threshold
            if self.config.split_across_recording
            else None,
        )
        if not moves:
            return local
        return dataclasses.replace(local, activity=apply_splits(local.activity, moves))

    def _embed(
        self,
        audio: Audio,
        local: LocalActivity,
        requests: tuple[EmbeddingRequest, ...],
        on_progress: Callable[[float], None],
    ) -> npt.NDArray[np.float32]:
        """A voice print per request, shape (n, 192); reports the share done."""
        on_progress(0.0)
        prints = self._embedder.embed_each(
            len(requests),
            lambda index: _clip(audio, local, requests[index]),
            lambda done: _every(done, _PROGRESS_EVERY, len(requests), on_progress),
        )
        on_progress(1.0)
        return prints

    def _cluster_and_reconstruct(
        self,
        audio: Audio,
        local: LocalActivity,
        requests: tuple[EmbeddingRequest, ...],
        embeddings: npt.NDArray[np.float32],
    ) -> Diarization:
        reliable = np.array([r.reliable for r in requests])
        if not reliable.any():  # only short stretches: let all of them found clusters
            reliable[:] = True
        weights = np.array([r.seconds for r in requests], dtype=np.float64)
        windows = np.array([r.window for r in requests], dtype=np.int64)
        speakers = np.array([r.speaker for r in requests], dtype=np.int64)
        clustering = cluster_embeddings(
            embeddings[reliable],
            weights[reliable],
            threshold=self._threshold(
                local, embeddings[reliable], windows[reliable], speakers[reliable]
            ),
            min_cluster_s=self.config.min_speaker_s,
            hints=self.config.hints,
            windows=windows[reliable],
            cannot_link=self.config.cannot_link,
            distinct=self.config.distinct_speaker,
            witnessed=self.config.cluster_threshold,
            short_prints=embeddings[~reliable],
            short_s=weights[~reliable],
        )
        matched = assign_to_centroids(embeddings, windows, clustering.centroids)  # (n,)
        assignment = np.full((local.activity.shape[0], 3), -1, dtype=np.int64)
        assignment[windows, speakers] = matched
        activity = frame_activity(
            local.activity,
            local.window_start,
            assignment,
            clustering.centroids.shape[0],
            local.n_frames,
            local_count=local.count,
            count_threshold=self.config.count_threshold,
        )
        activity = self._recheck_short_turns(audio, activity, clustering.centroids)
        return self._result(activity, clustering.centroids, audio.duration_s)

    def _threshold(
        self,
        local: LocalActivity,
        embeddings: npt.NDArray[np.float32],
        windows: npt.NDArray[np.int64],
        speakers: npt.NDArray[np.int64],
    ) -> float:
        """The merge threshold for this recording, calibrated on its own pairs if asked."""
        floor = self.config.threshold_floor
        if floor is None:
            return self.config.cluster_threshold
        window_s = WINDOW_SAMPLES / SAMPLE_RATE
        hop = math.ceil(window_s / self.config.window_step_s)  # windows that share no audio
        same = same_speaker_pairs(local.activity, local.window_start, windows, speakers, hop)
        return calibrated_threshold(
            embeddings, windows, same, default=self.config.cluster_threshold, floor=floor
        )

    def _recheck_short_turns(
        self, audio: Audio, activity: FrameActivity, centroids: npt.NDArray[np.float32]
    ) -> FrameActivity:
        """Embed each short turn on its own and move it to the speaker it sounds like.

        Segmentation can fold a short reply ("yes") into the local speaker who talks around
        it; the reply's own voice print tells it apart. Not a reply said over the speech of
        the speaker it sounds like, where segmentation hears two people: its print is a blend
        in which the other voice dominates, and the move would erase it.
        """
        if centroids.shape[0] < 2 or self.config.recheck_margin is None:
            return activity
        runs = short_runs(
            activity.active,
            round(self.config.min_embedding_s / GRID.step_s),
            round(RECHECK_MAX_S / GRID.step_s),
        )
        runs = [
            run
            for run in runs
            if frames_clip(audio.samples, run[1], run[2]).shape[0] >= MIN_SAMPLES
        ]
        if not runs:
            return activity
        clips = [frames_clip(audio.samples, first, last) for _, first, last in runs]
        current = np.array([cluster for cluster, _, _ in runs], dtype=np.int64)
        better = closer_elsewhere(
            self._embedder.embed(clips), current, centroids, self.config.recheck_margin
        )
        moves = [
            (cluster, first, last, int(new))
            for (cluster, first, last), new in zip(runs, better, strict=True)
            if new != cluster
            and not said_over(
                activity, first, last, int(new), count_threshold=self.config.count_threshold
            )
        ]
        return move_runs(activity, moves)

    def _result(
        self, activity: FrameActivity, centroids: npt.NDArray[np.float32], duration_s: float
    ) -> Diarization:
        order = _by_first_appearance(activity.active)
        labels = [f"SPEAKER_{rank:02d}" for rank in range(len(order))]
        active = activity.active[:, order]
        grid = dataclasses.replace(GRID, end_s=duration_s)
        options = {"min_turn_s": self.config.min_turn_s, "min_gap_s": self.config.min_gap_s}
        turns = to_turns(active, grid, labels, **options)
        sole = exclusive(FrameActivity(activity.activation[:, order], active, activity.talking))
        exclusive_turns = to_turns(
            sole, grid, labels, min_turn_s=self.config.min_turn_s, min_gap_s=0.0
        )
        spoken = {turn.label for turn in turns}
        return Diarization(
            turns=turns,
            exclusive_turns=tuple(t for t in exclusive_turns if t.label in spoken),
            centroids={
                label: centroids[c]
                for label, c in zip(labels, order, strict=True)
                if label in spoken
            },
        )


def _clip(audio: Audio, local: LocalActivity, request: EmbeddingRequest) -> npt.NDArray[np.float32]:
    """The samples of ``request``'s frames in its window."""
    start = int(local.window_start[request.window]) * FRAME_STEP_SAMPLES
    window = audio.samples[start : start + WINDOW_SAMPLES]
    mask = frames_to_samples(
        request.frames, FRAME_STEP_SAMPLES, RECEPTIVE_FIELD_SAMPLES // 2, window.shape[0]
    )
    clip: npt.NDArray[np.float32] = window[mask]
    return clip


def _every(done: int, step: int, total: int, on_progress: Callable[[float], None]) -> None:
    """Report the share ``done / total`` every ``step`` items."""
    if done % step == 0:
        on_progress(done / total)


def _by_first_appearance(active: npt.NDArray[np.bool_]) -> list[int]:
    """Cluster indices ordered by the frame where each first speaks (silent ones last)."""
    first = np.where(active.any(axis=0), active.argmax(axis=0), active.shape[0])
    return [int(c) for c in np.argsort(first, kind="stable")]


def _no_progress(stage: str, done_s: float, total_s: float) -> None:
    del stage, done_s, total_s
