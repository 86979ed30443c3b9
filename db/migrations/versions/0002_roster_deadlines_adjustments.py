"""The roster, late penalties and instructor adjustments.

Students get the roster's fields (full name, e-mail, LMS ids, section);
gradings keep the late-penalty rate their submission earned; adjustments hold
an instructor's overrides of one test's points or of a total, which outlive
regrades.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROSTER_COLUMNS = ("full_name", "email", "lms_id", "sis_id", "login", "section")


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        for column in ROSTER_COLUMNS:
            batch.add_column(sa.Column(column, sa.String(255), nullable=False, server_default=""))
    with op.batch_alter_table("gradings") as batch:
        batch.add_column(sa.Column("penalty_rate", sa.Float(), nullable=False, server_default="0"))
    op.create_table(
        "adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("test", sa.String(255), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustments")),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignments.id"], name=op.f("fk_adjustments_assignment_id_assignments")
        ),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], name=op.f("fk_adjustments_student_id_students")),
        sa.UniqueConstraint(
            "assignment_id", "student_id", "test", name=op.f("uq_adjustments_assignment_id_student_id_test")
        ),
    )


def downgrade() -> None:
    op.drop_table("adjustments")
    with op.batch_alter_table("gradings") as batch:
        batch.drop_column("penalty_rate")
    with op.batch_alter_table("students") as batch:
        for column in ROSTER_COLUMNS:
            batch.drop_column(column)
