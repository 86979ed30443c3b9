"""Shared fixtures: one fork server for the session and a notebook writer."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Callable

import nbformat
import pytest
from nbformat import v4

from autograder.execute import ForkServer


def write_notebook(folder: Path, *cells: str | nbformat.NotebookNode, name: str = "notebook.ipynb") -> Path:
    """Write `folder/name`, a v4 notebook of `cells` (a string is a code cell's source)."""
    notebook = v4.new_notebook(cells=[v4.new_code_cell(cell) if isinstance(cell, str) else cell
                                      for cell in cells])
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def make_notebook() -> Callable[..., Path]:
    """`make_notebook(tmp_path, "x = 1", ..., name="alice.ipynb")` writes a notebook and returns its path."""
    return write_notebook


@pytest.fixture(scope="session")
def fork_server():
    """One pre-warmed fork server for every test that runs notebooks (starting one takes seconds)."""
    with ForkServer() as server:
        yield server


def pytest_terminal_summary(terminalreporter) -> None:
    """The consistency suite's figures per assignment (reference, stub, mutants caught), after the run."""
    consistency = sys.modules.get("test_consistency")
    if consistency is not None and consistency.REPORT:
        terminalreporter.section("consistency: reference, stub and mutants per assignment")
        for line in consistency.REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course holding only the softmax assignment, with a 2 s per-call timeout (CLI and red-team tests)."""
    repo = Path(__file__).resolve().parent.parent
    root = tmp_path_factory.mktemp("course")
    for part in ("assignments", "solutions"):
        shutil.copytree(repo / part / "03_softmax", root / part / "03_softmax",
                        ignore=shutil.ignore_patterns("samples", "__pycache__"))
    config = root / "solutions" / "03_softmax" / "assignment.toml"
    config.write_text(config.read_text().replace("call_timeout = 10", "call_timeout = 2"))
    return root
