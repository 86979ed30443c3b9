"""nbgrader source notebooks: cell metadata (schema v3), the student version, and what grading runs.

An assignment whose `assignment.toml` says `format = "nbgrader"` keeps its
source notebook (solutions between `### BEGIN SOLUTION` / `### END SOLUTION`,
grade cells with `### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS`) in
`solutions/NN_name/<notebook>`. Release replaces solutions by nbgrader's stubs
and drops hidden tests. Grading never trusts the submitted notebook's metadata
or test cells: only `grade_id` is read from it, to find the student's
solution cells; locked cells come back from the source (as nbgrader's
OverwriteCells does) and grade cells are never sent to the sandboxed child at
all. They are evaluated on the trusted side (`autograder.nbgrader_cells`).
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

from autograder.course import Assignment, CourseError
from autograder.ingest import Submission

SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_TESTS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = ("YOUR ANSWER HERE",)
GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]+$")
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class NbgraderError(CourseError):
    """The source notebook is not a valid nbgrader notebook."""


def metadata(cell: nbformat.NotebookNode) -> dict:
    """The cell's nbgrader metadata ({} when it has none)."""
    found = cell.get("metadata", {}).get("nbgrader", {})
    return found if isinstance(found, dict) else {}


def is_grade_cell(cell: nbformat.NotebookNode) -> bool:
    """An autograded test cell: code, `grade` and not `solution`."""
    found = metadata(cell)
    return cell.cell_type == "code" and bool(found.get("grade")) and not found.get("solution")


@dataclass(frozen=True)
class GradeCell:
    """A cell that is worth points: a test cell (evaluated), or a cell graded by hand."""

    grade_id: str
    points: float
    source: str
    manual: bool

    def __str__(self) -> str:
        return self.grade_id  # the test's name in the gradebook: test_cell[<grade_id>]

    def hidden_lines(self) -> set[int]:
        """The 1-based line numbers inside hidden-test regions (markers included)."""
        hidden, inside = set(), False
        for number, line in enumerate(self.source.splitlines(), 1):
            inside = inside or line.strip() == HIDDEN_TESTS[0]
            if inside:
                hidden.add(number)
            inside = inside and line.strip() != HIDDEN_TESTS[1]
        return hidden


@dataclass(frozen=True)
class SourceNotebook:
    """An nbgrader source notebook, checked."""

    path: Path
    notebook: nbformat.NotebookNode

    @property
    def cells(self) -> list[nbformat.NotebookNode]:
        return self.notebook.cells

    def grade_cells(self) -> list[GradeCell]:
        """Every cell worth points, in the notebook's order."""
        return [GradeCell(metadata(cell)["grade_id"], float(metadata(cell).get("points", 0)), cell.source,
                          manual=not is_grade_cell(cell))
                for cell in self.cells if metadata(cell).get("grade") or metadata(cell).get("task")]

    def trusted_prelude(self) -> str:
        """What grade cells get from the instructor's cells, run on the trusted side before them.

        The top-level imports of every code cell but solution cells, and the functions and
        classes that locked cells define (a helper a test calls must not be the student's).
        """
        statements = []
        for cell in self.cells:
            found = metadata(cell)
            if cell.cell_type != "code" or found.get("solution") or is_grade_cell(cell):
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            kinds = (ast.Import, ast.ImportFrom) + (DEFINITIONS if found.get("locked") else ())
            statements += [ast.unparse(node) for node in tree.body if isinstance(node, kinds)]
        return "\n".join(statements)


def _check_cell(path: Path, index: int, cell: nbformat.NotebookNode, seen: set[str]) -> None:
    found = metadata(cell)
    where = f"{path}: cell {index + 1}"
    if found.get("schema_version", 3) != 3:
        raise NbgraderError(f"{where}: nbgrader metadata schema {found.get('schema_version')!r} "
                            "(only 3 is supported; run `nbgrader update`)")
    grade_id = found.get("grade_id")
    if not isinstance(grade_id, str) or not GRADE_ID.match(grade_id):
        raise NbgraderError(f"{where}: grade_id {grade_id!r} is not letters, digits, _ and -")
    if grade_id in seen:
        raise NbgraderError(f"{where}: grade_id {grade_id!r} is used twice")
    seen.add(grade_id)
    points = found.get("points", 0)
    if (found.get("grade") or found.get("task")) and (type(points) not in (int, float) or points < 0):
        raise NbgraderError(f"{where} ({grade_id}): points must be a number >= 0, not {points!r}")
    if is_grade_cell(cell):
        try:
            compile(cell.source, f"<grade cell {grade_id}>", "exec")
        except SyntaxError as error:
            raise NbgraderError(f"{where} ({grade_id}): the test cell is not Python ({error.msg}, "
                                f"line {error.lineno})") from None
    for begin, end in (SOLUTION, HIDDEN_TESTS):
        lines = [line.strip() for line in cell.source.splitlines()]
        if lines.count(begin) != lines.count(end):
            raise NbgraderError(f"{where} ({grade_id}): {begin!r} and {end!r} do not pair up")


