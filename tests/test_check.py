"""`autograder check`: a student's notebook, its public tests and its quiz, no database."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbformat import v4

from autograder.check import CheckReport, check, public_tests
from autograder.results import TestOutcome as Outcome  # renamed so that pytest does not collect it

NOTEBOOK = (
    "import numpy as np\n\ndef add(a, b):\n    return a + b",
    "def test_add_passes():\n    assert add(1, 2) == 3",
    "def test_add_fails():\n    assert add(1, 2) == 4, 'add(1, 2) is off'",
    "def test_not_done():\n    raise NotImplementedError",
    "def helper_test(x):\n    return x\n\ndef test_with_argument(x):\n    assert x",
)


def test_public_tests_are_the_top_level_test_functions_without_arguments():
    cells = (*NOTEBOOK, "%%time\ndef test_magic(): pass", "def test_typo(:", "class T:\n    def test_m(self): pass",
             "def test_add_passes():\n    pass  # redefined")

    assert public_tests(cells) == ["test_add_passes", "test_add_fails", "test_not_done"]


def test_check_reports_each_public_test_and_the_unanswered_questions(tmp_path, make_notebook):
    path = make_notebook(tmp_path, v4.new_markdown_cell("# Homework"), *NOTEBOOK,
                         "ANSWERS = {'q1': 'b', 'q2': None, 'q0': None}")

    report = check(path, timeout=20, call_timeout=5)

    assert report.error == ""
    assert [cell.status for cell in report.cells] == ["ok"] * 6
    assert [(t.name, t.status, t.score) for t in report.tests] == [
        ("test_add_passes", "passed", 1.0), ("test_add_fails", "failed", 0.0), ("test_not_done", "error", 0.0)]
    assert "add(1, 2) is off" in report.tests[1].message
    assert "not implemented" in report.tests[2].message
    assert report.unanswered == ["q0", "q2"]
    assert not report.ok


def test_answers_that_are_not_plain_data_are_reported_not_raised(tmp_path, make_notebook):
    path = make_notebook(tmp_path, "ANSWERS = {'q1': {1, 2}}", "def test_ok():\n    pass")

    report = check(path, timeout=20, call_timeout=5)

    assert (report.error, report.unanswered, report.ok) == ("", ["ANSWERS is not plain data"], True)


@pytest.mark.parametrize("raw", [b"", b'{"cells": ['], ids=["empty", "truncated"])
def test_unreadable_notebook_is_an_error_naming_it(tmp_path, raw):
    path = tmp_path / "homework.ipynb"
    path.write_bytes(raw)

    report = check(path)

    assert report.error.startswith(f"{path}: ")
    assert (report.tests, report.cells, report.ok) == ([], [], False)


@pytest.mark.parametrize(("statuses", "ok"), [([], True), (["passed", "passed"], True),
                                              (["passed", "failed"], False), (["timeout"], False)])
def test_report_is_ok_only_when_every_test_passed(statuses, ok):
    tests = [Outcome(f"test_{i}", status, float(status == "passed"), 1.0) for i, status in enumerate(statuses)]

    assert CheckReport(Path("hw.ipynb"), tests=tests).ok is ok
