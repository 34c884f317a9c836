"""Optimization jobs' owners: the API key that submitted each, to bound how many one key has queued or running.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add a foreign key to an existing table, so Alembic copies the table there; PostgreSQL
    # gets plain ALTER TABLEs. A revoked or deleted key leaves its jobs, ownerless.
    with op.batch_alter_table("optimization_jobs") as batch:
        batch.add_column(sa.Column("api_key_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_optimization_jobs_api_key_id_api_keys", "api_keys", ["api_key_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_optimization_jobs_api_key_id_status", "optimization_jobs", ["api_key_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_optimization_jobs_api_key_id_status", table_name="optimization_jobs")
    with op.batch_alter_table("optimization_jobs") as batch:
        batch.drop_constraint("fk_optimization_jobs_api_key_id_api_keys", type_="foreignkey")
        batch.drop_column("api_key_id")
