"""The gradebook on a real PostgreSQL server: migrations, records, a class loaded in parts, and two `grade`
processes at once.

The server's URL comes from $AUTOGRADER_TEST_POSTGRES (`.ci/run` starts a throwaway
cluster and sets it); each test gets a database of its own. Without it the tests
skip, unless $AUTOGRADER_REQUIRE_POSTGRES is set (as in CI), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from autograder.database import MIGRATIONS, sqlalchemy_url
from autograder.gradebook import Base, Gradebook
from autograder.overrides import adjust
from autograder.results import Adjustment, SubmissionResult
from autograder.results import TestOutcome as Outcome  # renamed: pytest would take Test* for a test class

REPO = Path(__file__).resolve().parent.parent
ALICE = REPO / "solutions" / "03_softmax" / "samples" / "alice.ipynb"
STUB = REPO / "assignments" / "03_softmax" / "softmax.ipynb"
SERVER = os.environ.get("AUTOGRADER_TEST_POSTGRES")
MIGRATED_TABLES = {"students", "assignments", "submissions", "runs", "gradings", "test_results"}


def _server_or_skip() -> str:
    if SERVER:
        return SERVER
    if os.environ.get("AUTOGRADER_REQUIRE_POSTGRES"):
        pytest.fail("AUTOGRADER_REQUIRE_POSTGRES is set but AUTOGRADER_TEST_POSTGRES names no server")
    pytest.skip("no PostgreSQL server: set AUTOGRADER_TEST_POSTGRES to a server URL (.ci/run starts one)")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty database on the test server, dropped afterwards."""
    server = sqlalchemy_url(_server_or_skip())
    name = f"autograder_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_gradebook_migrates_postgres_to_a_schema_matching_the_models(postgres_url: str) -> None:
    with Gradebook(postgres_url) as gradebook, gradebook.engine.connect() as connection:
        assert gradebook.engine.dialect.name == "postgresql"
        assert gradebook.engine.dialect.driver == "psycopg"
        assert MIGRATED_TABLES <= set(sa.inspect(connection).get_table_names())
        assert connection.scalar(sa.text("SELECT version_num FROM alembic_version")) == head_revision()
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_alembic_command_line_upgrades_downgrades_and_upgrades_again(backend: str, request, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gradebook.sqlite'}" if backend == "sqlite" else request.getfixturevalue(
        "postgres_url")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}

    def alembic(*args: str) -> set[str]:
        command = [sys.executable, "-m", "alembic", "-c", str(REPO / "db" / "alembic.ini"), "-x", f"db={url}", *args]
        result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        engine = sa.create_engine(sqlalchemy_url(url))
        tables = set(sa.inspect(engine).get_table_names())
        engine.dispose()
        return tables

    assert MIGRATED_TABLES <= alembic("upgrade", "head")
    assert alembic("downgrade", "base") <= {"alembic_version"}
    assert MIGRATED_TABLES <= alembic("upgrade", "head")
    with Gradebook(url) as gradebook, gradebook.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_records_round_trip_on_postgres_even_with_nul_characters(postgres_url: str) -> None:
    submitted_at = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    tests = [Outcome("test_a", "passed", 2.0, 2.0, "", 0.1), Outcome("test_b", "failed", 0.0, 1.0, "bad\x00", 0.2)]
    result = SubmissionResult("alice", "in/alice.ipynb", "c1", submitted_at, "graded", 3.0,
                              message="printed \x00 here", log="\x00" * 3, tests=tests)
    with Gradebook(postgres_url) as gradebook:
        run_id = gradebook.start_run("softmax", seed=2**62, tests_hash="t1", environment={})
        gradebook.record(run_id, "softmax", result)
        [grade] = gradebook.grades("softmax")
        assert gradebook.already_graded("softmax", "alice", "c1", "t1")
        assert gradebook.assignment_seed("softmax") == 2**62
    assert (grade.student, grade.score, grade.max_score, grade.submitted_at) == ("alice", 2.0, 3.0, submitted_at)
    assert grade.message == "printed \ufffd here"
    assert [test.message for test in grade.tests] == ["", "bad\ufffd"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_class_loaded_in_parts_is_the_class_loaded_whole(backend: str, request, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gradebook.sqlite'}" if backend == "sqlite" else request.getfixturevalue(
        "postgres_url")
    monday = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    with Gradebook(url) as gradebook:
        run_id = gradebook.start_run("softmax", seed=1, tests_hash="t1", environment={})
        for n in range(7):  # a late one, an error, a resubmission (the later counts) and two overrides
            tests = [Outcome("test_a", "passed", 2.0, 2.0), Outcome("test_b", "failed", 0.0, 1.0, f"off by {n}")]
            result = SubmissionResult(f"s{n}", f"in/s{n}.ipynb", f"c{n}", monday, "error" if n == 4 else "graded",
                                      3.0, late=n == 2, penalty_rate=0.5 * (n == 2), tests=tests * (n != 4))
            gradebook.record(run_id, "softmax", result)
        gradebook.record(run_id, "softmax", SubmissionResult("s5", "in/s5.ipynb", "c9", monday + timedelta(hours=1),
                                                            "graded", 3.0, tests=tests[:1]))
        adjust(gradebook, "softmax", "s1", Adjustment("test_b", 1.0, "close"))
        adjust(gradebook, "softmax", "s6", Adjustment(None, 3.0, "regraded by hand"))
        pooling_run = gradebook.start_run("pooling", seed=1, tests_hash="t1", environment={})
        gradebook.record(pooling_run, "pooling", SubmissionResult("t0", "in/t0.ipynb", "d0", monday, "graded", 1.0))

        whole = gradebook.grades("softmax")
        assert gradebook.student_names() == [grade.student for grade in whole] == [*(f"s{n}" for n in range(7)), "t0"]
        for count in (1, 2, 3):
            parts = [gradebook.grades("softmax", part=(k, count)) for k in range(count)]
            assert sorted(sum(parts, []), key=lambda grade: grade.student) == whole
            assert all(parts) and all(part == sorted(part, key=lambda grade: grade.student) for part in parts)
        with pytest.raises(ValueError, match="part 2 of 2 does not exist"):
            gradebook.grades("softmax", part=(2, 2))
    assert [(g.score, g.penalty, len(g.adjustments)) for g in whole if g.student in ("s1", "s2", "s5", "s6")] == [
        (3.0, 0.0, 1), (1.0, 1.0, 0), (2.0, 0.0, 0), (3.0, 0.0, 1)]


def _grade(course: Path, folder: Path, url: str) -> subprocess.Popen:
    environment = {**os.environ, "AUTOGRADER_COURSE": str(course)}
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", "softmax", str(folder), "--db", url,
                             "--workers", "1", "--timeout", "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=course)


def test_two_grade_processes_on_one_new_postgres_gradebook_lose_nothing(course: Path, postgres_url: str,
                                                                         tmp_path: Path) -> None:
    """Both migrate, draw the seed and create the shared student at once; every grade arrives."""
    folders = {"a": tmp_path / "a", "b": tmp_path / "b"}
    for prefix, folder in folders.items():
        folder.mkdir()
        for index in range(4):
            shutil.copy(ALICE, folder / f"{prefix}_correct{index}.ipynb")
        shutil.copy(STUB, folder / f"{prefix}_stub.ipynb")
        shutil.copy(ALICE, folder / "shared.ipynb")  # the same student and content in both batches

    processes = [_grade(course, folder, postgres_url) for folder in folders.values()]
    outputs = [process.communicate(timeout=600) for process in processes]
    shared_gradings = 0
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stdout + stderr
        graded, skipped = map(int, re.search(r"(\d+) graded, 0 failed to run, (\d+) skipped", stdout).groups())
        assert (graded, skipped) in ((6, 0), (5, 1)), "only `shared` may have been graded by the other already"
        shared_gradings += graded - 5
    seeds = {re.search(r"seed (\d+)", stdout).group(1) for stdout, _ in outputs}
    assert len(seeds) == 1, "both batches grade with the assignment's one seed"

    exported = subprocess.run([sys.executable, "-m", "autograder", "export", "softmax", "--format", "json",
                               "--db", postgres_url], capture_output=True, text=True, check=True,
                              env={**os.environ, "AUTOGRADER_COURSE": str(course)}, cwd=course)
    students = {entry["student"]: entry for entry in json.loads(exported.stdout)["students"]}
    expected = {f"{prefix}_correct{index}" for prefix in folders for index in range(4)}
    assert set(students) == expected | {"a_stub", "b_stub", "shared"}
    assert {students[name]["score"] for name in expected | {"shared"}} == {100.0}
    assert students["a_stub"]["score"] == students["b_stub"]["score"] == 0.0

    engine = sa.create_engine(sqlalchemy_url(postgres_url))
    with engine.connect() as connection:
        gradings = dict(connection.execute(sa.text(
            "SELECT st.name, count(g.id) FROM students st JOIN submissions s ON s.student_id = st.id "
            "JOIN gradings g ON g.submission_id = s.id GROUP BY st.name")).all())
        counts = {table: connection.scalar(sa.text(f"SELECT count(*) FROM {table}"))
                  for table in ("assignments", "submissions", "runs")}
    engine.dispose()
    assert gradings == {name: 1 for name in expected | {"a_stub", "b_stub"}} | {"shared": shared_gradings}
    assert shared_gradings >= 1
    assert counts == {"assignments": 1, "submissions": 11, "runs": 2}
