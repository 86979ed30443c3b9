"""Deadlines, late penalties and instructor overrides: from assignment.toml to the gradebook's final score."""

from __future__ import annotations

import sqlite3
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config

from autograder.course import Course, CourseError
from autograder.deadlines import Deadline, parse_deadline
from autograder.database import MIGRATIONS
from autograder.gradebook import Gradebook
from autograder.overrides import adjust, clear_adjustment
from autograder.results import Adjustment, SubmissionResult
from autograder.results import TestOutcome as Outcome

DUE = datetime(2025, 3, 10, 23, 59, tzinfo=UTC)
POLICY = """
due = 2025-03-10T23:59:00Z
[late]
policy = "percent_per_day"
percent = 10
cap = 25
grace_minutes = 15
[extensions]
alice = 2025-03-12T23:59:00Z
bob = 1.5
"""


def deadline(text: str = POLICY) -> Deadline:
    return parse_deadline(tomllib.loads(text))


@pytest.mark.parametrize("after, late, rate", [
    (timedelta(minutes=-1), False, 0.0),
    (timedelta(minutes=15), False, 0.0),     # within the grace period
    (timedelta(minutes=16), True, 0.10),     # one started day
    (timedelta(days=1, seconds=1), True, 0.20),
    (timedelta(days=9), True, 0.25),          # capped
])
def test_percent_per_day_counts_started_days_after_grace(after, late, rate):
    lateness = deadline().assess("carol", DUE + after, flagged_late=not late)
    assert (lateness.late, lateness.penalty_rate) == (late, pytest.approx(rate))


def test_extensions_move_the_due_date_by_date_or_days():
    rules = deadline()
    assert rules.due_for("alice") == DUE + timedelta(days=2)
    assert rules.due_for("bob") == DUE + timedelta(days=1.5)
    assert rules.assess("alice", DUE + timedelta(days=1), flagged_late=True).late is False
    assert rules.assess("bob", DUE + timedelta(days=2), flagged_late=False).penalty_rate == pytest.approx(0.1)


@pytest.mark.parametrize("policy, extra, rate", [
    ("zero", "", 1.0), ("none", "", 0.0), ("percent_per_hour", "percent = 5", 0.15)])
def test_other_policies(policy, extra, rate):
    rules = deadline(f'due = 2025-03-10T23:59:00Z\n[late]\npolicy = "{policy}"\n{extra}\n')
    lateness = rules.assess("carol", DUE + timedelta(hours=2, minutes=30), flagged_late=False)
    assert lateness.late and lateness.penalty_rate == pytest.approx(rate)


@pytest.mark.parametrize("student, flagged, late, rate", [
    ("carol", True, True, 0.10),    # the LMS says late: one started day
    ("carol", False, False, 0.0),
    ("alice", True, False, 0.0),    # her extension is not the LMS's: its flag does not count
])
def test_an_unknown_time_trusts_the_lms_flag_for_one_day(student, flagged, late, rate):
    lateness = deadline().assess(student, None, flagged_late=flagged)
    assert (lateness.late, lateness.penalty_rate) == (late, pytest.approx(rate))


def test_without_a_due_date_the_lms_flag_stands_and_nothing_is_taken():
    lateness = deadline("").assess("carol", DUE, flagged_late=True)
    assert (lateness.late, lateness.penalty_rate) == (True, 0.0)


@pytest.mark.parametrize("text, words", [
    ("due = 2025-03-10T23:59:00", "with its offset"),
    ("due = 2025-03-10", "with its offset"),
    ('[late]\npolicy = "zero"', "no due date"),
    ('due = 2025-03-10T23:59:00Z\n[late]\npolicy = "weekly"', "late.policy must be one of"),
    ('due = 2025-03-10T23:59:00Z\n[late]\npolicy = "percent_per_day"\npercent = 150', "late.percent"),
    ("[extensions]\nalice = 2", "no due date to add them to"),
])
def test_bad_deadline_settings_name_the_file_and_the_key(tmp_path, text, words):
    folder = tmp_path / "solutions" / "01_x"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(text + "\n")
    with pytest.raises(CourseError, match=words) as raised:
        Course(tmp_path).assignment("x")
    assert str(raised.value).startswith(str(folder / "assignment.toml"))


# --- the gradebook's final score ------------------------------------------------------------

def result(student: str, rate: float = 0.0, status: str = "graded") -> SubmissionResult:
    tests = [Outcome("test_a", "passed", 6.0, 6.0), Outcome("test_b", "failed", 0.0, 4.0, "wrong shape")]
    return SubmissionResult(student, f"{student}.ipynb", student, DUE, status, 10.0, late=rate > 0,
                            tests=tests if status == "graded" else [], penalty_rate=rate)


