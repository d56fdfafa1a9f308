"""Speaker-verification check of CAM++ (our embedder) against Whisper's encoder as a voice print.

Embeds the 50 LibriSpeech utterances (5 speakers x 10) of
``shared/eval/librispeech_test-other_resemblyzer``, whole and as their central 1.5 s, and
prints for each embedding the mean cosine similarity of same-speaker and different-speaker
pairs and the equal error rate, as a Markdown table. A wrong fbank (scaling, options) shows
as a CAM++ EER far above a few percent on whole utterances; the script exits 1 when that EER
is 10 % or more.

``--whisper`` adds the mean-pooled encoder output of Whisper base (the model saywho
transcribes with, CTranslate2 int8, from saywho's model store), pooled three ways: over the
encoder frames that cover the real audio of an input padded to 30 s as Whisper always sees
it, over all 1500 frames of that padded input, and over an unpadded input. Every embedding
is scored raw and after per-dimension standardisation across the clips of the set.

Run with the project environment (decodes with saywho/PyAV)::

    PYTHONPATH=src .venv/bin/python scripts/check_embeddings.py --whisper

or with the export environment (soundfile; CAM++ only).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from export.features import SAMPLE_RATE, Samples, fbank

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "eval" / "librispeech_test-other_resemblyzer"
MODEL = ROOT / "src" / "saywho" / "assets" / "campplus-sv-zh-en-common.onnx"
EXCERPT_S = 1.5
MAX_EER = 0.10
WHISPER_WINDOW = 3000  # mel frames (10 ms) in Whisper's 30 s input
WHISPER_STRIDE = 2  # mel frames per encoder frame (20 ms)

Vectors = npt.NDArray[np.float32]


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


@dataclass(frozen=True, slots=True)
class Row:
    """One embedding scored on whole utterances and on excerpts."""

    name: str
    normalisation: str
    whole: Verification
    excerpt: Verification


def read_manifest(folder: Path) -> list[Utterance]:
    """Utterances listed in ``manifest.tsv`` (columns ``file``, ``speaker``)."""
    with (folder / "manifest.tsv").open(encoding="utf-8") as stream:
        rows = csv.DictReader(stream, delimiter="\t")
        return [Utterance(folder / row["file"], row["speaker"]) for row in rows]


def read_audio(path: Path) -> Samples:
    """A file as 16 kHz mono float32 samples in [-1, 1] (saywho's decoder, else soundfile)."""
    try:
        from saywho.audio.decode import decode
    except ImportError:  # the export environment has soundfile but not saywho
        import soundfile

        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        if rate != SAMPLE_RATE:
            raise ValueError(f"{path}: {rate} Hz, expected {SAMPLE_RATE}") from None
        return np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32)
    return np.array(decode(path, sample_rate=SAMPLE_RATE).samples)


