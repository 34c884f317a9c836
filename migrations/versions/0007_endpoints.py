"""Endpoints: named plans for serving a model, their hardware profiles, their jobs and their deployments.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)  # as in 0001: what `UTCDateTime` stores on both backends
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_endpoints"),
        sa.UniqueConstraint("name", name="uq_endpoints_name"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_endpoints_model_id_models", ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name="fk_endpoints_api_key_id_api_keys", ondelete="SET NULL"
        ),
        sa.CheckConstraint("method IN ('REGRESSOR', 'HEURISTIC')", name="ck_endpoints_method_known"),
        sa.CheckConstraint("engine IN ('VLLM', 'SGLANG', 'TRTLLM')", name="ck_endpoints_engine_known"),
        sa.CheckConstraint("trim(name) <> ''", name="ck_endpoints_name_not_blank"),
    )
    op.create_index("ix_endpoints_created_at_id", "endpoints", ["created_at", "id"])

    op.create_table(
        "endpoint_profiles",
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("hardware_profile_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint_id", "hardware_profile_id", name="pk_endpoint_profiles"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name="fk_endpoint_profiles_endpoint_id_endpoints",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["hardware_profile_id"],
            ["hardware_profiles.id"],
            name="fk_endpoint_profiles_hardware_profile_id_hardware_profiles",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("position >= 0", name="ck_endpoint_profiles_position_not_negative"),
    )
    op.create_index("ix_endpoint_profiles_hardware_profile_id", "endpoint_profiles", ["hardware_profile_id"])

    # Batch mode: SQLite cannot add a foreign key to an existing table, so Alembic copies the table there; PostgreSQL
    # gets plain ALTER TABLEs. A deleted endpoint leaves its jobs, unlinked.
    with op.batch_alter_table("optimization_jobs") as batch:
        batch.add_column(sa.Column("endpoint_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_optimization_jobs_endpoint_id_endpoints", "endpoints", ["endpoint_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_optimization_jobs_endpoint_id_created_at", "optimization_jobs", ["endpoint_id", "created_at"])

    op.create_table(
        "endpoint_deployments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("pareto_index", sa.Integer(), nullable=True),
        sa.Column("artifacts", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_endpoint_deployments"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["endpoints.id"], name="fk_endpoint_deployments_endpoint_id_endpoints", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["optimization_jobs.id"],
            name="fk_endpoint_deployments_job_id_optimization_jobs",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint(
            "pareto_index IS NULL OR pareto_index >= 0", name="ck_endpoint_deployments_pareto_index_not_negative"
        ),
    )
    op.create_index(
        "ix_endpoint_deployments_endpoint_id_created_at", "endpoint_deployments", ["endpoint_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("endpoint_deployments")
    op.drop_index("ix_optimization_jobs_endpoint_id_created_at", table_name="optimization_jobs")
    with op.batch_alter_table("optimization_jobs") as batch:
        batch.drop_constraint("fk_optimization_jobs_endpoint_id_endpoints", type_="foreignkey")
        batch.drop_column("endpoint_id")
    op.drop_table("endpoint_profiles")
    op.drop_table("endpoints")
