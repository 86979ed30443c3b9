"""The roster: read from CSV (or refused whole, naming the line), stored, and naming LMS submissions."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autograder.gradebook import Gradebook
from autograder.ingest import Submission
from autograder.roster import Person, RosterError, as_enrolled, read_roster, roster, save_people

ROSTER = """\ufeffid,Name,email,lms_id,sis_id,login,section
jdoe,"Doe, Jane",jdoe@uni.edu,12345,S001,jane.doe,CS101-01
broe,Bob Roe,,23456,,,CS101-02
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_roster_csv_becomes_people(tmp_path):
    assert read_roster(write(tmp_path, ROSTER)) == [
        Person("jdoe", "Doe, Jane", "jdoe@uni.edu", "12345", "S001", "jane.doe", "CS101-01"),
        Person("broe", "Bob Roe", "", "23456", "", "", "CS101-02"),
    ]


@pytest.mark.parametrize("text, words", [
    ("name,email\nJane,j@x\n", "no id column"),
    ("id,nom\njdoe,Jane\n", "unknown columns nom"),
    ("id,name\njdoe,Jane\nbroe,Bob\njdoe,Again\n", "line 4: id 'jdoe' appears twice"),
    ("id,name\n../etc,Evil\n", "line 2: id '../etc' is not a safe id"),
    ("id,name\njdoe,Jane,extra\n", "line 2: more cells than columns"),
])
def test_a_bad_roster_is_refused_naming_file_and_line(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(RosterError, match=words) as raised:
        read_roster(path)
    assert str(raised.value).startswith(str(path))


def test_a_roster_that_is_not_text_is_one_line(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"\xff\xfe\x00id")
    with pytest.raises(RosterError, match="cannot be read"):
        read_roster(path)


def test_importing_again_updates_and_keeps_what_the_file_leaves_empty(tmp_path):
    with Gradebook(f"sqlite:///{tmp_path / 'g.sqlite'}") as gradebook:
        assert save_people(gradebook, read_roster(write(tmp_path, ROSTER))) == (2, 0)
        assert save_people(gradebook, [Person("jdoe", section="CS101-03"), Person("zed")]) == (1, 1)
        people = roster(gradebook)
    assert people["jdoe"] == Person("jdoe", "Doe, Jane", "jdoe@uni.edu", "12345", "S001", "jane.doe", "CS101-03")
    assert list(people) == ["broe", "jdoe", "zed"]


def test_submissions_named_by_lms_id_or_login_become_the_enrolled_student(tmp_path):
    def submission(student: str, hour: int) -> Submission:
        return Submission(student, Path(f"{student}.ipynb"), student, datetime(2025, 3, 3, hour, tzinfo=UTC))

    with Gradebook(f"sqlite:///{tmp_path / 'g.sqlite'}") as gradebook:
        save_people(gradebook, read_roster(write(tmp_path, ROSTER)))
        named = as_enrolled(gradebook, [submission("12345", 9), submission("jane.doe", 10),
                                        submission("23456", 9), submission("stranger", 9)])
    assert [(s.student, s.content_hash) for s in named] == [("broe", "23456"), ("jdoe", "jane.doe"),
                                                            ("stranger", "stranger")]
    assert named[1].note.startswith("2 notebooks for jdoe: graded the newest, jane.doe.ipynb")


def test_students_commands_import_update_list_and_refuse_one_line(tmp_path):
    db = ("--db", f"sqlite:///{tmp_path / 'g.sqlite'}")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "autograder", *args, *db], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120)

    assert "2 students added, 0 updated" in cli("students", "import", str(write(tmp_path, ROSTER))).stdout
    assert "updated broe" in cli("students", "update", "broe", "--section", "CS101-01", "--login", "bob.roe").stdout
    listed = cli("students", "list", "--section", "CS101-01").stdout
    assert "2 students" in listed and "bob.roe" in listed and "jane.doe" in listed
    refused = cli("students", "import", str(write(tmp_path, "id,name\njdoe,A\njdoe,B\n")))
    assert refused.returncode == 1 and "line 3: id 'jdoe' appears twice" in refused.stderr
    assert "Traceback" not in refused.stderr
    no_grading = cli("adjust", "softmax", "jdoe", "--points", "5", "--comment", "paper copy")
    assert no_grading.returncode == 1 and "no assignment 'softmax' in the gradebook" in no_grading.stderr
