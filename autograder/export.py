"""Grades as text: the JSON contract of cli.md and a spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime

from autograder.results import StudentGrade, TestOutcome

CSV_COLUMNS = ("student", "score", "max_score", "status", "late", "submitted_at")
# A spreadsheet reads a cell beginning with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _assignment_max(grades: list[StudentGrade]) -> float:
    return max((grade.max_score for grade in grades), default=0.0)


def _test_json(test: TestOutcome) -> dict:
    return {
        "name": test.name,
        "score": test.score,
        "max_score": test.max_score,
        "status": test.status,
        "message": test.message,
    }


def _student_json(grade: StudentGrade) -> dict:
    return {
        "student": grade.student,
        "score": grade.score,
        "max_score": grade.max_score,
        "status": grade.status,
        "late": grade.late,
        "submitted_at": _timestamp(grade.submitted_at),
        "tests": [_test_json(test) for test in grade.tests],
    }


def _to_json(assignment: str, grades: list[StudentGrade]) -> str:
    """The document indented, each student on one line: json's C encoder writes them (an indented dump of
    everything takes the pure-Python encoder: seconds for a class of thousands)."""
    head = json.dumps({"assignment": assignment, "max_score": _assignment_max(grades)}, indent=2)[:-2]
    students = ",\n    ".join(json.dumps(_student_json(grade)) for grade in grades)
    return head + (f',\n  "students": [\n    {students}\n  ]\n}}\n' if grades else ',\n  "students": []\n}\n')


def _safe_cell(value: object) -> object:
    """Text from the data, quoted so that no spreadsheet runs it as a formula; numbers as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _test_names(grades: list[StudentGrade]) -> list[str]:
    """Every test name that occurs, in the order first seen."""
    return list(dict.fromkeys(test.name for grade in grades for test in grade.tests))


def _csv_row(grade: StudentGrade, test_names: list[str]) -> list[object]:
    scores = {test.name: test.score for test in grade.tests}
    return [
        grade.student,
        grade.score,
        grade.max_score,
        grade.status,
        "true" if grade.late else "false",
        _timestamp(grade.submitted_at) or "",
        *(scores.get(name, "") for name in test_names),
    ]


def _to_csv(assignment: str, grades: list[StudentGrade]) -> str:
    test_names = _test_names(grades)
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180 line ends (\r\n): write the text to a file opened with newline=""
    writer.writerow([_safe_cell(cell) for cell in (*CSV_COLUMNS, *test_names)])
    for grade in grades:
        writer.writerow([_safe_cell(cell) for cell in _csv_row(grade, test_names)])
    return buffer.getvalue()


WRITERS: dict[str, Callable[[str, list[StudentGrade]], str]] = {"json": _to_json, "csv": _to_csv}
FORMATS = tuple(WRITERS)


def export(assignment: str, grades: list[StudentGrade], fmt: str) -> str:
    """The grades of one assignment as text in the format named, one of FORMATS."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return WRITERS[fmt](assignment, grades)