def read_source(path: Path) -> SourceNotebook:
    """Read and check an nbgrader source notebook; raises NbgraderError naming the file and cell."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:
        raise NbgraderError(f"{path}: cannot be read as a notebook ({error})") from None
    seen: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        if metadata(cell):
            _check_cell(path, index, cell, seen)
    return SourceNotebook(path, notebook)


def source_of(assignment: Assignment) -> SourceNotebook:
    return read_source(assignment.solutions / assignment.notebook.name)


# --- the student version ------------------------------------------------------------------

def _replace_regions(source: str, markers: tuple[str, str], stub: tuple[str, ...]) -> str:
    """Each region between the markers replaced by `stub`, indented as its BEGIN line."""
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == markers[0]:
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            lines += [indent + stub_line for stub_line in stub]
        elif line.strip() == markers[1]:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


def student_version(source: SourceNotebook) -> nbformat.NotebookNode:
    """What nbgrader's generate_assignment makes: solutions stubbed, hidden tests gone, outputs cleared."""
    notebook = copy.deepcopy(source.notebook)
    for cell in notebook.cells:
        found = metadata(cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
        if found.get("solution"):
            has_markers = SOLUTION[0] in [line.strip() for line in cell.source.splitlines()]
            cell.source = _replace_regions(cell.source, SOLUTION, stub) if has_markers else "\n".join(stub)
        if found.get("grade") or found.get("task"):
            cell.source = _replace_regions(cell.source, HIDDEN_TESTS, ())
        if found:
            cell.metadata["deletable"] = False
            found["cell_type"] = cell.cell_type
        if found.get("locked"):
            cell.metadata["editable"] = False
    return notebook


def release(assignment: Assignment, output: Path) -> Path:
    """Write the student version of an nbgrader assignment to `output/<NN_name>/<notebook>`."""
    notebook = student_version(source_of(assignment))
    nbformat.validate(notebook)
    target = output / assignment.folder
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target / assignment.notebook.name)
    return target


# --- what the sandboxed child runs --------------------------------------------------------

def cells_to_run(source: SourceNotebook, submitted: nbformat.NotebookNode) -> tuple[str, ...]:
    """The code the child runs: the source's order, locked cells from the source, never a grade cell.

    A cell of the submission is matched to the source by its grade_id (the only
    metadata read from it): a solution cell keeps the student's code; a locked
    cell is the source's, wherever the student moved, edited or deleted it; a
    grade cell is left out (it is evaluated on the trusted side). The student's
    other code cells (their own, or plain source cells they may edit) run after
    the matched cell they follow.
    """
    known = {metadata(cell)["grade_id"]: cell for cell in source.cells if metadata(cell)}
    theirs: dict[str, str] = {}
    following: dict[str | None, list[str]] = {None: []}
    anchor = None
    for cell in submitted.cells:
        grade_id = metadata(cell).get("grade_id")
        if isinstance(grade_id, str) and grade_id in known and grade_id not in theirs:
            theirs[grade_id] = cell.source if cell.cell_type == "code" else ""
            anchor = grade_id
            following[anchor] = []
        elif cell.cell_type == "code":
            following[anchor].append(cell.source)
    run = list(following[None])
    for grade_id, cell in known.items():
        if cell.cell_type == "code" and not is_grade_cell(cell):
            student_owned = metadata(cell).get("solution") and not metadata(cell).get("locked")
            run.append(theirs.get(grade_id, "") if student_owned else cell.source)
        run += following.get(grade_id, [])
    return tuple(run)


def restore(assignment: Assignment, submissions: list[Submission]) -> list[Submission]:
    """Each readable submission with the cells the child must run (`cells_to_run`)."""
    source = source_of(assignment)
    restored = []
    for submission in submissions:
        if submission.error:
            restored.append(submission)
            continue
        try:
            submitted = nbformat.read(submission.path, as_version=4)
        except (OSError, ValueError) as error:
            restored.append(replace(submission, error=f"{submission.path}: cannot be read again ({error})"))
            continue
        restored.append(replace(submission, cells=cells_to_run(source, submitted)))
    return restored
