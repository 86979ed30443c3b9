"""An instructor's overrides: one test's points, or a student's total, with a comment.

They are kept apart from gradings, so they outlive regrades; Gradebook.grades()
applies them (autograder/scoring.py says how).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from autograder.gradebook import Assignment, Gradebook, Student, StoredAdjustment, adjustments_of
from autograder.results import Adjustment


def _id_of(session: Session, model: type[Assignment] | type[Student], name: str) -> int:
    found = session.scalar(sa.select(model.id).where(model.name == name))
    if found is None:
        raise LookupError(f"no {model.__tablename__[:-1]} {name!r} in the gradebook")
    return found


def adjust(gradebook: Gradebook, assignment: str, student: str, adjustment: Adjustment) -> None:
    """Set (or replace) the override of `adjustment.test` (None: the total)."""
    with gradebook.session(write=True) as session:
        key = {"assignment_id": _id_of(session, Assignment, assignment),
               "student_id": _id_of(session, Student, student), "test": adjustment.test or ""}
        row = session.scalars(sa.select(StoredAdjustment).filter_by(**key)).one_or_none() or StoredAdjustment(**key)
        row.points, row.comment, row.created_at = adjustment.points, adjustment.comment, datetime.now(UTC)
        session.add(row)


def clear_adjustment(gradebook: Gradebook, assignment: str, student: str, test: str | None) -> bool:
    """Remove an override; False when there was none."""
    query = adjustments_of(assignment).join(StoredAdjustment.student).where(
        Student.name == student, StoredAdjustment.test == (test or ""))
    with gradebook.session(write=True) as session:
        row = session.scalars(query).one_or_none()
        if row is not None:
            session.delete(row)
        return row is not None
