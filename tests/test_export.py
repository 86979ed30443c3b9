"""Exports: the JSON contract of cli.md and a CSV that spreadsheets cannot be tricked by."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from autograder.export import FORMATS, export
from autograder.results import StudentGrade

# Imported under another name so that pytest does not take it for a test class.
from autograder.results import TestOutcome as Outcome

SUBMITTED = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
GRADES = [
    StudentGrade(
        "alice",
        "graded",
        87.5,
        100.0,
        False,
        SUBMITTED,
        "",
        [
            Outcome("stable", "passed", 5.0, 5.0, "", 0.2),
            Outcome("gpu", "skipped", 0.0, 5.0, "no GPU", 0.0),
        ],
    ),
    StudentGrade("bob", "error", 0.0, 100.0, True, SUBMITTED, "notebook unreadable", []),
    StudentGrade("carol", "missing", 0.0, 100.0, False, None, "", []),
    StudentGrade("dave", "graded", -2.0, 100.0, False, SUBMITTED, "", [Outcome("quiz_q1", "failed", -2.0, 1.0)]),
]


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_json_has_the_shape_of_the_cli_contract() -> None:
    text = export("softmax", GRADES, "json")
    document = json.loads(text)

    assert list(document) == ["assignment", "max_score", "students"]
    assert (document["assignment"], document["max_score"]) == ("softmax", 100.0)
    alice = document["students"][0]
    assert alice == {
        "student": "alice",
        "score": 87.5,
        "max_score": 100.0,
        "status": "graded",
        "late": False,
        "submitted_at": "2025-03-03T09:30:00+00:00",
        "tests": [
            {"name": "stable", "score": 5.0, "max_score": 5.0, "status": "passed", "message": ""},
            {"name": "gpu", "score": 0.0, "max_score": 5.0, "status": "skipped", "message": "no GPU"},
        ],
        "raw_score": 0.0,
        "penalty": 0.0,
        "adjustments": [],
    }
    assert datetime.fromisoformat(alice["submitted_at"]) == SUBMITTED
    assert [(s["student"], s["status"], s["late"]) for s in document["students"]] == [
        ("alice", "graded", False),
        ("bob", "error", True),
        ("carol", "missing", False),
        ("dave", "graded", False),
    ]
    assert document["students"][2]["submitted_at"] is None
    assert text.startswith('{\n  "assignment": "softmax",')


def test_json_of_no_students_has_a_max_score_of_zero() -> None:
    assert json.loads(export("softmax", [], "json")) == {"assignment": "softmax", "max_score": 0.0, "students": []}


def test_csv_has_one_row_per_student_and_one_column_per_test() -> None:
    rows = csv_rows(export("softmax", GRADES, "csv"))

    assert list(rows[0]) == [
        "student",
        "score",
        "max_score",
        "status",
        "late",
        "submitted_at",
        "raw_score",
        "penalty",
        "adjustments",
        "stable",
        "gpu",
        "quiz_q1",
    ]
    assert rows[0] == {
        "student": "alice",
        "score": "87.5",
        "max_score": "100.0",
        "status": "graded",
        "late": "false",
        "submitted_at": "2025-03-03T09:30:00+00:00",
        "raw_score": "0.0",
        "penalty": "0.0",
        "adjustments": "",
        "stable": "5.0",
        "gpu": "0.0",
        "quiz_q1": "",
    }
    assert (rows[1]["late"], rows[2]["submitted_at"], rows[2]["status"]) == ("true", "", "missing")
    assert (rows[3]["score"], rows[3]["quiz_q1"]) == ("-2.0", "-2.0")


@pytest.mark.parametrize(
    "student", ['=HYPERLINK("http://evil.example","click")', "+1", "@x", "-cmd", "\tcalc", "\rcalc"]
)
def test_csv_neutralises_formulas_in_the_data(student: str) -> None:
    grade = StudentGrade(student, "graded", -1.0, 1.0, False, SUBMITTED, "", [Outcome("=test", "failed", -1.0, 1.0)])
    [row] = csv_rows(export("softmax", [grade], "csv"))

    assert row["student"] == "'" + student
    assert row["'=test"] == "-1.0"
    assert row["score"] == "-1.0"


def test_an_unknown_format_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown export format 'xlsx'; choose one of: canvas, moodle, "
                                         r"blackboard, brightspace, gradescope, csv, json"):
        export("softmax", GRADES, "xlsx")
    assert FORMATS == ("canvas", "moodle", "blackboard", "brightspace", "gradescope", "csv", "json")
