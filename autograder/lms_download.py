"""Bulk downloads from an LMS: the files of a zip or of a folder, and who each one belongs to.

File names follow the LMS's conventions (shared/research/lms-formats.md):

    Canvas      doejane_12345_67890_hw1.ipynb, doejane_LATE_12345_67890_hw1-1.ipynb (a resubmission),
                LATE_anon_Ab3dE_67890_hw1.ipynb, doejane_12345_text.html
    Moodle      Jane Doe_1234567_assignsubmission_file/hw1.ipynb (or ..._file_hw1.ipynb)
    Blackboard  HW1_jdoe_attempt_2025-03-03-09-30-00_hw1.ipynb and its receipt HW1_jdoe_attempt_2025-03-03-09-30-00.txt

An archive is never unpacked to disk: entries are read into memory, each at
most `limit` bytes, the whole archive at most MAX_ARCHIVE_BYTES, so neither a
zip-slip path nor a zip bomb can do harm; each is reported in one line.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

MAX_ARCHIVE_BYTES = 2 << 30  # all entries of one archive together, unpacked
MAX_ENTRIES = 20_000
IGNORED_PARTS = ("__MACOSX", ".ipynb_checkpoints")

CANVAS = re.compile(r"^(?:(?P<name>(?!LATE_|anon_)[^/]*?)_)?(?:(?P<late>LATE)_)?(?P<user>\d+|anon_[A-Za-z0-9]+)_"
                    r"(?:(?P<attachment>\d+)_(?P<filename>.+)|(?P<kind>text|link)\.html)$")
MOODLE = re.compile(r"^(?P<fullname>[^_/]+)_(?P<user>\d+)_assignsubmission_(?P<plugin>[a-z]+)[/_](?P<filename>.+)$")
BLACKBOARD = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_]+)_attempt_(?P<ts>\d{4}(?:-\d{2}){5})"
                        r"(?:_(?P<filename>.+)|\.txt)$")
RESUBMISSION = re.compile(r"-(\d+)(?:\.[^.]*)?$")


@dataclass(frozen=True)
class Entry:
    """One file of a download: its name inside it ('/'-separated) and how to read it."""

    name: str
    where: Path  # for messages: the file, or archive.zip/name
    size: int  # as declared (an archive's header may lie; `read` never returns more than asked)
    modified: datetime
    read: Callable[[int], bytes]  # at most n bytes; raises OSError

    @property
    def is_notebook(self) -> bool:
        return self.name.endswith(".ipynb")


@dataclass(frozen=True)
class LmsName:
    """What an LMS's file name says about the file."""

    lms: str  # canvas, moodle, blackboard
    user: str  # Canvas user id or anon_ id, Moodle participant id, Blackboard user name
    late: bool = False
    attempt: tuple[int, ...] = ()  # orders one student's attempts, oldest first
    submitted_at: datetime | None = None
    receipt: bool = False  # Blackboard's .txt receipt: expected, not a submission
    timed: bool = True  # False: the file's time is not the submission's (Canvas stamps its zip when made)


def _tails(name: str) -> list[str]:
    """The name and its shorter tails, longest first: a download may sit inside a folder of its own."""
    parts = name.split("/")
    return ["/".join(parts[start:]) for start in range(len(parts))]


def parse_name(name: str) -> LmsName | None:
    """Who the file `name` (a path inside a download) belongs to, by the LMS's naming; None if no LMS's."""
    for tail in _tails(name):
        if found := BLACKBOARD.match(tail):
            stamp = datetime.strptime(found["ts"], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=UTC)
            return LmsName("blackboard", found["user"], attempt=(int(stamp.timestamp()),), submitted_at=stamp,
                           receipt=found["filename"] is None)
        if found := MOODLE.match(tail):
            return LmsName("moodle", found["user"])
        if "/" not in tail and (found := CANVAS.match(tail)):
            resubmission = RESUBMISSION.search(found["filename"] or "")
            attempt = (int(found["attachment"] or 0), int(resubmission[1]) if resubmission else 0)
            return LmsName("canvas", found["user"], late=bool(found["late"]), attempt=attempt, timed=False)
    return None


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def file_entry(path: Path, name: str) -> Entry:
    """A file on disk as an entry; raises OSError when it cannot be seen."""
    stat = path.stat()

    def read(limit: int) -> bytes:
        with path.open("rb") as stream:
            return stream.read(limit)

    return Entry(name, path, stat.st_size, _moment(stat.st_mtime), read)


def _skipped(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part in IGNORED_PARTS for part in parts)


def folder_entries(folder: Path) -> list[Entry]:
    """The plain files of an unpacked download: FOLDER/<file> and FOLDER/<subfolder>/<file>, no links."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or _skipped((path.name,)):
            continue
        if path.is_dir():
            found.extend(file_entry(inner, f"{path.name}/{inner.name}") for inner in sorted(path.iterdir())
                         if inner.is_file() and not inner.is_symlink() and not _skipped((inner.name,)))
        elif path.is_file():
            found.append(file_entry(path, path.name))
    return found


def _unsafe(name: str) -> str:
    """Why an archive member's name could write outside the folder it is unpacked into; empty if safe."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in path.parts:
        return "a path that climbs out of the archive (..)"
    return ""


def _zip_time(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time, tzinfo=UTC)
    except ValueError:  # a zero month or day: some zip writers leave the time blank
        return None


def archive_entries(archive: Path) -> tuple[list[Entry], list[str]]:
    """The entries of a zip download and one line for each member refused; raises OSError if unreadable."""
    try:
        with zipfile.ZipFile(archive) as opened:
            members = opened.infolist()
    except zipfile.BadZipFile as error:
        raise OSError(0, f"not a readable zip archive ({error})") from None
    unpacked = 0

    def reader(info: zipfile.ZipInfo) -> Callable[[int], bytes]:
        def read(limit: int) -> bytes:
            nonlocal unpacked
            if unpacked + min(limit, info.file_size) > MAX_ARCHIVE_BYTES:
                raise OSError(0, f"the archive unpacks to over {MAX_ARCHIVE_BYTES >> 20} MB (a zip bomb?)")
            try:
                with zipfile.ZipFile(archive) as opened, opened.open(info) as stream:
                    raw = stream.read(limit)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as error:
                raise OSError(0, f"a damaged or encrypted archive member ({error})") from None
            unpacked += len(raw)
            return raw

        return read

    entries, problems = [], []
    for info in members[:MAX_ENTRIES]:
        where = Path(f"{archive}/{info.filename}")
        if problem := _unsafe(info.filename):
            problems.append(f"{archive}: member {info.filename!r} is {problem}: skipped")
        elif not info.is_dir() and not _skipped(tuple(info.filename.split("/"))):
            modified = _zip_time(info) or _moment(archive.stat().st_mtime)
            entries.append(Entry(info.filename, where, info.file_size, modified, reader(info)))
    if len(members) > MAX_ENTRIES:
        problems.append(f"{archive}: {len(members)} members, over the {MAX_ENTRIES} limit: the rest are skipped")
    return entries, problems
