"""The gradebook: students, submissions, grading runs and their results, in any SQLAlchemy database."""

from __future__ import annotations

import gc
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterator, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from autograder.results import TEST_STATUSES, StudentGrade, SubmissionResult, TestOutcome

MIGRATIONS = Path(__file__).resolve().parent.parent / "db" / "migrations"
DEFAULT_URL = "sqlite:///db/gradebook.sqlite"
# synchronous=NORMAL: in WAL mode a commit survives the process being killed (kill -9); only an OS
# crash may lose the last commits, never consistency. FULL would fsync every submission.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=30000",
                  "PRAGMA foreign_keys=ON")
GRADING_STATUSES = ("graded", "error")
BEGIN_OPTION = "sqlite_begin"  # execution option: how a SQLite transaction begins
POSTGRES_DRIVER = "postgresql+psycopg"

# Explicit constraint names, so that migrations can address them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def default_url() -> str:
    """The database named by $AUTOGRADER_DB, else a SQLite file under the current directory."""
    return os.environ.get("AUTOGRADER_DB") or DEFAULT_URL


def _now() -> datetime:
    return datetime.now(UTC)


def _status_check(statuses: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{status}'" for status in statuses)
    return sa.CheckConstraint(f"status IN ({allowed})", name="status")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime, stored as naive UTC on every backend and read back as aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"datetime {value.isoformat()} has no timezone; give an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {str: sa.String(255), float: sa.Float(), datetime: UTCDateTime()}


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)  # the id submissions carry: a file stem or an LMS login


class Assignment(Base):
    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    seed: Mapped[int] = mapped_column(sa.BigInteger)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "student_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"))
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"))
    content_hash: Mapped[str]
    path: Mapped[str] = mapped_column(sa.Text)
    submitted_at: Mapped[datetime]
    late: Mapped[bool]

    assignment: Mapped[Assignment] = relationship()
    student: Mapped[Student] = relationship()


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    tests_hash: Mapped[str]
    environment: Mapped[str] = mapped_column(sa.Text)  # JSON
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    assignment: Mapped[Assignment] = relationship()


class TestResult(Base):
    __tablename__ = "test_results"
    __table_args__ = (sa.UniqueConstraint("grading_id", "position"), _status_check(TEST_STATUSES))

    id: Mapped[int] = mapped_column(primary_key=True)
    grading_id: Mapped[int] = mapped_column(sa.ForeignKey("gradings.id"))
    position: Mapped[int]  # the test's place in the grading's order
    name: Mapped[str]
    status: Mapped[str] = mapped_column(sa.String(16))
    score: Mapped[float]
    max_score: Mapped[float]
    message: Mapped[str] = mapped_column(sa.Text)
    duration: Mapped[float]


class Grading(Base):
    __tablename__ = "gradings"
    __table_args__ = (_status_check(GRADING_STATUSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id"), index=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id"))
    tests_hash: Mapped[str]
    status: Mapped[str] = mapped_column(sa.String(16))
    score: Mapped[float]
    max_score: Mapped[float]
    message: Mapped[str] = mapped_column(sa.Text)
    log: Mapped[str] = mapped_column(sa.Text)
    graded_at: Mapped[datetime]

    submission: Mapped[Submission] = relationship()
    run: Mapped[Run] = relationship()
    tests: Mapped[list[TestResult]] = relationship(order_by=TestResult.position)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off; _on_sqlite_begin takes over.
    dbapi_connection.isolation_level = None
    for pragma in SQLITE_PRAGMAS:
        dbapi_connection.execute(pragma)


def _on_sqlite_begin(connection: sa.Connection) -> None:
    # Writers begin IMMEDIATE: they take the write lock up front and wait for it (busy_timeout),
    # where a deferred transaction whose read turns into a write would fail at once.
    mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def sqlalchemy_url(url: str) -> sa.URL:
    """The URL with its driver: a bare `postgresql://` means psycopg 3, the driver this package installs."""
    parsed = sa.make_url(url)
    return parsed.set(drivername=POSTGRES_DRIVER) if parsed.drivername == "postgresql" else parsed


