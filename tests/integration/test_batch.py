"""``saywho batch`` for real: subprocesses, real models and SQLite, kill -9, a Ray cluster."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from media import speech_samples, write_media
from saywho.batch.manifest import LOCK_NAME, MANIFEST_NAME

pytestmark = pytest.mark.integration

SENTENCES = {
    "a/x.wav": "Good morning. The meeting starts at nine, and we will talk about the budget.",
    "b/x.wav": "The train to the city leaves from platform four every twenty minutes.",
    "c.flac": "Please remember to water the plants while I am away next week.",
    "d/clip": "Our records show that the package was delivered on Tuesday afternoon.",
}
GOOD = {"a/x", "b/x", "c", "d/clip"}
BOOKKEEPING = {MANIFEST_NAME, LOCK_NAME, "saywho-batch-report.csv", "saywho-batch-report.json"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four short spoken files (two named x.wav, one without extension), a corrupt one, notes."""
    root = tmp_path_factory.mktemp("batch") / "inputs"
    scratch = tmp_path_factory.mktemp("speech")
    for name, text in SENTENCES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        samples = speech_samples(text, scratch)
        if name == "d/clip":  # media without an extension: found by probing
            write_media(path.with_suffix(".flac"), samples, codec="flac").rename(path)
        else:
            codec = "flac" if name.endswith(".flac") else "pcm_s16le"
            write_media(path, samples, codec=codec)
    (root / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt this is not audio")
    (root / "notes.txt").write_text("a note, not media\n")
    return root


def batch(inputs: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "saywho.cli", "batch", str(inputs), "-o", str(out), *options],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
        timeout=600,
    )


COMMON = ("--model", "tiny.en", "--threads", "1")


@pytest.fixture(scope="module")
def reference(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted run with two local workers."""
    out = tmp_path_factory.mktemp("reference") / "out"
    result = batch(inputs, out, *COMMON, "--workers", "2")
    assert result.returncode == 1, result.stderr
    return out


def report(out: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((out / "saywho-batch-report.json").read_text())
    return {row["output"]: row for row in data["files"]}


def results(out: Path) -> dict[str, bytes]:
    """Every result file under ``out`` (not the batch's own files, not temporary files)."""
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.name not in BOOKKEEPING and not path.name.startswith(".")
    }


def test_a_batch_mirrors_folders_reports_and_survives_a_corrupt_file(reference: Path) -> None:
    rows = report(reference)
    assert set(rows) == {*GOOD, "broken"}
    assert {name for name, row in rows.items() if row["status"] == "done"} == GOOD
    assert "not a media file" in rows["broken"]["error"]
    for name in GOOD:
        row = rows[name]
        assert row["duration_s"] > 2.0
        assert row["speakers"] == 1
        assert row["real_time_factor"] > 0
        assert row["this_run"] is True
    assert {row["worker"] for row in rows.values()} == {"w1", "w2"}
    assert set(results(reference)) == {
        f"{name}.{fmt}" for name in GOOD for fmt in ("txt", "srt", "vtt", "json", "tsv")
    }
    assert "budget" in (reference / "a" / "x.txt").read_text()
    assert "platform" in (reference / "b" / "x.txt").read_text()
    csv_lines = (reference / "saywho-batch-report.csv").read_text().splitlines()
    assert csv_lines[0].startswith("file,output,status,this_run,duration_s,speakers,")
    assert len(csv_lines) == 6


def test_a_second_run_redoes_nothing_and_a_changed_option_redoes_all(
    inputs: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.name not in BOOKKEEPING}
    again = batch(inputs, out, *COMMON, "--workers", "1")
    assert again.returncode == 1, again.stderr
    assert "4 of 5 files already done" in again.stderr
    assert {name for name, row in report(out).items() if row["this_run"]} == {"broken"}
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert results(out) == results(reference)

    changed = batch(inputs, out, *COMMON, "--workers", "2", "--beam-size", "2")
    assert changed.returncode == 1, changed.stderr
    assert all(row["this_run"] for row in report(out).values())
    assert json.loads((out / "c.json").read_text())["config"]["recognize"]["beam_size"] == 2


def _done_in_manifest(out: Path) -> set[str]:
    path = out / MANIFEST_NAME
    if not path.exists():
        return set()
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT output FROM files WHERE status = 'done'").fetchall()
    except sqlite3.OperationalError:  # not created yet, or being written
        return set()
    return {row[0] for row in rows}


def test_kill_9_then_rerun_redoes_only_the_unfinished_files(
    inputs: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "saywho.cli", "batch", str(inputs), "-o", str(out)]
    process = subprocess.Popen(
        [*command, *COMMON, "--workers", "1", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes its workers too
    )
    try:
        deadline = time.monotonic() + 300
        while not _done_in_manifest(out) and time.monotonic() < deadline:
            assert process.poll() is None, "the batch ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # as a power loss would: no clean-up at all
        process.wait()
    finished = _done_in_manifest(out)
    assert finished, "nothing was finished before the kill"
    assert finished < GOOD, "everything was finished before the kill"

    rerun = batch(inputs, out, *COMMON, "--workers", "2")
    assert rerun.returncode == 1, rerun.stderr
    rows = report(out)
    assert {name for name, row in rows.items() if row["this_run"]} == GOOD - finished | {"broken"}
    assert {name for name, row in rows.items() if row["status"] == "done"} == GOOD
    assert results(out) == results(reference)


RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


@pytest.fixture
def ray_cluster() -> Iterator[str]:
    """A Ray head and one more node on loopback, one CPU each, stopped afterwards."""
    ray = str(Path(sys.executable).parent / "ray")
    env = {**os.environ, **RAY_ENV}
    address = f"127.0.0.1:{20000 + os.getpid() % 20000}"
    node = ("--node-ip-address", "127.0.0.1", "--num-cpus", "1")
    small = ("--object-store-memory", str(100 * 1024 * 1024))
    try:
        for extra in (
            ("--head", "--port", address.split(":")[1], "--include-dashboard", "false"),
            ("--address", address),
        ):
            subprocess.run(
                [ray, "start", *extra, *node, *small, "--disable-usage-stats"],
                env=env,
                check=True,
                capture_output=True,
                timeout=180,
            )
        yield address
    finally:
        subprocess.run([ray, "stop"], env=env, check=False, capture_output=True, timeout=120)


def test_ray_cluster_gives_the_local_results_and_resumes(
    inputs: Path, reference: Path, tmp_path: Path, ray_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in RAY_ENV.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    result = batch(inputs, out, *COMMON, "--workers", "2", "--ray", ray_cluster)
    assert result.returncode == 1, result.stderr
    rows = report(out)
    assert {name for name, row in rows.items() if row["status"] == "done"} == GOOD
    assert results(out) == results(reference)
    nodes = {row["worker"].split(":")[0] for row in rows.values() if row["status"] == "done"}
    assert len(nodes) == 2, f"both nodes should have worked: {nodes}"

    again = batch(inputs, out, *COMMON, "--workers", "2", "--ray", ray_cluster)
    assert again.returncode == 1, again.stderr
    assert {name for name, row in report(out).items() if row["this_run"]} == {"broken"}
