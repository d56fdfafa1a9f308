"""Load test of ``saywho serve`` on loopback: N concurrent uploads of short files.

    python benchmarks/server_load.py [--uploads 20] [--workers 1,2] [--model tiny.en]
                                     [--timeout 900] [--out benchmarks/results/server.md]

Starts a real server (a subprocess, 127.0.0.1 on a free port, a fresh data directory),
synthesises short speech files with eSpeak NG, uploads them all at once (one request per
file, concurrently), follows every job to its end and reports: jobs completed, failed and
lost, time from upload to result (p50, p95, max), total time, and the peak memory of the
server and its worker processes (the sum of their VmHWM), for each worker count in
``--workers``. Bounded: each run stops by itself after ``--timeout`` seconds. Traffic goes
to 127.0.0.1 only. Not a test: it prints a table and writes a markdown report.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from provenance import git_commit

HOST = "127.0.0.1"
DEFAULT_OUT = Path(__file__).parent / "results" / "server.md"
SENTENCES = (
    "Please call Stella and ask her to bring these things with her from the store.",
    "The quick brown fox jumps over the lazy dog.",
    "Six spoons of fresh snow peas and five thick slabs of blue cheese.",
    "We also need a small plastic snake and a big toy frog for the kids.",
    "She can scoop these things into three red bags.",
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One upload: its job, how it ended and how long it took from upload to result."""

    name: str
    job_id: str | None
    status: str
    seconds: float


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def make_files(folder: Path, count: int) -> list[Path]:
    """``count`` short speech files (about 3 to 5 s each), voices and sentences varied."""
    if shutil.which("espeak-ng") is None:
        sys.exit("error: espeak-ng is needed to synthesise the test speech (apt install espeak-ng)")
    files = []
    for index in range(count):
        path = folder / f"speech-{index:02d}.wav"
        voice = ("en", "en-us", "en-gb-x-rp")[index % 3]
        text = SENTENCES[index % len(SENTENCES)]
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
        files.append(path)
    return files


def start_server(
    data_dir: Path, port: int, workers: int, args: argparse.Namespace
) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True)
    command = [
        *(sys.executable, "-m", "saywho.cli", "serve", "--host", HOST, "--port", str(port)),
        *("--data-dir", str(data_dir), "--workers", str(workers)),
        *("--model", args.model, "--models", args.model, "--rate-limit", "0"),
    ]
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"error: the server exited with {process.returncode}; see {log.name}")
        try:
            httpx.get(f"http://{HOST}:{port}/v1/info", timeout=1.0)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    sys.exit("error: the server did not answer within 60 s")


async def one_upload(client: httpx.AsyncClient, path: Path, deadline: float) -> Outcome:
    """Upload ``path``, then follow its job until it ends (or the deadline passes)."""
    started = time.monotonic()
    files = [("files", (path.name, path.read_bytes(), "audio/wav"))]
    response = await client.post("/v1/jobs", files=files, data={"language": "en"})
    if response.status_code != 201:
        return Outcome(path.name, None, f"refused {response.status_code}", 0.0)
    job_id = response.json()["jobs"][0]["id"]
    while time.monotonic() < deadline:
        job = (await client.get(f"/v1/jobs/{job_id}")).json()
        if job["status"] in ("done", "failed"):
            if job["status"] == "done":
                await client.get(f"/v1/jobs/{job_id}/result", params={"format": "srt"})
            return Outcome(path.name, job_id, job["status"], time.monotonic() - started)
        await asyncio.sleep(0.25)
    return Outcome(path.name, job_id, "timed out", time.monotonic() - started)


async def run_load(port: int, files: list[Path], timeout_s: float) -> tuple[list[Outcome], float]:
    deadline = time.monotonic() + timeout_s
    limits = httpx.Limits(max_connections=len(files) + 5)
    async with httpx.AsyncClient(
        base_url=f"http://{HOST}:{port}", timeout=60.0, limits=limits
    ) as client:
        started = time.monotonic()
        outcomes = await asyncio.gather(*(one_upload(client, f, deadline) for f in files))
        wall_s = time.monotonic() - started
        listed = (await client.get("/v1/jobs")).json()["jobs"]
    known = {job["id"] for job in listed}
    checked = [
        o if o.job_id is None or o.job_id in known else Outcome(o.name, o.job_id, "lost", o.seconds)
        for o in outcomes
    ]
    return checked, wall_s


