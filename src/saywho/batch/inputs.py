"""Find the media of a batch: files, folders walked recursively, list files; name the outputs.

A file named on the command line (or in a list file) is always part of the batch: if it is
not media, that is reported as its failure. Inside folders, files are told apart quickly:
a known media extension is taken, a known non-media extension (text, images, our own
results) is skipped, and anything else is taken only if PyAV finds an audio stream in it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from saywho.audio.probe import probe_duration_s
from saywho.errors import ConfigError

__all__ = ["BatchInputs", "MediaFile", "find_inputs", "output_names", "read_list_file"]

# Split strings keep these lists readable (as lists, the formatter puts one per line).
MEDIA_SUFFIXES = frozenset(
    ".wav .wave .flac .mp3 .m4a .aac .ogg .oga .opus .wma .aif .aiff .amr .ac3 .mka .webm "  # noqa: SIM905
    ".mp4 .m4v .mkv .mov .avi .wmv .mpg .mpeg .ts .3gp .caf .au .spx".split()
)
NOT_MEDIA_SUFFIXES = frozenset(
    ".txt .md .rst .csv .tsv .json .jsonl .xml .html .htm .srt .vtt .rttm .stm .uem .lab "  # noqa: SIM905
    ".toml .yaml .yml .ini .cfg .py .sh .log .pdf .doc .docx .odt .xls .xlsx .zip .gz .tar "
    ".bz2 .xz .7z .png .jpg .jpeg .gif .bmp .tif .tiff .svg .webp .sqlite .db .npy .npz "
    ".pkl .onnx .bin .exe .so .dll".split()
)


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One input of a batch.

    ``path`` is absolute; ``output`` is where its results go under the output folder,
    without a format suffix (``calls/2024/alice`` → ``calls/2024/alice.txt`` …);
    ``duration_s`` is the duration the file declares, 0 when unknown or unreadable.
    """

    path: Path
    output: PurePosixPath
    duration_s: float


@dataclass(frozen=True, slots=True)
class BatchInputs:
    """The media files of a batch, and the files in its folders skipped as not media."""

    files: tuple[MediaFile, ...]
    skipped: tuple[Path, ...]


def find_inputs(
    arguments: Sequence[str | Path],
    *,
    exclude: Sequence[Path] = (),
    reserved: Iterable[str] = (),
) -> BatchInputs:
    """Expand ``arguments`` (files, folders, ``@list`` files) into the media of a batch.

    Folders under ``exclude`` (the output folder) are not walked. ``reserved`` are output
    names at the top of the output folder that no input may take (the batch's own report).
    Raises :class:`ConfigError` for a list file that cannot be read.
    """
    excluded = [path.resolve() for path in exclude]
    found: dict[Path, float] = {}
    skipped: list[Path] = []
    for argument in _expand_lists(arguments):
        path = Path(argument).absolute()
        if path.is_dir():
            for candidate in _walk(path, excluded):
                duration = _media_duration(candidate)
                if duration is None:
                    skipped.append(candidate)
                else:
                    found.setdefault(candidate, duration)
        else:
            found.setdefault(path, _declared_or_zero(path))
    paths = list(found)
    names = output_names(paths, reserved=reserved)
    files = tuple(
        MediaFile(path, name, found[path]) for path, name in zip(paths, names, strict=True)
    )
    return BatchInputs(files, tuple(skipped))


def read_list_file(path: Path) -> tuple[Path, ...]:
    """The paths in a list file: one a line, blank lines and ``#`` comments ignored.

    A relative path is taken relative to the list file's folder.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read list file ({error})") from error
    entries = (line.strip() for line in lines)
    return tuple(path.parent / entry for entry in entries if entry and not entry.startswith("#"))


def output_names(
    paths: Sequence[Path], *, reserved: Iterable[str] = ()
) -> tuple[PurePosixPath, ...]:
    """Collision-free output names for absolute ``paths``: the folder structure is mirrored.

    Names are relative to the deepest folder that holds every input, so ``a/x.wav`` and
    ``b/x.wav`` become ``a/x`` and ``b/x``. Two inputs of one folder that share a stem
    (``x.wav``, ``x.mp3``), and an input whose name is ``reserved``, keep their extension
    in the name (``x.wav`` → ``x.wav.txt``).
    """
    if not paths:
        return ()
    root = Path(os.path.commonpath([path.parent for path in paths]))
    stems = [PurePosixPath(path.relative_to(root).with_suffix("").as_posix()) for path in paths]
    taken = {PurePosixPath(name) for name in reserved}
    counts: dict[PurePosixPath, int] = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    return tuple(
        PurePosixPath(path.relative_to(root).as_posix())
        if counts[stem] > 1 or stem in taken
        else stem
        for path, stem in zip(paths, stems, strict=True)
    )


def _expand_lists(arguments: Sequence[str | Path]) -> Iterator[str | Path]:
    for argument in arguments:
        text = str(argument)
        if text.startswith("@") and len(text) > 1:
            yield from read_list_file(Path(text[1:]))
        else:
            yield argument


def _walk(folder: Path, excluded: Sequence[Path]) -> Iterator[Path]:
    """Files under ``folder``, sorted, not descending into hidden or excluded folders."""
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (here / d).resolve() not in excluded
        )
        for name in sorted(files):
            if not name.startswith("."):
                yield here / name


def _media_duration(path: Path) -> float | None:
    """The declared duration of a media file in a folder; ``None`` if it is not media."""
    suffix = path.suffix.lower()
    if suffix in NOT_MEDIA_SUFFIXES:
        return None
    if suffix in MEDIA_SUFFIXES:
        return _declared_or_zero(path)  # a corrupt .wav is reported, not silently skipped
    return probe_duration_s(path)


def _declared_or_zero(path: Path) -> float:
    duration = probe_duration_s(path) if path.is_file() else None
    return duration if duration is not None else 0.0
