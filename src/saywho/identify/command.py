"""``saywho voices …`` and ``saywho extract``, and the naming step of ``saywho transcribe``.

    saywho voices enroll NAME FILE... [--span START-END] [--replace] [--notes TEXT]
    saywho voices enroll-from RESULT.json --speaker SPEAKER_01 --name NAME [--replace]
    saywho voices list | show NAME | rename OLD NEW | remove NAME | export FILE | import FILE
    saywho extract FILE --speaker NAME|LABEL -o OUT.wav [--exclude] [--keep-timing]
                        [--result RESULT.json]

Every command takes ``--voices PATH`` (default ``$SAYWHO_VOICES`` or the user data dir).
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from rich.console import Console
from rich.table import Table

from saywho.audio import decode
from saywho.audio.encode import AUDIO_FORMATS, write_audio
from saywho.config import DiarizeConfig, PipelineConfig, RecognizeConfig
from saywho.errors import ConfigError
from saywho.formats.json import read_json
from saywho.identify.enroll import Enroller, enroll_from_transcript
from saywho.identify.extract import extract_spans, render, resolve_speaker
from saywho.identify.match import DEFAULT_THRESHOLD
from saywho.identify.service import Naming
from saywho.identify.store import VoiceLibrary, library_path
from saywho.pipeline import Pipeline
from saywho.types import Span, Transcript

__all__ = [
    "add_identify_arguments",
    "add_naming_arguments",
    "naming_from_args",
    "register_extract",
    "register_voices",
]

EXIT_OK = 0
_log = logging.getLogger(__name__)


# -- the naming step of transcribe ------------------------------------------------------------


def add_naming_arguments(parser: argparse.ArgumentParser) -> None:
    """The identify arguments, and ``--link-speakers`` and ``--learn``."""
    add_identify_arguments(parser)
    parser.add_argument(
        "--link-speakers",
        action="store_true",
        help="give the same unknown person the same label in every file of the batch",
    )
    parser.add_argument(
        "--learn",
        action="store_true",
        help="with --link-speakers: store unknown voices heard in 2+ files as unknown-N",
    )


def add_identify_arguments(parser: argparse.ArgumentParser) -> None:
    """``--identify/--no-identify``, ``--voices``, ``--identify-threshold``."""
    parser.add_argument(
        "--identify",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="name speakers from the voice library (default: on when it has voices)",
    )
    _add_voices_option(parser)
    parser.add_argument(
        "--identify-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"cosine similarity a voice needs to get a name (default {DEFAULT_THRESHOLD})",
    )


def naming_from_args(args: argparse.Namespace) -> Naming:
    """The naming step the flags ask for (:func:`add_naming_arguments`), the library read once."""
    given = getattr(args, "voices", None)
    return Naming.open(
        library_path(given),
        identify=getattr(args, "identify", None),
        threshold=float(getattr(args, "identify_threshold", DEFAULT_THRESHOLD)),
        link=bool(getattr(args, "link_speakers", False)),
        learn=bool(getattr(args, "learn", False)),
        chosen=given is not None,
    )


# -- saywho voices ----------------------------------------------------------------------------


def register_voices(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``saywho voices …`` to the command line."""
    voices = commands.add_parser("voices", help="the voice library: enrol, list, rename, share")
    actions = voices.add_subparsers(required=True, metavar="ACTION")

    enroll = actions.add_parser("enroll", help="enrol a voice from audio files of that person")
    enroll.add_argument("name", metavar="NAME")
    enroll.add_argument("files", nargs="+", type=Path, metavar="FILE")
    enroll.add_argument("--span", type=_span, help="only START-END seconds of each file")
    enroll.add_argument("--replace", action="store_true", help="drop the voice's earlier samples")
    enroll.add_argument("--notes", help="a note kept with the voice")
    enroll.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    enroll.set_defaults(run=_enroll)

    enroll_from = actions.add_parser(
        "enroll-from", help="enrol a speaker of a saywho JSON result under a name"
    )
    enroll_from.add_argument("result", type=Path, metavar="RESULT.json")
    enroll_from.add_argument("--speaker", required=True, help="its label, e.g. SPEAKER_01")
    enroll_from.add_argument("--name", required=True)
    enroll_from.add_argument("--replace", action="store_true")
    enroll_from.set_defaults(run=_enroll_from)

    listing = actions.add_parser("list", help="every voice: samples, seconds, updated")
    listing.set_defaults(run=_list)
    show = actions.add_parser("show", help="one voice and its samples")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(run=_show)
    rename = actions.add_parser("rename", help="rename a voice")
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    rename.set_defaults(run=_rename)
    remove = actions.add_parser("remove", help="delete a voice")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(run=_remove)
    export = actions.add_parser("export", help="write the library to a portable JSON file")
    export.add_argument("file", type=Path, metavar="FILE")
    export.set_defaults(run=_export)
    imported = actions.add_parser("import", help="merge voices from an exported file")
    imported.add_argument("file", type=Path, metavar="FILE")
    imported.set_defaults(run=_import)
    for action in (enroll, enroll_from, listing, show, rename, remove, export, imported):
        _add_voices_option(action)
        action.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
        action.add_argument("-v", "--verbose", action="store_true", help="log debug details")


