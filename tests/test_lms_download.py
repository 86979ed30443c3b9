"""LMS bulk downloads in: who each file belongs to, the newest attempt, late flags, hostile archives."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

import pytest

import autograder.lms_download
from autograder.ingest import collect
from autograder.lms_download import parse_name
from lms_fixtures import notebook_bytes, unpack, write_zip

ZIP_TIME = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
CANVAS = {
    "doejane_12345_67890_hw1.ipynb": notebook_bytes("first = 1"),
    "doejane_LATE_12345_67890_hw1-1.ipynb": notebook_bytes("second = 2"),
    "roebob_LATE_23456_67891_hw1.ipynb": notebook_bytes("bob = 1"),
    "LATE_anon_Ab3dE_67892_hw1.ipynb": notebook_bytes("anon = 1"),
    "smithann_34567_text.html": b"<p>I could not get Jupyter to run</p>",
    "leeli_45678_67893_hw1.ipynb": notebook_bytes("li = 1"),
    "leeli_45678_link.html": b"<a href='https://colab.example'>colab</a>",
}


@pytest.mark.parametrize("name, lms, user, late, attempt", [
    ("doejane_12345_67890_hw1.ipynb", "canvas", "12345", False, (67890, 0)),
    ("doejane_LATE_12345_67890_hw1-2.ipynb", "canvas", "12345", True, (67890, 2)),
    ("LATE_anon_Ab3dE_67890_hw1.ipynb", "canvas", "anon_Ab3dE", True, (67890, 0)),
    ("o_brien_mary_12345_text.html", "canvas", "12345", False, (0, 0)),
    ("Jane Doe_1234567_assignsubmission_file/hw1.ipynb", "moodle", "1234567", False, ()),
    ("HW1-123/Jane Doe_1234567_assignsubmission_file_hw1.ipynb", "moodle", "1234567", False, ()),
    ("HW1_jdoe_attempt_2025-03-03-09-30-00_hw1.ipynb", "blackboard", "jdoe", False, (1740994200,)),
])
def test_file_names_say_who_and_which_attempt(name, lms, user, late, attempt):
    found = parse_name(name)
    assert (found.lms, found.user, found.late, found.attempt) == (lms, user, late, attempt)


@pytest.mark.parametrize("name", ["alice.ipynb", "s01.ipynb", "bob/homework.ipynb", "hw1_final_v2.ipynb"])
def test_plain_names_are_no_lms_download(name):
    assert parse_name(name) is None


def test_blackboard_receipt_and_timestamp():
    receipt = parse_name("HW1_jdoe_attempt_2025-03-03-09-30-00.txt")
    assert receipt.receipt and receipt.submitted_at == datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["zip", "folder"])
def canvas_download(request, tmp_path):
    archive = write_zip(tmp_path / "canvas.zip", CANVAS)
    return archive if request.param == "zip" else unpack(archive, tmp_path / "canvas")


def test_canvas_download_newest_attempt_late_flag_and_anonymous(canvas_download):
    intake = collect([canvas_download])
    by_student = {s.student: s for s in intake.submissions}

    assert list(by_student) == ["12345", "23456", "34567", "45678", "anon_Ab3dE"]
    jane = by_student["12345"]
    assert (jane.cells, jane.late, jane.error, jane.timed) == (("second = 2",), True, "", False)
    assert jane.note.startswith("2 notebooks for 12345: graded the newest") and "hw1-1.ipynb" in jane.note
    assert (by_student["23456"].late, by_student["anon_Ab3dE"].late, by_student["45678"].late) == (True, True, False)
    assert by_student["45678"].cells == ("li = 1",)
    assert by_student["34567"].error.endswith("34567 handed in no notebook (only smithann_34567_text.html)")
    assert by_student["34567"].error.startswith(str(canvas_download))
    assert sorted(intake.notices) == [f"{canvas_download}/leeli_45678_link.html: not a notebook: skipped",
                                      f"{canvas_download}/smithann_34567_text.html: not a notebook: skipped"]


def test_a_zip_entry_keeps_its_time_and_names_its_archive(tmp_path):
    archive = write_zip(tmp_path / "canvas.zip", CANVAS)
    jane = next(s for s in collect([archive]).submissions if s.student == "12345")
    assert jane.submitted_at == ZIP_TIME
    assert str(jane.path) == f"{archive}/doejane_LATE_12345_67890_hw1-1.ipynb"


def test_moodle_folders_and_flat_files(tmp_path):
    archive = write_zip(tmp_path / "moodle.zip", {
        "Jane Doe_1234567_assignsubmission_file/hw1.ipynb": notebook_bytes("jane = 1"),
        "Bob Roe_7654321_assignsubmission_file_hw1.ipynb": notebook_bytes("bob = 1"),
        "Ann Smith_5555555_assignsubmission_onlinetext_onlinetext.html": b"<p>see attachment</p>",
    })
    intake = collect([archive])
    assert [(s.student, s.cells, s.error != "") for s in intake.submissions] == [
        ("1234567", ("jane = 1",), False), ("5555555", (), True), ("7654321", ("bob = 1",), False)]


def test_blackboard_newest_attempt_wins_and_receipts_are_quiet(tmp_path):
    archive = write_zip(tmp_path / "bb.zip", {
        "HW1_jdoe_attempt_2025-03-03-09-30-00_hw1.ipynb": notebook_bytes("early = 1"),
        "HW1_jdoe_attempt_2025-03-03-09-30-00.txt": b"Name: Jane Doe (jdoe)\nAssignment: HW1\n",
        "HW1_jdoe_attempt_2025-03-04-10-00-00_hw1.ipynb": notebook_bytes("late = 1"),
        "HW1_jdoe_attempt_2025-03-04-10-00-00.txt": b"Name: Jane Doe (jdoe)\n",
    })
    intake = collect([archive])
    [jane] = intake.submissions
    assert (jane.student, jane.cells, jane.submitted_at) == ("jdoe", ("late = 1",),
                                                             datetime(2025, 3, 4, 10, tzinfo=UTC))
    assert intake.notices == []


def test_hostile_archive_members_are_skipped_one_line_each(tmp_path, monkeypatch):
    monkeypatch.setattr(autograder.lms_download, "MAX_ARCHIVE_BYTES", 5 << 20)
    archive = write_zip(tmp_path / "canvas.zip", {
        "../../evil_12345_1_x.ipynb": notebook_bytes("escape = 1"),
        "/etc/cron.d/evil_23456_1_x.ipynb": notebook_bytes("escape = 1"),
        "bomb_34567_1_x.ipynb": b"{" + b" " * (30 << 20),  # 30 MB of spaces: deflates to a few KB
        "doejane_12345_67890_hw1.ipynb": notebook_bytes("honest = 1"),
        "__MACOSX/._doejane_12345_67890_hw1.ipynb": b"\0\5\26\7",
        "readme.pdf": b"%PDF",
    })
    assert archive.stat().st_size < 200_000
    intake = collect([archive])
    by_student = {s.student: s for s in intake.submissions}

    assert set(by_student) == {"12345", "34567"}
    assert by_student["12345"].cells == ("honest = 1",)
    assert "over the 20.0 MB limit" in by_student["34567"].error
    assert set(intake.notices) == {
        f"{archive}: member '../../evil_12345_1_x.ipynb' is a path that climbs out of the archive (..): skipped",
        f"{archive}: member '/etc/cron.d/evil_23456_1_x.ipynb' is an absolute path: skipped",
        f"{archive}/readme.pdf: not a notebook: skipped",
    }
    assert not (tmp_path.parent / "evil_12345_1_x.ipynb").exists()


def test_a_header_that_understates_the_size_reads_no_more_than_it_says(tmp_path, monkeypatch):
    monkeypatch.setattr(autograder.ingest, "MAX_NOTEBOOK_BYTES", 1000)
    archive = write_zip(tmp_path / "canvas.zip", {"doejane_12345_67890_hw1.ipynb": b" " * 5000})
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as opened:
        info = opened.infolist()[0]
    for header in (raw.find(b"PK\x03\x04"), raw.find(b"PK\x01\x02")):  # uncompressed size: 5000 -> 10
        offset = header + (22 if raw[header + 3] == 4 else 24)
        raw[offset:offset + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    assert info.file_size == 5000
    [jane] = collect([archive]).submissions
    assert "cannot be read (a damaged or encrypted archive member (Bad CRC-32" in jane.error  # read stops at 10 B


def test_an_archive_that_unpacks_past_its_budget_stops_there(tmp_path, monkeypatch):
    monkeypatch.setattr(autograder.lms_download, "MAX_ARCHIVE_BYTES", 300)
    members = {f"s{i}_{10 + i}_1_hw.ipynb": notebook_bytes(f"x = {i}") for i in range(4)}
    intake = collect([write_zip(tmp_path / "canvas.zip", members)])
    errors = [s.error for s in intake.submissions if s.error]
    assert errors and all("zip bomb" in error for error in errors)
    assert len(errors) < 4


def test_a_damaged_zip_is_one_line_and_the_rest_goes_on(tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\0" * 50)  # cut off after the first member's header
    good = write_zip(tmp_path / "good.zip", {"leeli_45678_67893_hw1.ipynb": notebook_bytes("li = 1")})
    intake = collect([broken, good])
    assert [s.student for s in intake.submissions] == ["45678"]
    assert intake.notices == [f"{broken}: not a readable zip archive (File is not a zip file): skipped"]
