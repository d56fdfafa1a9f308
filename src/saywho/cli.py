"""The ``saywho`` command: it only parses, calls the library, and maps errors to exit codes.

Exit codes: 0 all went well; 1 at least one file failed (the others were still done);
2 bad usage, options or config (nothing was processed); 3 a model could not be loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from saywho import __version__, models, options
from saywho.audio.decode import check_header
from saywho.batch import command as batch_command
from saywho.errors import AudioDecodeError, ModelError, OutputError, SaywhoError
from saywho.evaluation import command as evaluate_command
from saywho.identify import command as voices_command
from saywho.identify.service import Naming
from saywho.live import command as live_command
from saywho.outputs import check_output_dir, write_outputs
from saywho.pipeline import Pipeline
from saywho.progress import FileProgress, expected_stages, format_duration, progress_bar
from saywho.server import command as serve_command
from saywho.types import Transcript

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_MODEL = 0, 1, 2, 3
DEFAULT_FORMATS = "txt,srt,vtt,json,tsv"
DIARIZE_FORMATS = ("rttm", "json")
logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s"
    )
    console = Console(stderr=True, quiet=args.quiet)
    try:
        return int(args.run(args, console))
    except ModelError as error:
        print_error(console, str(error))
        return EXIT_MODEL
    except SaywhoError as error:
        print_error(console, str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        return 130


def print_error(console: Console, message: str, *, label: str = "error") -> None:
    """One ``error: …`` line on stderr, even with ``-q``; the message is never read as markup
    (a config section such as ``[foo]`` would vanish)."""
    target = console if not console.quiet else Console(stderr=True)
    colour = "red" if label == "error" else "yellow"
    target.print(
        f"[{colour}]{label}:[/{colour}] {escape(message)}", highlight=False, soft_wrap=True
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saywho", description="Who said what, and when. Offline.")
    parser.add_argument("--version", action="version", version=f"saywho {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    run = commands.add_parser("transcribe", help="transcribe audio or video files, with speakers")
    _add_job_arguments(run, DEFAULT_FORMATS)
    options.add_recognize_options(run)
    options.add_subtitle_options(run)
    run.add_argument(
        "--embed-media",
        action="store_true",
        help="put the media inside the html review page (default: link it by relative path)",
    )
    run.set_defaults(run=_transcribe)

    who = commands.add_parser("diarize", help="who spoke when, without transcribing")
    _add_job_arguments(who, "rttm,json")
    who.set_defaults(run=_transcribe, recognize=False)

    model_cmd = commands.add_parser("models", help="list or verify the bundled models")
    model_sub = model_cmd.add_subparsers(required=True, metavar="ACTION")
    listing = model_sub.add_parser(
        "list", help="every model: role, size, sha256, location, installed"
    )
    _add_common(listing)
    listing.set_defaults(run=_models_list)
    verify = model_sub.add_parser("verify", help="check every model file against its sha256")
    _add_common(verify)
    verify.set_defaults(run=_models_verify)
    evaluate_command.register(commands)
    voices_command.register_voices(commands)
    voices_command.register_extract(commands)
    live_command.register(commands)
    serve_command.register(commands)
    batch_command.register(commands)
    return parser


def _add_job_arguments(parser: argparse.ArgumentParser, default_formats: str) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument(
        "-o", "--output-dir", type=Path, default=Path(), help="where results go (default: .)"
    )
    options.add_formats_option(parser, default_formats)
    options.add_speaker_options(parser)
    options.add_input_options(parser)
    options.add_threads_option(parser)
    options.add_config_option(parser)
    voices_command.add_naming_arguments(parser)
    _add_common(parser)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but warnings and errors"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")


@dataclass(frozen=True, slots=True)
class _FileResult:
    path: Path
    duration_s: float
    seconds: float
    error: str | None
    transcript: Transcript | None = None
    stem: str = ""


def _transcribe(args: argparse.Namespace, console: Console) -> int:
    formats = _job_formats(args)
    config = options.build_config(args)
    naming = voices_command.naming_from_args(args)
    check_output_dir(args.output_dir)
    stems = _unique_stems(args.files)
    refused = _check_headers(console, args.files)  # a damaged header fails before the models load
    results = [refused[path] for path in args.files if path in refused]
    if len(refused) == len(args.files):
        _print_summary(console, results)
        return EXIT_FAILED
    with console.status("loading models…"):
        pipeline = Pipeline(config)
    embed_media = bool(getattr(args, "embed_media", False))
    # With --link-speakers the results are written once, after linking them.
    write = None if naming.link else _Writer(args.output_dir, formats, embed_media)
    with progress_bar(console) as progress:
        for path, stem in zip(args.files, stems, strict=True):
            if path in refused:
                continue
            results.append(_transcribe_one(pipeline, path, stem, progress, naming, write))
    linked = True
    if naming.link:
        results, linked = _link_speakers(
            console, naming, results, _Writer(args.output_dir, formats, embed_media)
        )
    _print_summary(console, results)
    if any(r.error for r in results) or not linked:
        return EXIT_FAILED
    return EXIT_OK


def _check_headers(console: Console, paths: Sequence[Path]) -> dict[Path, _FileResult]:
    """The files whose headers alone show they cannot be decoded, each reported on one line."""
    refused = {}
    for path in paths:
        try:
            check_header(path)
        except AudioDecodeError as error:
            print_error(console, str(error))
            refused[path] = _FileResult(path, 0.0, 0.0, str(error))
    return refused


def _job_formats(args: argparse.Namespace) -> tuple[str, ...]:
    """The formats asked for; ``saywho diarize`` writes only those that hold turns."""
    formats = options.formats_of(args)
    if getattr(args, "recognize", None) is not False:
        return formats
    if ",".join(args.formats or ()).strip().lower() == "all":
        return DIARIZE_FORMATS
    wordy = [fmt for fmt in formats if fmt not in DIARIZE_FORMATS]
    if wordy:
        raise OutputError(
            f"saywho diarize writes {' and '.join(DIARIZE_FORMATS)}, not {', '.join(wordy)} "
            "(those hold words: use saywho transcribe)"
        )
    return formats


@dataclass(frozen=True, slots=True)
class _Writer:
    """Where and how a file's results are written."""

    out_dir: Path
    formats: tuple[str, ...]
    embed_media: bool

    def __call__(self, transcript: Transcript, stem: str, media: Path) -> None:
        write_outputs(
            transcript, self.out_dir, stem, self.formats, media=media, embed_media=self.embed_media
        )