@pytest.fixture
def gradebook(tmp_path):
    with Gradebook(f"sqlite:///{tmp_path / 'g.sqlite'}") as opened:
        run = opened.start_run("softmax", seed=1, tests_hash="t", environment={})
        for graded in (result("alice", 0.2), result("bob"), result("carol", 0.5, "error")):
            opened.record(run, "softmax", graded)
        yield opened


def standing(gradebook: Gradebook) -> dict[str, tuple]:
    return {g.student: (g.raw_score, g.penalty, g.score, [t.score for t in g.tests])
            for g in gradebook.grades("softmax")}


def test_penalty_is_stored_and_taken_from_the_raw_score(gradebook):
    assert standing(gradebook) == {"alice": (6.0, 1.2, 4.8, [6.0, 0.0]), "bob": (6.0, 0.0, 6.0, [6.0, 0.0]),
                                   "carol": (0.0, 0.0, 0.0, [])}


def test_a_test_override_is_penalised_and_a_total_override_is_final(gradebook):
    adjust(gradebook, "softmax", "alice", Adjustment("test_b", 3.0, "shape bug was the handout's fault"))
    adjust(gradebook, "softmax", "bob", Adjustment(None, 9.5, "oral exam"))
    adjust(gradebook, "softmax", "bob", Adjustment(None, 8.0, "oral exam, second thought"))
    grades = {g.student: g for g in gradebook.grades("softmax")}

    assert standing(gradebook)["alice"] == (6.0, 1.8, 7.2, [6.0, 3.0])
    assert standing(gradebook)["bob"] == (6.0, 0.0, 8.0, [6.0, 0.0])
    assert grades["bob"].adjustments == (Adjustment(None, 8.0, "oral exam, second thought"),)
    assert grades["alice"].adjustments == (Adjustment("test_b", 3.0, "shape bug was the handout's fault"),)


def test_an_override_survives_a_regrade_and_can_be_cleared(gradebook):
    adjust(gradebook, "softmax", "alice", Adjustment(None, 10.0, "regrade request"))
    run = gradebook.start_run("softmax", seed=1, tests_hash="t2", environment={})
    gradebook.record(run, "softmax", result("alice"))
    assert standing(gradebook)["alice"][2] == 10.0
    assert clear_adjustment(gradebook, "softmax", "alice", None) is True
    assert clear_adjustment(gradebook, "softmax", "alice", None) is False
    assert standing(gradebook)["alice"] == (6.0, 0.0, 6.0, [6.0, 0.0])


def test_adjusting_an_unknown_student_writes_nothing(gradebook):
    with pytest.raises(LookupError, match="no student 'zoe'"):
        adjust(gradebook, "softmax", "zoe", Adjustment(None, 1.0, ""))
    assert [g.adjustments for g in gradebook.grades("softmax")] == [(), (), ()]


def test_migration_0002_upgrades_a_0001_gradebook_keeping_its_grades(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0001")
    with sqlite3.connect(tmp_path / "old.sqlite") as connection:
        connection.executescript("""
            insert into students (id, name) values (1, 'alice');
            insert into assignments (id, name, seed) values (1, 'softmax', 7);
            insert into submissions values (1, 1, 1, 'h', 'a.ipynb', '2025-03-03 09:00:00', 0);
            insert into runs values (1, 1, 7, 't', '{}', '2025-03-03 09:00:00', null);
            insert into gradings values (1, 1, 1, 't', 'graded', 4.0, 10.0, '', '', '2025-03-03 09:00:00');
        """)
    with Gradebook(url) as gradebook:
        [grade] = gradebook.grades("softmax")
    assert (grade.student, grade.score, grade.raw_score, grade.penalty) == ("alice", 4.0, 4.0, 0.0)
    assert grade.answers == {}  # graded before 0003: no answers were kept
    command.downgrade(config, "0001")
    with sqlite3.connect(tmp_path / "old.sqlite") as connection:
        assert connection.execute("select name, score from students, gradings").fetchall() == [("alice", 4.0)]


def test_a_regrade_after_an_extension_clears_the_late_flag_and_penalty(gradebook):
    assert [(g.late, g.penalty) for g in gradebook.grades("softmax")][0] == (True, 1.2)
    run = gradebook.start_run("softmax", seed=1, tests_hash="t2", environment={})
    gradebook.record(run, "softmax", result("alice"))  # the same notebook, now within its extension
    assert [(g.late, g.penalty) for g in gradebook.grades("softmax")][0] == (False, 0.0)
