"""``saywho batch``: many files, resumable, on local worker processes or on a Ray cluster.

    saywho batch INPUT... -o OUT_DIR [--workers N] [--ray [ADDRESS]] [transcribe options]

INPUT is a file, a folder (walked recursively) or ``@LIST`` (a file of paths, one a line);
``--list LIST`` says the same. Results mirror the inputs' folders under OUT_DIR; the
manifest ``saywho-batch.sqlite`` there makes a second run redo only what is unfinished or
whose content or options changed; ``saywho-batch-report.csv`` and ``.json`` list every file.
Speakers are named from the voice library as in ``saywho transcribe`` (``--identify``, on when
the library has voices); enrolling, renaming or removing a voice redoes the files it may name.
``--link-speakers`` then gives one person one label in every finished file (see ``link.py``).

Exit codes: 0 all done; 1 some files failed or were not reached (a full output disk stops the
batch); 2 bad usage or config (nothing was transcribed); 3 a model could not be loaded; 130
interrupted (Ctrl-C): the report lists what was done. The report is written in every case
where the batch ran; when even it cannot be written, the failures are listed on the terminal.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

from rich.console import Console

from saywho import options
from saywho.batch.display import BatchDisplay
from saywho.batch.events import Event
from saywho.batch.inputs import find_inputs
from saywho.batch.jobs import Job, with_threads
from saywho.batch.link import link_batch
from saywho.batch.local import run_local
from saywho.batch.report import REPORT_NAMES
from saywho.batch.runner import Backend, BatchResult, run_batch
from saywho.config import PipelineConfig
from saywho.errors import ConfigError
from saywho.identify.command import add_identify_arguments, naming_from_args
from saywho.progress import format_duration

__all__ = ["register"]

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
DEFAULT_FORMATS = "txt,srt,vtt,json,tsv"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``saywho batch`` to the command line."""
    parser = commands.add_parser(
        "batch", help="transcribe many files or folders; resumable; local workers or Ray"
    )
    parser.add_argument(
        "inputs", nargs="*", metavar="INPUT", help="files, folders (recursive) or @LIST files"
    )
    parser.add_argument(
        "--list", action="append", default=[], type=Path, metavar="LIST",
        help="a file of input paths, one a line (relative to its folder); repeatable",
    )  # fmt: skip
    parser.add_argument("-o", "--output-dir", type=Path, required=True, help="where results go")
    options.add_formats_option(parser, DEFAULT_FORMATS)
    parser.add_argument(
        "--workers", type=int,
        help="worker processes (local: default one per core; Ray: as the cluster's CPUs allow)",
    )  # fmt: skip
    parser.add_argument(
        "--ray", nargs="?", const="", default=None, metavar="ADDRESS",
        help="run on Ray: a cluster address (auto, HOST:PORT, ray://HOST:PORT) or none to "
        "start a local Ray instance",
    )  # fmt: skip
    options.add_threads_option(
        parser, help="CPU threads per worker (local default: cores / workers; Ray default: 1)"
    )
    options.add_recognize_options(parser)
    options.add_subtitle_options(parser)
    options.add_speaker_options(parser)
    options.add_input_options(parser)
    options.add_config_option(parser)
    add_identify_arguments(parser)
    parser.add_argument(
        "--link-speakers", action="store_true",
        help="after the batch, give one person one label in every file (needs -f with json)",
    )  # fmt: skip
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.set_defaults(run=_batch)


def _batch(args: argparse.Namespace, console: Console) -> int:
    formats = options.formats_of(args)
    config = options.build_config(args)
    naming = naming_from_args(args)
    if args.link_speakers and "json" not in formats:
        raise ConfigError(
            "--link-speakers reads the speakers back from the JSON results: add json to -f"
        )
    for name in ("workers", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name} must be at least 1, got {value}")
    arguments = [*args.inputs, *(f"@{path}" for path in args.list)]
    if not arguments:
        raise ConfigError("no inputs: name files, folders, or @LIST / --list LIST")
    with console.status("finding media…"):
        inputs = find_inputs(arguments, exclude=[args.output_dir], reserved=REPORT_NAMES)
    if inputs.skipped:
        console.print(f"{len(inputs.skipped)} files in the folders are not media: skipped")
    if not inputs.files:
        raise ConfigError("no media files among the inputs")
    backend = _backend(args, config)
    with BatchDisplay(console) as display:
        result = run_batch(
            inputs.files,
            args.output_dir.absolute(),
            config,
            formats,
            backend,
            display,
            naming.identification,
        )
    linked = True
    if args.link_speakers:
        linked = _link(console, result, args.output_dir.absolute(), formats, naming.threshold)
    _print_summary(console, result)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if result.failed or not linked else EXIT_OK


def _backend(args: argparse.Namespace, config: PipelineConfig) -> Backend:
    cores = os.cpu_count() or 1
    if args.ray is not None:
        from saywho.batch.ray_runner import run_ray

        threads = args.threads or config.recognize.threads or 1
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never phone home
        return partial(
            run_ray,
            config=with_threads(config, threads),
            address=args.ray or None,
            workers=args.workers,
            threads=threads,
        )
    # One single-threaded worker per core: on the throughput benchmark it does more per CPU
    # second than fewer workers with more threads each.
    workers = args.workers or cores
    threads = args.threads or config.recognize.threads or max(1, cores // workers)
    return partial(_local, config=with_threads(config, threads), workers=workers)


def _local(jobs: Sequence[Job], *, config: PipelineConfig, workers: int) -> Iterator[Event]:
    return run_local(jobs, config, workers)


def _link(
    console: Console, result: BatchResult, out_dir: Path, formats: tuple[str, ...], threshold: float
) -> bool:
    """Link the batch's speakers and say how it went; whether every finished file was linked."""
    with console.status("linking speakers across files…"):
        summary = link_batch(result.rows, out_dir, formats, threshold)
    for problem in summary.problems:
        console.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
    console.print(
        f"linked speakers across {summary.files} files: {summary.people} people, "
        f"{summary.recurring} of them in more than one file; {summary.rewritten} files relabelled",
        highlight=False,
        soft_wrap=True,
    )
    return not summary.problems


def _print_summary(console: Console, result: BatchResult) -> None:
    done = [row for row in result.rows if row.outcome.ok]
    now = [row for row in done if row.this_run]
    audio_s = sum(row.outcome.duration_s for row in now)
    busy_s = sum(row.outcome.seconds for row in now)
    rtf = f"{busy_s / audio_s:.3f}" if audio_s > 0 else "n/a"
    if result.report is None:  # the disk is full: the report is this list
        for row in result.rows:
            if not row.outcome.ok:
                console.print(f"[red]failed:[/red] {row.outcome.error}", highlight=False)
    report = f"report: {result.report[0]}" if result.report else f"[red]{result.report_error}[/red]"
    console.print(
        f"{len(done)} of {len(result.rows)} files done ({len(now)} this run) · "
        f"{format_duration(audio_s)} of audio this run · real-time factor per worker {rtf}"
        + (f" · [red]{result.failed} failed[/red]" if result.failed else "")
        + f" · {report}",
        highlight=False,
        soft_wrap=True,
    )
    if result.stopped is not None:
        console.print(
            f"[red]batch stopped:[/red] {result.stopped}; the files not done are "
            + ("in the report" if result.report else "listed above")
            + ", and running the same command again does them",
            highlight=False,
            soft_wrap=True,
        )