def _transcribe_one(
    pipeline: Pipeline,
    path: Path,
    stem: str,
    progress: Progress,
    naming: Naming,
    write: _Writer | None,
) -> _FileResult:
    """Transcribe one file and write its results (``write`` ``None``: later); any failure is
    reported on one line and returned, never raised, so that the other files still run."""
    name = escape(path.name)
    task = progress.add_task(name, total=1.0, stage="decoding")
    started = time.perf_counter()
    now = FileProgress(expected_stages(pipeline.config))

    def hook(stage: str, done_s: float, total_s: float) -> None:
        nonlocal now
        now = now.advance(stage, done_s, total_s)
        progress.update(task, completed=now.fraction, stage=now.label)

    try:
        transcript = pipeline.transcribe(path, progress=hook, voices=naming.identification)
        if write is not None:
            hook("write", 0.0, 1.0)
            write(transcript, stem, path)
    except Exception as error:  # MemoryError too: one bad file must not stop the run
        progress.update(task, stage="[red]failed")
        progress.stop_task(task)
        message = _file_error(path, error)
        print_error(progress.console, message)
        return _FileResult(path, 0.0, time.perf_counter() - started, message)
    progress.update(task, completed=1.0, stage="done")
    _warn_speaker_count(progress.console, path, transcript, pipeline.config.diarize.num_speakers)
    return _FileResult(
        path, transcript.duration_s, time.perf_counter() - started, None, transcript, stem
    )


