"""The race: `nbgrader autograde` against `autograder grade` on the same 100 notebooks, same machine, one run.

Installs nbgrader 0.9.6 in a virtual environment of its own (outside the
repository, under ~/.cache/autograder-race; it sees this interpreter's NumPy and
torch through --system-site-packages, so both tools run the same libraries),
writes one assignment in both tools' formats (a notebook importing NumPy and
torch, two functions, two graded tests of 5 points each), releases it with
`nbgrader generate_assignment`, and fills the released notebook with the answers
of 100 students (correct, unstable or not done). Both tools then grade those very
files into fresh gradebooks; the script checks that they agree on every score
and prints the times and their ratio. Start-up of each tool is included.

    python benchmarks/nbgrader_race.py [--students 100] [--workers N] [--venv DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbformat import v4

REPO = Path(__file__).resolve().parent.parent
NBGRADER = "nbgrader==0.9.6"
DEFAULT_VENV = Path.home() / ".cache" / "autograder-race" / "nbgrader-0.9.6"
ASSIGNMENT = "race"

IMPORTS = "import numpy as np\nimport torch"
ANSWERS = {
    "correct": {
        "softmax": "def softmax(z):\n    z = np.asarray(z, dtype=float)\n"
                   "    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
        "relu": "def relu(x):\n    return torch.relu(torch.as_tensor(x, dtype=torch.float64)).numpy()",
    },
    "unstable": {  # no max subtracted: overflows on large logits
        "softmax": "def softmax(z):\n    e = np.exp(np.asarray(z, dtype=float))\n"
                   "    return e / e.sum(axis=-1, keepdims=True)",
        "relu": "def relu(x):\n    return torch.clamp(torch.as_tensor(x, dtype=torch.float64), min=0).numpy()",
    },
    "not_done": {},  # the released stubs, as handed out
}
# The same two checks in both tools: one per function, 5 points each.
CHECKS = {
    "softmax": "p = np.asarray(softmax([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]]))\n"
               "assert p.shape == (2, 3) and np.all(np.isfinite(p))\n"
               "assert np.allclose(p, torch.softmax(torch.tensor([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]],"
               " dtype=torch.float64), -1).numpy())",
    "relu": "r = np.asarray(relu([-2.0, 0.0, 3.5]))\nassert np.allclose(r, [0.0, 0.0, 3.5])",
}


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    """Run a command (nbgrader's with its venv first on PATH: it calls its own `alembic`)."""
    if "env" not in options:
        options["env"] = {**os.environ, "PATH": f"{Path(command[0]).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(command, capture_output=True, text=True, **options)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result


def install_nbgrader(venv: Path) -> Path:
    """The nbgrader executable of the venv, installed there the first time."""
    executable = venv / "bin" / "nbgrader"
    if not executable.exists():
        print(f"installing {NBGRADER} into {venv} ...", flush=True)
        run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", NBGRADER])
        # nbgrader runs `alembic` from PATH: the venv needs its own, not the system's (which cannot import it)
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--ignore-installed", "alembic"])
    return executable


def nbgrader_cell(source: str, grade_id: str, *, solution: bool = False, points: int = 0) -> nbformat.NotebookNode:
    cell = v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": grade_id, "solution": solution,
                                 "grade": points > 0, "locked": not solution, "task": False,
                                 **({"points": points} if points else {})}
    return cell


def source_notebook() -> nbformat.NotebookNode:
    """The instructor's notebook in nbgrader's format: solutions between markers, graded test cells."""
    cells = [v4.new_markdown_cell("# Softmax and ReLU\nImplement both functions."),
             nbgrader_cell(IMPORTS, "imports")]
    for name in CHECKS:
        solution = ANSWERS["correct"][name].replace("\n", "\n    ### BEGIN SOLUTION\n", 1)
        cells.append(nbgrader_cell(f"{solution}\n    ### END SOLUTION", name, solution=True))
        cells.append(nbgrader_cell(CHECKS[name], f"test_{name}", points=5))
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def write_autograder_course(root: Path, released: Path) -> None:
    """The same assignment for autograder: the released notebook, a reference and the same two checks."""
    solutions, assignments = root / "solutions" / f"01_{ASSIGNMENT}", root / "assignments" / f"01_{ASSIGNMENT}"
    solutions.mkdir(parents=True)
    assignments.mkdir(parents=True)
    shutil.copy(released, assignments / f"{ASSIGNMENT}.ipynb")
    (solutions / "assignment.toml").write_text(f'title = "Softmax and ReLU"\nnotebook = "{ASSIGNMENT}.ipynb"\n')
    (solutions / "reference.py").write_text(f"{IMPORTS}\n\n" + "\n\n".join(ANSWERS["correct"].values())
                                            + "\n\nQUIZ_ANSWERS = {}\n")
    tests = [f"{IMPORTS}\nimport pytest\n"]
    for name, check in CHECKS.items():
        body = re.sub(rf"(?<![\w.]){name}\(", f"student.{name}(", check).replace("\n", "\n    ")
        tests.append(f"@pytest.mark.points(5)\ndef test_{name}(student):\n    {body}\n")
    (solutions / f"test_{ASSIGNMENT}.py").write_text("\n\n".join(tests))


def student_notebook(released: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    notebook = nbformat.from_dict(json.loads(json.dumps(released)))
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def build(work: Path, nbgrader: Path, students: int) -> dict[str, str]:
    """Both courses and the students' notebooks; returns each student's kind of answer."""
    course = work / "nbgrader"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'race'\n"
                                               "c.ExecutePreprocessor.timeout = 60\n")
    nbformat.write(source_notebook(), course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    run([str(nbgrader), "generate_assignment", ASSIGNMENT, "--force"], cwd=course)
    released_path = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    released = nbformat.read(released_path, as_version=4)
    write_autograder_course(work / "autograder", released_path)
    kinds = {}
    for index in range(students):
        student = f"student{index:03d}"
        kinds[student] = "not_done" if index % 10 == 9 else "unstable" if index % 5 == 4 else "correct"
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(student_notebook(released, ANSWERS[kinds[student]]), folder / f"{ASSIGNMENT}.ipynb")
    return kinds


def timed(command: list[str], **options) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = run(command, **options)
    return time.perf_counter() - started, result


def timeline(db: Path, started: float, ended: float) -> str:
    """Where autograder's time went, from its gradebook's timestamps: start-up until the first result,
    the steady cost per notebook, and the end after the last result."""
    with sqlite3.connect(db) as connection:
        stamps = sorted(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
                        for (value,) in connection.execute("SELECT graded_at FROM gradings"))
    steady = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)
    return (f"start-up until the first result {stamps[0] - started:.1f} s, then {steady * 1000:.0f} ms per "
            f"notebook, {ended - stamps[-1]:.1f} s after the last")


def nbgrader_scores(nbgrader: Path, course: Path) -> dict[str, float]:
    run([str(nbgrader), "export", "--to", "grades.csv"], cwd=course)
    with open(course / "grades.csv", newline="") as grades:
        return {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(grades)}


def autograder_scores(course: Path, url: str) -> dict[str, float]:
    exported = run([sys.executable, "-m", "autograder", "export", ASSIGNMENT, "--format", "json", "--db", url],
                   cwd=course, env=autograder_environment(course))
    return {entry["student"]: entry["score"] for entry in json.loads(exported.stdout)["students"]}


def autograder_environment(course: Path) -> dict[str, str]:
    return {**os.environ, "AUTOGRADER_COURSE": str(course),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def grade_with_autograder(ours: Path, workers: int, when: str, breakdowns: list[str]) -> tuple:
    """(what, seconds, scores) of one `autograder grade` of the submissions into a fresh gradebook."""
    db = ours / f"gradebook-{workers}-{when}.sqlite"
    url = f"sqlite:///{db}"
    started = time.time()
    seconds, _ = timed([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(ours / "submissions"),
                        "--db", url, "--workers", str(workers)], cwd=ours, env=autograder_environment(ours))
    what = f"`autograder grade --workers {workers}` ({when} nbgrader)"
    breakdowns.append(f"{what}: {timeline(db, started, time.time())}")
    return what, seconds, autograder_scores(ours, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    options = parser.parse_args()
    nbgrader = install_nbgrader(options.venv)
    work = Path(tempfile.mkdtemp(prefix="autograder-race-"))
    try:
        kinds = build(work, nbgrader, options.students)
        ours = work / "autograder"
        # The very files nbgrader grades, named by student: autograder takes DIR/<student>.ipynb
        (ours / "submissions").mkdir()
        for student in kinds:
            shutil.copy(work / "nbgrader" / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                        ours / "submissions" / f"{student}.ipynb")
        print(f"grading {len(kinds)} notebooks (numpy + torch) with each tool ...", flush=True)
        rows, breakdowns = [], []
        worker_counts = sorted({1, options.workers})
        rows += [grade_with_autograder(ours, workers, "before", breakdowns) for workers in worker_counts]
        nbgrader_seconds, _ = timed([str(nbgrader), "autograde", ASSIGNMENT], cwd=work / "nbgrader")
        theirs = nbgrader_scores(nbgrader, work / "nbgrader")
        # and again after: shared machines drift, so each tool gets the load of the other's time too
        rows += [grade_with_autograder(ours, workers, "after", breakdowns) for workers in worker_counts]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for what, _, scores in rows:
        agree = sum(scores.get(student) == theirs.get(student) for student in kinds)
        print(f"{what} and nbgrader agree on {agree} of {len(kinds)} scores")
    print("\n".join(breakdowns))
    print(f"\n{len(kinds)} notebooks importing NumPy and torch, {os.cpu_count()} cores; start-up included.\n")
    print("| tool | total (s) | per notebook (ms) | nbgrader's time / this |")
    print("|---|---:|---:|---:|")
    print(f"| `nbgrader autograde` (0.9.6, serial) | {nbgrader_seconds:.1f} | "
          f"{nbgrader_seconds / len(kinds) * 1000:.0f} | 1× |")
    for what, seconds, _ in rows:
        print(f"| {what} | {seconds:.1f} | {seconds / len(kinds) * 1000:.0f} | {nbgrader_seconds / seconds:.1f}× |")


if __name__ == "__main__":
    main()
