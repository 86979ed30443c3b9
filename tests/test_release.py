"""`autograder release`: the student version, and nothing of solutions/ in it."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.release import LeakError, leaks, release

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = Course(REPO).assignments()


def _distinctive_lines(path: Path) -> set[str]:
    """Lines inside the hidden tests' functions, long and specific enough that a copy is no chance.

    Module-level inputs (the notes' worked example, the XOR data) are public on purpose,
    and so are signatures; the reference's bodies are compared structurally by `leaks()`.
    """
    source = path.read_text().splitlines()
    inside = set()
    for node in ast.walk(ast.parse("\n".join(source))):
        if isinstance(node, ast.FunctionDef):
            inside.update(line.strip() for line in source[node.body[0].lineno - 1:node.end_lineno])
    return {line for line in inside if len(line) >= 40 and not line.startswith(("#", "def "))}


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
def test_released_version_holds_the_student_files_and_nothing_of_solutions(assignment, tmp_path):
    result = subprocess.run([sys.executable, "-m", "autograder", "release", assignment.name, "-o", str(tmp_path)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / assignment.folder
    released = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert released == sorted(p.relative_to(assignment.notebook.parent)
                              for p in assignment.notebook.parent.rglob("*") if p.is_file())
    notebook = nbformat.read(folder / assignment.notebook.name, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells)
    assert leaks(assignment, notebook) == []
    text = "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())
    for hidden_tests in sorted(assignment.solutions.glob("test_*.py")):
        assert not [line for line in _distinctive_lines(hidden_tests) if line in text], hidden_tests.name


def _course_copy(tmp_path: Path) -> tuple[Path, object]:
    for part in ("assignments", "solutions"):
        shutil.copytree(REPO / part / "03_softmax", tmp_path / part / "03_softmax",
                        ignore=shutil.ignore_patterns("samples", "__pycache__"))
    return tmp_path, Course(tmp_path).assignment("softmax")


def _rewrite(notebook_path: Path, cell_id: str, source: str) -> None:
    notebook = nbformat.read(notebook_path, as_version=4)
    next(cell for cell in notebook.cells if cell.get("id") == cell_id).source = source
    nbformat.write(notebook, notebook_path)


def test_a_reference_body_in_the_notebook_stops_the_release(tmp_path):
    root, assignment = _course_copy(tmp_path)
    reference = assignment.reference.read_text()
    start = reference.index("def softmax(")
    _rewrite(assignment.notebook, "stub-softmax", reference[start:reference.index("\ndef ", start + 1)])

    with pytest.raises(LeakError, match=r"softmax\(\) has the body of reference.py's"):
        release(assignment, root / "out")
    assert not (root / "out").exists()


def test_the_right_quiz_answers_stop_the_release(tmp_path):
    root, assignment = _course_copy(tmp_path)
    _rewrite(assignment.notebook, "answers", "ANSWERS = {'q1': 0.75, 'q2': 'B', 'q3': None, 'q4': 'A'}")

    with pytest.raises(LeakError, match=r"ANSWERS\['q1'\] holds the right answer; ANSWERS\['q2'\]"):
        release(assignment, root / "out")
