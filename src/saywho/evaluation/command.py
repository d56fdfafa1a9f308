"""``saywho evaluate``: score hypotheses against references, print a table, write JSON.

    saywho evaluate --reference REF HYP [--collar S] [--uem F] [--reference-text STM] [--json OUT]
    saywho evaluate --list PAIRS [...]

REF is an RTTM file or a folder of them; HYP a saywho ``.json`` result, an ``.rttm`` or an
``.stm`` file, or a folder in which ``<stem>.json``, ``<stem>.stm`` or ``<stem>.rttm`` (the first
found) answers the reference ``<stem>.rttm``. Within a pair of files recordings are matched by
uri, except that a file with one recording always answers a file with one recording (saywho
names its recording after the audio file, which need not be the reference's uri).

Exit codes: 0 all scored; 1 some reference had no hypothesis, UEM region or reference text (the
rest were scored); 2 bad input (a file missing or malformed, nothing was scored).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from saywho.atomic import atomic_text_file
from saywho.errors import ConfigError, OutputError
from saywho.evaluation.files import (
    Hypothesis,
    SpokenText,
    StmLine,
    parse_pairs,
    read_hypothesis,
    read_rttm,
    read_stm,
    read_text,
    read_uem,
    stm_text,
)
from saywho.evaluation.score import (
    DiarizationPair,
    DiarizationScore,
    DiarizationScores,
    TextPair,
    TextScore,
    score_diarization,
    score_text,
)
from saywho.types import Span, Turn

__all__ = ["register"]

EXIT_OK, EXIT_FAILED = 0, 1
HYPOTHESIS_SUFFIXES = (".json", ".stm", ".rttm")
_V = TypeVar("_V")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``evaluate`` command to the ``saywho`` command line."""
    parser = commands.add_parser(
        "evaluate",
        help="score diarization (DER, JER) and transcripts (WER, cpWER) against references",
        description=(
            "Score hypotheses against reference RTTM (DER with overlap, JER; pyannote.metrics) "
            "and, with --reference-text, reference STM (WER, jiwer; cpWER, meeteval). "
            "Needs the extra: pip install 'saywho[eval]'."
        ),
    )
    parser.add_argument(
        "hypothesis",
        nargs="?",
        type=Path,
        metavar="HYP",
        help="a saywho .json result, an .rttm or an .stm file, or a folder of them",
    )
    parser.add_argument(
        "-r", "--reference", type=Path, metavar="REF", help="an RTTM file or a folder of them"
    )
    parser.add_argument(
        "--list",
        dest="pairs",
        type=Path,
        metavar="FILE",
        help="instead of REF and HYP: lines of 'reference hypothesis' paths "
        "(relative to the list's folder)",
    )
    parser.add_argument(
        "--collar",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds not scored on each side of every reference boundary, as in md-eval "
        "(default: 0; 0.25 is the traditional NIST value)",
    )
    parser.add_argument(
        "--uem", type=Path, metavar="F", help="UEM file (or folder of .uem): the regions to score"
    )
    parser.add_argument(
        "--reference-text",
        type=Path,
        metavar="STM",
        help="STM file (or folder of .stm) of what was said: adds WER and cpWER",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the scores as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.set_defaults(run=_evaluate)


@dataclass(frozen=True, slots=True)
class _FilePair:
    reference: Path
    hypothesis: Path | None


@dataclass(frozen=True, slots=True)
class _Job:
    """One recording to score, with where its two sides came from."""

    uri: str
    reference_path: Path
    hypothesis_path: Path
    reference: tuple[Turn, ...]
    hypothesis: Hypothesis
    uem: tuple[Span, ...] | None
    reference_text: SpokenText | None


@dataclass(frozen=True, slots=True)
class _Plan:
    jobs: tuple[_Job, ...]
    problems: tuple[str, ...]


def _evaluate(args: argparse.Namespace, console: Console) -> int:
    if args.collar < 0:
        raise ConfigError(f"--collar {args.collar} is negative")
    uem = _read_all(args.uem, ".uem", read_uem) if args.uem else None
    texts = _read_all(args.reference_text, ".stm", read_stm) if args.reference_text else None
    plan = _plan(_file_pairs(args), uem, texts)
    for problem in plan.problems:
        console.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
    if not plan.jobs:
        raise ConfigError("nothing to score: no reference recording has a hypothesis")
    pairs = [DiarizationPair(j.uri, j.reference, j.hypothesis.turns, j.uem) for j in plan.jobs]
    diarization = score_diarization(pairs, collar_s=args.collar)
    text = _score_text(plan.jobs) if texts is not None else None
    out = Console(quiet=args.quiet, width=max(Console().width, 160))
    out.print(_table(plan.jobs, diarization, text))
    if args.json is not None:
        _write_json(args.json, plan, diarization, text)
    return EXIT_FAILED if plan.problems else EXIT_OK


@dataclass(frozen=True, slots=True)
class _TextReport:
    """Text scores of the jobs that have text on both sides (by job index), and their total."""

    by_job: Mapping[int, TextScore]
    total: TextScore


def _score_text(jobs: Sequence[_Job]) -> _TextReport:
    indexed = [
        (index, TextPair(job.uri, job.reference_text, job.hypothesis.text))
        for index, job in enumerate(jobs)
        if job.reference_text is not None and job.hypothesis.text is not None
    ]
    scores = score_text([pair for _, pair in indexed])
    by_job = {index: score for (index, _), score in zip(indexed, scores.files, strict=True)}
    return _TextReport(by_job, scores.total)


# -- which files and recordings to score --------------------------------------------------


def _file_pairs(args: argparse.Namespace) -> list[_FilePair]:
    if args.pairs is not None:
        if args.reference is not None or args.hypothesis is not None:
            raise ConfigError("give either --list or --reference REF HYP, not both")
        return _listed_pairs(args.pairs)
    if args.reference is None or args.hypothesis is None:
        raise ConfigError("give --reference REF and HYP, or --list FILE")
    reference, hypothesis = Path(args.reference), Path(args.hypothesis)
    for path in (reference, hypothesis):
        if not path.exists():
            raise ConfigError(f"{path}: no such file or folder")
    if reference.is_dir():
        if not hypothesis.is_dir():
            raise ConfigError(f"{hypothesis}: must be a folder, since the reference {reference} is")
        references = sorted(reference.glob("*.rttm"))
        if not references:
            raise ConfigError(f"{reference}: no .rttm files in this folder")
        return [_FilePair(ref, _hypothesis_in(hypothesis, ref.stem)) for ref in references]
    if hypothesis.is_dir():
        return [_FilePair(reference, _hypothesis_in(hypothesis, reference.stem))]
    return [_FilePair(reference, hypothesis)]


def _listed_pairs(path: Path) -> list[_FilePair]:
    folder = path.parent
    pairs = []
    for reference, hypothesis in parse_pairs(read_text(path), str(path)):
        hypothesis_path = folder / hypothesis
        pairs.append(
            _FilePair(folder / reference, hypothesis_path if hypothesis_path.exists() else None)
        )
    return pairs


def _hypothesis_in(folder: Path, stem: str) -> Path | None:
    for suffix in HYPOTHESIS_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _read_all(
    path: Path, suffix: str, read: Callable[[Path], dict[str, _V]]
) -> dict[str, tuple[_V, Path]]:
    """Everything in the file ``path``, or in its ``*suffix`` files if it is a folder, by uri.

    Raises :class:`ConfigError` when two files describe one uri.
    """
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder")
    files = sorted(path.glob(f"*{suffix}")) if path.is_dir() else [path]
    if not files:
        raise ConfigError(f"{path}: no {suffix} files in this folder")
    found: dict[str, tuple[_V, Path]] = {}
    for file in files:
        for uri, value in read(file).items():
            if uri in found:
                raise ConfigError(f"{file}: uri {uri!r} is also in {found[uri][1]}")
            found[uri] = (value, file)
    return found


def _plan(
    pairs: Sequence[_FilePair],
    uem: Mapping[str, tuple[tuple[Span, ...], Path]] | None,
    texts: Mapping[str, tuple[tuple[StmLine, ...], Path]] | None,
) -> _Plan:
    """The recordings to score, and a line for each reference that cannot be."""
    jobs: list[_Job] = []
    problems: list[str] = []
    for pair in pairs:
        if pair.hypothesis is None:
            problems.append(f"{pair.reference}: no hypothesis found for it")
            continue
        found = _plan_pair(pair.reference, pair.hypothesis, uem, texts)
        jobs.extend(found.jobs)
        problems.extend(found.problems)
    return _Plan(tuple(jobs), tuple(problems))


def _plan_pair(
    reference_path: Path,
    hypothesis_path: Path,
    uem: Mapping[str, tuple[tuple[Span, ...], Path]] | None,
    texts: Mapping[str, tuple[tuple[StmLine, ...], Path]] | None,
) -> _Plan:
    references = read_rttm(reference_path)
    hypotheses = read_hypothesis(hypothesis_path)
    jobs: list[_Job] = []
    problems: list[str] = []
    if not references:
        problems.append(f"{reference_path}: no SPEAKER lines, nothing to score")
    for uri, turns, hypothesis in _match(references, hypotheses):
        if hypothesis is None:
            problems.append(f"{hypothesis_path}: no hypothesis for {uri!r} of {reference_path}")
            continue
        regions = uem.get(uri) if uem is not None else None
        if uem is not None and regions is None:
            problems.append(f"no UEM region for {uri!r} (of {reference_path}); not scored")
            continue
        lines = texts.get(uri) if texts is not None else None
        if texts is not None and lines is None:
            problems.append(f"no reference text for {uri!r} (of {reference_path}); no WER")
        elif texts is not None and hypothesis.text is None:
            problems.append(
                f"{hypothesis_path}: an RTTM hypothesis has no words; WER needs a saywho "
                ".json or an .stm hypothesis"
            )
        jobs.append(
            _Job(
                uri=uri,
                reference_path=reference_path,
                hypothesis_path=hypothesis_path,
                reference=turns,
                hypothesis=hypothesis,
                uem=regions[0] if regions is not None else None,
                reference_text=stm_text(lines[0]) if lines is not None else None,
            )
        )
    return _Plan(tuple(jobs), tuple(problems))


def _match(
    references: Mapping[str, tuple[Turn, ...]], hypotheses: Mapping[str, Hypothesis]
) -> list[tuple[str, tuple[Turn, ...], Hypothesis | None]]:
    """Each reference recording with its hypothesis: by uri, or one with one."""
    if len(references) == 1 and len(hypotheses) == 1:
        (uri, turns), hypothesis = next(iter(references.items())), next(iter(hypotheses.values()))
        return [(uri, turns, hypothesis)]
    return [(uri, turns, hypotheses.get(uri)) for uri, turns in references.items()]


# -- reporting ----------------------------------------------------------------------------


def _table(jobs: Sequence[_Job], diarization: DiarizationScores, text: _TextReport | None) -> Table:
    collar = diarization.total.collar_s
    table = Table(
        "recording",
        "speech s",
        "DER %",
        "miss %",
        "FA %",
        "conf. %",
        "JER %",
        *(("WER %", "cpWER %") if text is not None else ()),
        title=f"collar {collar:g} s on each side of reference boundaries, overlap scored",
    )
    for column in table.columns[1:]:
        column.justify = "right"
    for index, (job, score) in enumerate(zip(jobs, diarization.files, strict=True)):
        words = text.by_job.get(index) if text is not None else None
        table.add_row(job.uri, *_cells(score, words, text is not None))
    table.add_section()
    table.add_row(
        "total", *_cells(diarization.total, text.total if text else None, text is not None)
    )
    return table


def _cells(score: DiarizationScore, words: TextScore | None, with_text: bool) -> list[str]:
    cells = [
        f"{score.reference_speech_s:.2f}",
        *(_percent(r) for r in (score.der, score.miss, score.false_alarm, score.confusion)),
        _percent(score.jer),
    ]
    if with_text:
        cells += [_percent(words.wer if words else None), _percent(words.cpwer if words else None)]
    return cells


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.2f}"


