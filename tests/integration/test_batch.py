"""``saywho batch`` for real: subprocesses, real models and SQLite, kill -9, a Ray cluster."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from media import silence, speech_samples, write_media
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


def test_ctrl_c_stops_the_workers_and_still_writes_the_report(inputs: Path, tmp_path: Path) -> None:
    # Three long files behind the short ones, so that work is left when Ctrl-C comes however
    # fast the machine is.
    folder = tmp_path / "inputs"
    shutil.copytree(inputs, folder)
    long_speech = np.concatenate([speech_samples(SENTENCES["c.flac"], tmp_path), silence(0.5)] * 12)
    slow = {f"z{index}" for index in range(3)}
    for name in slow:
        write_media(folder / f"{name}.wav", long_speech)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "saywho.cli", "batch", str(folder), "-o", str(out)]
    log = tmp_path / "stderr.txt"
    with log.open("w") as stream:
        process = subprocess.Popen(
            [*command, *COMMON, "--workers", "1"],
            stdout=subprocess.DEVNULL,
            stderr=stream,
            env={**os.environ, "COLUMNS": "200"},
            start_new_session=True,  # its own session: what is left of it afterwards is seen
        )
    try:
        deadline = time.monotonic() + 300
        while not _done_in_manifest(out) and time.monotonic() < deadline:
            assert process.poll() is None, "the batch ended before it could be interrupted"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        process.wait(timeout=120)
        deadline = time.monotonic() + 30  # multiprocessing's resource tracker leaves last
        while _session(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in _session(process.pid)]
        assert left == [], "a process outlived its interrupted batch"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    stderr = log.read_text()
    assert process.returncode == 130, stderr
    assert "batch stopped: interrupted by Ctrl-C" in stderr
    rows = report(out)
    assert set(rows) == {*GOOD, *slow, "broken"}  # the files not reached too
    done = {name for name, row in rows.items() if row["status"] == "done"}
    assert done == _done_in_manifest(out)
    assert done and done < GOOD | slow
    not_done = {
        name for name, row in rows.items() if "not done: interrupted" in (row["error"] or "")
    }
    assert not_done, rows
    assert done.isdisjoint(not_done)


# Mounts a 96 KiB tmpfs at $0 (in a user and mount namespace of its own: no privileges needed),
# runs the command there, then lists the files it left and prints the report (if it could be
# written), since the mount vanishes with it.
_ON_A_SMALL_DISK = (
    'mount -t tmpfs -o size=96k saywho-test "$0" || exit 99; "$@"; code=$?; '
    'cd "$0" && find . -type f && cat out/saywho-batch-report.json 2>/dev/null; exit "$code"'
)


def _user_namespaces_work(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "-Urm", "mount", "-t", "tmpfs", "probe", str(tmp_path)]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def test_a_full_disk_stops_the_batch_and_leaves_no_partial_results(
    inputs: Path, tmp_path: Path
) -> None:
    """A real full disk where a user namespace can mount a small tmpfs; elsewhere, a file size
    limit (RLIMIT_FSIZE, 16 KiB) that makes writes past it fail (EFBIG) as a full disk would."""
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / "out"
    command = [sys.executable, "-m", "saywho.cli", "batch", str(inputs), "-o", str(out), *COMMON]
    environment = {**os.environ, "COLUMNS": "200"}
    if _user_namespaces_work(tmp_path):
        wrapped = ["unshare", "-Urm", "sh", "-c", _ON_A_SMALL_DISK, str(disk), *command]
        result = subprocess.run(
            wrapped, capture_output=True, text=True, env=environment, check=False, timeout=600
        )
        listing, _, report_text = result.stdout.partition("{")
        left = [line.removeprefix("./out/") for line in listing.splitlines()]
        report_text = "{" + report_text if report_text else ""
        assert "batch stopped: the output disk is full" in result.stderr
    else:

        def small_files() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=environment,
            preexec_fn=small_files,
            check=False,
            timeout=600,
        )
        left = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
        report_file = out / "saywho-batch-report.json"
        report_text = report_file.read_text() if report_file.exists() else ""
        assert "batch stopped: the " in result.stderr  # the disk, or the manifest on it
    assert result.returncode == 1, result.stderr
    if report_text:  # the report lists every input; the files not reached are not done
        rows = {row["output"]: row for row in json.loads(report_text)["files"]}
        assert set(rows) == {*GOOD, "broken"}
        errors = [row["error"] or "" for row in rows.values()]
    else:  # no room for the report: the terminal lists the failures instead
        errors = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert any("not done: the " in error for error in errors), errors
    assert not [name for name in left if Path(name).name.startswith(".")], left  # no temp files
    results = {name for name in left if Path(name).name not in BOOKKEEPING}
    for stem in {name.rsplit(".", 1)[0] for name in results}:  # all formats of a file, or none
        assert {f"{stem}.{fmt}" for fmt in ("txt", "srt", "vtt", "json", "tsv")} <= results


RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def _session(leader: int) -> list[int]:
    """The processes of the session that ``leader`` started (Linux ``/proc``)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it has just exited
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name) ": state ppid pgrp sid
        if int(fields[3]) == leader:
            members.append(int(entry.name))
    return members


