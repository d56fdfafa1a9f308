"""``saywho live SOURCE``: who said what, as it is said, in the terminal; the results written
when the stream ends."""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.markup import escape

from saywho import options
from saywho.audio.decode import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from saywho.audio.stream import RawFormat
from saywho.config import LiveConfig, PipelineConfig, RecognizeConfig
from saywho.errors import AudioDecodeError, ConfigError
from saywho.identify.command import add_identify_arguments, naming_from_args
from saywho.live.display import LiveView
from saywho.live.engine import LiveEngine
from saywho.live.session import (
    LIVE_MODEL,
    FedClock,
    LiveModels,
    open_engine,
    stream_paced,
    stream_simulated,
    with_live_model,
)
from saywho.live.sources import LiveSource, list_devices, open_source
from saywho.outputs import check_output_dir, write_outputs
from saywho.timestamps import format_timestamp
from saywho.types import Transcript

__all__ = ["register"]
DEFAULT_FORMATS = "txt,srt,vtt,json,tsv"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``live`` to the ``saywho`` command's subcommands."""
    live = commands.add_parser(
        "live",
        help="transcribe a microphone, stream or growing file as it is spoken, with speakers",
        description="SOURCE: mic (a microphone), - (standard input: any container, or raw "
        "PCM with --raw), a URL FFmpeg reads (http, Icecast, RTSP, RTMP), or a file "
        "(as fast as it decodes; --realtime: at its natural pace; --follow: still being "
        "written). Ctrl-C ends the stream; the results are written then.",
    )
    live.add_argument("source", nargs="?", metavar="SOURCE")
    live.add_argument(
        "-o", "--output-dir", type=Path, default=Path(), help="where results go (default: .)"
    )
    live.add_argument(
        "--name", help="file name stem of the results (default: the file's, or live-DATE-TIME)"
    )
    options.add_formats_option(live, DEFAULT_FORMATS)
    live.add_argument("--realtime", action="store_true", help="play a file at its natural pace")
    live.add_argument(
        "--follow", action="store_true", help="the file is still being written: keep reading"
    )
    live.add_argument(
        "--raw",
        metavar="FORMAT:RATE:CHANNELS",
        help="headerless PCM, e.g. s16le:16000:1 (arecord -f S16_LE -r 16000 -c 1 -t raw)",
    )
    live.add_argument("--input-device", help="the microphone: index or name (see --device-list)")
    live.add_argument("--device-list", action="store_true", help="list the input devices")
    live.add_argument(
        "--no-final-pass",
        dest="final_pass",
        action="store_false",
        help="write the live transcript as it is (default: transcribe the recording again "
        "when the stream ends, keeping the speaker labels shown live)",
    )
    base = RecognizeConfig().model
    model_help = (
        f"{LIVE_MODEL} by default ({base} with a --language other than en), {base}, "
        "a CTranslate2 model directory, or a hub name"
    )
    options.add_recognize_options(live, helps={"recognize.model": model_help})
    options.add_speaker_options(live)
    options.add_threads_option(live)
    options.add_config_option(live)
    add_identify_arguments(live)
    live.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    live.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    live.set_defaults(run=_live)


def _live(args: argparse.Namespace, console: Console) -> int:
    if args.device_list:
        for line in list_devices():
            console.print(line, highlight=False)
        return 0
    if args.source is None:
        raise ConfigError("saywho live needs a SOURCE: mic, -, a URL or a file (see --help)")
    source = LiveSource(
        args.source,
        realtime=args.realtime,
        follow=args.follow,
        raw=_raw(args.raw),
        device=args.input_device,
    )
    config = _config(args)
    identification = naming_from_args(args).identification
    check_output_dir(args.output_dir)
    stem = args.name or _stem(source)
    formats = options.formats_of(args)
    # A file, a URL or stdin that cannot be read fails before the models load; a microphone
    # opens after them, so that what it hears meanwhile does not pile up.
    opened = open_source(source) if source.kind != "mic" else None
    with console.status("loading models…"):
        models = LiveModels(config)
    recording = args.output_dir / f"{stem}.live.wav"
    args.output_dir.mkdir(parents=True, exist_ok=True)
    partial = recording.with_name(f".{recording.name}.part")
    clock = FedClock()
    started = time.monotonic()
    engine = open_engine(
        models,
        LiveConfig(final_pass=args.final_pass),
        clock=clock if not source.paced else (lambda: time.monotonic() - started),
        voices=identification,
        recording=partial,
    )
    broke: list[str] = []
    chunks = _until_broken(opened if opened is not None else open_source(source), broke)
    with LiveView(console) as view:
        if source.paced:
            stream_paced(engine, chunks, on_update=view.show)
        else:
            stream_simulated(engine, clock, chunks, on_update=view.show)
    status = "final pass: transcribing the whole recording…" if args.final_pass else "writing…"
    with console.status(status):
        transcript = engine.finish()
    partial.replace(recording)
    transcript = dataclasses.replace(transcript, source=str(recording))
    paths = write_outputs(transcript, args.output_dir, stem, formats, media=recording)
    _summary(console, engine, transcript, paths)
    if broke:
        console.print(
            f"[yellow]warning:[/yellow] the stream broke off: {escape(broke[0])}", highlight=False
        )
        return 1
    return 0


def _config(args: argparse.Namespace) -> PipelineConfig:
    config = options.build_config(args)
    if args.model is None and config.recognize.model == RecognizeConfig().model:
        return with_live_model(config)
    return config


def _raw(text: str | None) -> RawFormat | None:
    if text is None:
        return None
    parts = text.split(":")
    try:
        sample_format, rate, channels = parts[0], int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        raise ConfigError(
            f"--raw {text!r}: give FORMAT:RATE:CHANNELS, e.g. s16le:16000:1"
        ) from None
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE or not 1 <= channels <= 64:
        raise ConfigError(
            f"--raw {text!r}: rate {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz, 1-64 channels"
        )
    return RawFormat(sample_format, rate, channels)


def _stem(source: LiveSource) -> str:
    if source.kind == "file":
        return Path(source.target).stem
    return datetime.now().strftime("live-%Y%m%d-%H%M%S")


def _until_broken(
    chunks: Iterator[npt.NDArray[np.float32]], broke: list[str]
) -> Iterator[npt.NDArray[np.float32]]:
    """The chunks, ending quietly (noted in ``broke``) if the source breaks off: what was
    heard until then is still transcribed and written."""
    try:
        yield from chunks
    except (AudioDecodeError, OSError) as error:
        broke.append(str(error))


def _summary(
    console: Console, engine: LiveEngine, transcript: Transcript, paths: tuple[Path, ...]
) -> None:
    committed = engine.committed
    latency = sorted(c.committed_s - c.word.end for c in committed if c.word.span is not None)
    speakers = ", ".join(s.display for s in transcript.speakers) or "none"
    heard = engine.heard_s
    load = engine.compute_s / heard if heard else 0.0
    line = (
        f"heard {format_timestamp(heard)}; {len(committed)} words live, compute "
        f"{load:.0%} of the stream; speakers: {speakers}"
    )
    if latency:
        line += f"; delay to a committed word: median {latency[len(latency) // 2]:.1f} s"
    console.print(line, highlight=False)
    for path in paths:
        console.print(f"wrote {path}", highlight=False)
