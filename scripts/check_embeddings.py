"""Speaker-verification sanity check of the exported CAM++ model and its fbank features.

Embeds the 50 LibriSpeech utterances (5 speakers x 10) of
``shared/eval/librispeech_test-other_resemblyzer`` with onnxruntime, then prints the mean
cosine similarity of same-speaker and different-speaker pairs and the equal error rate, on
whole utterances and on 1.5 s excerpts. A wrong fbank (scaling, options) shows as an EER far
above a few percent on whole utterances. Exits 1 when the whole-utterance EER is 10 % or more.

Run with the export environment (needs soundfile for FLAC)::

    .venv-export/bin/python scripts/check_embeddings.py [--model src/saywho/assets/...onnx]
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import soundfile

from export.features import SAMPLE_RATE, Samples, fbank

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "eval" / "librispeech_test-other_resemblyzer"
MODEL = ROOT / "src" / "saywho" / "assets" / "campplus-sv-zh-en-common.onnx"
EXCERPT_S = 1.5
MAX_EER = 0.10


@dataclass(frozen=True, slots=True)
class Utterance:
    """One audio file and its speaker."""

    path: Path
    speaker: str


@dataclass(frozen=True, slots=True)
class Verification:
    """Pairwise scores summarised."""

    same_mean: float
    different_mean: float
    eer: float
    pairs_same: int
    pairs_different: int


def read_manifest(folder: Path) -> list[Utterance]:
    """Utterances listed in ``manifest.tsv`` (columns ``file``, ``speaker``)."""
    with (folder / "manifest.tsv").open(encoding="utf-8") as stream:
        rows = csv.DictReader(stream, delimiter="\t")
        return [Utterance(folder / row["file"], row["speaker"]) for row in rows]


def read_audio(path: Path) -> Samples:
    """A 16 kHz mono file as float32 samples in [-1, 1]."""
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path}: {rate} Hz, expected {SAMPLE_RATE}")
    return np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32)


def middle(samples: Samples, duration_s: float) -> Samples:
    """The central ``duration_s`` of ``samples`` (all of it when shorter)."""
    size = round(duration_s * SAMPLE_RATE)
    start = max(0, (len(samples) - size) // 2)
    return samples[start : start + size]


def embed(session: ort.InferenceSession, samples: Samples) -> npt.NDArray[np.float32]:
    """L2-normalised CAM++ embedding of one clip, shape (192,)."""
    features = fbank(samples)[None]  # (1, frames, 80)
    (embedding,) = session.run(None, {session.get_inputs()[0].name: features})
    vector = np.asarray(embedding[0], dtype=np.float32)
    return vector / np.linalg.norm(vector)


def equal_error_rate(same: npt.NDArray[np.float64], different: npt.NDArray[np.float64]) -> float:
    """Error rate where false rejections of ``same`` equal false accepts of ``different``."""
    thresholds = np.sort(np.concatenate([same, different]))
    false_reject = np.array([np.mean(same < t) for t in thresholds])
    false_accept = np.array([np.mean(different >= t) for t in thresholds])
    crossing = int(np.argmin(np.abs(false_reject - false_accept)))
    return float((false_reject[crossing] + false_accept[crossing]) / 2)


def verify(embeddings: npt.NDArray[np.float32], speakers: list[str]) -> Verification:
    """Score every pair of embeddings (rows, L2-normalised) by cosine similarity."""
    scores = embeddings @ embeddings.T  # (n, n)
    upper = np.triu_indices(len(speakers), k=1)
    labels = np.array(speakers)
    same_speaker = labels[upper[0]] == labels[upper[1]]
    pair_scores = scores[upper].astype(np.float64)
    same, different = pair_scores[same_speaker], pair_scores[~same_speaker]
    return Verification(
        float(same.mean()),
        float(different.mean()),
        equal_error_rate(same, different),
        len(same),
        len(different),
    )


def report(name: str, result: Verification) -> None:
    """Print one line of results."""
    print(
        f"{name}: cosine same-speaker {result.same_mean:.3f} ({result.pairs_same} pairs), "
        f"different-speaker {result.different_mean:.3f} ({result.pairs_different} pairs), "
        f"EER {100 * result.eer:.1f} %"
    )


def main() -> int:
    """Print the verification results; 1 when whole utterances do not separate speakers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    session = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    utterances = read_manifest(args.data)
    audio = [read_audio(u.path) for u in utterances]
    speakers = [u.speaker for u in utterances]
    lengths_s = [len(a) / SAMPLE_RATE for a in audio]
    print(
        f"{len(utterances)} utterances, {len(set(speakers))} speakers, "
        f"{min(lengths_s):.1f}-{max(lengths_s):.1f} s"
    )
    whole = verify(np.stack([embed(session, a) for a in audio]), speakers)
    report("whole utterances", whole)
    excerpts = np.stack([embed(session, middle(a, EXCERPT_S)) for a in audio])
    report(f"{EXCERPT_S} s excerpts", verify(excerpts, speakers))
    if whole.eer >= MAX_EER:
        print(f"FAIL: EER {100 * whole.eer:.1f} % on whole utterances", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
