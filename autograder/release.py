"""The student version of an assignment: its `assignments/` folder, outputs cleared, checked for leaks.

Nothing is ever copied from `solutions/`. Before writing, the notebook is
checked against the instructor's files: a function whose body is the
reference's, a hidden test, or a quiz answer filled in with the right answer
stops the release with a message naming it. An nbgrader assignment's student
version is generated from its source notebook instead (`nbgrader_format.release`).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nbformat

from autograder import nbgrader_format
from autograder.course import Assignment
from autograder.quiz_answers import literal_answers


class LeakError(Exception):
    """The student version would contain something from `solutions/`."""


def _bodies(source: str) -> dict[str, str]:
    """Each function's (and method's) body without its docstring, normalised by ast.dump."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}  # an IPython cell (magics): nothing of the reference's can hide in it as Python
    bodies = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if body:
                bodies[node.name] = "".join(ast.dump(statement) for statement in body)
    return bodies


def _trivial(body: str) -> bool:
    """`raise NotImplementedError` and `pass` are what stubs are made of, not leaks."""
    return body in {ast.dump(ast.parse("raise NotImplementedError").body[0]),
                    ast.dump(ast.parse("raise NotImplementedError()").body[0]),
                    ast.dump(ast.parse("pass").body[0])}


def leaks(assignment: Assignment, notebook: nbformat.NotebookNode) -> list[str]:
    """What of the instructor's files the notebook gives away (empty when nothing)."""
    cells = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    student = {name: body for source in cells for name, body in _bodies(source).items()}
    found = []
    for path in sorted(assignment.solutions.glob("*.py")):
        for name, body in _bodies(path.read_text()).items():
            if student.get(name) == body and not _trivial(body):
                found.append(f"{name}() has the body of {path.name}'s")
    namespace: dict = {}
    exec(compile(assignment.reference.read_text(), str(assignment.reference), "exec"), namespace)
    right = namespace.get("QUIZ_ANSWERS", {})
    found += [f"ANSWERS[{key!r}] holds the right answer" for key, value in literal_answers(cells).items()
              if value is not None and right.get(key) == value]
    return found


def _cleared(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def release(assignment: Assignment, output: Path) -> Path:
    """Write the student version of `assignment` to `output/<NN_name>/`; returns that folder."""
    if assignment.format == "nbgrader":
        return nbgrader_format.release(assignment, output)
    notebook = _cleared(nbformat.read(assignment.notebook, as_version=4))
    found = leaks(assignment, notebook)
    if found:
        raise LeakError(f"{assignment.notebook}: not released, it gives away " + "; ".join(found))
    target = output / assignment.folder
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(assignment.notebook.parent, target, ignore=shutil.ignore_patterns(
        ".ipynb_checkpoints", "__pycache__", assignment.notebook.name))
    nbformat.validate(notebook)
    nbformat.write(notebook, target / assignment.notebook.name)
    return target