def _nul_free_dumper(base: type) -> type:
    """A psycopg dumper of str that writes NUL characters (which PostgreSQL text refuses) as U+FFFD."""

    class NulFreeDumper(base):  # type: ignore[valid-type, misc]
        def dump(self, obj: str) -> Any:
            return super().dump(obj.replace("\x00", "\ufffd"))

    return NulFreeDumper


def _on_postgres_connect(dbapi_connection: Any, _record: Any) -> None:
    # Student output and messages may hold NUL characters; SQLite stores them, PostgreSQL text cannot.
    from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

    for base in (StrDumperUnknown, StrBinaryDumper):
        dbapi_connection.adapters.register_dumper(str, _nul_free_dumper(base))


def _create_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(sqlalchemy_url(url))
    if engine.dialect.name == "postgresql":
        sa.event.listen(engine, "connect", _on_postgres_connect)
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _migrate(engine: sa.Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


Model = TypeVar("Model", bound=Base)


def _get_or_create(session: Session, model: type[Model], key: dict[str, Any], **defaults: Any) -> Model:
    """The row with `key`, inserted if absent; a writer that inserted it meanwhile wins (PostgreSQL takes
    no write lock up front, unlike SQLite's BEGIN IMMEDIATE), and its row is returned."""
    query = sa.select(model).filter_by(**key)
    row = session.scalars(query).one_or_none()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = model(**key, **defaults)
            session.add(row)
    except sa.exc.IntegrityError:
        row = session.scalars(query).one()
    return row


def _run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise ValueError(f"no grading run with id {run_id}")
    return run


def _gradings_of(assignment: str, *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """The columns given, over the gradings of the assignment's submissions."""
    query = sa.select(*columns).select_from(Grading).join(Grading.submission).join(Submission.assignment)
    return query.where(Assignment.name == assignment)


def _max_score(assignment: str) -> sa.Select[tuple[float | None]]:
    return _gradings_of(assignment, sa.func.max(Grading.max_score))


def _latest_gradings(assignment: str) -> sa.CTE:
    """The id of each student's latest grading of their latest submission to the assignment."""
    newest_first = sa.func.row_number().over(
        partition_by=Submission.student_id,
        order_by=(Submission.submitted_at.desc(), Submission.id.desc(), Grading.id.desc()),
    )
    ranked = _gradings_of(assignment, Grading.id, newest_first.label("rank")).subquery()
    return sa.select(ranked.c.id).where(ranked.c.rank == 1).cte("latest")


def _latest_grades(latest: sa.CTE) -> sa.Select[Any]:
    """One row per student with a grading, in StudentGrade's order (tests and all): plain columns, no ORM
    objects, so that a class of thousands loads in one pass."""
    return (
        sa.select(Student.name, Grading.status, Grading.score, Grading.max_score, Submission.late,
                  Submission.submitted_at, Grading.message, Grading.id)
        .select_from(Grading)
        .join(latest, latest.c.id == Grading.id)
        .join(Grading.submission)
        .join(Submission.student)
    )


def _latest_tests(latest: sa.CTE) -> sa.Select[Any]:
    """The test results of the latest gradings, in TestOutcome's field order, each grading's in its order."""
    return (
        sa.select(TestResult.grading_id, TestResult.name, TestResult.status, TestResult.score,
                  TestResult.max_score, TestResult.message, TestResult.duration)
        .join(latest, latest.c.id == TestResult.grading_id)
        .order_by(TestResult.grading_id, TestResult.position)
    )


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Bulk loading makes hundreds of thousands of acyclic objects, which the cycle collector would
    otherwise scan again and again while they are made (a third of the time of a class of thousands)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _missing(student: str, max_score: float) -> StudentGrade:
    return StudentGrade(student, "missing", 0.0, max_score, False, None, "", [])


class Gradebook:
    """Where grading runs and their results are kept; the schema is migrated to head on opening."""

    def __init__(self, url: str | None = None) -> None:
        self.engine = _create_engine(url or default_url())
        writer = self.engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        _migrate(writer)
        self._reading = sessionmaker(self.engine)
        self._writing = sessionmaker(writer)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def assignment_seed(self, assignment: str) -> int:
        """The assignment's seed for hidden tests, drawn at random the first time it is asked for."""
        with self._writing.begin() as session:
            return _get_or_create(session, Assignment, {"name": assignment}, seed=secrets.randbits(63)).seed

    def start_run(self, assignment: str, *, seed: int, tests_hash: str, environment: dict) -> int:
        """A new grading run; an assignment seen for the first time here keeps this seed as its own."""
        with self._writing.begin() as session:
            run = Run(
                assignment=_get_or_create(session, Assignment, {"name": assignment}, seed=seed),
                seed=seed,
                tests_hash=tests_hash,
                environment=json.dumps(environment, sort_keys=True),
                started_at=_now(),
            )
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int) -> None:
        with self._writing.begin() as session:
            _run(session, run_id).finished_at = _now()

    def already_graded(self, assignment: str, student: str, content_hash: str, tests_hash: str) -> bool:
        """Whether this very content was graded with these very tests."""
        query = (
            _gradings_of(assignment, Grading.id)
            .join(Submission.student)
            .where(Student.name == student, Submission.content_hash == content_hash, Grading.tests_hash == tests_hash)
            .limit(1)
        )
        with self._reading() as session:
            return session.scalar(query) is not None

    def record(self, run_id: int, assignment: str, result: SubmissionResult) -> None:
        """Store one grading of one submission with its test results, all or nothing."""
        with self._writing.begin() as session:
            run = _run(session, run_id)
            if run.assignment.name != assignment:
                raise ValueError(f"run {run_id} grades {run.assignment.name!r}, not {assignment!r}")
            student = _get_or_create(session, Student, {"name": result.student})
            key = {"assignment": run.assignment, "student": student, "content_hash": result.content_hash}
            details = {"path": result.path, "submitted_at": result.submitted_at, "late": result.late}
            submission = _get_or_create(session, Submission, key, **details)
            grading = Grading(
                submission=submission,
                run=run,
                tests_hash=run.tests_hash,
                status=result.status,
                score=result.score,
                max_score=result.max_score,
                message=result.message,
                log=result.log,
                graded_at=_now(),
                tests=[TestResult(position=position, **asdict(test)) for position, test in enumerate(result.tests)],
            )
            session.add(grading)

    def max_score(self, assignment: str) -> float:
        """The most points any grading of the assignment was out of (0 before the first)."""
        with self._reading() as session:
            return session.scalar(_max_score(assignment)) or 0.0

    def grades(self, assignment: str) -> list[StudentGrade]:
        """Every known student's standing on the assignment, sorted by student id."""
        latest = _latest_gradings(assignment)
        with _no_cycle_collection(), self.engine.connect() as connection:  # plain rows, no ORM objects
            # The DBAPI's own tuples: these str and float columns need no conversion, and 200,000 Row objects
            # would cost more than the query.
            rows = connection.execute(_latest_tests(latest)).cursor.fetchall()
            tests = {grading_id: [TestOutcome(*row[1:]) for row in group]
                     for grading_id, group in groupby(rows, key=itemgetter(0))}
            graded = {row[0]: StudentGrade(*row[:-1], tests.get(row[-1], []))
                      for row in connection.execute(_latest_grades(latest))}
            max_score = connection.scalar(_max_score(assignment)) or 0.0
            students = sorted(connection.scalars(sa.select(Student.name)))
            return [graded.get(student) or _missing(student, max_score) for student in students]
