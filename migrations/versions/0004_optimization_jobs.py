"""Optimization jobs: queued optimize requests that any worker process claims under a lease.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)  # as in 0001: what `UTCDateTime` stores on both backends
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
STATUSES = "('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')"


def upgrade() -> None:
    op.create_table(
        "optimization_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("progress", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("simulation_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_optimization_jobs"),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_optimization_jobs_model_id_models", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["simulation_id"],
            ["simulations.id"],
            name="fk_optimization_jobs_simulation_id_simulations",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint(f"status IN {STATUSES}", name="ck_optimization_jobs_status_known"),
        sa.CheckConstraint("method IN ('REGRESSOR', 'HEURISTIC')", name="ck_optimization_jobs_method_known"),
        sa.CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="ck_optimization_jobs_attempts_counted"),
    )
    op.create_index("ix_optimization_jobs_status_created_at", "optimization_jobs", ["status", "created_at"])
    op.create_index("ix_optimization_jobs_created_at_id", "optimization_jobs", ["created_at", "id"])


def downgrade() -> None:
    op.drop_table("optimization_jobs")
