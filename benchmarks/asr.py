"""ASR benchmark: saywho's pipeline against plain faster-whisper, side by side, in one run.

Run it from the repository root, with the shared evaluation data next to the repository
(``../shared/eval``) and the bench extra installed (``pip install -e '.[bench]'``)::

    python benchmarks/asr.py [--eval-dir ../shared/eval] [--models base,tiny.en]
                             [--repeats 3] [--out benchmarks/results/asr.md]

Files: every clip of ``single_speaker_utterances/manifest.tsv`` and
``pyannote_sample/sample.wav`` (reference: the texts of ``sample.stm`` in time order).
``base`` runs on all of them, the English-only ``tiny.en`` on the English ones.

For each model both sides are loaded once and use the same settings (beam 5, word
timestamps, Silero VAD with its defaults, language detected, int8 on the CPU, one thread per
core): ours is ``saywho.Pipeline.transcribe(path)``, plain is ``WhisperModel.transcribe(path,
vad_filter=True)`` with the segments consumed. Both get one untimed warm-up call on the first
file, and which side goes first alternates per file (and per repeat) so that neither gets the
warmer caches. A file's time is the median over ``--repeats``.

Reported per file and side: WER after Whisper-style normalisation (CER for ja and ko), the
detected language, and the real-time factor (seconds of processing / seconds of audio).
Per model: pooled WER over the English files, time-weighted RTF, and our overhead over plain.
The markdown table is printed and written to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jiwer
from rich.console import Console
from rich.progress import Progress

from saywho import Pipeline, PipelineConfig, RecognizeConfig
from saywho.audio import decode
from saywho.config import DiarizeConfig
from saywho.evaluation import normalize_text
from saywho.models import resolve_whisper

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "asr.md"
CER_LANGUAGES = frozenset({"ja", "ko"})  # written without spaces between words
ENGLISH_ONLY_MODELS = frozenset({"tiny.en"})
BEAM_SIZE = 5
OVERHEAD_TARGET_PCT = 5.0
WER_TARGET_PCT = 10.0
WER_TARGET_MODEL = "base"

SIDES = ("ours", "plain")


@dataclass(frozen=True, slots=True)
class EvalFile:
    """One evaluation clip with its reference text and language."""

    path: Path
    language: str
    reference: str
    duration_s: float

    @property
    def name(self) -> str:
        """The file name, for tables."""
        return self.path.name


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """What one side recognized in one file."""

    text: str
    language: str | None


@dataclass(frozen=True, slots=True)
class Measured:
    """One side's result on one file: its hypothesis and median processing time."""

    hypothesis: Hypothesis
    seconds: float


@dataclass(frozen=True, slots=True)
class Score:
    """Edit errors against a reference of ``length`` units (words, or characters for CER)."""

    errors: int
    length: int

    @property
    def rate(self) -> float:
        """Errors per reference unit."""
        return self.errors / self.length if self.length else 0.0


@dataclass(frozen=True, slots=True)
class Row:
    """Both sides on one file with one model."""

    model: str
    file: EvalFile
    ours: Measured
    plain: Measured

    def side(self, name: str) -> Measured:
        """The measurement of side ``name`` (``ours`` or ``plain``)."""
        return self.ours if name == "ours" else self.plain


Transcriber = Callable[[Path], Hypothesis]


# --- text and scores ----------------------------------------------------------------------


def uses_cer(language: str) -> bool:
    """Whether ``language`` is scored by characters rather than words."""
    return language in CER_LANGUAGES


def score(file: EvalFile, hypothesis: str) -> Score:
    """WER (or CER for ja/ko) counts of ``hypothesis`` against the file's reference."""
    reference, hyp = normalize_text(file.reference), normalize_text(hypothesis)
    if uses_cer(file.language):
        # Spacing in these scripts is inconsistent between references and Whisper.
        chars = jiwer.process_characters(reference.replace(" ", ""), hyp.replace(" ", ""))
        return _score_of(chars)
    return _score_of(jiwer.process_words(reference, hyp))


def _score_of(output: Any) -> Score:
    errors = output.substitutions + output.deletions + output.insertions
    return Score(errors, output.substitutions + output.deletions + output.hits)


def pooled(scores: Sequence[Score]) -> Score:
    """All scores as one corpus: the same as jiwer over every reference and hypothesis at once."""
    return Score(sum(s.errors for s in scores), sum(s.length for s in scores))


