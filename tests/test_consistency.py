"""Every assignment tells right from wrong, graded through the real command line.

For each assignment of the course: the reference (the student notebook with
`reference.py` pasted in and the quiz answered from `QUIZ_ANSWERS`) scores
100 %, the released stub scores 0 %, every public test of the notebook passes
on the reference, and each hand-written mutant in `tests/mutants/<NN_name>/`
(a real student mistake, pasted over the reference) scores strictly between.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import torch

from autograder.check import check
from autograder.course import Assignment, Course

REPO = Path(__file__).resolve().parent.parent
MUTANTS = Path(__file__).resolve().parent / "mutants"
MIN_MUTANTS = 6
ASSIGNMENTS = Course(REPO).assignments()
REPORT: list[str] = []  # printed at the end of the run by conftest.py


def _reference_module(assignment: Assignment):
    spec = importlib.util.spec_from_file_location(f"consistency_{assignment.name}", assignment.reference)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(assignment: Assignment, path: Path, *extra_cells: str) -> Path:
    """The released student notebook with `extra_cells` appended (later definitions win)."""
    notebook = nbformat.read(assignment.notebook, as_version=4)
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in extra_cells]
    nbformat.write(notebook, path)
    return path


def mutants(assignment: Assignment) -> list[Path]:
    return sorted((MUTANTS / assignment.folder).glob("*.py"))


@pytest.fixture(scope="module", params=ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
def graded(request, tmp_path_factory):
    """Grade reference, stub and mutants of one assignment in one batch; scores in percent."""
    assignment: Assignment = request.param
    for module in tomllib.loads((assignment.solutions / "assignment.toml").read_text()).get("requires", []):
        pytest.importorskip(module, reason=f"{assignment.name} needs {module} (pip install -e .[gpu])")
    folder = tmp_path_factory.mktemp(assignment.name)
    reference = _reference_module(assignment)
    solution = [assignment.reference.read_text(), f"ANSWERS = {reference.QUIZ_ANSWERS!r}"]
    _write(assignment, folder / "reference.ipynb", *solution)
    _write(assignment, folder / "stub.ipynb")
    for mutant in mutants(assignment):
        _write(assignment, folder / f"mutant-{mutant.stem}.ipynb", *solution, mutant.read_text())
    db = f"sqlite:///{folder / 'gradebook.sqlite'}"
    autograder("grade", assignment.name, str(folder), "--db", db, "--workers", "2")
    students = {entry["student"]: entry for entry in
                json.loads(autograder("export", assignment.name, "--format", "json", "--db", db))["students"]}
    scores = {name: _percent_of_graded(entry) for name, entry in students.items()}
    caught = sum(0 < scores.get(f"mutant-{m.stem}", 100.0) < 100 for m in mutants(assignment))
    REPORT.append(f"{assignment.name:>14}: reference = {scores.get('reference', 0):.0f} %, "
                  f"stub = {scores.get('stub', 100):.0f} %, mutants caught {caught}/{len(mutants(assignment))}")
    return assignment, folder, scores, students


def _percent_of_graded(entry: dict) -> float:
    """The score in percent of the tests graded here: a skipped test (speed, without a GPU) counts neither way."""
    graded = entry["max_score"] - sum(t["max_score"] for t in entry["tests"] if t["status"] == "skipped")
    return 100.0 * entry["score"] / graded if graded else 0.0


def autograder(*args: str) -> str:
    """Run the real command line; its standard output."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AUTOGRADER_")}
    result = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                            cwd=REPO, env=environment)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_reference_scores_full_marks(graded):
    _, _, scores, students = graded
    failing = [(t["name"], t["status"], t["message"]) for t in students["reference"]["tests"]
               if t["status"] != "passed"]
    assert scores["reference"] == 100.0, failing


def test_skipped_tests_are_gpu_tests_without_a_gpu(graded):
    _, _, _, students = graded
    skipped = {(t["name"], t["message"], t["score"]) for t in students["reference"]["tests"] if t["status"] == "skipped"}
    expected = set() if torch.cuda.is_available() else {(name, "no CUDA device", 0.0) for name, _, _ in skipped}
    assert skipped == expected


def test_released_stub_scores_zero(graded):
    _, _, scores, _ = graded
    assert scores["stub"] == 0.0


def test_every_public_test_passes_on_the_reference(graded):
    _, folder, _, _ = graded
    report = check(folder / "reference.ipynb")
    assert report.tests, "the notebook has no public tests"
    assert [(t.name, t.status, t.message) for t in report.tests if t.status != "passed"] == []
    assert not report.unanswered


def test_every_mutant_scores_strictly_between(graded):
    assignment, _, scores, _ = graded
    assert len(mutants(assignment)) >= MIN_MUTANTS, f"{assignment.name} needs {MIN_MUTANTS} mutants"
    uncaught = {m.stem: scores[f"mutant-{m.stem}"] for m in mutants(assignment)
                if not 0 < scores[f"mutant-{m.stem}"] < 100}
    assert uncaught == {}
