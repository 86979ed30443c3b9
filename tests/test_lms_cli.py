"""From the LMS's bulk download to its grade import, through the real `autograder` command.

Canvas, Moodle and Blackboard zips with on-time, late, resubmitted, anonymous
and hostile entries go in; CSVs that each importer's rules accept come out,
with the late policy, an extension, the roster and an instructor's override
applied.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

import lms_importers
from lms_fixtures import write_zip
from test_cli import HONEST, autograder, write_notebook

POLICY = """
due = 2025-03-10T12:00:00Z
[late]
policy = "percent_per_day"
percent = 10
cap = 50
grace_minutes = 10
[extensions]
broe = 2025-03-11T12:00:00Z
[lms]
canvas_id = 4242
blackboard_column = "1281892"
"""
ROSTER = """id,name,email,lms_id,sis_id,login,section
jdoe,"Doe, Jane",jdoe@uni.edu,12345,S001,jdoe,CS101-01
broe,"Roe, Bob",broe@uni.edu,23456,S002,broe,CS101-01
zed,Zed Zimmer,zed@uni.edu,888,S003,zzim,CS101-02
"""


def at(day: int, hour: int) -> tuple:
    return (2025, 3, day, hour, 0, 0)


def notebook(tmp: Path, kind: str) -> bytes:
    return write_notebook(tmp / f"{kind}.ipynb", **HONEST[kind]).read_bytes()


@pytest.fixture(scope="module")
def lms_course(course, tmp_path_factory):
    root = tmp_path_factory.mktemp("lms")
    shutil.copytree(course, root / "course")
    config = root / "course" / "solutions" / "03_softmax" / "assignment.toml"
    config.write_text(config.read_text() + POLICY)
    correct, naive = notebook(root, "correct"), notebook(root, "naive")
    return {"root": root, "course": root / "course", "correct": correct, "naive": naive}


def run(lms_course: dict, *args: str) -> str:
    result = autograder(lms_course["course"], *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def canvas(lms_course):
    root, correct, naive = lms_course["root"], lms_course["correct"], lms_course["naive"]
    archive = write_zip(root / "canvas.zip", {
        # Canvas stamps every member with the time of the download: only its LATE flag says anything.
        "doejane_12345_67890_softmax.ipynb": (naive, at(16, 9)),                   # on time, then replaced:
        "doejane_LATE_12345_67891_softmax-1.ipynb": (correct, at(16, 9)),          # late: one day, -10 %
        "roebob_LATE_23456_67892_softmax.ipynb": (correct, at(16, 9)),             # late, but has an extension
        "LATE_anon_Ab3dE_67893_softmax.ipynb": (correct, at(16, 9)),               # late: -10 %
        "smithann_34567_text.html": (b"<p>my answer is in the text box</p>", at(10, 9)),
        "../../escaped_99999_1_softmax.ipynb": (correct, at(10, 9)),
    })
    db = f"sqlite:///{root / 'canvas.sqlite'}"
    (root / "roster.csv").write_text(ROSTER)
    imported = run(lms_course, "students", "import", str(root / "roster.csv"), "--db", db)
    graded = run(lms_course, "grade", "softmax", str(archive), "--db", db, "--workers", "2", "--timeout", "8")
    return {"db": db, "archive": archive, "graded": graded, "imported": imported}


def export(lms_course: dict, db: str, fmt: str, *extra: str) -> str:
    """The export's text, byte for byte (a file: stdout through subprocess would fold \r\n)."""
    output = lms_course["root"] / f"export.{fmt}"
    assert "wrote" in run(lms_course, "export", "softmax", "--format", fmt, "--db", db, "-o", str(output), *extra)
    return output.read_bytes().decode()


def test_canvas_zip_in_canvas_csv_out_with_penalties(lms_course, canvas):
    assert "3 students added, 0 updated" in canvas["imported"]
    assert "3 graded, 1 failed to run, 0 skipped" in " ".join(canvas["graded"].split())
    output = " ".join(canvas["graded"].split())
    assert "34567 handed in no notebook (only smithann_34567_text.html)" in output
    assert "climbs out of the archive" in output and "not a notebook: skipped" in output

    title, assignment_id, points, scores = lms_importers.canvas(export(lms_course, canvas["db"], "canvas"))
    assert (title, assignment_id, points) == ("Softmax and its derivatives", "4242", 100.0)
    assert scores == {"12345": "90.0", "23456": "100.0", "anon_Ab3dE": "90.0", "34567": "0.0", "888": ""}
    assert not Path(canvas["archive"].parent.parent, "escaped_99999_1_softmax.ipynb").exists()


def test_json_export_stores_raw_score_penalty_and_late_flag(lms_course, canvas):
    students = {s["student"]: s for s in json.loads(export(lms_course, canvas["db"], "json"))["students"]}
    assert (students["jdoe"]["raw_score"], students["jdoe"]["penalty"], students["jdoe"]["score"]) == (100, 10, 90)
    assert students["jdoe"]["late"] is True and students["jdoe"]["submitted_at"] == "2025-03-16T09:00:00+00:00"
    assert (students["broe"]["late"], students["broe"]["penalty"]) == (False, 0.0)
    assert (students["zed"]["status"], students["anon_Ab3dE"]["penalty"]) == ("missing", 10.0)


