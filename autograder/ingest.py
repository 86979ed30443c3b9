"""Find student notebooks and read their code cells, refusing bad files one by one.

A path is a notebook (the student is its stem), a folder holding
`<student>.ipynb` files or `<student>/<anything>.ipynb` folders, or an LMS's
bulk download (a zip or its unpacked folder, autograder/lms_download.py) whose
file names say the student, the attempt and whether it was late. Each file
becomes a `Submission`: either its code cells, or an `error` that names the
file and what is wrong with it. Stored outputs are dropped unread into the
grading path: they are never executed and never trusted.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.lms_download import Entry, LmsName, archive_entries, file_entry, folder_entries, parse_name

if TYPE_CHECKING:
    import nbformat

MAX_NOTEBOOK_BYTES = 20 << 20
MAX_STUDENT_ID = 64


@dataclass(frozen=True)
class Submission:
    """One student's notebook, read (cells) or refused (error)."""

    student: str
    path: Path
    content_hash: str
    submitted_at: datetime
    cells: tuple[str, ...] = ()
    error: str = ""  # why it cannot be graded; empty when it was read
    note: str = ""  # something the instructor should know, e.g. a duplicate
    late: bool = False  # as the LMS's file name says (Canvas' LATE_)
    attempt: tuple[int, ...] = ()  # orders one student's attempts in an LMS download, oldest first
    timed: bool = True  # whether submitted_at is when it was handed in (not so in a Canvas zip)


