"""Grades in the import formats of Canvas, Moodle, Blackboard, Brightspace and Gradescope.

Each follows shared/research/lms-formats.md exactly; all CSVs are written with
the `csv` module and neutralised against formulas (autograder/spreadsheet.py).
A student with no submission gets an empty cell, which every LMS reads as "no
grade" (not zero); the score exported is the final one, after the late
penalty and the instructor's overrides.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from autograder.results import StudentGrade
from autograder.roster import Person
from autograder.spreadsheet import csv_text

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments")
MOODLE_TIME = "%A, %d %B %Y, %I:%M %p"  # Monday, 10 March 2025, 11:59 PM: how Moodle writes the worksheet
BLACKBOARD_IDENTITY = ("Last Name", "First Name", "Username", "Student ID", "Last Access", "Availability")
GRADESCOPE_PASSED = ("passed",)


@dataclass(frozen=True)
class LmsContext:
    """What the LMS formats need beyond the grades."""

    title: str = ""  # the assignment's title, as the LMS's column is named
    people: Mapping[str, Person] = field(default_factory=dict)  # the roster, by student id
    columns: Mapping[str, str] = field(default_factory=dict)  # assignment.toml [lms]: canvas_id, blackboard_column
    exported_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def person(self, student: str) -> Person:
        return self.people.get(student) or Person(student)

    def column_title(self, assignment: str) -> str:
        return self.title or assignment


def assignment_max(grades: list[StudentGrade]) -> float:
    return max((grade.max_score for grade in grades), default=0.0)


def adjustments_text(grade: StudentGrade) -> str:
    """The penalty and the instructor's overrides in words, for a comment column."""
    parts = [f"late: -{grade.penalty:g} points"] if grade.penalty else []
    parts += [f"{adjustment.test or 'total'} set to {adjustment.points:g} by the instructor: {adjustment.comment}"
              for adjustment in grade.adjustments]
    return "; ".join(parts)


def _points(grade: StudentGrade) -> float | str:
    """The final score for an LMS cell; empty (no grade) for a student with no submission and no override."""
    return "" if grade.status == "missing" and not grade.adjustments else round(grade.score, 2)


def _canvas(assignment: str, grades: list[StudentGrade], context: LmsContext) -> str:
    canvas_id = context.columns.get("canvas_id")
    title = context.column_title(assignment)
    header = (*CANVAS_IDENTITY, f"{title} ({canvas_id})" if canvas_id else title)
    rows = [header, ("Points Possible", "", "", "", "", round(assignment_max(grades), 2))]
    for grade in grades:
        person = context.person(grade.student)
        rows.append((person.full_name or person.student, person.lms_id or person.student, person.sis_id,
                     person.login, person.section, _points(grade)))
    return csv_text(rows)


def _moodle_time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime(MOODLE_TIME) if moment else ""


def _moodle(assignment: str, grades: list[StudentGrade], context: LmsContext) -> str:
    rows: list[tuple] = [MOODLE_COLUMNS]
    for grade in grades:
        person = context.person(grade.student)
        status = "No submission" if grade.status == "missing" else "Submitted for grading"
        rows.append((f"Participant {person.lms_id or person.student}", person.full_name, person.email, status,
                     _points(grade), round(grade.max_score, 2), "Yes", _moodle_time(grade.submitted_at),
                     _moodle_time(context.exported_at), adjustments_text(grade)))
    return csv_text(rows)


def _first_and_last(full_name: str) -> tuple[str, str]:
    if "," in full_name:
        last, _, first = full_name.partition(",")
        return first.strip(), last.strip()
    first, _, last = full_name.strip().rpartition(" ")
    return first, last


def _blackboard(assignment: str, grades: list[StudentGrade], context: LmsContext) -> str:
    column_id = context.columns.get("blackboard_column")
    column = f"{context.column_title(assignment)} [Total Pts: {assignment_max(grades):g} Score]"
    rows: list[tuple] = [(*BLACKBOARD_IDENTITY, f"{column} |{column_id}" if column_id else column)]
    for grade in grades:
        person = context.person(grade.student)
        first, last = _first_and_last(person.full_name)
        rows.append((last, first, person.login or person.student, person.sis_id, "", "Yes", _points(grade)))
    return csv_text(rows, quoting=csv.QUOTE_ALL)


def _brightspace(assignment: str, grades: list[StudentGrade], context: LmsContext) -> str:
    column = f"{context.column_title(assignment)} Points Grade <Numeric MaxPoints:{assignment_max(grades):g}>"
    rows: list[tuple] = [("OrgDefinedId", "Username", column, "End-of-Line Indicator")]
    for grade in grades:
        person = context.person(grade.student)
        rows.append((f"#{person.sis_id}" if person.sis_id else "", f"#{person.login or person.student}",
                     _points(grade), "#"))
    return csv_text(rows)


def gradescope_results(grade: StudentGrade) -> dict:
    """One submission's results.json in Gradescope's autograder format."""
    notes = [grade.message if grade.status == "error" else "", adjustments_text(grade)]  # not the grader's notes
    return {
        "score": round(grade.score, 4),
        "output": "\n".join(note for note in notes if note),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"name": test.name, "score": test.score, "max_score": test.max_score,
                   "status": "passed" if test.status in GRADESCOPE_PASSED else "failed",
                   "visibility": "visible", "output": test.message} for test in grade.tests],
    }


def _gradescope(assignment: str, grades: list[StudentGrade], context: LmsContext) -> str:
    if len(grades) != 1:
        raise ValueError(f"gradescope results are one results.json per submission and there are {len(grades)} "
                         "students: give --student ID, or -o FOLDER for one FOLDER/<student>/results.json each")
    return json.dumps(gradescope_results(grades[0]), indent=2) + "\n"


def write_gradescope_folder(grades: list[StudentGrade], folder: Path) -> list[Path]:
    """FOLDER/<student>/results.json for every student who handed something in."""
    written = []
    for grade in grades:
        if grade.status != "missing":
            path = folder / grade.student / "results.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(gradescope_results(grade), indent=2) + "\n")
            written.append(path)
    return written


LMS_WRITERS: dict[str, Callable[[str, list[StudentGrade], LmsContext], str]] = {
    "canvas": _canvas, "moodle": _moodle, "blackboard": _blackboard, "brightspace": _brightspace,
    "gradescope": _gradescope}
