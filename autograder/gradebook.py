"""The gradebook: students, submissions, grading runs and their results, in any SQLAlchemy database."""

from __future__ import annotations

import gc
import json
import secrets
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, Iterator, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from autograder.database import BEGIN_OPTION, create_engine, default_url, migrate
from autograder.results import TEST_STATUSES, Adjustment, StudentGrade, SubmissionResult, TestOutcome
from autograder.scoring import settle

GRADING_STATUSES = ("graded", "error")

# Explicit constraint names, so that migrations can address them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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
    # The roster's fields (autograder/roster.py); empty when the student came only from a submission.
    full_name: Mapped[str] = mapped_column(server_default="")
    email: Mapped[str] = mapped_column(server_default="")
    lms_id: Mapped[str] = mapped_column(server_default="")  # Canvas user id, Moodle participant id
    sis_id: Mapped[str] = mapped_column(server_default="")  # the institution's id (Canvas SIS, Brightspace)
    login: Mapped[str] = mapped_column(server_default="")  # the LMS user name (Canvas SIS login, Blackboard)
    section: Mapped[str] = mapped_column(server_default="")


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
    penalty_rate: Mapped[float] = mapped_column(server_default="0")  # share of the score lost for lateness
    answers: Mapped[str | None] = mapped_column(sa.Text)  # JSON: the quiz answers (autograder/quiz_answers.py)

    submission: Mapped[Submission] = relationship()
    run: Mapped[Run] = relationship()
    tests: Mapped[list[TestResult]] = relationship(order_by=TestResult.position)


class StoredAdjustment(Base):
    """An instructor's override of one test's points (`test` named) or of the total (`test` empty)."""

    __tablename__ = "adjustments"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "student_id", "test"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"))
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"))
    test: Mapped[str]
    points: Mapped[float]
    comment: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]

    student: Mapped[Student] = relationship()

    def record(self) -> Adjustment:
        return Adjustment(self.test or None, self.points, self.comment)


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


def _in_part(student_id: sa.ColumnElement[int], part: tuple[int, int]) -> sa.ColumnElement[bool]:
    """Whether the student is in part k of n: their id is k modulo n."""
    k, n = part
    return student_id % n == k if n > 1 else sa.true()


def _latest_gradings(assignment: str, part: tuple[int, int]) -> sa.CTE:
    """The id of each student's latest grading of their latest submission to the assignment, for the
    students in `part`."""
    newest_first = sa.func.row_number().over(
        partition_by=Submission.student_id,
        order_by=(Submission.submitted_at.desc(), Submission.id.desc(), Grading.id.desc()),
    )
    ranked = _gradings_of(assignment, Grading.id, newest_first.label("rank"))
    ranked = ranked.where(_in_part(Submission.student_id, part)).subquery()
    return sa.select(ranked.c.id).where(ranked.c.rank == 1).cte("latest")


def _latest_grades(latest: sa.CTE) -> sa.Select[Any]:
    """One row per student with a grading, in StudentGrade's order, then the grading's id and late penalty
    rate and quiz answers: plain columns, no ORM objects, so that a class of thousands loads in one pass."""
    return (
        sa.select(Student.name, Grading.status, Grading.score, Grading.max_score, Submission.late,
                  Submission.submitted_at, Grading.message, Grading.id, Grading.penalty_rate, Grading.answers)
        .select_from(Grading)
        .join(latest, latest.c.id == Grading.id)
        .join(Grading.submission)
        .join(Submission.student)
    )


def adjustments_of(assignment: str) -> sa.Select[tuple[StoredAdjustment]]:
    """The instructor's overrides on the assignment (autograder/overrides.py keeps them)."""
    return (sa.select(StoredAdjustment).join(Assignment, Assignment.id == StoredAdjustment.assignment_id)
            .where(Assignment.name == assignment).order_by(StoredAdjustment.test))


def _adjustment_rows(assignment: str) -> sa.Select[Any]:
    """(student, test, points, comment) of each override on the assignment."""
    query = adjustments_of(assignment).with_only_columns(Student.name, StoredAdjustment.test,
                                                         StoredAdjustment.points, StoredAdjustment.comment)
    return query.join(Student, Student.id == StoredAdjustment.student_id)


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
        self.engine = create_engine(url or default_url())
        writer = self.engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        migrate(writer)
        self._reading = sessionmaker(self.engine)
        self._writing = sessionmaker(writer)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def session(self, write: bool = False) -> AbstractContextManager[Session]:
        """A session for modules that keep their own queries (autograder/roster.py); a writing one commits
        on leaving, all or nothing."""
        return self._writing.begin() if write else self._reading()

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
            submission.late = result.late  # a regrade may bring a new due date or an extension
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
                penalty_rate=result.penalty_rate,
                answers=json.dumps(result.answers),
                tests=[TestResult(position=position, **asdict(test)) for position, test in enumerate(result.tests)],
            )
            session.add(grading)

    def max_score(self, assignment: str) -> float:
        """The most points any grading of the assignment was out of (0 before the first)."""
        with self._reading() as session:
            return session.scalar(_max_score(assignment)) or 0.0

    def student_names(self) -> list[str]:
        """Every known student's id, sorted."""
        with self.engine.connect() as connection:
            return sorted(connection.scalars(sa.select(Student.name)))

    def grades(self, assignment: str, part: tuple[int, int] = (0, 1)) -> list[StudentGrade]:
        """Every known student's standing on the assignment, sorted by student id: late penalty and
        adjustments applied (`score` is final, `raw_score` what the hidden tests gave). With `part` (k, n),
        only the students in the k-th of n parts of the class (k = 0 .. n - 1): a large class loads in
        parts, each put to use while the next loads."""
        k, n = part
        if not 0 <= k < n:
            raise ValueError(f"part {k} of {n} does not exist")
        latest = _latest_gradings(assignment, part)
        with _no_cycle_collection(), self.engine.connect() as connection:  # plain rows, no ORM objects
            # The DBAPI's own tuples: these str and float columns need no conversion, and 200,000 Row objects
            # would cost more than the query.
            rows = connection.execute(_latest_tests(latest)).cursor.fetchall()
            tests = {grading_id: [TestOutcome(*row[1:]) for row in group]
                     for grading_id, group in groupby(rows, key=itemgetter(0))}
            graded = {row[0]: (StudentGrade(*row[:7], tests.get(row[7], []), raw_score=row[2],
                                            answers=json.loads(row[9] or "{}")), row[8])
                      for row in connection.execute(_latest_grades(latest))}
            adjusted: dict[str, list[Adjustment]] = {}
            adjustments = _adjustment_rows(assignment).where(_in_part(StoredAdjustment.student_id, part))
            for name, test, points, comment in connection.execute(adjustments):
                adjusted.setdefault(name, []).append(Adjustment(test or None, points, comment))
            max_score = connection.scalar(_max_score(assignment)) or 0.0
            students = sorted(connection.scalars(sa.select(Student.name).where(_in_part(Student.id, part))))
        return [settle(*graded.get(student, (_missing(student, max_score), 0.0)), adjusted.get(student, []))
                for student in students]