def _stop_session(process: subprocess.Popen[bytes]) -> None:
    """Stop a ``ray start --block`` and everything it started, and nothing else.

    SIGTERM makes it stop its Ray processes; whatever is left of its session is killed. (A bare
    ``ray stop`` would stop every Ray process on the machine, other users' included.)
    """
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=60)
    for pid in _session(process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def ray_cluster(tmp_path: Path) -> Iterator[str]:
    """A Ray head and one more node on loopback, one CPU each, stopped afterwards.

    Each node is a ``ray start --block`` in a session of its own, so that the clean-up can stop
    exactly the processes this test started.
    """
    ray = str(Path(sys.executable).parent / "ray")
    env = {**os.environ, **RAY_ENV}
    address = f"127.0.0.1:{20000 + os.getpid() % 20000}"
    node = ("--node-ip-address", "127.0.0.1", "--num-cpus", "1")
    small = ("--object-store-memory", str(100 * 1024 * 1024))
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        for index, extra in enumerate(
            (
                ("--head", "--port", address.split(":")[1], "--include-dashboard", "false"),
                ("--address", address),
            )
        ):
            log = tmp_path / f"ray-node-{index}.log"
            with log.open("wb") as stream:
                nodes.append(
                    subprocess.Popen(
                        [ray, "start", "--block", *extra, *node, *small, "--disable-usage-stats"],
                        env=env,
                        stdout=stream,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            deadline = time.monotonic() + 180
            while "Ray runtime started" not in log.read_text(errors="replace"):
                assert nodes[-1].poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "Ray did not start in 180 s"
                time.sleep(0.2)
        yield address
    finally:
        for process in reversed(nodes):
            _stop_session(process)
        # `ray start` noted the head as this machine's current cluster; `ray stop` would forget it
        current = Path("/tmp/ray/ray_current_cluster")
        with contextlib.suppress(OSError):
            if current.read_text().strip().endswith(f":{address.split(':')[1]}"):
                current.unlink()


def _named(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return ""


def test_kill_9_of_a_ray_batch_leaves_no_ray_process_behind(inputs: Path, tmp_path: Path) -> None:
    """The private Ray instance of ``--ray`` goes with its coordinator: agents and actors too."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "saywho.cli", "batch", str(inputs), "-o", str(out)]
    process = subprocess.Popen(
        [*command, *COMMON, "--workers", "2", "--ray", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **RAY_ENV},
        start_new_session=True,  # Ray's processes share its session: they can be found
    )
    try:
        deadline = time.monotonic() + 300
        while not any(_named(pid).startswith("ray::RayWorker") for pid in _session(process.pid)):
            assert process.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline, "no Ray actor started working in 300 s"
            time.sleep(0.1)
        assert any(_named(pid) == "ray::DashboardAgent" for pid in _session(process.pid))
        process.kill()  # the coordinator alone, as the OOM killer would
        process.wait()
        deadline = time.monotonic() + 30  # Ray's agents used to wait minutes for a dead GCS
        while _session(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [_named(pid) for pid in _session(process.pid)] == []
    finally:
        for pid in _session(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


_NUMBER = re.compile(r"\d[\d:.,]*")


def _close(a: Any, b: Any, tolerance: float) -> bool:
    """Whether two decoded JSON values are equal, floats up to ``tolerance``."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and abs(a - b) <= tolerance
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tolerance) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assert_equivalent(got: dict[str, bytes], expected: dict[str, bytes]) -> None:
    """The same files with the same words, speakers and structure; numbers nearly the same.

    Two processes with the same models, options and thread counts may still differ in the last
    bits of a float: Whisper's matrix products are not bit-reproducible across processes with
    every BLAS (oneMKL on Intel CPUs, chosen by CTranslate2, does not promise it), and a word's
    probability or its 20 ms timing frame can follow. So times and probabilities are compared to
    within 0.1; every word, speaker label and option must be the same.
    """
    assert sorted(got) == sorted(expected)
    for name, data in expected.items():
        if name.endswith(".json"):
            mine, theirs = json.loads(got[name]), json.loads(data)
            assert mine["config"] == theirs["config"], name
            assert mine["models"] == theirs["models"], name
            assert _close(mine, theirs, 0.1), name
        else:
            text = _NUMBER.sub("#", got[name].decode())
            assert text == _NUMBER.sub("#", data.decode()), name


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
    assert_equivalent(results(out), results(reference))
    nodes = {row["worker"].split(":")[0] for row in rows.values() if row["status"] == "done"}
    assert len(nodes) == 2, f"both nodes should have worked: {nodes}"

    again = batch(inputs, out, *COMMON, "--workers", "2", "--ray", ray_cluster)
    assert again.returncode == 1, again.stderr
    assert {name for name, row in report(out).items() if row["this_run"]} == {"broken"}