def middle(samples: Samples, duration_s: float) -> Samples:
    """The central ``duration_s`` of ``samples`` (all of it when shorter)."""
    size = round(duration_s * SAMPLE_RATE)
    start = max(0, (len(samples) - size) // 2)
    return samples[start : start + size]


def campplus(session: ort.InferenceSession, samples: Samples) -> Vectors:
    """CAM++ embedding of one clip, shape (1, 192)."""
    features = fbank(samples)[None]  # (1, frames, 80)
    (embedding,) = session.run(None, {session.get_inputs()[0].name: features})
    return np.asarray(embedding, dtype=np.float32).reshape(1, -1)


class WhisperEncoder:
    """Whisper base's encoder (CTranslate2, as saywho loads it) as three pooled embeddings."""

    names = (
        "Whisper base encoder, speech frames of the 30 s input",
        "Whisper base encoder, all 1500 frames of the 30 s input",
        "Whisper base encoder, unpadded input",
    )

    def __init__(self, threads: int) -> None:
        import ctranslate2
        from faster_whisper.feature_extractor import FeatureExtractor

        from saywho import models

        location = models.resolve_whisper("base").location
        self._model: Any = ctranslate2.models.Whisper(
            location, device="cpu", compute_type="int8", intra_threads=threads
        )
        self._storage: Callable[[Any], Any] = ctranslate2.StorageView.from_array
        self._features = FeatureExtractor()  # 80 mel bins, as faster-whisper uses for base

    def __call__(self, samples: Samples) -> Vectors:
        """The three pooled embeddings of one clip (at most 30 s), shape (3, 512)."""
        mel = self._features(samples)  # (80, frames), faster-whisper's log-mel
        if mel.shape[1] > WHISPER_WINDOW:
            raise ValueError(f"a clip of {len(samples) / SAMPLE_RATE:.1f} s is over 30 s")
        speech = -(-mel.shape[1] // WHISPER_STRIDE)  # encoder frames that cover the audio
        padded = np.pad(mel, ((0, 0), (0, WHISPER_WINDOW - mel.shape[1])))  # as faster-whisper
        window = self._encode(padded)  # (1500, 512)
        unpadded = self._encode(mel)  # (speech, 512)
        return np.stack([window[:speech].mean(axis=0), window.mean(axis=0), unpadded.mean(axis=0)])

    def _encode(self, mel: npt.NDArray[np.float32]) -> Vectors:
        output = self._model.encode(self._storage(np.ascontiguousarray(mel[None])))
        return np.asarray(output, dtype=np.float32)[0]  # (encoder frames, 512)


def unit(vectors: Vectors) -> Vectors:
    """Rows scaled to length 1."""
    normalised: Vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


def standardised(vectors: Vectors) -> Vectors:
    """Rows with each dimension centred and scaled to unit variance across the set."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    scaled: Vectors = centred / (vectors.std(axis=0, keepdims=True) + 1e-8)
    return scaled


def equal_error_rate(same: npt.NDArray[np.float64], different: npt.NDArray[np.float64]) -> float:
    """Error rate where false rejections of ``same`` equal false accepts of ``different``."""
    thresholds = np.sort(np.concatenate([same, different]))
    false_reject = np.array([np.mean(same < t) for t in thresholds])
    false_accept = np.array([np.mean(different >= t) for t in thresholds])
    crossing = int(np.argmin(np.abs(false_reject - false_accept)))
    return float((false_reject[crossing] + false_accept[crossing]) / 2)


def verify(embeddings: Vectors, speakers: list[str]) -> Verification:
    """Score every pair of embeddings (rows) by cosine similarity."""
    rows = unit(embeddings)
    scores = rows @ rows.T  # (n, n)
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


def score(name: str, whole: Vectors, excerpts: Vectors, speakers: list[str]) -> list[Row]:
    """Rows for one embedding: raw, then standardised across the set."""
    return [
        Row(name, "none", verify(whole, speakers), verify(excerpts, speakers)),
        Row(
            name,
            "standardised",
            verify(standardised(whole), speakers),
            verify(standardised(excerpts), speakers),
        ),
    ]


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        f"| embedding | normalisation | whole: same cos | whole: different cos | whole: EER "
        f"| {EXCERPT_S} s: same cos | {EXCERPT_S} s: different cos | {EXCERPT_S} s: EER |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = [row.name, row.normalisation]
        for result in (row.whole, row.excerpt):
            cells += [f"{result.same_mean:.3f}", f"{result.different_mean:.3f}"]
            cells.append(f"{100 * result.eer:.1f} %")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    """Print the verification table; 1 when CAM++ does not separate whole utterances."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--whisper", action="store_true", help="also score Whisper's encoder")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    session = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    utterances = read_manifest(args.data)
    audio = [read_audio(u.path) for u in utterances]
    excerpts = [middle(a, EXCERPT_S) for a in audio]
    speakers = [u.speaker for u in utterances]
    lengths_s = [len(a) / SAMPLE_RATE for a in audio]
    print(
        f"{len(utterances)} utterances, {len(set(speakers))} speakers, "
        f"{min(lengths_s):.1f}-{max(lengths_s):.1f} s; pairs: "
        f"{sum(a == b for i, a in enumerate(speakers) for b in speakers[i + 1 :])} same-speaker "
        f"of {len(speakers) * (len(speakers) - 1) // 2}\n"
    )
    whole_cam = np.concatenate([campplus(session, a) for a in audio])
    rows = score(
        "CAM++ (saywho's embedder)",
        whole_cam,
        np.concatenate([campplus(session, e) for e in excerpts]),
        speakers,
    )
    if args.whisper:
        encoder = WhisperEncoder(args.threads)
        whole = np.stack([encoder(a) for a in audio])  # (clips, 3, 512)
        parts = np.stack([encoder(e) for e in excerpts])
        for index, name in enumerate(encoder.names):
            rows += score(name, whole[:, index], parts[:, index], speakers)
    print(table(rows))
    if rows[0].whole.eer >= MAX_EER:
        print(
            f"FAIL: CAM++ EER {100 * rows[0].whole.eer:.1f} % on whole utterances", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
