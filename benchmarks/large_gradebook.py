"""How long `export` and `report` take on a gradebook of a large class.

Fills a fresh SQLite gradebook (or the PostgreSQL database given with --db) with
N students × 1 submission × T tests through the gradebook's own schema, in bulk,
then times each command through the real CLI (`python -m autograder ...`, start-up
included) and the library call alone (`Gradebook.grades` + `export`). `report`
writes two files per student, so it is timed three ways: into a new folder on
disk, again into that folder, and into a new folder in memory (/dev/shm); plain
Python writing the same files into a new folder on disk, timed in the same run,
is the disk's floor. Target: under 2 s for 10,000
submissions × 20 tests.

    python benchmarks/large_gradebook.py [--students 10000] [--tests 20] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.export import export  # noqa: E402
from autograder.gradebook import Grading, Gradebook, Student, Submission, TestResult  # noqa: E402

ASSIGNMENT = "softmax"  # an assignment of the bundled course, so that the CLI finds it
TEST_STATUSES = ("passed", "failed", "passed", "error", "passed", "timeout")
ANSWERS = ({"q1": "C", "q2": 0.5, "q3": True}, {"q1": "A", "q2": 2.0, "q3": None}, {"q1": "C", "q2": 7, "q3": False})
RUNS = 3  # each figure is the median of three


def failure(student: int, test: int) -> str:
    """A failure message that differs between students, as real ones do (no two pages share a table)."""
    return f"max error {(7 * student + test) % 89 / 100:.2f} on a (4, 10) batch, entry {student % 13}"


def fill(gradebook: Gradebook, students: int, tests: int) -> None:
    """One run, and per student one submission and one grading with `tests` test results, in bulk."""
    run_id = gradebook.start_run(ASSIGNMENT, seed=1, tests_hash="bench", environment={"benchmark": True})
    monday = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with gradebook.engine.begin() as connection:
        assignment_id = connection.scalar(sa.text("SELECT assignment_id FROM runs WHERE id = :id"), {"id": run_id})
        connection.execute(sa.insert(Student), [{"id": i + 1, "name": f"student{i:05d}"} for i in range(students)])
        connection.execute(sa.insert(Submission), [
            {"id": i + 1, "assignment_id": assignment_id, "student_id": i + 1, "content_hash": f"{i:064x}",
             "path": f"submissions/student{i:05d}.ipynb", "submitted_at": monday + timedelta(seconds=i),
             "late": i % 10 == 0} for i in range(students)])
        connection.execute(sa.insert(Grading), [
            {"id": i + 1, "submission_id": i + 1, "run_id": run_id, "tests_hash": "bench", "status": "graded",
             "score": float(sum(1 for k in range(tests) if (i + k) % 6 in (0, 2, 4))), "max_score": float(tests),
             "message": "", "log": "", "graded_at": monday, "answers": json.dumps(ANSWERS[i % len(ANSWERS)])}
            for i in range(students)])
        connection.execute(sa.insert(TestResult), [
            {"grading_id": i + 1, "position": k, "name": f"test_{k:02d}", "status": TEST_STATUSES[(i + k) % 6],
             "score": 1.0 if (i + k) % 6 in (0, 2, 4) else 0.0, "max_score": 1.0,
             "message": "" if (i + k) % 6 in (0, 2, 4) else failure(i, k), "duration": 0.01}
            for i in range(students) for k in range(tests)])
    gradebook.finish_run(run_id)


def timed(action, runs: int = 1) -> float:
    """Median seconds of `runs` calls of `action` (shared machines are noisy), each begun with no dirty page
    left to write back: a run never pays for the files of the one before."""
    seconds = []
    for _ in range(runs):
        os.sync()
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def cli(*args: str) -> float:
    """Seconds for one `python -m autograder ...`, start-up included (median of RUNS); a `{run}` in an
    argument becomes the run's number."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    run = iter(range(RUNS))

    def once() -> None:
        number = next(run)
        subprocess.run([sys.executable, "-m", "autograder", *(arg.format(run=number) for arg in args)],
                       check=True, cwd=REPO, env=environment, stdout=subprocess.DEVNULL)
    return timed(once, RUNS)


