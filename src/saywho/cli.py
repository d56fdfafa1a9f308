"""The ``saywho`` command: it only parses, calls the library, and maps errors to exit codes.

Exit codes: 0 all went well; 1 at least one file failed (the others were still done);
2 bad usage, options or config (nothing was processed); 3 a model could not be loaded.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from saywho import __version__, models, options
from saywho.batch import command as batch_command
from saywho.errors import ModelError, SaywhoError
from saywho.evaluation import command as evaluate_command
from saywho.identify import command as voices_command
from saywho.outputs import write_outputs
from saywho.pipeline import Pipeline
from saywho.progress import FileProgress, expected_stages, format_duration, progress_bar
from saywho.server import command as serve_command
from saywho.types import Transcript

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_MODEL = 0, 1, 2, 3
DEFAULT_FORMATS = "txt,srt,vtt,json,tsv"


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
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return EXIT_MODEL
    except SaywhoError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        return 130


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
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    options.add_config_option(parser)
    voices_command.add_naming_arguments(parser)
    _add_common(parser)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
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
    formats = options.formats_of(args)
    config = options.build_config(args)
    naming = voices_command.Naming.from_args(args)
    with console.status("loading models…"):
        pipeline = Pipeline(config)
    stems = _unique_stems(args.files)
    results = []
    with progress_bar(console) as progress:
        for path, stem in zip(args.files, stems, strict=True):
            results.append(
                _transcribe_one(
                    pipeline,
                    path,
                    stem,
                    args.output_dir,
                    formats,
                    progress,
                    naming,
                    embed_media=getattr(args, "embed_media", False),
                )
            )
    _link_speakers(
        console, naming, results, args.output_dir, formats, getattr(args, "embed_media", False)
    )
    _print_summary(console, results)
    if any(r.error for r in results):
        return EXIT_FAILED
    return EXIT_OK


def _transcribe_one(
    pipeline: Pipeline,
    path: Path,
    stem: str,
    out_dir: Path,
    formats: tuple[str, ...],
    progress: Progress,
    naming: voices_command.Naming,
    *,
    embed_media: bool = False,
) -> _FileResult:
    task = progress.add_task(path.name, total=1.0, stage="decoding")
    started = time.perf_counter()
    now = FileProgress(expected_stages(pipeline.config))

    def hook(stage: str, done_s: float, total_s: float) -> None:
        nonlocal now
        now = now.advance(stage, done_s, total_s)
        progress.update(task, completed=now.fraction, stage=now.label)

    try:
        transcript = naming.one(pipeline.transcribe(path, progress=hook))
        hook("write", 0.0, 1.0)
        write_outputs(transcript, out_dir, stem, formats, media=path, embed_media=embed_media)
    except SaywhoError as error:
        progress.update(task, stage="[red]failed")
        progress.stop_task(task)
        progress.console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return _FileResult(path, 0.0, time.perf_counter() - started, str(error))
    progress.update(task, completed=1.0, stage="done")
    return _FileResult(
        path, transcript.duration_s, time.perf_counter() - started, None, transcript, stem
    )


def _link_speakers(
    console: Console,
    naming: voices_command.Naming,
    results: Sequence[_FileResult],
    out_dir: Path,
    formats: tuple[str, ...],
    embed_media: bool,
) -> None:
    """With --link-speakers, relabel the batch consistently and write the results again."""
    done = [r for r in results if r.transcript is not None]
    if not naming.link or not done:
        return
    linked, notes = naming.batch([r.transcript for r in done if r.transcript is not None])
    for result, transcript in zip(done, linked, strict=True):
        write_outputs(
            transcript, out_dir, result.stem, formats, media=result.path, embed_media=embed_media
        )
    for note in notes:
        console.print(note, highlight=False, soft_wrap=True)


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
