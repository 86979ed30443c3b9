"""Grades as text: the JSON contract of cli.md, a spreadsheet-safe CSV, and the LMS formats of lms_export."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime

from autograder.lms_export import LMS_WRITERS, LmsContext, adjustments_text, assignment_max
from autograder.results import StudentGrade, TestOutcome
from autograder.spreadsheet import csv_text

CSV_COLUMNS = ("student", "score", "max_score", "status", "late", "submitted_at", "raw_score", "penalty",
               "adjustments")


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


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
        "raw_score": grade.raw_score,
        "penalty": grade.penalty,
        "adjustments": [asdict(adjustment) for adjustment in grade.adjustments],
    }


def _to_json(assignment: str, grades: list[StudentGrade], context: LmsContext) -> str:
    """The document indented, each student on one line: json's C encoder writes them (an indented dump of
    everything takes the pure-Python encoder: seconds for a class of thousands)."""
    head = json.dumps({"assignment": assignment, "max_score": assignment_max(grades)}, indent=2)[:-2]
    students = ",\n    ".join(json.dumps(_student_json(grade)) for grade in grades)
    return head + (f',\n  "students": [\n    {students}\n  ]\n}}\n' if grades else ',\n  "students": []\n}\n')


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
        grade.raw_score,
        grade.penalty,
        adjustments_text(grade),
        *(scores.get(name, "") for name in test_names),
    ]


def _to_csv(assignment: str, grades: list[StudentGrade], context: LmsContext) -> str:
    test_names = _test_names(grades)
    return csv_text([(*CSV_COLUMNS, *test_names), *(_csv_row(grade, test_names) for grade in grades)])


WRITERS: dict[str, Callable[[str, list[StudentGrade], LmsContext], str]] = {
    **LMS_WRITERS, "csv": _to_csv, "json": _to_json}
FORMATS = tuple(WRITERS)


def export(assignment: str, grades: list[StudentGrade], fmt: str, context: LmsContext = LmsContext()) -> str:
    """The grades of one assignment as text in the format named, one of FORMATS; `context` says what the
    LMS formats need beyond the grades (the roster, the LMS's column ids)."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return WRITERS[fmt](assignment, grades, context)
