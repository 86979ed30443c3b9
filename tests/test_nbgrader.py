"""nbgrader notebooks, made by nbgrader's own generate_assignment (tests/fixtures/nbgrader), released and graded."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import execute
from autograder.course import Course
from autograder.hidden_tests import run_hidden_tests
from autograder.ingest import collect
from autograder.nbgrader_format import NbgraderError, cells_to_run, metadata, read_source, restore
from test_cli import autograder

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "nbgrader"
SOURCE = nbformat.read(FIXTURES / "source.ipynb", as_version=4)
RELEASED_BY_NBGRADER = nbformat.read(FIXTURES / "release.ipynb", as_version=4)
# Only in the source: solutions and hidden tests; none may reach a student or the sandboxed child.
SECRETS = ("### BEGIN", "range(1, n + 1)", "sum(squares(n))", "below_fifty = 7", "== 506", "== 819", "100]")
GRADED_KEYS = ("grade", "solution", "locked", "points", "grade_id")


def _solutions() -> dict[str, str]:
    """The source's solutions, markers stripped: what a student who solved everything wrote."""
    return {metadata(cell)["grade_id"]: "\n".join(line for line in cell.source.splitlines() if "###" not in line)
            for cell in SOURCE.cells if metadata(cell).get("solution") and cell.cell_type == "code"}


def submission(answers: dict[str, str] = {}, change=lambda notebook: None) -> nbformat.NotebookNode:
    """nbgrader's student version with the given solution cells filled in, then `change`d."""
    notebook = copy.deepcopy(RELEASED_BY_NBGRADER)
    for cell in notebook.cells:
        cell.source = answers.get(metadata(cell).get("grade_id"), cell.source)
    change(notebook)
    return notebook


def _cell(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(cell for cell in notebook.cells if metadata(cell).get("grade_id") == grade_id)


def _gut_tests(notebook):
    for cell in notebook.cells:
        if metadata(cell).get("grade") and cell.cell_type == "code":
            cell.source = "pass"


def _delete_tests(notebook):
    notebook.cells = [cell for cell in notebook.cells if not (metadata(cell).get("grade") and cell.cell_type == "code")]


def _inflate_points(notebook):
    for cell in notebook.cells:
        if metadata(cell).get("grade"):
            cell.metadata["nbgrader"]["points"] = 100
    notebook.cells.append(nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": {
        "schema_version": 3, "grade": True, "solution": False, "locked": True, "points": 50, "grade_id": "bonus"}}))


def _rebind_imports(notebook):
    _cell(notebook, "imports").source = "np = None"


def _fake_helper(notebook):  # the last cell: it runs after the locked cell that defines the helper
    notebook.cells.append(nbformat.v4.new_code_cell("def is_square_list(values):\n    return True"))


WRONG = {**_solutions(), "squares": "def squares(n):\n    if n < 1:\n        raise ValueError(n)\n"
                                    "    return [i * i for i in range(1, min(n, 2) + 1)]",
         "below_fifty": "below_fifty = 3"}
SUBMISSIONS = {
    "correct": submission(_solutions()),
    "stub": submission(),
    "wrong": submission(WRONG),
    "gutted_tests": submission(WRONG, _gut_tests),
    "deleted_tests": submission(WRONG, _delete_tests),
    "inflated_points": submission(WRONG, _inflate_points),
    "rebound_imports": submission(_solutions(), _rebind_imports),
    "fake_helper": submission({**WRONG, "squares": "def squares(n):\n    return [7] * n"}, _fake_helper),
}


@pytest.fixture(scope="module")
def nbgrader_course(tmp_path_factory) -> Path:
    """A course with one nbgrader assignment whose source is the fixture notebook."""
    root = tmp_path_factory.mktemp("nbgrader-course")
    folder = root / "solutions" / "08_squares"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text('title = "Squares"\nformat = "nbgrader"\nnotebook = "squares.ipynb"\n'
                                            "call_timeout = 5\n")
    nbformat.write(SOURCE, folder / "squares.ipynb")
    for student, notebook in SUBMISSIONS.items():
        (root / "submissions").mkdir(exist_ok=True)
        nbformat.write(notebook, root / "submissions" / f"{student}.ipynb")
    return root


