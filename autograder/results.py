"""Plain records that travel from the grading path to the gradebook and exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TEST_STATUSES = ("passed", "failed", "error", "timeout", "skipped")
SUBMISSION_STATUSES = ("graded", "error", "missing")


@dataclass(slots=True)
class TestOutcome:
    """One hidden test's verdict on one submission. Not frozen, unlike the other records: a class of
    thousands loads hundreds of thousands of these, and a frozen dataclass is made five times slower."""

    name: str
    status: str  # one of TEST_STATUSES
    score: float
    max_score: float
    message: str = ""
    duration: float = 0.0


@dataclass
class SubmissionResult:
    """Everything the grader decided about one submission."""

    student: str
    path: str
    content_hash: str
    submitted_at: datetime
    status: str  # "graded" or "error"
    max_score: float
    late: bool = False
    message: str = ""
    log: str = ""
    tests: list[TestOutcome] = field(default_factory=list)
    penalty_rate: float = 0.0  # the share of the score lost for lateness (autograder/deadlines.py)
    answers: dict[str, Any] = field(default_factory=dict)  # the quiz answers, as feedback shows them

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)


@dataclass(frozen=True)
class Adjustment:
    """An instructor's override: one test's points (`test` named) or the total (`test` None), and why."""

    test: str | None
    points: float
    comment: str


@dataclass(frozen=True)
class StudentGrade:
    """A student's current standing on one assignment, as exports show it."""

    student: str
    status: str  # one of SUBMISSION_STATUSES
    score: float
    max_score: float
    late: bool
    submitted_at: datetime | None
    message: str
    tests: list[TestOutcome]
    penalty: float = 0.0  # points taken off for lateness; `score` is after the penalty and adjustments
    adjustments: tuple[Adjustment, ...] = ()
    raw_score: float = 0.0  # what the hidden tests gave, before overrides and penalty
    answers: dict[str, Any] = field(default_factory=dict)  # the quiz answers of the graded notebook