def peak_memory_mb(pid: int) -> float | None:
    """The process's peak resident memory (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the server's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def total_peak_memory_mb(pid: int) -> float | None:
    """The server's peak resident memory plus that of each of its worker processes, in MB."""
    peaks = [peak_memory_mb(p) for p in (pid, *children(pid))]
    known = [peak for peak in peaks if peak is not None]
    return sum(known) if known else None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


@dataclass(frozen=True, slots=True)
class Run:
    """One load run: the worker count, every upload's outcome, the time and peak memory."""

    workers: int
    outcomes: list[Outcome]
    wall_s: float
    peak_mb: float | None


def measures(run: Run, audio_s: float) -> list[tuple[str, str]]:
    outcomes = run.outcomes
    done = [o.seconds for o in outcomes if o.status == "done"]
    failed = sum(o.status == "failed" for o in outcomes)
    lost = sum(o.status in ("lost", "timed out") or o.job_id is None for o in outcomes)
    return [
        ("uploads (concurrent)", str(len(outcomes))),
        ("jobs completed", str(len(done))),
        ("jobs failed", str(failed)),
        ("jobs lost / refused / timed out", str(lost)),
        ("audio per file (mean)", f"{audio_s / max(1, len(outcomes)):.1f} s"),
        ("time to result p50", f"{percentile(done, 0.5):.1f} s"),
        ("time to result p95", f"{percentile(done, 0.95):.1f} s"),
        ("time to result max", f"{max(done, default=float('nan')):.1f} s"),
        ("all done after", f"{run.wall_s:.1f} s"),
        ("throughput", f"{len(done) / run.wall_s * 60:.1f} jobs/min" if run.wall_s else "n/a"),
        (
            "peak memory, server + workers (sum of VmHWM)",
            f"{run.peak_mb:.0f} MB" if run.peak_mb else "n/a",
        ),
    ]


def report(args: argparse.Namespace, runs: list[Run], audio_s: float, load: str) -> str:
    tables = [measures(run, audio_s) for run in runs]
    lines = [
        "# Server load: concurrent uploads on loopback",
        "",
        f"- machine: {cpu_model()}, nproc {len(os.sched_getaffinity(0))}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
        f"load average before the run {load} "
        "(1, 5, 15 min; it also counts work that has just ended)",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `python {shlex.join(sys.argv)}`",
        f"- git commit: {git_commit()}",
        f"- server: `saywho serve --workers N --model {args.model}` on 127.0.0.1, a fresh data "
        "directory per run, jobs in worker processes (models loaded once each); each upload "
        "is one request with one eSpeak NG file; time to result = from the start of the upload "
        "to the job being done",
        "",
        "| measure | " + " | ".join(f"{run.workers} worker(s)" for run in runs) + " |",
        "| --- |" + " --- |" * len(runs),
        *(
            f"| {rows[0][0]} | " + " | ".join(rows[i][1] for rows in tables) + " |"
            for i, rows in enumerate(zip(*tables, strict=True))
        ),
        "",
    ]
    for run in runs:
        failed = [o.name for o in run.outcomes if o.status != "done"]
        if failed:
            lines += [f"Not done with {run.workers} worker(s): {', '.join(failed)}", ""]
    return "\n".join(lines)


def audio_seconds(files: list[Path]) -> float:
    total = 0.0
    for path in files:
        # eSpeak NG writes 22.05 kHz 16-bit mono PCM with a 44-byte header.
        total += max(0, path.stat().st_size - 44) / (22_050 * 2)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run, at most")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    runs = []
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="saywho-load-") as folder:
        root = Path(folder)
        (root / "media").mkdir()
        files = make_files(root / "media", args.uploads)
        for workers in (int(w) for w in args.workers.split(",")):
            runs.append(one_run(root / f"data-{workers}", files, workers, args))
        text = report(args, runs, audio_seconds(files), load)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 1 if any(o.status != "done" for run in runs for o in run.outcomes) else 0


def one_run(data_dir: Path, files: list[Path], workers: int, args: argparse.Namespace) -> Run:
    port = free_port()
    server = start_server(data_dir, port, workers, args)
    try:
        outcomes, wall_s = asyncio.run(run_load(port, files, args.timeout))
        peak_mb = total_peak_memory_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    return Run(workers, outcomes, wall_s, peak_mb)


if __name__ == "__main__":
    sys.exit(main())
