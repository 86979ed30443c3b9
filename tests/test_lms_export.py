"""LMS exports parsed back by each importer's rules: right people, final scores, blanks for missing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

import lms_importers
from autograder.export import export
from autograder.lms_export import LmsContext, write_gradescope_folder
from autograder.results import Adjustment, StudentGrade
from autograder.results import TestOutcome as Outcome
from autograder.roster import Person

SUBMITTED = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TESTS = [Outcome("test_a", "passed", 6.0, 6.0), Outcome("test_b", "timeout", 0.0, 4.0, "took 10 s")]
GRADES = [
    StudentGrade("12345", "graded", 4.8, 10.0, True, SUBMITTED, "", TESTS, penalty=1.2, raw_score=6.0),
    StudentGrade("jdoe", "graded", 8.0, 10.0, False, SUBMITTED, "", TESTS, raw_score=6.0,
                 adjustments=(Adjustment(None, 8.0, "oral exam"),)),
    StudentGrade("@cmd", "error", 0.0, 10.0, False, SUBMITTED, "not valid JSON", [], raw_score=0.0),
    StudentGrade("zed", "missing", 0.0, 10.0, False, None, "", []),
]
PEOPLE = {
    "jdoe": Person("jdoe", "Doe, Jane", "jdoe@uni.edu", "777", "S001", "jdoe", "CS101-01"),
    "zed": Person("zed", "Zed Zimmer", "", "888", "S003", "zzim", "CS101-02"),
}
CONTEXT = LmsContext("HW 1", PEOPLE, {"canvas_id": "4242", "blackboard_column": "1281892"},
                     datetime(2025, 3, 12, 8, 0, tzinfo=UTC))


def test_canvas_points_possible_row_and_title_id_column():
    text = export("softmax", GRADES, "canvas", CONTEXT)
    title, assignment_id, points, scores = lms_importers.canvas(text)

    assert (title, assignment_id, points) == ("HW 1", "4242", 10.0)
    assert scores == {"12345": "4.8", "777": "8.0", "'@cmd": "0.0", "888": ""}
    assert text.splitlines()[0] == "Student,ID,SIS User ID,SIS Login ID,Section,HW 1 (4242)"
    assert '"Doe, Jane",777,S001,jdoe,CS101-01,8.0' in text.splitlines()


def test_canvas_without_an_id_names_the_assignment_by_title():
    header = export("softmax", GRADES, "canvas", LmsContext("HW 1")).splitlines()[0]
    assert header.endswith(",Section,HW 1")


def test_moodle_worksheet_identifies_participants_and_explains_the_score():
    text = export("softmax", GRADES, "moodle", CONTEXT)
    grades = lms_importers.moodle(text)

    assert grades == {"12345": ("4.8", "late: -1.2 points"),
                      "777": ("8.0", "total set to 8 by the instructor: oral exam"),
                      "@cmd": ("0.0", ""), "888": ("", "")}
    assert "Wednesday, 12 March 2025, 08:00 AM" in text and "Monday, 10 March 2025, 12:00 PM" in text
    assert "Participant 888,Zed Zimmer,,No submission," in text


def test_blackboard_all_quoted_with_column_id_and_usernames():
    text = export("softmax", GRADES, "blackboard", CONTEXT)
    column, points, column_id, scores = lms_importers.blackboard(text)

    assert (column, points, column_id) == ("HW 1", 10.0, "1281892")
    assert scores == {"12345": "4.8", "jdoe": "8.0", "'@cmd": "0.0", "zzim": ""}
    assert '"Doe","Jane","jdoe","S001","","Yes","8.0"' in text.splitlines()
    assert '"Zimmer","Zed","zzim"' in text


def test_brightspace_hash_prefixed_ids_and_end_of_line_indicator():
    text = export("softmax", GRADES, "brightspace", CONTEXT)
    item, points, scores = lms_importers.brightspace(text)

    assert (item, points) == ("HW 1", 10.0)
    assert scores == {"12345": "4.8", "jdoe": "8.0", "@cmd": "0.0", "zzim": ""}
    assert text.splitlines()[:2] == ["OrgDefinedId,Username,HW 1 Points Grade <Numeric MaxPoints:10>,"
                                     "End-of-Line Indicator", ",#12345,4.8,#"]


def test_gradescope_results_per_submission(tmp_path):
    document = json.loads(export("softmax", GRADES[:1], "gradescope"))
    assert document == {
        "score": 4.8, "output": "late: -1.2 points", "visibility": "visible", "stdout_visibility": "hidden",
        "tests": [{"name": "test_a", "score": 6.0, "max_score": 6.0, "status": "passed", "visibility": "visible",
                   "output": ""},
                  {"name": "test_b", "score": 0.0, "max_score": 4.0, "status": "failed", "visibility": "visible",
                   "output": "took 10 s"}]}
    with pytest.raises(ValueError, match="one results.json per submission and there are 4 students"):
        export("softmax", GRADES, "gradescope")
    written = write_gradescope_folder(GRADES, tmp_path)
    assert sorted(path.relative_to(tmp_path).as_posix() for path in written) == [
        "12345/results.json", "@cmd/results.json", "jdoe/results.json"]
    assert json.loads((tmp_path / "jdoe" / "results.json").read_text())["score"] == 8.0


@pytest.mark.parametrize("fmt", ["canvas", "moodle", "blackboard", "brightspace", "csv"])
def test_no_text_cell_starts_a_formula(fmt):
    hostile = Person("@cmd", "+SUM(A1)", "@evil", "-1", "\tx", "=login", "=HYPERLINK()")
    text = export("softmax", GRADES, fmt, LmsContext("-title", {"@cmd": hostile}))
    cells = [cell for row in lms_importers.rows(text) for cell in row]
    numbers = {"-1.2"}  # a number is a number: a negative score stays one
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t")) and cell not in numbers]