def _file_error(path: Path, error: BaseException) -> str:
    """One line for a file that failed: our own errors as they are, others with their kind."""
    if isinstance(error, SaywhoError):
        return str(error)
    logger.debug("%s failed", path, exc_info=error)
    if isinstance(error, MemoryError):
        return f"{path}: ran out of memory ({error or 'no detail'}); try --max-duration"
    detail = " ".join(str(error).split()) or "no detail"
    return f"{path}: failed: {type(error).__name__}: {detail} (run with -v for details)"


def _warn_speaker_count(
    console: Console, path: Path, transcript: Transcript, asked: int | None
) -> None:
    found = len(transcript.speakers)
    if asked is not None and found != asked:
        print_error(
            console,
            f"{path}: {found} speakers found, not the {asked} of --num-speakers "
            "(a hint: a real speaker is never split to make up the number)",
            label="warning",
        )


def _link_speakers(
    console: Console, naming: Naming, results: Sequence[_FileResult], write: _Writer
) -> tuple[list[_FileResult], bool]:
    """With --link-speakers, relabel the batch consistently, then write the results; a file
    whose results cannot be written is reported and failed, the others are still written.
    Returns the results and whether the linking worked (if not, each file keeps its labels)."""
    heard = [r.transcript for r in results if r.transcript is not None]
    worked = True
    try:
        linked, notes = naming.batch(heard)
    except (SaywhoError, OSError) as error:  # e.g. --learn cannot write the library
        print_error(
            console,
            f"cannot link the speakers across the files ({error}); each file is written "
            "with its own labels",
        )
        linked, notes, worked = tuple(heard), [], False
    relabelled = iter(linked)
    outcome = []
    for result in results:
        if result.transcript is None:
            outcome.append(result)
            continue
        try:
            write(next(relabelled), result.stem, result.path)
            outcome.append(result)
        except Exception as error:  # one file's disk trouble must not lose the others
            message = _file_error(result.path, error)
            print_error(console, message)
            outcome.append(dataclasses.replace(result, error=message, transcript=None))
    for note in notes:
        console.print(note, highlight=False, soft_wrap=True)
    return outcome, worked


def _unique_stems(paths: Sequence[Path]) -> list[str]:
    """Output names: the input's stem, with ``-2``, ``-3`` … when two inputs share one."""
    seen: dict[str, int] = {}
    stems = []
    for path in paths:
        count = seen.get(path.stem, 0) + 1
        seen[path.stem] = count
        stems.append(path.stem if count == 1 else f"{path.stem}-{count}")
    return stems


def _print_summary(console: Console, results: Sequence[_FileResult]) -> None:
    done = [r for r in results if r.error is None]
    audio_s = sum(r.duration_s for r in done)
    busy_s = sum(r.seconds for r in done)
    rtf = f"{busy_s / audio_s:.3f}" if audio_s > 0 else "n/a"
    failed = len(results) - len(done)
    console.print(
        f"{len(done)} of {len(results)} files done · {format_duration(audio_s)} of audio · "
        f"took {format_duration(busy_s)} · real-time factor {rtf}"
        + (f" · [red]{failed} failed[/red]" if failed else ""),
        highlight=False,
        soft_wrap=True,
    )


def _models_list(args: argparse.Namespace, console: Console) -> int:
    table = Table("name", "role", "size", "sha256", "location", "installed")
    for status in models.list_models():
        spec = status.spec
        table.add_row(
            spec.name,
            spec.role,
            f"{spec.size_bytes / 1e6:.1f} MB",
            spec.sha256,
            str(status.path) if status.path else "—",
            "yes" if status.installed else "no",
        )
    Console(quiet=args.quiet, width=max(Console().width, 200)).print(table)
    return EXIT_OK


def _models_verify(args: argparse.Namespace, console: Console) -> int:
    out = Console(quiet=args.quiet)
    bad = 0
    for spec, problem in models.verify_models():
        if problem is None:
            out.print(f"ok      {spec.name}  {spec.sha256}", highlight=False, soft_wrap=True)
        else:
            bad += 1
            out.print(f"[red]FAILED[/red]  {spec.name}  {problem}", highlight=False, soft_wrap=True)
    return EXIT_FAILED if bad else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