def student_id(raw: str) -> str:
    """A safe student id from a file or folder name: no separators, dots-first or control characters."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = re.sub(r"[^\w.@+-]", "_", text).lstrip(".-")  # \w: letters of any script
    return text[:MAX_STUDENT_ID] or "unnamed"


def _code_hash(cells: tuple[str, ...]) -> str:
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def _refused(student: str, path: Path, submitted_at: datetime, problem: str, raw: bytes = b"") -> Submission:
    digest = hashlib.sha256(raw or problem.encode()).hexdigest()
    return Submission(student, path, digest, submitted_at, error=f"{path}: {problem}")


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"


def _parse(raw: bytes) -> nbformat.NotebookNode:
    """The notebook in `raw` as nbformat v4; raises ValueError saying what is wrong."""
    import nbformat  # with jsonschema, a twentieth of a second: not for the commands that never read one

    if not raw.strip():
        raise ValueError("the file is empty")
    body = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark (Windows editors) is harmless
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + len(raw) - len(body)
        raise ValueError(f"not UTF-8 text (byte 0x{raw[offset]:02x} at offset {offset})") from None
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
                         "is it truncated?") from None
    except RecursionError:
        raise ValueError("not a notebook (JSON nested too deeply)") from None
    if not isinstance(content, dict) or "cells" not in content and "worksheets" not in content:
        raise ValueError("not a Jupyter notebook (no cells)")
    major = content.get("nbformat")
    if major not in (3, 4):
        raise ValueError(f"notebook format {major!r} is not supported (only v3, upgraded, and v4)")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        raise ValueError(f"not a valid notebook: {str(error.message)[:200]}") from None
    except Exception as error:  # nbformat's converters raise assorted errors on odd input
        raise ValueError(f"not a readable notebook ({type(error).__name__}: {str(error)[:200]})") from None
    return notebook


def read_submission(path: Path, student: str | None = None) -> Submission:
    """Read one notebook file into a Submission; never raises for a bad file."""
    student = student or student_id(path.stem)
    try:
        entry = file_entry(path, path.name)
    except OSError as error:
        return _refused(student, path, datetime.now(timezone.utc), f"cannot be read ({error.strerror})")
    return read_entry(entry, student)


def read_entry(entry: Entry, student: str, submitted_at: datetime | None = None) -> Submission:
    """Read one notebook of a download (a file or an archive member); never raises for a bad one."""
    path, submitted_at = entry.where, submitted_at or entry.modified
    if entry.size > MAX_NOTEBOOK_BYTES:
        return _refused(student, path, submitted_at, f"the notebook is {_megabytes(entry.size)}, over the "
                        f"{_megabytes(MAX_NOTEBOOK_BYTES)} limit (clear its outputs and submit again)",
                        f"{path}:{entry.size}".encode())
    try:
        raw = entry.read(MAX_NOTEBOOK_BYTES)
        notebook = _parse(raw)
    except OSError as error:
        return _refused(student, path, submitted_at, f"cannot be read ({error.strerror})")
    except ValueError as error:
        return _refused(student, path, submitted_at, str(error), raw)
    cells = tuple(cell.source for cell in notebook.cells if cell.cell_type == "code")
    return Submission(student, path, _code_hash(cells), submitted_at, cells)


@dataclass
class Intake:
    """What the paths hold: one submission per student, and a line for each file passed over."""

    submissions: list[Submission] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def _entries(path: Path, intake: Intake) -> list[Entry]:
    if path.is_dir():
        return folder_entries(path)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        try:
            entries, problems = archive_entries(path)
        except OSError as error:
            entries, problems = [], [f"{path}: {error.strerror}: skipped"]
        intake.notices.extend(problems)
        return entries
    try:
        return [file_entry(path, path.name)]
    except OSError as error:  # graded as an error that names the file
        return [_unreadable(path, error)]


def _unreadable(path: Path, error: OSError) -> Entry:
    def fail(limit: int) -> bytes:
        raise error

    return Entry(path.name, path, 0, datetime.now(timezone.utc), fail)


def _owner(entry: Entry) -> tuple[str, LmsName | None]:
    """The student an entry belongs to: the LMS's id in its name, else DIR/<student>.ipynb or
    DIR/<student>/<anything>."""
    naming = parse_name(entry.name)
    parts = entry.name.split("/")
    return student_id(naming.user if naming else parts[0] if len(parts) > 1 else Path(parts[0]).stem), naming


def collect(paths: list[Path]) -> Intake:
    """Every submission under `paths` (notebooks, folders, LMS bulk downloads as zips or folders),
    one per student (the newest attempt wins), sorted by student."""
    intake = Intake()
    found: list[Submission] = []
    without_notebook: dict[str, list[Entry]] = {}
    for path in paths:
        for entry in _entries(path, intake):
            student, naming = _owner(entry)
            if not entry.is_notebook:
                if not (naming and naming.receipt):
                    intake.notices.append(f"{entry.where}: not a notebook: skipped")
                without_notebook.setdefault(student, []).append(entry)
                continue
            submission = read_entry(entry, student, naming and naming.submitted_at)
            if naming:
                submission = replace(submission, late=naming.late, attempt=naming.attempt, timed=naming.timed)
            found.append(submission)
    with_notebook = {submission.student for submission in found}
    for student, entries in without_notebook.items():
        if student not in with_notebook and any(parse_name(entry.name) for entry in entries):
            names = ", ".join(entry.name for entry in entries)
            found.append(_refused(student, entries[0].where, entries[0].modified,
                                  f"{student} handed in no notebook (only {names})"))
    intake.submissions = newest_per_student(found)
    return intake


def newest_per_student(submissions: Iterable[Submission]) -> list[Submission]:
    """One submission per student, the newest attempt, sorted by student; a note names the others."""
    by_student: dict[str, list[Submission]] = {}
    for submission in submissions:
        by_student.setdefault(submission.student, []).append(submission)
    return [_newest(found) for _, found in sorted(by_student.items())]


def _newest(found: list[Submission]) -> Submission:
    newest = max(found, key=lambda s: (s.attempt, s.submitted_at, str(s.path)))
    if len(found) == 1:
        return newest
    others = ", ".join(str(s.path) for s in found if s is not newest)
    return replace(newest, note=f"{len(found)} notebooks for {newest.student}: graded the newest, "
                                f"{newest.path}, not {others}")
