"""Where a live step's time goes: the development items back to back on the injected clock.

Run it from the repository root (the shared evaluation data next to the repository)::

    python benchmarks/live_profile.py [--model tiny.en] [--minutes 5] [--threads 2]

The engine runs as :func:`saywho.live.run_simulated` drives it (the stream clock reads the
audio fed so far), with diarization on the stepping thread instead of its own so that the
stages' times add up to the step's. Each stage is timed by wrapping the loaded models'
methods: VAD, Whisper (its encoder, its decoding with any re-decodes at higher temperatures,
its word alignment, the rest), segmentation-3.0, CAM++, the speaker tracker. Compute is wall
time on a possibly shared machine: compare the shares, and runs made side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from live import load_items
from saywho import PipelineConfig
from saywho.asr.whisper import WhisperRecognizer
from saywho.config import LiveConfig, RecognizeConfig
from saywho.live import FedClock, LiveEngine, LiveModels, run_simulated

REPO_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


class Timers:
    """Seconds and calls per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, method: str, stage: str) -> None:
        """Time every call of ``owner.method`` (an instance attribute shadows the method)."""
        inner: Callable[..., Any] = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - began
                self.calls[stage] += 1

        setattr(owner, method, timed)


def _count_fallbacks(whisper: Any, timers: Timers) -> None:
    """Count decodings that ended at a temperature above 0 (re-decoded on fallback)."""
    inner = whisper.generate_with_fallback

    def counted(*args: Any, **kwargs: Any) -> Any:
        result = inner(*args, **kwargs)
        timers.calls["whisper decodings re-decoded at a higher temperature"] += result[2] > 0
        return result

    whisper.generate_with_fallback = counted


def profile(model: str, minutes: float, threads: int, eval_dir: Path) -> str:
    items = load_items(eval_dir)
    samples = _stream(items, minutes)
    config = PipelineConfig(recognize=RecognizeConfig(model=model, threads=threads))
    models = LiveModels(config)
    timers = Timers()
    recognizer = models.recognizer
    timers.wrap(recognizer, "recognize", "whisper (all)")
    if isinstance(recognizer, WhisperRecognizer):
        whisper = recognizer._model
        timers.wrap(whisper, "encode", "whisper encoder")
        timers.wrap(whisper, "generate_with_fallback", "whisper decoding")
        timers.wrap(whisper, "add_word_timestamps", "whisper word alignment")
        _count_fallbacks(whisper, timers)
    detector = models.pipeline.engines.detector
    if detector is not None:
        timers.wrap(detector, "detect", "vad")
    timers.wrap(models.windows, "local_speakers", "window diarization (all)")
    timers.wrap(models.windows._segmenter, "local_activity", "segmentation-3.0")
    timers.wrap(models.windows._embedder, "embed", "cam++")
    clock = FedClock()
    engine = LiveEngine(
        models.pipeline,
        LiveConfig(final_pass=False),
        recognizer=models.recognizer,
        window_diarizer=models.windows,
        clock=clock,
        concurrent=False,
        languages=models.languages,
    )
    timers.wrap(engine._tracker, "assign", "tracker")
    steps = 0

    def count(_: object) -> None:
        nonlocal steps
        steps += 1

    began = time.perf_counter()
    run_simulated(engine, clock, [samples], on_update=count)
    total_s = time.perf_counter() - began
    return _report(timers, engine, steps, total_s, samples.shape[0] / 16_000, model)


def _stream(items: Sequence[Any], minutes: float) -> np.ndarray:
    pieces, at = [], 0.0
    while at < 60 * minutes:
        for item in items:
            if at >= 60 * minutes:
                break
            pieces.append(item.samples)
            at += item.duration_s
    return np.concatenate(pieces)


def _report(
    timers: Timers, engine: LiveEngine, steps: int, total_s: float, stream_s: float, model: str
) -> str:
    compute = engine.compute_s
    lines = [
        f"model {model}, stream {stream_s / 60:.1f} min, {steps} steps, "
        f"engine compute {compute:.1f} s ({compute / stream_s:.0%} of the stream), "
        f"{compute / max(steps, 1) * 1000:.0f} ms per step; run {total_s:.1f} s",
        "",
        "| stage | calls | seconds | ms per call | share of engine compute |",
        "|---|---:|---:|---:|---:|",
    ]
    for stage, calls in timers.calls.items():
        if stage not in timers.seconds:
            lines.insert(1, f"{stage}: {calls}")
    for stage, seconds in sorted(timers.seconds.items(), key=lambda kv: -kv[1]):
        calls = timers.calls[stage]
        lines.append(
            f"| {stage} | {calls} | {seconds:.1f} | {seconds / calls * 1000:.0f} | "
            f"{seconds / compute:.0%} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--eval-dir", type=Path, default=REPO_EVAL)
    args = parser.parse_args(argv)
    print(profile(args.model, args.minutes, args.threads, args.eval_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
