"""Find student notebooks and read their code cells, refusing bad files one by one.

A path is a notebook (the student is its stem) or a folder holding
`<student>.ipynb` files or `<student>/<anything>.ipynb` folders. Each file
becomes a `Submission`: either its code cells, or an `error` that names the
file and what is wrong with it. Stored outputs are dropped unread into the
grading path: they are never executed and never trusted.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

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
    late: bool = False


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
        stat = path.stat()
    except OSError as error:
        return _refused(student, path, datetime.now(timezone.utc), f"cannot be read ({error.strerror})")
    submitted_at = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
    if stat.st_size > MAX_NOTEBOOK_BYTES:
        return _refused(student, path, submitted_at,
                        f"the notebook is {_megabytes(stat.st_size)}, over the {_megabytes(MAX_NOTEBOOK_BYTES)} "
                        "limit (clear its outputs and submit again)", f"{path}:{stat.st_size}".encode())
    try:
        raw = path.read_bytes()
        notebook = _parse(raw)
    except OSError as error:
        return _refused(student, path, submitted_at, f"cannot be read ({error.strerror})")
    except ValueError as error:
        return _refused(student, path, submitted_at, str(error), raw)
    cells = tuple(cell.source for cell in notebook.cells if cell.cell_type == "code")
    return Submission(student, path, _code_hash(cells), submitted_at, cells)


def _notebooks_in(folder: Path) -> list[tuple[str, Path]]:
    """(raw student name, notebook) pairs for DIR/<student>.ipynb and DIR/<student>/*.ipynb."""
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append((entry.stem, entry))
        elif entry.is_dir() and not entry.name.startswith("."):
            found.extend((entry.name, nb) for nb in sorted(entry.glob("*.ipynb"))
                         if nb.is_file() and not nb.is_symlink() and ".ipynb_checkpoints" not in nb.parts)
    return found


def collect(paths: list[Path]) -> list[Submission]:
    """Every submission under `paths`, one per student (the newest file wins), sorted by student."""
    by_student: dict[str, list[Submission]] = {}
    for path in paths:
        pairs = _notebooks_in(path) if path.is_dir() else [(path.stem, path)]
        for raw_name, notebook in pairs:
            submission = read_submission(notebook, student_id(raw_name))
            by_student.setdefault(submission.student, []).append(submission)
    return [_newest(found) for _, found in sorted(by_student.items())]


def _newest(found: list[Submission]) -> Submission:
    newest = max(found, key=lambda s: (s.submitted_at, str(s.path)))
    if len(found) == 1:
        return newest
    others = ", ".join(str(s.path) for s in found if s is not newest)
    return replace(newest, note=f"{len(found)} notebooks for {newest.student}: graded the newest, "
                                f"{newest.path}, not {others}")