def write_files_like(folder: Path, into: Path) -> float:
    """Seconds to write files of the sizes of `folder`'s into a new folder `into`, with plain Python: the
    floor the disk sets for a report, measured in the same run."""
    sizes = [(path.name, path.stat().st_size) for path in folder.iterdir()]
    into.mkdir()

    def write() -> None:
        for name, size in sizes:
            with open(into / name, "wb") as file:
                file.write(b"x" * size)
    return timed(write)


def report_rows(url: str, work: Path, startup: float) -> list[tuple[str, float, float | None]]:
    """`autograder report` into new folders on disk, again into the last of them, and into memory (each also
    less the CLI's `startup`), beside the time plain Python takes to write the same files into a new folder
    on disk."""
    report = ["report", ASSIGNMENT, "--db", url, "-o"]
    rows = [("`autograder report`, into a new folder on disk", cli(*report, str(work / "report{run}"))),
            ("`autograder report`, again into that folder (unchanged pages are not rewritten)",
             cli(*report, str(work / f"report{RUNS - 1}")))]
    if Path("/dev/shm").is_dir():
        memory = Path(tempfile.mkdtemp(prefix="autograder-report-", dir="/dev/shm"))
        try:
            rows.append(("`autograder report`, into a new folder in memory (/dev/shm)",
                         cli(*report, str(memory / "report{run}"))))
        finally:
            shutil.rmtree(memory, ignore_errors=True)
    pages = work / "report0" / "students"
    floor = statistics.median(write_files_like(pages, work / f"floor{run}") for run in range(RUNS))
    return [(what, seconds, seconds - startup) for what, seconds in rows] + [
        (f"floor: plain Python writing the same {len(list(pages.iterdir())):,} files into a new folder on disk, "
         "nothing rendered", floor, None)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--db", help="an empty database to fill (default: a fresh SQLite file)")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autograder-large-"))
    url = options.db or f"sqlite:///{work / 'gradebook.sqlite'}"
    try:
        with Gradebook(url) as gradebook:
            filling = timed(lambda: fill(gradebook, options.students, options.tests))
            loading = timed(lambda: gradebook.grades(ASSIGNMENT), RUNS)
            grades = gradebook.grades(ASSIGNMENT)
            rows = [("library: Gradebook.grades", loading, None)]
            for fmt in ("json", "csv"):
                rows.append((f"library: grades + export {fmt}",
                             loading + timed(lambda: export(ASSIGNMENT, grades, fmt), RUNS), None))
        assert len(json.loads(export(ASSIGNMENT, grades, "json"))["students"]) == options.students
        startup = cli("--version")
        for fmt in ("json", "csv"):
            seconds = cli("export", ASSIGNMENT, "--format", fmt, "--db", url, "-o", str(work / f"grades.{fmt}"))
            rows.append((f"`autograder export --format {fmt}`", seconds, seconds - startup))
        rows += report_rows(url, work, startup)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    backend = url.split(":", 1)[0]
    print(f"{options.students:,} submissions × {options.tests} tests ({options.students * options.tests:,} test "
          f"results) in {backend}, filled in bulk in {filling:.1f} s; `autograder --version` alone takes "
          f"{startup:.2f} s.\n")
    print("| what (median of 3) | seconds | of the 2 s target | after the CLI's start-up (s) |")
    print("|---|---:|---:|---:|")
    for what, seconds, after_startup in rows:
        beyond = "" if after_startup is None else f"{after_startup:.2f}"
        print(f"| {what} | {seconds:.2f} | {seconds / 2:.0%} | {beyond} |")


if __name__ == "__main__":
    main()
