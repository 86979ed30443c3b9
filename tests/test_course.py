"""The course on disk: finding assignments, their settings and the digest of their hidden tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course import DEFAULT_CALL_TIMEOUT, Course, CourseError, default_root


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.fixture
def root(tmp_path) -> Path:
    """A course with a configured `03_softmax` and an `04_information` left to the defaults."""
    softmax = tmp_path / "solutions" / "03_softmax"
    write(softmax / "assignment.toml", 'title = "Softmax"\nnotebook = "sm.ipynb"\ncall_timeout = 2.5\n')
    write(softmax / "test_softmax.py", "def test_softmax(student): pass\n")
    write(softmax / "reference.py", "def softmax(z): return z\n")
    write(softmax / "samples" / "alice.ipynb", "{}")
    write(tmp_path / "solutions" / "04_information" / "assignment.toml", "")
    write(tmp_path / "solutions" / "notes" / "README.md", "not an assignment: no assignment.toml")
    return tmp_path


@pytest.mark.parametrize("name", ["softmax", "03_softmax"])
def test_assignment_is_found_by_name_or_folder(root, name):
    assignment = Course(root).assignment(name)

    solutions = root / "solutions" / "03_softmax"
    assert (assignment.name, assignment.folder, assignment.title) == ("softmax", "03_softmax", "Softmax")
    assert assignment.notebook == root / "assignments" / "03_softmax" / "sm.ipynb"
    assert (assignment.solutions, assignment.reference, assignment.samples) == (
        solutions, solutions / "reference.py", solutions / "samples")
    assert assignment.call_timeout == 2.5


def test_assignment_toml_defaults(root):
    assignment = Course(root).assignment("information")

    assert assignment.title == "04_information"
    assert assignment.notebook == root / "assignments" / "04_information" / "information.ipynb"
    assert assignment.call_timeout == DEFAULT_CALL_TIMEOUT == 10.0


def test_assignments_lists_only_configured_folders_in_order(root):
    assert [a.name for a in Course(root).assignments()] == ["softmax", "information"]


def test_unknown_name_lists_the_known_ones(root):
    with pytest.raises(CourseError) as raised:
        Course(root).assignment("convolutions")

    assert str(raised.value) == (f"no assignment 'convolutions' in {root / 'solutions'} "
                                 "(known: softmax, information)")


def test_unknown_name_in_an_empty_course_says_none(tmp_path):
    with pytest.raises(CourseError, match=r"\(known: none\)"):
        Course(tmp_path).assignment("softmax")


@pytest.mark.parametrize(("config", "message"), [
    (b"title = ", "Invalid value"),
    ('title = "caf\xe9"\n'.encode("latin-1"), "can't decode byte 0xe9"),
    (b'call_timeout = "soon"\n', "call_timeout must be a positive number of seconds, not 'soon'"),
    (b"call_timeout = 0\n", "call_timeout must be a positive number of seconds, not 0"),
    (b"call_timeout = -1.5\n", "call_timeout must be a positive number of seconds"),
    (b"call_timeout = inf\n", "call_timeout must be a positive number of seconds"),
    (b"call_timeout = nan\n", "call_timeout must be a positive number of seconds"),
], ids=["bad TOML", "latin-1", "text timeout", "zero timeout", "negative timeout", "inf", "nan"])
def test_misconfigured_assignment_is_a_course_error_naming_the_file(root, config, message):
    config_path = write(root / "solutions" / "04_information" / "assignment.toml", config)

    with pytest.raises(CourseError) as raised:
        Course(root).assignment("information")

    assert str(raised.value).startswith(f"{config_path}: ")
    assert message in str(raised.value)


def changed_hash(root: Path, relative: str, text: str) -> bool:
    assignment = Course(root).assignment("softmax")
    before = assignment.tests_hash()
    write(assignment.solutions / relative, text)
    return assignment.tests_hash() != before


@pytest.mark.parametrize(("relative", "changes"), [
    ("test_softmax.py", True),
    ("reference.py", True),
    ("assignment.toml", True),
    ("test_extra.py", True),
    ("helpers/data.json", True),
    ("samples/alice.ipynb", False),
    ("samples/bob.ipynb", False),
    ("__pycache__/test_softmax.cpython-311.pyc", False),
], ids=lambda value: str(value))
def test_tests_hash_follows_what_decides_a_score(root, relative, changes):
    assert changed_hash(root, relative, "# edited\n") is changes


def test_tests_hash_is_stable(root):
    course = Course(root)

    assert course.assignment("softmax").tests_hash() == course.assignment("03_softmax").tests_hash()
    assert course.assignment("softmax").tests_hash() != course.assignment("information").tests_hash()


def test_default_root_prefers_the_environment_then_the_current_folder(root, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(root)
    monkeypatch.delenv("AUTOGRADER_COURSE", raising=False)
    assert default_root() == root
    assert Course().root == root.resolve()

    monkeypatch.setenv("AUTOGRADER_COURSE", str(elsewhere))
    assert default_root() == elsewhere
