"""The gradebook against real SQLite files: schema, records, grades, atomicity and crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import IntegrityError, StatementError

from autograder.database import MIGRATIONS, default_url, schema_head
from autograder.gradebook import Base, Gradebook
from autograder.results import StudentGrade, SubmissionResult
from autograder.results import TestOutcome as Outcome  # renamed: pytest would take Test* for a test class

REPO = Path(__file__).resolve().parents[1]
TABLES = {"students", "assignments", "submissions", "runs", "gradings", "test_results", "adjustments"}
MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def outcomes(*scores: float) -> list[Outcome]:
    return [
        Outcome(f"test_{i}", "passed" if score else "failed", score, 1.0, f"message {i}", 0.5)
        for i, score in enumerate(scores)
    ]


def submission(student: str = "alice", content_hash: str = "c1", **changes: object) -> SubmissionResult:
    fields: dict = {
        "student": student,
        "path": f"in/{student}.ipynb",
        "content_hash": content_hash,
        "submitted_at": MONDAY,
        "status": "graded",
        "max_score": 3.0,
        "tests": outcomes(1.0, 0.0, 1.0),
    }
    return SubmissionResult(**(fields | changes))


def row_counts(gradebook: Gradebook) -> dict[str, int]:
    with gradebook.engine.connect() as connection:
        return {table: connection.scalar(text(f"SELECT count(*) FROM {table}")) for table in TABLES}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'gradebook.sqlite'}"


@pytest.fixture
def gradebook(url: str) -> Iterator[Gradebook]:
    with Gradebook(url) as opened:
        yield opened


def start(gradebook: Gradebook, assignment: str = "softmax", tests_hash: str = "t1") -> int:
    return gradebook.start_run(assignment, seed=7, tests_hash=tests_hash, environment={"python": "3.11"})


def test_default_url_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUTOGRADER_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_url() == "sqlite:///db/gradebook.sqlite"
    Gradebook().close()
    assert (tmp_path / "db" / "gradebook.sqlite").is_file()

    monkeypatch.setenv("AUTOGRADER_DB", "postgresql://grader@db/course")
    assert default_url() == "postgresql://grader@db/course"


def test_migration_creates_the_schema_in_a_new_folder(gradebook: Gradebook, tmp_path: Path) -> None:
    assert (tmp_path / "nested" / "gradebook.sqlite").is_file()
    assert set(inspect(gradebook.engine).get_table_names()) == TABLES | {"alembic_version"}
    with gradebook.engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0003"


def test_the_schema_head_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert schema_head() == ScriptDirectory.from_config(config).get_current_head()


def test_a_gradebook_at_head_opens_without_loading_alembic(gradebook: Gradebook, tmp_path: Path) -> None:
    url = gradebook.engine.url.render_as_string()
    probe = "import sys; from autograder.gradebook import Gradebook; Gradebook(sys.argv[1]).close(); " \
            "print(sorted({name.split('.')[0] for name in sys.modules} & {'alembic', 'nbformat'}))"
    opened = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, check=True)
    assert opened.stdout.strip() == "[]"
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"  # a new database does need Alembic
    migrated = subprocess.run([sys.executable, "-c", probe, fresh], capture_output=True, text=True, check=True)
    assert migrated.stdout.strip() == "['alembic']"


def test_orm_metadata_agrees_with_the_migrated_schema(gradebook: Gradebook) -> None:
    with gradebook.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(gradebook: Gradebook) -> None:
    with gradebook.engine.connect() as connection:
        assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
        assert connection.scalar(text("PRAGMA foreign_keys")) == 1
        assert connection.scalar(text("PRAGMA busy_timeout")) == 30000


def test_record_and_grades_round_trip(gradebook: Gradebook) -> None:
    tests = [
        Outcome("zeta", "passed", 2.0, 2.0, "", 0.1),
        Outcome("alpha", "skipped", 0.0, 1.0, "no GPU", 0.0),
        Outcome("mid", "timeout", 0.0, 1.5, "took 10 s", 10.0),
    ]
    in_paris = MONDAY.astimezone(timezone(timedelta(hours=1)))
    result = submission(submitted_at=in_paris, late=True, message="ok", max_score=4.5, tests=tests)
    gradebook.record(start(gradebook), "softmax", result)

    [grade] = gradebook.grades("softmax")
    assert grade == StudentGrade("alice", "graded", 2.0, 4.5, True, MONDAY, "ok", tests, raw_score=2.0)
    assert grade.submitted_at.tzinfo == UTC


def test_runs_keep_their_environment_and_times(gradebook: Gradebook) -> None:
    run_id = start(gradebook)
    gradebook.finish_run(run_id)
    with gradebook.engine.connect() as connection:
        environment, finished_at = connection.execute(text("SELECT environment, finished_at FROM runs")).one()
    assert environment == '{"python": "3.11"}'
    assert finished_at is not None


def test_a_run_of_another_assignment_is_refused(gradebook: Gradebook) -> None:
    with pytest.raises(ValueError, match="grades 'softmax', not 'pooling'"):
        gradebook.record(start(gradebook), "pooling", submission())
    with pytest.raises(ValueError, match="no grading run with id 99"):
        gradebook.finish_run(99)


def test_naive_datetimes_are_refused(gradebook: Gradebook) -> None:
    with pytest.raises(StatementError, match="has no timezone"):
        gradebook.record(start(gradebook), "softmax", submission(submitted_at=datetime(2025, 3, 3)))


def test_latest_submission_wins(gradebook: Gradebook) -> None:
    run_id = start(gradebook)
    tuesday = MONDAY + timedelta(days=1)
    gradebook.record(run_id, "softmax", submission(content_hash="tuesday", submitted_at=tuesday))
    gradebook.record(run_id, "softmax", submission(content_hash="monday", tests=outcomes(1.0, 1.0, 1.0)))
    assert (gradebook.grades("softmax")[0].submitted_at, gradebook.grades("softmax")[0].score) == (tuesday, 2.0)

    same_time = submission(content_hash="also-tuesday", submitted_at=tuesday, tests=outcomes(0.0, 0.0, 0.0))
    gradebook.record(run_id, "softmax", same_time)
    assert gradebook.grades("softmax")[0].score == 0.0


def test_latest_grading_of_a_submission_wins(gradebook: Gradebook) -> None:
    gradebook.record(start(gradebook, tests_hash="t1"), "softmax", submission())
    regrade = submission(status="error", message="kernel died", tests=[])
    gradebook.record(start(gradebook, tests_hash="t2"), "softmax", regrade)

    [grade] = gradebook.grades("softmax")
    assert (grade.status, grade.score, grade.message, grade.tests) == ("error", 0.0, "kernel died", [])
    assert row_counts(gradebook)["submissions"] == 1
    assert row_counts(gradebook)["gradings"] == 2


def test_students_without_a_submission_are_missing(gradebook: Gradebook) -> None:
    gradebook.record(start(gradebook, "pooling"), "pooling", submission("bob"))
    gradebook.record(start(gradebook), "softmax", submission("carol", max_score=10.0, tests=outcomes(1.0)))

    assert gradebook.grades("softmax") == [
        StudentGrade("bob", "missing", 0.0, 10.0, False, None, "", []),
        StudentGrade("carol", "graded", 1.0, 10.0, False, MONDAY, "", outcomes(1.0), raw_score=1.0),
    ]
    assert [grade.max_score for grade in gradebook.grades("unknown")] == [0.0, 0.0]


def test_already_graded_needs_the_same_content_and_the_same_tests(gradebook: Gradebook) -> None:
    assert not gradebook.already_graded("softmax", "alice", "c1", "t1")
    gradebook.record(start(gradebook, tests_hash="t1"), "softmax", submission(content_hash="c1"))

    assert gradebook.already_graded("softmax", "alice", "c1", "t1")
    assert not gradebook.already_graded("softmax", "alice", "c2", "t1")
    assert not gradebook.already_graded("softmax", "alice", "c1", "t2")
    assert not gradebook.already_graded("softmax", "bob", "c1", "t1")
    assert not gradebook.already_graded("pooling", "alice", "c1", "t1")


def test_a_record_failing_in_the_database_writes_nothing(gradebook: Gradebook) -> None:
    run_id = start(gradebook)
    statements: list[str] = []

    @event.listens_for(gradebook.engine, "before_cursor_execute")
    def remember(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    before = row_counts(gradebook)
    unnamed_test = Outcome(None, "passed", 1.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        gradebook.record(run_id, "softmax", submission(tests=[*outcomes(1.0), unnamed_test]))

    assert any(statement.startswith("INSERT INTO gradings") for statement in statements)
    assert row_counts(gradebook) == before
    assert gradebook.grades("softmax") == []


def test_a_record_failing_in_python_writes_nothing(gradebook: Gradebook) -> None:
    run_id = start(gradebook)
    gradebook.record(run_id, "softmax", submission())
    before = row_counts(gradebook)

    broken = Outcome("test_0", "passed", None, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gradebook.record(run_id, "softmax", submission("bob", tests=[broken]))

    assert row_counts(gradebook) == before
    assert [grade.status for grade in gradebook.grades("softmax")] == ["graded"]


def test_assignment_seed_is_drawn_once_and_kept(url: str) -> None:
    with Gradebook(url) as first:
        seed = first.assignment_seed("softmax")
        assert first.assignment_seed("softmax") == seed
    with Gradebook(url) as reopened:
        assert reopened.assignment_seed("softmax") == seed
    assert 0 <= seed < 2**63


def test_two_gradebooks_on_one_file_write_concurrently(url: str) -> None:
    with Gradebook(url) as first, Gradebook(url) as second:
        run_ids = {first: start(first), second: start(second)}

        def record_many(gradebook: Gradebook, prefix: str) -> None:
            for i in range(15):
                gradebook.record(run_ids[gradebook], "softmax", submission(f"{prefix}{i:02d}"))

        threads = [threading.Thread(target=record_many, args=pair) for pair in ((first, "a"), (second, "b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert len(first.grades("softmax")) == len(second.grades("softmax")) == 30
        assert row_counts(second)["test_results"] == 90


BATCH = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from autograder.gradebook import Gradebook
    from autograder.results import SubmissionResult, TestOutcome

    url, size, tests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with Gradebook(url) as gradebook:
        seed = gradebook.assignment_seed("softmax")
        run_id = gradebook.start_run("softmax", seed=seed, tests_hash="t1", environment={})
        for student in (f"s{i:03d}" for i in range(size)):
            content_hash = "hash-" + student
            if gradebook.already_graded("softmax", student, content_hash, "t1"):
                continue
            outcomes = [TestOutcome(f"test_{k}", "passed", 1.0, 1.0, "x" * 2000) for k in range(tests)]
            result = SubmissionResult(
                student, student + ".ipynb", content_hash, datetime.now(UTC), "graded", tests, tests=outcomes
            )
            gradebook.record(run_id, "softmax", result)
            print(student, flush=True)
        gradebook.finish_run(run_id)
    """
)