def test_an_override_shows_in_exports_and_survives_a_regrade(lms_course, canvas):
    said = run(lms_course, "adjust", "softmax", "jdoe", "--points", "95", "--comment", "typo fix, not new work",
               "--db", canvas["db"])
    assert "jdoe's total on softmax is now 95 points" in said
    unknown = autograder(lms_course["course"], "adjust", "softmax", "jdoe", "--test", "test_nope", "--points", "1",
                         "--comment", "x", "--db", canvas["db"])
    assert unknown.returncode == 1 and "no test 'test_nope' in jdoe's grading" in unknown.stderr
    run(lms_course, "grade", "softmax", str(canvas["archive"]), "--db", canvas["db"], "--force", "--workers", "2",
        "--timeout", "8")
    assert lms_importers.canvas(export(lms_course, canvas["db"], "canvas"))[3]["12345"] == "95.0"
    [jdoe] = json.loads(export(lms_course, canvas["db"], "json", "--student", "jdoe"))["students"]
    assert jdoe["adjustments"] == [{"test": None, "points": 95.0, "comment": "typo fix, not new work"}]
    assert "total set to 95 by the instructor" in export(lms_course, canvas["db"], "moodle")
    run(lms_course, "adjust", "softmax", "jdoe", "--clear", "--db", canvas["db"])
    assert lms_importers.canvas(export(lms_course, canvas["db"], "canvas"))[3]["12345"] == "90.0"


def test_moodle_zip_in_moodle_worksheet_out(lms_course):
    root, correct = lms_course["root"], lms_course["correct"]
    archive = write_zip(root / "moodle.zip", {
        "Jane Doe_1234567_assignsubmission_file/softmax.ipynb": (correct, at(10, 11)),
        "Bob Roe_7654321_assignsubmission_file_softmax.ipynb": (correct, (2025, 3, 10, 12, 5, 0)),  # in grace
        "Ann Lee_5555555_assignsubmission_file/softmax.ipynb": (correct, at(12, 13)),  # 3 days: -30 %
    })
    db = f"sqlite:///{root / 'moodle.sqlite'}"
    run(lms_course, "grade", "softmax", str(archive), "--db", db, "--workers", "2", "--timeout", "8")
    grades = lms_importers.moodle(export(lms_course, db, "moodle"))
    assert grades == {"1234567": ("100.0", ""), "7654321": ("100.0", ""), "5555555": ("70.0", "late: -30 points")}


def test_blackboard_zip_in_blackboard_and_brightspace_out(lms_course, tmp_path):
    root, correct, naive = lms_course["root"], lms_course["correct"], lms_course["naive"]
    unpacked = root / "blackboard"
    write_zip(root / "bb.zip", {
        "Softmax_jdoe_attempt_2025-03-10-11-00-00_softmax.ipynb": naive,
        "Softmax_jdoe_attempt_2025-03-10-11-00-00.txt": b"Name: Jane Doe (jdoe)\n",
        "Softmax_jdoe_attempt_2025-03-11-13-00-00_softmax.ipynb": correct,  # the newest attempt: -20 %
        "Softmax_jdoe_attempt_2025-03-11-13-00-00.txt": b"Name: Jane Doe (jdoe)\n",
        "Softmax_broe_attempt_2025-03-10-10-00-00_softmax.ipynb": correct,
    })
    with zipfile.ZipFile(root / "bb.zip") as opened:
        opened.extractall(unpacked)
    db = f"sqlite:///{root / 'bb.sqlite'}"
    graded = run(lms_course, "grade", "softmax", str(unpacked), "--db", db, "--workers", "2", "--timeout", "8")
    assert "2 graded, 0 failed to run" in " ".join(graded.split()) and "2 notebooks for jdoe" in graded

    output = tmp_path / "bb.csv"
    run(lms_course, "export", "softmax", "--format", "blackboard", "-o", str(output), "--db", db)
    column, points, column_id, scores = lms_importers.blackboard(output.read_bytes().decode())
    assert (column, points, column_id, scores) == ("Softmax and its derivatives", 100.0, "1281892",
                                                   {"broe": "100.0", "jdoe": "80.0"})
    item, points, scores = lms_importers.brightspace(export(lms_course, db, "brightspace"))
    assert (item, scores) == ("Softmax and its derivatives", {"broe": "100.0", "jdoe": "80.0"})

    results = tmp_path / "gradescope"
    run(lms_course, "export", "softmax", "--format", "gradescope", "-o", str(results), "--db", db)
    jdoe = json.loads((results / "jdoe" / "results.json").read_text())
    assert jdoe["score"] == 80.0 and jdoe["output"] == "late: -20 points"
    assert {test["status"] for test in jdoe["tests"]} == {"passed"} and len(jdoe["tests"]) > 3