def _write_json(
    path: Path, plan: _Plan, diarization: DiarizationScores, text: _TextReport | None
) -> None:
    files = [
        {
            "uri": job.uri,
            "reference": str(job.reference_path),
            "hypothesis": str(job.hypothesis_path),
            **_diarization_object(score),
            **_text_object(text.by_job.get(index) if text is not None else None),
        }
        for index, (job, score) in enumerate(zip(plan.jobs, diarization.files, strict=True))
    ]
    document = {
        "collar_s": diarization.total.collar_s,
        "files": files,
        "total": {
            **_diarization_object(diarization.total),
            **_text_object(text.total if text is not None else None),
        },
        "errors": list(plan.problems),
    }
    try:
        with atomic_text_file(path) as stream:
            json.dump(document, stream, ensure_ascii=False, indent=2)
            stream.write("\n")
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror})") from None


def _diarization_object(score: DiarizationScore) -> dict[str, Any]:
    return {
        "der": score.der,
        "miss": score.miss,
        "false_alarm": score.false_alarm,
        "confusion": score.confusion,
        "jer": score.jer,
        "miss_s": score.miss_s,
        "false_alarm_s": score.false_alarm_s,
        "confusion_s": score.confusion_s,
        "reference_speech_s": score.reference_speech_s,
    }


def _text_object(score: TextScore | None) -> dict[str, Any]:
    if score is None:
        return {"wer": None, "cpwer": None, "reference_words": None}
    return {"wer": score.wer, "cpwer": score.cpwer, "reference_words": score.reference_words}
