"""nbgrader grade cells, evaluated in the trusted grader process against the student's sandboxed child.

A grade cell's source (hidden tests included) never reaches the child. It runs
here, after the child ran the notebook's other cells, in a namespace where a
name the cell does not define is looked up in the notebook: plain data comes
back by value (`kernel.get`), a function becomes a remote call (`kernel.call`).
The imports of the instructor's cells, and the functions and classes its locked
cells define, are made here first: `np` means NumPy and a locked helper is the
instructor's, whatever the student rebinds. A cell earns its points iff it runs without
an exception; its feedback is the student's own exception, or the line of the
cell that failed, or only "a hidden test failed" when that line is hidden.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pytest

from autograder.execute import CallTimeout, KernelDied, NotPlainData, StudentError
from autograder.nbgrader_format import GradeCell, NbgraderError, SourceNotebook

if TYPE_CHECKING:
    from autograder.hidden_tests import Student

TESTS_MODULE = Path(__file__).resolve().parent / "nbgrader_tests.py"
STUDENT_SIDE = (StudentError, CallTimeout, KernelDied, NotPlainData, NameError)  # messages hold no test code


class StudentNamespace(dict):
    """The globals of grade cells: a name they do not define resolves to the notebook's value."""

    def __init__(self, student: Student, prelude: str) -> None:
        super().__init__(__builtins__=builtins, __name__="grade_cells")
        self._student = student
        exec(compile(prelude, "<the source notebook's imports and locked definitions>", "exec"), self)

    def __missing__(self, name: str) -> Any:
        if name.startswith("__") or hasattr(builtins, name):
            raise KeyError(name)  # Python goes on to the builtins
        try:
            return self._student.get(name)  # not cached: the child's value may change between uses
        except NotPlainData:  # a function, class or module: called in the child
            function = getattr(self._student, name)
            self[name] = function
            return function
        except NameError:
            raise KeyError(name) from None


def _failing_line(traceback: TracebackType | None, filename: str) -> int | None:
    """The last line of the grade cell's own code in the traceback."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def evaluate(cell: GradeCell, namespace: StudentNamespace) -> None:
    """Run the grade cell; raises AssertionError with feedback that never shows hidden test code."""
    if cell.manual:
        pytest.skip("graded by hand: needs manual grading")
    filename = f"<grade cell {cell.grade_id}>"
    try:
        exec(compile(cell.source, filename, "exec"), namespace)
    except STUDENT_SIDE:
        raise
    except Exception as error:
        line = _failing_line(error.__traceback__, filename)
        if line is None or line in cell.hidden_lines():
            raise AssertionError(f"a hidden test failed ({type(error).__name__})") from None
        code = cell.source.splitlines()[line - 1].strip()
        raise AssertionError(f"line {line} failed ({type(error).__name__}): {code}") from None


class GradeCells:
    """Pytest plugin: one test per grade cell of the source notebook, sharing a namespace per student."""

    def __init__(self, source: SourceNotebook) -> None:
        self.cells = source.grade_cells()
        if not self.cells:
            raise NbgraderError(f"{source.path}: no cell is worth points (mark a test cell as autograded)")
        self.prelude = source.trusted_prelude()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "grade_cell" in metafunc.fixturenames:
            metafunc.parametrize("grade_cell", [pytest.param(cell, id=cell.grade_id,
                                                             marks=pytest.mark.points(cell.points))
                                                for cell in self.cells])

    @pytest.fixture(scope="session")
    def grade_cell_namespace(self, student: Student) -> StudentNamespace:
        return StudentNamespace(student, self.prelude)
