"""A student's final score: the hidden tests' points, the instructor's overrides, the late penalty.

    tests    each test's points, or the instructor's points for it where a test is overridden
    penalty  penalty_rate × the sum of those (never taken from a negative sum)
    score    that sum less the penalty, or the instructor's total where the total is overridden
             (a total override is the final word: no penalty is taken from it)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from autograder.results import Adjustment, StudentGrade


def settle(grade: StudentGrade, penalty_rate: float, adjustments: Iterable[Adjustment]) -> StudentGrade:
    """`grade` (as graded: `score` the tests' sum) with the overrides and the late penalty applied."""
    adjustments = tuple(adjustments)
    if not adjustments and not penalty_rate:  # most of a class: nothing to settle but the rounding
        score = round(grade.score, 6)
        return grade if score == grade.score else replace(grade, score=score)
    points = {a.test: a.points for a in adjustments if a.test is not None}
    overridden = [test for test in grade.tests if test.name in points]
    tests = [replace(test, score=points[test.name]) if test in overridden else test for test in grade.tests]
    subtotal = grade.score + sum(points[test.name] - test.score for test in overridden)
    total = next((a.points for a in adjustments if a.test is None), None)
    penalty = 0.0 if total is not None else round(penalty_rate * max(subtotal, 0.0), 6)
    score = total if total is not None else round(subtotal - penalty, 6)
    return replace(grade, tests=tests, score=score, penalty=penalty, adjustments=adjustments)


def unknown_test(grade: StudentGrade, test: str) -> str:
    """Why `test` cannot be overridden for this student; empty when it can."""
    names = [outcome.name for outcome in grade.tests]
    if test in names:
        return ""
    if not names:
        return f"{grade.student} has no graded tests ({grade.status}): override the total instead (no --test)"
    return f"no test {test!r} in {grade.student}'s grading (tests: {', '.join(names)})"