def _add_voices_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--voices",
        type=Path,
        metavar="PATH",
        help="the voice library (default: $SAYWHO_VOICES or voices.sqlite3 in the user data dir)",
    )


def _span(text: str) -> Span:
    found = re.fullmatch(r"\s*([0-9.]+)\s*-\s*([0-9.]+)\s*", text)
    try:
        if found is None:
            raise ValueError(text)
        span = Span(float(found[1]), float(found[2]))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not START-END in seconds: {text!r}") from None
    if span.duration <= 0:
        raise argparse.ArgumentTypeError(f"empty span: {text!r}")
    return span


def _enroll(args: argparse.Namespace, console: Console) -> int:
    path = library_path(args.voices)
    with console.status("loading the speaker models…"):
        enroller = Enroller(threads=args.threads)
    replace = bool(args.replace)
    with VoiceLibrary(path, create=True) as library:
        for file in args.files:
            with console.status(f"enrolling {file.name}…"):
                enrolment = enroller.enroll(decode(file), span=args.span, source=str(file))
            outcome = library.add(
                args.name,
                enrolment.embedding,
                enrolment.seconds,
                enrolment.model_sha256,
                source=str(file),
                replace=replace,
                notes=args.notes,
            )
            replace = False  # --replace drops the old samples once, then the files add up
            voice = library.voice(args.name)
            console.print(
                f"{_outcome_text(outcome)} {voice.name!r}: {enrolment.seconds:.1f} s of speech "
                f"from {file.name} · {len(voice.samples)} sample(s), {voice.seconds:.1f} s in all",
                highlight=False,
                soft_wrap=True,
            )
            if enrolment.other_speakers_s:
                console.print(
                    f"[yellow]note:[/yellow] {file.name} has {len(enrolment.other_speakers_s)} "
                    "other voice(s); the one talking most was enrolled (use --span to choose)",
                    highlight=False,
                    soft_wrap=True,
                )
    return EXIT_OK


def _outcome_text(outcome: str) -> str:
    return {
        "created": "enrolled new voice",
        "added": "added a sample to existing voice",
        "replaced": "replaced the samples of",
    }[outcome]


def _enroll_from(args: argparse.Namespace, console: Console) -> int:
    transcript = _read_result(args.result)
    with VoiceLibrary(library_path(args.voices), create=True) as library:
        outcome = enroll_from_transcript(
            library, transcript, args.speaker, args.name, replace=args.replace
        )
        voice = library.voice(args.name)
    console.print(
        f"{_outcome_text(outcome)} {voice.name!r} from {args.speaker} of {args.result.name} · "
        f"{len(voice.samples)} sample(s), {voice.seconds:.1f} s in all",
        highlight=False,
        soft_wrap=True,
    )
    return EXIT_OK


def _read_result(path: Path) -> Transcript:
    try:
        with path.open(encoding="utf-8") as stream:
            return read_json(stream, name=str(path))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror or error})") from error


def _list(args: argparse.Namespace, console: Console) -> int:
    path = library_path(args.voices)
    out = Console(quiet=args.quiet)
    if not path.exists() and args.voices is None:
        out.print(f"no voices yet ({path} does not exist)", highlight=False, soft_wrap=True)
        return EXIT_OK
    with VoiceLibrary(path) as library:
        voices = library.voices()
    table = Table("name", "samples", "speech", "updated", "notes", title=str(path))
    for voice in voices:
        table.add_row(
            voice.name,
            str(len(voice.samples)),
            f"{voice.seconds:.1f} s",
            voice.updated,
            voice.notes or "",
        )
    out.print(table)
    return EXIT_OK