# --- data --------------------------------------------------------------------------------


def load_eval_files(eval_dir: Path) -> tuple[EvalFile, ...]:
    """Every single-speaker utterance of the manifest, then the pyannote sample."""
    return (*_manifest_files(eval_dir / "single_speaker_utterances"), _pyannote_sample(eval_dir))


def _manifest_files(folder: Path) -> list[EvalFile]:
    with (folder / "manifest.tsv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [_eval_file(folder / row["file"], row["language"], row["transcript"]) for row in rows]


def _pyannote_sample(eval_dir: Path) -> EvalFile:
    folder = eval_dir / "pyannote_sample"
    return _eval_file(folder / "sample.wav", "en", stm_text(folder / "sample.stm"))


def stm_text(path: Path) -> str:
    """The texts of an STM file (``uri channel speaker start end text…``) in time order."""
    lines = [line.split(maxsplit=5) for line in path.read_text(encoding="utf-8").splitlines()]
    timed = sorted((float(f[3]), f[5]) for f in lines if len(f) == 6 and not f[0].startswith(";"))
    return " ".join(text for _, text in timed)


def _eval_file(path: Path, language: str, reference: str) -> EvalFile:
    return EvalFile(path, language, reference, decode(path).duration_s)


def files_for(model: str, files: Sequence[EvalFile]) -> tuple[EvalFile, ...]:
    """The files ``model`` can be scored on: English only for an English-only model."""
    if model in ENGLISH_ONLY_MODELS:
        return tuple(f for f in files if f.language == "en")
    return tuple(files)


# --- the two sides -----------------------------------------------------------------------


def ours(model: str) -> Transcriber:
    """saywho's pipeline with ``model``, loaded once."""
    # Recognition only: plain faster-whisper has no diarization to compare with.
    config = PipelineConfig(
        recognize=RecognizeConfig(model=model, language=None), diarize=DiarizeConfig(enabled=False)
    )
    pipeline = Pipeline(config)

    def transcribe(path: Path) -> Hypothesis:
        transcript = pipeline.transcribe(path)
        return Hypothesis(transcript.text, transcript.language)

    return transcribe


def plain(model: str) -> Transcriber:
    """Plain faster-whisper on the same model directory with the same settings, loaded once."""
    from faster_whisper import WhisperModel

    whisper = WhisperModel(
        resolve_whisper(model).location,
        device="cpu",
        compute_type="int8",
        cpu_threads=os.cpu_count() or 1,
    )

    def transcribe(path: Path) -> Hypothesis:
        segments, info = whisper.transcribe(
            str(path), beam_size=BEAM_SIZE, word_timestamps=True, vad_filter=True
        )
        texts = [segment.text.strip() for segment in list(segments)]
        return Hypothesis(" ".join(t for t in texts if t), info.language)

    return transcribe


def timed(transcribe: Transcriber, path: Path) -> tuple[Hypothesis, float]:
    """Run ``transcribe`` on ``path``; return its hypothesis and wall-clock seconds."""
    start = time.perf_counter()
    hypothesis = transcribe(path)
    return hypothesis, time.perf_counter() - start


def measure_file(
    sides: dict[str, Transcriber], file: EvalFile, index: int, repeats: int
) -> dict[str, Measured]:
    """Time both sides on ``file``; who goes first alternates with file and repeat."""
    seconds: dict[str, list[float]] = {name: [] for name in SIDES}
    hypotheses: dict[str, Hypothesis] = {}
    for repeat in range(repeats):
        order = SIDES if (index + repeat) % 2 == 0 else SIDES[::-1]
        for name in order:
            hypotheses[name], elapsed = timed(sides[name], file.path)
            seconds[name].append(elapsed)
    return {n: Measured(hypotheses[n], statistics.median(seconds[n])) for n in SIDES}


def benchmark_model(
    model: str, files: Sequence[EvalFile], repeats: int, progress: Progress
) -> list[Row]:
    """Load both sides of ``model``, warm them up, and measure every file."""
    task = progress.add_task(f"{model}: loading", total=len(files))
    sides = {"ours": ours(model), "plain": plain(model)}
    progress.update(task, description=f"{model}: warm-up")
    for name in SIDES:
        sides[name](files[0].path)
    rows = []
    for index, file in enumerate(files):
        progress.update(task, description=f"{model}: {file.name}")
        measured = measure_file(sides, file, index, repeats)
        rows.append(Row(model, file, measured["ours"], measured["plain"]))
        progress.advance(task)
    progress.update(task, description=f"{model}: done")
    return rows


# --- totals ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Totals:
    """One model's totals for one side."""

    english: Score
    seconds: float
    audio_s: float
    languages_right: int
    files: int

    @property
    def rtf(self) -> float:
        """Time-weighted real-time factor."""
        return self.seconds / self.audio_s


def totals(rows: Sequence[Row], side: str) -> Totals:
    """Pooled English WER, total time and language hits of ``side`` over ``rows``."""
    english = [score(r.file, r.side(side).hypothesis.text) for r in rows if r.file.language == "en"]
    return Totals(
        english=pooled(english),
        seconds=sum(r.side(side).seconds for r in rows),
        audio_s=sum(r.file.duration_s for r in rows),
        languages_right=sum(r.side(side).hypothesis.language == r.file.language for r in rows),
        files=len(rows),
    )


def overhead_pct(ours_s: float, plain_s: float) -> float:
    """How much longer ours took than plain, in percent of plain."""
    return 100.0 * (ours_s - plain_s) / plain_s


# --- report ------------------------------------------------------------------------------

COLUMNS = (
    "model",
    "file",
    "audio s",
    "lang",
    "ours lang",
    "plain lang",
    "ours WER",
    "plain WER",
    "ours s",
    "plain s",
    "ours RTF",
    "plain RTF",
    "overhead",
)


def markdown_row(cells: Sequence[str]) -> str:
    """One markdown table row."""
    return "| " + " | ".join(cells) + " |"


def _pct(value: float) -> str:
    return f"{100.0 * value:.1f} %"


def _error_cell(file: EvalFile, hypothesis: str) -> str:
    value = _pct(score(file, hypothesis).rate)
    return f"{value} (CER)" if uses_cer(file.language) else value


def _language_cell(detected: str | None, expected: str) -> str:
    return f"{detected or '?'} {'✓' if detected == expected else '✗'}"


def file_cells(row: Row) -> list[str]:
    """The table cells of one file."""
    file = row.file
    differs = normalize_text(row.ours.hypothesis.text) != normalize_text(row.plain.hypothesis.text)
    return [
        row.model,
        file.name + (" †" if differs else ""),
        f"{file.duration_s:.1f}",
        file.language,
        _language_cell(row.ours.hypothesis.language, file.language),
        _language_cell(row.plain.hypothesis.language, file.language),
        _error_cell(file, row.ours.hypothesis.text),
        _error_cell(file, row.plain.hypothesis.text),
        f"{row.ours.seconds:.2f}",
        f"{row.plain.seconds:.2f}",
        f"{row.ours.seconds / file.duration_s:.3f}",
        f"{row.plain.seconds / file.duration_s:.3f}",
        f"{overhead_pct(row.ours.seconds, row.plain.seconds):+.1f} %",
    ]


def total_cells(model: str, ours_total: Totals, plain_total: Totals) -> list[str]:
    """The table cells of one model's totals."""
    return [
        f"**{model}**",
        f"**total ({ours_total.files} files)**",
        f"{ours_total.audio_s:.1f}",
        "",
        f"{ours_total.languages_right}/{ours_total.files} ✓",
        f"{plain_total.languages_right}/{plain_total.files} ✓",
        f"**{_pct(ours_total.english.rate)}** (en)",
        f"**{_pct(plain_total.english.rate)}** (en)",
        f"{ours_total.seconds:.2f}",
        f"{plain_total.seconds:.2f}",
        f"**{ours_total.rtf:.3f}**",
        f"**{plain_total.rtf:.3f}**",
        f"**{overhead_pct(ours_total.seconds, plain_total.seconds):+.1f} %**",
    ]


def results_table(rows_by_model: dict[str, list[Row]]) -> list[str]:
    """Per-file rows of every model, then one total row per model."""
    lines = [markdown_row(COLUMNS), markdown_row(["---"] * len(COLUMNS))]
    lines += [markdown_row(file_cells(r)) for rows in rows_by_model.values() for r in rows]
    for model, rows in rows_by_model.items():
        lines.append(markdown_row(total_cells(model, totals(rows, "ours"), totals(rows, "plain"))))
    return lines


TABLE_NOTES = (
    "",
    "WER after Whisper-style normalisation (NFKC, lower case, punctuation and symbols removed, "
    "spaces collapsed). **(CER)**: for ja and ko, whose words are not separated by spaces, the "
    "cell is the character error rate (spaces removed from both texts) instead of WER. Total "
    "rows: WER pooled over the English files only (every English reference and hypothesis "
    "together); RTF time-weighted (sum of seconds / sum of audio seconds); overhead = (ours - "
    "plain) / plain seconds. Language: detected code, ✓ when it equals the reference language. "
    "†: the normalised texts of ours and plain differ (listed below). Times include decoding "
    "and VAD on both sides.",
)


def differences(rows_by_model: dict[str, list[Row]]) -> list[str]:
    """A section listing the files where ours and plain recognized different text."""
    lines = ["", "## Files where ours and plain differ in text", ""]
    found = False
    for rows in rows_by_model.values():
        for row in rows:
            ours_text, plain_text = row.ours.hypothesis.text, row.plain.hypothesis.text
            if normalize_text(ours_text) != normalize_text(plain_text):
                found = True
                lines += [
                    f"- {row.model} / {row.file.name}",
                    f"  - ours:  {ours_text}",
                    f"  - plain: {plain_text}",
                ]
    return lines if found else [*lines, "None: both sides produced the same normalised text."]


def targets(rows_by_model: dict[str, list[Row]]) -> list[str]:
    """A table of the targets, each met or missed."""
    lines = ["", "## Targets", "", "| target | measured | |", "|---|---|---|"]
    for model, rows in rows_by_model.items():
        value = overhead_pct(totals(rows, "ours").seconds, totals(rows, "plain").seconds)
        name = f"overhead ≤ {OVERHEAD_TARGET_PCT:g} % ({model})"
        lines.append(_target_row(name, f"{value:+.1f} %", value <= OVERHEAD_TARGET_PCT))
    if WER_TARGET_MODEL in rows_by_model:
        wer = 100.0 * totals(rows_by_model[WER_TARGET_MODEL], "ours").english.rate
        name = f"{WER_TARGET_MODEL} English WER ≤ {WER_TARGET_PCT:g} % (ours, pooled)"
        lines.append(_target_row(name, f"{wer:.1f} %", wer <= WER_TARGET_PCT))
    return lines


def _target_row(name: str, measured: str, met: bool) -> str:
    return markdown_row([name, measured, "met" if met else "**missed**"])


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or what platform knows)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def header(args: argparse.Namespace) -> list[str]:
    """What ran where: machine, date, command, versions and settings."""
    versions = ", ".join(f"{p} {version(p)}" for p in ("saywho", "faster-whisper", "ctranslate2"))
    threads = os.cpu_count() or 1
    return [
        "# ASR benchmark: saywho vs plain faster-whisper",
        "",
        f"- machine: {cpu_model()}, nproc {len(os.sched_getaffinity(0))}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `python {shlex.join(sys.argv)}`",
        f"- versions: {versions}, jiwer {version('jiwer')}",
        f"- settings (both sides): beam {BEAM_SIZE}, word timestamps, Silero VAD with default "
        f"options, language detected, int8 on CPU with {threads} threads; per file the median "
        f"of {args.repeats} run(s), after one untimed warm-up of each side; side order "
        "alternates per file",
        f"- eval data: `{args.eval_dir}`",
    ]


def report(args: argparse.Namespace, rows_by_model: dict[str, list[Row]]) -> str:
    """The whole markdown report."""
    lines = [
        *header(args),
        *targets(rows_by_model),
        "",
        "## Per file",
        "",
        *results_table(rows_by_model),
        *TABLE_NOTES,
        *differences(rows_by_model),
    ]
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--models", default="base,tiny.en", help="comma-separated model names")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per file and side")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and write the report."""
    args = parse_args(argv)
    if not (args.eval_dir / "single_speaker_utterances" / "manifest.tsv").is_file():
        print(
            f"error: no evaluation data at {args.eval_dir} (expected the shared eval folder "
            "with single_speaker_utterances/ and pyannote_sample/); pass --eval-dir",
            file=sys.stderr,
        )
        return 2
    files = load_eval_files(args.eval_dir)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    rows_by_model: dict[str, list[Row]] = {}
    with Progress(console=Console(stderr=True), transient=True) as progress:
        for model in models:
            model_files = files_for(model, files)
            rows_by_model[model] = benchmark_model(model, model_files, args.repeats, progress)
    text = report(args, rows_by_model)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
