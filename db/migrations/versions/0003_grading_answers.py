"""Each grading keeps the quiz answers of the notebook it graded.

Feedback shows a student's answers from here, as they were when graded,
instead of rereading every notebook when a report is written. Gradings made
before this revision have none (NULL): their pages show no answers until they
are graded again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gradings") as batch:
        batch.add_column(sa.Column("answers", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gradings") as batch:
        batch.drop_column("answers")