def _show(args: argparse.Namespace, console: Console) -> int:
    with VoiceLibrary(library_path(args.voices)) as library:
        voice = library.voice(args.name)
    out = Console(quiet=args.quiet)
    out.print(
        f"{voice.name}\ncreated {voice.created} · updated {voice.updated}"
        + (f"\nnotes: {voice.notes}" if voice.notes else "")
        + f"\nembedding model: {', '.join(voice.model_sha256)}",
        highlight=False,
        soft_wrap=True,
    )
    table = Table("#", "speech", "source", "added")
    for index, sample in enumerate(voice.samples, 1):
        table.add_row(str(index), f"{sample.seconds:.1f} s", sample.source or "", sample.created)
    out.print(table)
    return EXIT_OK


def _rename(args: argparse.Namespace, console: Console) -> int:
    with VoiceLibrary(library_path(args.voices)) as library:
        library.rename(args.old, args.new)
    console.print(f"renamed {args.old!r} to {args.new!r}", highlight=False, soft_wrap=True)
    return EXIT_OK


def _remove(args: argparse.Namespace, console: Console) -> int:
    with VoiceLibrary(library_path(args.voices)) as library:
        library.remove(args.name)
    console.print(f"removed {args.name!r}", highlight=False, soft_wrap=True)
    return EXIT_OK


def _export(args: argparse.Namespace, console: Console) -> int:
    with VoiceLibrary(library_path(args.voices)) as library:
        count = library.export(args.file)
    console.print(f"exported {count} voice(s) to {args.file}", highlight=False, soft_wrap=True)
    return EXIT_OK


def _import(args: argparse.Namespace, console: Console) -> int:
    with VoiceLibrary(library_path(args.voices), create=True) as library:
        voices, samples = library.import_file(args.file)
    console.print(
        f"imported {samples} new sample(s) into {voices} voice(s) from {args.file}",
        highlight=False,
        soft_wrap=True,
    )
    return EXIT_OK


# -- saywho extract ---------------------------------------------------------------------------


def register_extract(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``saywho extract`` to the command line."""
    parser = commands.add_parser(
        "extract", help="write one person's speech (or everything but theirs) to an audio file"
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--speaker", required=True, help="an enrolled name or a label")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help=f"audio file ({', '.join(AUDIO_FORMATS)})"
    )
    parser.add_argument("--exclude", action="store_true", help="everything but that person")
    parser.add_argument(
        "--keep-timing", action="store_true", help="keep the gaps as silence (same length)"
    )
    parser.add_argument(
        "--result", type=Path, help="a saywho JSON result of FILE (else FILE is diarized now)"
    )
    parser.add_argument("--sample-rate", type=int, default=16_000, help="output rate (Hz)")
    _add_voices_option(parser)
    parser.add_argument(
        "--identify-threshold", type=float, default=DEFAULT_THRESHOLD, help=argparse.SUPPRESS
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.set_defaults(run=_extract)


def _extract(args: argparse.Namespace, console: Console) -> int:
    if args.output.suffix.lower() not in AUDIO_FORMATS:
        raise ConfigError(f"-o {args.output}: use one of {', '.join(AUDIO_FORMATS)}")
    if args.sample_rate < 8000:
        raise ConfigError("--sample-rate must be at least 8000")
    naming = naming_from_args(args)  # a library that cannot be read fails before the work
    found = _read_result(args.result) if args.result is not None else _diarize(args, console)
    names = naming.identification  # the library as it is now
    transcript = found if names is None else names.apply(found)
    label = resolve_speaker(transcript, args.speaker)
    spans = extract_spans(transcript.turns, label, transcript.duration_s, exclude=args.exclude)
    audio = decode(args.file, sample_rate=args.sample_rate)
    samples = render(audio.samples, audio.sample_rate, spans, keep_timing=args.keep_timing)
    write_audio(args.output, samples, audio.sample_rate)
    speech_s = sum(s.duration for s in spans)
    console.print(
        f"wrote {args.output}: {speech_s:.1f} s "
        f"{'without' if args.exclude else 'of'} {transcript.speaker_display(label)} "
        f"in {len(spans)} stretch(es)",
        highlight=False,
        soft_wrap=True,
    )
    return EXIT_OK


def _diarize(args: argparse.Namespace, console: Console) -> Transcript:
    config = PipelineConfig(
        recognize=RecognizeConfig(enabled=False, threads=args.threads),
        diarize=DiarizeConfig(),
    )
    with console.status(f"diarizing {args.file.name}…"):
        return Pipeline(config).transcribe(args.file)