def test_a_batch_killed_midway_and_rerun_grades_everything_exactly_once(tmp_path: Path, url: str) -> None:
    size, tests = 150, 8
    script = tmp_path / "batch.py"
    script.write_text(BATCH)
    command = [sys.executable, str(script), url, str(size), str(tests)]
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}

    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment) as batch:
        assert batch.stdout is not None
        for _ in range(10):
            assert batch.stdout.readline()
        batch.send_signal(signal.SIGKILL)
    assert batch.returncode == -signal.SIGKILL

    with Gradebook(url) as reopened, reopened.engine.connect() as connection:
        assert connection.scalar(text("PRAGMA integrity_check")) == "ok"
        tests_per_grading = connection.scalars(
            text("SELECT count(t.id) FROM gradings g LEFT JOIN test_results t ON t.grading_id = g.id GROUP BY g.id")
        ).all()
    assert 10 <= len(tests_per_grading) < size
    assert set(tests_per_grading) == {tests}

    subprocess.run(command, check=True, capture_output=True, env=environment)
    with Gradebook(url) as rerun, rerun.engine.connect() as connection:
        gradings_per_submission = connection.scalars(
            text("SELECT count(g.id) FROM submissions s LEFT JOIN gradings g ON g.submission_id = s.id GROUP BY s.id")
        ).all()
        grades = rerun.grades("softmax")
    assert gradings_per_submission == [1] * size
    assert {grade.score for grade in grades} == {float(tests)}
