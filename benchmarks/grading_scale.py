"""Throughput on one machine: per-submission cost and memory from 10 to 2,000 submissions, and where the
trusted side spends its time.

For each size N, `autograder grade` (all cores, a fresh gradebook) grades N copies
of a correct `softmax` notebook while the script samples the memory (RSS) of the
whole process tree: the command, its graders, the fork server and its children.
The steady per-submission cost comes from the gradebook itself: the time between
the first and the last recorded grading, over N - 1 (start-up excluded), and for
the largest N also over its first and its last tenth, which shows whether
grading slows down as the batch goes on.

`--profile` then grades one chunk of 32 in this process under cProfile, with
the grader's own code path (one pytest session, one fork server), and splits its
wall time into the trusted side's CPU (pytest, the hidden tests' comparisons, the
wire) and waiting for the sandboxed children.

    python benchmarks/grading_scale.py [--sizes 10 200 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.graders import chunk_submissions  # noqa: E402

NOTEBOOK = REPO / "solutions" / "03_softmax" / "samples" / "alice.ipynb"
PROFILED_CHUNK = 32


def tree_rss(root: psutil.Process) -> tuple[int, int]:
    """(RSS of the root alone, RSS of the root and all its descendants), in bytes."""
    total = own = root.memory_info().rss
    for child in root.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return own, total


def grade(folder: Path, db: Path) -> tuple[float, int, int]:
    """Seconds, peak RSS of the command and peak RSS of its whole tree while it grades `folder`."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    peaks = [0, 0]
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", "softmax", str(folder),
                                "--db", f"sqlite:///{db}"], cwd=REPO, env=environment, stdout=subprocess.DEVNULL)

    def sample() -> None:
        root = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                own, total = tree_rss(root)
            except psutil.Error:
                break
            peaks[0], peaks[1] = max(peaks[0], own), max(peaks[1], total)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    if process.wait() != 0:
        raise SystemExit(f"grading {folder} failed")
    sampler.join()
    return time.perf_counter() - started, peaks[0], peaks[1]


def graded_times(db: Path) -> list[float]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT graded_at FROM gradings ORDER BY graded_at").fetchall()
    return [datetime.fromisoformat(str(value)).timestamp() for (value,) in rows]


def steady_ms(times: list[float]) -> float:
    return (times[-1] - times[0]) / max(1, len(times) - 1) * 1000


def scaling(sizes: list[int], work: Path) -> None:
    print(f"`autograder grade` with --workers {os.cpu_count()} (every core), N copies of a correct `softmax` "
          "notebook, start-up included in the total:\n")
    print("| N | total (s) | per submission, steady (ms) | first tenth (ms) | last tenth (ms) "
          "| peak RSS, command (MB) | peak RSS, all processes (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        folder = work / f"n{size}"
        folder.mkdir()
        for index in range(size):
            shutil.copy(NOTEBOOK, folder / f"student{index:05d}.ipynb")
        db = work / f"n{size}.sqlite"
        seconds, own, total = grade(folder, db)
        times = graded_times(db)
        tenth = len(times) // 10
        # A chunk's results are stored together: a tenth says something only when it spans several chunks.
        spans_chunks = tenth >= 4 * len(chunk_submissions(list(range(size)), os.cpu_count() or 1)[0])
        first, last = (f"{steady_ms(times[:tenth]):.1f}", f"{steady_ms(times[-tenth:]):.1f}") if spans_chunks \
            else ("–", "–")
        print(f"| {size} | {seconds:.1f} | {steady_ms(times):.1f} | {first} | {last} | {own / 2**20:.0f} | "
              f"{total / 2**20:.0f} |", flush=True)
        shutil.rmtree(folder)


def profile_trusted_side(work: Path) -> None:
    from autograder.execute import THREAD_VARIABLES

    os.environ.update({variable: "1" for variable in THREAD_VARIABLES})  # as in a grader process
    import torch

    torch.set_num_threads(1)
    from autograder.course import Course
    from autograder.execute import ForkServer
    from autograder.hidden_tests import run_hidden_tests
    from autograder.ingest import read_submission

    submissions = []
    for index in range(PROFILED_CHUNK):
        path = work / "profiled" / f"student{index:03d}.ipynb"
        path.parent.mkdir(exist_ok=True)
        shutil.copy(NOTEBOOK, path)
        submissions.append(read_submission(path))
    assignment = Course(REPO).assignment("softmax")
    with ForkServer() as server:
        run_hidden_tests(assignment, submissions[:1], server, seed=1, timeout=60, on_graded=lambda r: None)  # warm
        profiler = cProfile.Profile()
        wall, cpu = time.perf_counter(), time.process_time()
        profiler.enable()
        run_hidden_tests(assignment, submissions, server, seed=1, timeout=60, on_graded=lambda r: None)
        profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"\nOne grader, one chunk of {PROFILED_CHUNK} (one pytest session): {wall / PROFILED_CHUNK * 1000:.1f} ms "
          f"per submission, of which the trusted side's own CPU {cpu / PROFILED_CHUNK * 1000:.1f} ms "
          f"({cpu / wall:.0%}); the rest is waiting for the sandboxed children (fork, cells, calls).\n")
    report = io.StringIO()
    pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(12)
    print("Top functions by own time (cProfile):")
    print("\n".join(line for line in report.getvalue().splitlines() if line.strip())[-1600:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 200, 2000])
    parser.add_argument("--profile", action="store_true", help="also profile the trusted side of one chunk")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autograder-scale-"))
    try:
        scaling(options.sizes, work)
        if options.profile:
            profile_trusted_side(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
