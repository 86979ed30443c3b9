"""Reading student notebooks: good files become cells, bad ones an error naming the file."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbformat import v3, v4

import autograder.ingest
from autograder.ingest import MAX_STUDENT_ID, collect, read_submission, student_id

GOOD_CELLS = ("import numpy as np", "def softmax(z):\n    return np.exp(z) / np.exp(z).sum()")


def notebook_json(*sources: str) -> dict:
    return json.loads(nbformat.writes(v4.new_notebook(cells=[v4.new_code_cell(s) for s in sources])))


def write_bytes(folder: Path, name: str, raw: bytes) -> Path:
    path = folder / name
    path.write_bytes(raw)
    return path


def set_mtime(path: Path, timestamp: float) -> None:
    os.utime(path, (timestamp, timestamp))


def assert_refused(submission, path: Path, message: str) -> None:
    assert submission.error.startswith(f"{path}: ")
    assert message in submission.error
    assert submission.cells == ()
    assert re.fullmatch(r"[0-9a-f]{64}", submission.content_hash)


# --- student ids ------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("alice", "alice"),
    ("bob.smith@uni.edu", "bob.smith@uni.edu"),
    ("../../etc/passwd", "_.._etc_passwd"),
    ("..", "unnamed"),
    (".hidden", "hidden"),
    ("-rf", "rf"),
    ("", "unnamed"),
    ("a\x00b\x1bc\u202ed\u200b", "abcd"),
    ("a/b\\c d", "a_b_c_d"),
    ("Ａｌｉｃｅ", "Alice"),
    ("x" * 200, "x" * MAX_STUDENT_ID),
])
def test_student_id_is_sanitised(raw, expected):
    assert student_id(raw) == expected


@pytest.mark.parametrize("raw", ["../../etc/passwd", "..", ".", "/", "\x00", "josé", "日本語", "a\nb", "ß" * 100,
                                 "con", "~root", "$(rm -rf ~)"])
def test_student_id_is_always_a_safe_file_name(raw):
    safe = student_id(raw)

    assert 0 < len(safe) <= MAX_STUDENT_ID
    assert re.fullmatch(r"[\w@+][\w.@+-]*", safe)  # letters of any script, no separators or dots first
    assert Path(safe).name == safe and safe.isprintable()


def test_student_ids_in_other_scripts_stay_distinct():
    assert len({student_id(name) for name in ("josé", "josè", "张伟", "李娜")}) == 4


# --- one notebook -----------------------------------------------------------------------

def test_good_notebook_gives_its_code_cells(tmp_path, make_notebook):
    path = make_notebook(tmp_path, GOOD_CELLS[0], v4.new_markdown_cell("# Softmax"), GOOD_CELLS[1],
                         v4.new_raw_cell("raw"), name="alice.ipynb")
    set_mtime(path, 1_700_000_000)

    submission = read_submission(path)

    assert (submission.student, submission.path, submission.error, submission.note) == ("alice", path, "", "")
    assert submission.cells == GOOD_CELLS
    assert submission.submitted_at == datetime.fromtimestamp(1_700_000_000, timezone.utc)


def test_v3_notebook_is_upgraded_to_v4_cells(tmp_path):
    worksheet = v3.new_worksheet(cells=[v3.new_code_cell(input=GOOD_CELLS[0]),
                                        v3.new_text_cell("markdown", source="# Softmax"),
                                        v3.new_code_cell(input=GOOD_CELLS[1])])
    path = tmp_path / "old.ipynb"
    with open(path, "w") as handle:
        nbformat.write(v3.new_notebook(worksheets=[worksheet]), handle, version=3)
    assert json.loads(path.read_text())["nbformat"] == 3

    submission = read_submission(path)

    assert submission.error == ""
    assert submission.cells == GOOD_CELLS


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = write_bytes(tmp_path, "bom.ipynb", b"\xef\xbb\xbf" + json.dumps(notebook_json(*GOOD_CELLS)).encode())

    assert read_submission(path).cells == GOOD_CELLS


GOOD_TEXT = json.dumps(notebook_json("# café\nx = 1"), ensure_ascii=False)
SCHEMA_INVALID = {**notebook_json("x = 1"), "cells": [{"cell_type": "code", "id": "c1", "metadata": {}}]}
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(("raw", "message"), [
    (b"this is not json", "not valid JSON"),
    (GOOD_TEXT[: len(GOOD_TEXT) // 2].encode(), "is it truncated?"),
    (b"", "the file is empty"),
    (b"  \n\t \r\n", "the file is empty"),
    (GOOD_TEXT.encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset"),
    (GOOD_TEXT.encode("utf-16"), "not UTF-8 text (byte 0xff at offset 0)"),
    (b"[1, 2, 3]", "not a Jupyter notebook (no cells)"),
    (b'{"metadata": {}}', "not a Jupyter notebook (no cells)"),
    (json.dumps({"nbformat": 2, "nbformat_minor": 0, "metadata": {}, "worksheets": []}).encode(),
     "notebook format 2 is not supported"),
    (json.dumps({"cells": [], "metadata": {}}).encode(), "notebook format None is not supported"),
    (json.dumps(SCHEMA_INVALID).encode(), "not a valid notebook"),
    (json.dumps({**notebook_json(), "cells": {"a": 1}}).encode(), "not a valid notebook"),
    (DEEP, "nested too deeply"),
], ids=["not JSON", "truncated", "empty", "whitespace", "latin-1", "UTF-16", "JSON list", "no cells",
        "nbformat 2", "no version", "schema-invalid", "cells not a list", "deep JSON"])
def test_bad_file_is_refused_with_a_message_naming_it(tmp_path, raw, message):
    path = write_bytes(tmp_path, "bad.ipynb", raw)

    assert_refused(read_submission(path), path, message)


def test_missing_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "gone.ipynb"

    assert_refused(read_submission(path), path, "cannot be read (No such file or directory)")


def test_notebook_over_the_size_limit_is_refused(tmp_path, make_notebook, monkeypatch):
    monkeypatch.setattr(autograder.ingest, "MAX_NOTEBOOK_BYTES", 100)
    path = make_notebook(tmp_path, *GOOD_CELLS)

    assert_refused(read_submission(path), path, "over the 0.0 MB limit (clear its outputs and submit again)")


def test_real_21_mb_notebook_is_refused_from_its_size_without_parsing(tmp_path, make_notebook, monkeypatch):
    output = v4.new_output("stream", name="stdout", text="x" * (21 << 20))
    path = make_notebook(tmp_path, v4.new_code_cell(GOOD_CELLS[0], outputs=[output]))
    monkeypatch.setattr(autograder.ingest, "_parse", lambda raw: pytest.fail("the big notebook was parsed"))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the big notebook was read"))

    assert_refused(read_submission(path), path, "the notebook is 21.0 MB, over the 20.0 MB limit")


def with_outputs(source: str, claim: str) -> nbformat.NotebookNode:
    return v4.new_code_cell(source, execution_count=7, outputs=[
        v4.new_output("stream", name="stdout", text=claim),
        v4.new_output("execute_result", data={"text/plain": claim}, execution_count=7),
        v4.new_output("error", ename="Nothing", evalue=claim, traceback=[claim]),
    ])


def test_stored_outputs_are_ignored(tmp_path, make_notebook):
    path = make_notebook(tmp_path, with_outputs(GOOD_CELLS[0], "all tests passed: 100/100"), GOOD_CELLS[1])

    submission = read_submission(path)

    assert submission.cells == GOOD_CELLS
    assert all(type(cell) is str for cell in submission.cells)


def test_content_hash_depends_on_code_only(tmp_path, make_notebook):
    def content_hash(name, *cells):
        return read_submission(make_notebook(tmp_path, *cells, name=name)).content_hash

    plain = content_hash("plain.ipynb", *GOOD_CELLS)
    with_claims = content_hash("outputs.ipynb", with_outputs(GOOD_CELLS[0], "100/100"), GOOD_CELLS[1],
                               v4.new_markdown_cell("my notes"))
    edited = content_hash("edited.ipynb", GOOD_CELLS[0], GOOD_CELLS[1] + "  # tweak")
    split = content_hash("split.ipynb", GOOD_CELLS[0] + "\n" + GOOD_CELLS[1])

    assert plain == with_claims
    assert len({plain, edited, split}) == 3


# --- a whole hand-in folder -------------------------------------------------------------

def test_collect_reads_files_and_folders_and_skips_checkpoints_and_symlinks(tmp_path, make_notebook):
    make_notebook(tmp_path, "a = 1", name="alice.ipynb")
    make_notebook(tmp_path, "b = 1", name="bob/homework.ipynb")
    make_notebook(tmp_path, "c = 1", name="carol.ipynb")
    make_notebook(tmp_path, "stale", name=".ipynb_checkpoints/dave-checkpoint.ipynb")
    make_notebook(tmp_path, "stale", name="bob/.ipynb_checkpoints/homework-checkpoint.ipynb")
    make_notebook(tmp_path, "hidden", name=".trash/erin.ipynb")
    (tmp_path / "notes.txt").write_text("not a notebook")
    (tmp_path / "mallory.ipynb").symlink_to(tmp_path / "alice.ipynb")
    (tmp_path / "eve").symlink_to(tmp_path / "bob")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "linked.ipynb").symlink_to(tmp_path / "alice.ipynb")

    submissions = collect([tmp_path]).submissions

    assert [(s.student, s.cells, s.note) for s in submissions] == [
        ("alice", ("a = 1",), ""), ("bob", ("b = 1",), ""), ("carol", ("c = 1",), "")]
    assert submissions[1].path == tmp_path / "bob" / "homework.ipynb"


@pytest.mark.parametrize("newer", ["alice.ipynb", "alice/v2.ipynb"])
def test_newest_of_two_notebooks_wins_with_a_note(tmp_path, make_notebook, newer):
    paths = {name: make_notebook(tmp_path, f"source = {name!r}", name=name)
             for name in ("alice.ipynb", "alice/v2.ipynb")}
    (older,) = set(paths) - {newer}
    set_mtime(paths[older], 1_700_000_000)
    set_mtime(paths[newer], 1_700_000_100)

    (submission,) = collect([tmp_path]).submissions

    assert submission.cells == (f"source = {newer!r}",)
    assert submission.note == (f"2 notebooks for alice: graded the newest, {paths[newer]}, "
                               f"not {paths[older]}")


def test_collect_takes_a_single_file_and_sorts_by_student(tmp_path, make_notebook):
    single = make_notebook(tmp_path / "elsewhere", "z = 1", name="zoe.ipynb")
    make_notebook(tmp_path / "batch", "y = 1", name="yann.ipynb")
    make_notebook(tmp_path / "batch", "a = 1", name="-adam.ipynb")

    submissions = collect([single, tmp_path / "batch"]).submissions

    assert [(s.student, s.path) for s in submissions] == [
        ("adam", tmp_path / "batch" / "-adam.ipynb"), ("yann", tmp_path / "batch" / "yann.ipynb"),
        ("zoe", single)]


def test_collect_reports_each_bad_file_by_its_path(tmp_path, make_notebook):
    make_notebook(tmp_path, "ok = 1", name="good.ipynb")
    broken = write_bytes(tmp_path, "broken.ipynb", b'{"cells": [')
    empty = write_bytes(tmp_path, "empty.ipynb", b"")
    missing = tmp_path / "absent.ipynb"

    submissions = {s.student: s for s in collect([tmp_path, missing]).submissions}

    assert submissions["good"].error == ""
    assert_refused(submissions["broken"], broken, "is it truncated?")
    assert_refused(submissions["empty"], empty, "the file is empty")
    assert_refused(submissions["absent"], missing, "cannot be read")
