"""The course on disk: `assignments/NN_name/` for students, `solutions/NN_name/` for instructors."""

from __future__ import annotations

import hashlib
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.deadlines import Deadline, parse_deadline

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CALL_TIMEOUT = 10.0
FORMATS = ("tests", "nbgrader")  # hidden pytest files, or an nbgrader source notebook


class CourseError(Exception):
    """The course or an assignment is missing or misconfigured."""


@dataclass(frozen=True)
class Assignment:
    """One assignment: its student notebook, reference, hidden tests and settings."""

    name: str
    folder: str
    title: str
    notebook: Path
    solutions: Path
    call_timeout: float
    format: str = "tests"  # one of FORMATS
    deadline: Deadline = field(default_factory=Deadline)
    lms_columns: dict[str, str] = field(default_factory=dict)  # [lms]: canvas_id, blackboard_column

    @property
    def reference(self) -> Path:
        return self.solutions / "reference.py"

    @property
    def samples(self) -> Path:
        return self.solutions / "samples"

    def tests_hash(self) -> str:
        """A digest of everything that decides a score: hidden tests, reference, settings."""
        digest = hashlib.sha256()
        for path in sorted(self.solutions.rglob("*")):
            relative = path.relative_to(self.solutions)
            if path.is_file() and relative.parts[0] != "samples" and "__pycache__" not in relative.parts:
                digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()


def _name_of(folder: str) -> str:
    prefix, _, rest = folder.partition("_")
    return rest if prefix.isdigit() and rest else folder


def default_root() -> Path:
    """$AUTOGRADER_COURSE, else the current folder if it holds `solutions/`, else this checkout."""
    if os.environ.get("AUTOGRADER_COURSE"):
        return Path(os.environ["AUTOGRADER_COURSE"])
    return Path.cwd() if (Path.cwd() / "solutions").is_dir() else PACKAGE_ROOT


class Course:
    """The assignments found under a course root."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_root()).resolve()

    def assignments(self) -> list[Assignment]:
        folders = sorted((self.root / "solutions").glob("*/assignment.toml"))
        return [self._load(path.parent.name) for path in folders]

    def assignment(self, name: str) -> Assignment:
        """Look up an assignment by name (`softmax`) or folder (`03_softmax`)."""
        for path in sorted((self.root / "solutions").glob("*/assignment.toml")):
            if name in (path.parent.name, _name_of(path.parent.name)):
                return self._load(path.parent.name)
        known = ", ".join(a.name for a in self.assignments()) or "none"
        raise CourseError(f"no assignment {name!r} in {self.root / 'solutions'} (known: {known})")

    def _load(self, folder: str) -> Assignment:
        config_path = self.root / "solutions" / folder / "assignment.toml"
        try:
            config = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise CourseError(f"{config_path}: {error}") from None
        call_timeout = config.get("call_timeout", DEFAULT_CALL_TIMEOUT)
        if type(call_timeout) not in (int, float) or not 0 < call_timeout < math.inf:
            raise CourseError(f"{config_path}: call_timeout must be a positive number of seconds, "
                              f"not {call_timeout!r}")
        kind = config.get("format", "tests")
        if kind not in FORMATS:
            raise CourseError(f"{config_path}: format must be one of {', '.join(FORMATS)}, not {kind!r}")
        try:
            deadline = parse_deadline(config)
        except ValueError as error:
            raise CourseError(f"{config_path}: {error}") from None
        lms_columns = {str(key): str(value) for key, value in config.get("lms", {}).items()}
        notebook = self.root / "assignments" / folder / str(config.get("notebook", f"{_name_of(folder)}.ipynb"))
        return Assignment(name=_name_of(folder), folder=folder, title=str(config.get("title", folder)),
                          notebook=notebook, solutions=config_path.parent, call_timeout=float(call_timeout),
                          format=kind, deadline=deadline, lms_columns=lms_columns)