@pytest.fixture(scope="module")
def graded(nbgrader_course) -> dict[str, dict]:
    db = f"sqlite:///{nbgrader_course / 'g.sqlite'}"
    run = autograder(nbgrader_course, "grade", "squares", "submissions", "--db", db, "--workers", "2",
                     "--timeout", "20")
    assert run.returncode == 0, run.stderr
    exported = autograder(nbgrader_course, "export", "squares", "--format", "json", "--db", db)
    return {entry["student"]: entry for entry in json.loads(exported.stdout)["students"]}


def test_release_makes_what_nbgrader_generate_assignment_makes(nbgrader_course, tmp_path):
    result = autograder(nbgrader_course, "release", "squares", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    released = nbformat.read(tmp_path / "08_squares" / "squares.ipynb", as_version=4)
    assert [cell.source for cell in released.cells] == [cell.source for cell in RELEASED_BY_NBGRADER.cells]
    assert [{key: metadata(cell).get(key) for key in GRADED_KEYS} for cell in released.cells] == \
           [{key: metadata(cell).get(key) for key in GRADED_KEYS} for cell in RELEASED_BY_NBGRADER.cells]
    text = (tmp_path / "08_squares" / "squares.ipynb").read_text()
    assert not [secret for secret in SECRETS if secret in text]


def test_correct_submission_scores_every_autograded_point(graded):
    entry = graded["correct"]
    assert entry["score"] == 6.0 and entry["max_score"] == 8.0
    assert {test["name"]: test["status"] for test in entry["tests"]} == {
        "test_cell[correct_squares]": "passed", "test_cell[squares_are_squares]": "passed",
        "test_cell[squares_invalid_input]": "passed",
        "test_cell[correct_sum_of_squares]": "passed", "test_cell[correct_below_fifty]": "passed",
        "test_cell[explain]": "skipped"}
    assert "needs manual grading" in entry["tests"][-1]["message"]


def test_stub_scores_zero(graded):
    assert graded["stub"]["score"] == 0.0
    assert "not implemented" in graded["stub"]["tests"][0]["message"]


def test_wrong_submission_scores_partially_and_hidden_tests_stay_hidden(graded):
    entry = graded["wrong"]
    scores = {test["name"]: test["score"] for test in entry["tests"]}
    assert entry["score"] == 2.0 and scores["test_cell[squares_invalid_input]"] == 1.0
    assert scores["test_cell[squares_are_squares]"] == 1.0
    messages = {test["name"]: test["message"] for test in entry["tests"]}
    assert messages["test_cell[correct_squares]"] == "a hidden test failed (AssertionError)"
    assert messages["test_cell[correct_below_fifty]"].startswith("line 2 failed (AssertionError): assert below_fifty")
    assert not [secret for secret in SECRETS if secret in json.dumps(entry)]


def test_feedback_reports_manual_cells_and_no_hidden_test(nbgrader_course, graded):
    result = autograder(nbgrader_course, "report", "squares", "--db", f"sqlite:///{nbgrader_course / 'g.sqlite'}",
                        "-o", str(nbgrader_course / "reports"))
    assert result.returncode == 0, result.stderr
    page = (nbgrader_course / "reports" / "students" / "wrong.md").read_text()
    assert "| test\\_cell\\[explain\\] | skipped | 0 / 2 | graded by hand: needs manual grading |" in page
    pages = "".join(path.read_text() for path in (nbgrader_course / "reports").rglob("*.*"))
    assert "a hidden test failed" in pages and not [secret for secret in SECRETS if secret in pages]


@pytest.mark.parametrize("student", ["gutted_tests", "deleted_tests", "inflated_points"])
def test_tampering_with_test_cells_gains_nothing(graded, student):
    tampered, honest = graded[student], graded["wrong"]
    assert tampered["max_score"] == 8.0
    assert [(t["name"], t["score"], t["max_score"]) for t in tampered["tests"]] == \
           [(t["name"], t["score"], t["max_score"]) for t in honest["tests"]]


def test_locked_cells_come_back_from_the_source(graded):
    assert graded["rebound_imports"]["score"] == 6.0  # `np = None` in the locked import cell is undone


def test_helpers_of_locked_cells_are_the_instructors(graded):
    scores = {test["name"]: test["score"] for test in graded["fake_helper"]["tests"]}
    assert scores["test_cell[squares_are_squares]"] == 0.0  # the student's `is_square_list` is not used


def test_odd_metadata_in_a_submission_is_only_student_code(tmp_path):
    def odd(notebook):
        notebook.cells[0].metadata["nbgrader"] = "not a dict"
        _cell(notebook, "squares").metadata["nbgrader"]["grade_id"] = ["unhashable"]

    cells = cells_to_run(read_source(FIXTURES / "source.ipynb"), submission(_solutions(), odd))
    assert _solutions()["squares"] in cells and "import numpy as np" in cells
    assert not [cell for cell in cells if "assert" in cell]


def test_no_grade_cell_is_sent_to_the_child(nbgrader_course, fork_server, monkeypatch):
    sent: list[list[str]] = []
    original = execute._wire.send

    def spy(sock, header, *args, **kwargs):
        if "cells" in header:
            sent.append(list(header["cells"]))
        return original(sock, header, *args, **kwargs)

    monkeypatch.setattr(execute._wire, "send", spy)
    assignment = Course(nbgrader_course).assignment("squares")
    submissions = restore(assignment, collect([nbgrader_course / "submissions"]).submissions)
    results = []
    run_hidden_tests(assignment, submissions, fork_server, seed=1, timeout=20, on_graded=results.append)
    assert len(sent) >= len(SUBMISSIONS) and {r.student: r.score for r in results}["correct"] == 6.0
    test_cells = [cell.source for cell in SOURCE.cells if metadata(cell).get("grade")]
    for cells in sent:
        text = "\n".join(cells)
        assert not [secret for secret in SECRETS[:1] + SECRETS[4:] if secret in text]
        assert not [source for source in test_cells if source.splitlines()[0] in text]


@pytest.mark.parametrize("change, words", [
    (lambda meta: meta.update(grade_id="squares"), "grade_id 'squares' is used twice"),
    (lambda meta: meta.update(points=-1), "points must be a number >= 0"),
    (lambda meta: meta.update(grade_id="no spaces"), "is not letters, digits"),
    (lambda meta: meta.update(schema_version=1), "schema 1"),
])
def test_a_broken_source_notebook_is_one_clear_error(tmp_path, change, words):
    notebook = copy.deepcopy(SOURCE)
    change(_cell(notebook, "correct_squares").metadata["nbgrader"])
    nbformat.write(notebook, tmp_path / "squares.ipynb")
    with pytest.raises(NbgraderError, match=words) as error:
        read_source(tmp_path / "squares.ipynb")
    assert str(error.value).startswith(f"{tmp_path / 'squares.ipynb'}: cell 4")


def test_a_test_cell_that_is_not_python_is_refused(tmp_path):
    notebook = copy.deepcopy(SOURCE)
    _cell(notebook, "correct_squares").source += "\nassert squares(3 =="
    nbformat.write(notebook, tmp_path / "squares.ipynb")
    with pytest.raises(NbgraderError, match=r"cell 4 \(correct_squares\): the test cell is not Python"):
        read_source(tmp_path / "squares.ipynb")


def test_unpaired_markers_are_refused(tmp_path):
    notebook = copy.deepcopy(SOURCE)
    _cell(notebook, "squares").source += "\n    ### BEGIN SOLUTION"
    nbformat.write(notebook, tmp_path / "squares.ipynb")
    with pytest.raises(NbgraderError, match="do not pair up"):
        read_source(tmp_path / "squares.ipynb")


def test_a_source_without_grade_cells_stops_grading_with_one_line(nbgrader_course, tmp_path):
    broken = tmp_path / "course"
    shutil.copytree(nbgrader_course / "solutions", broken / "solutions")
    notebook = copy.deepcopy(SOURCE)
    notebook.cells = [cell for cell in notebook.cells if not metadata(cell).get("grade")]
    nbformat.write(notebook, broken / "solutions" / "08_squares" / "squares.ipynb")
    result = autograder(broken, "grade", "squares", str(nbgrader_course / "submissions" / "correct.ipynb"),
                        "--db", f"sqlite:///{tmp_path / 'g.sqlite'}", "--workers", "1")
    assert result.returncode == 1 and "no cell is worth points" in result.stderr
    assert "Traceback" not in result.stderr
