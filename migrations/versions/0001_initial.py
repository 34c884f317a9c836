"""Hardware profiles, models and simulations.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hardware_profiles",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("gpu_type", sa.String(100), nullable=False),
        sa.Column("gpu_memory_gb", sa.Float(), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.Column("interconnect", sa.String(16), nullable=False),
        sa.Column("specs", JSON, nullable=False),
        sa.Column("cost_per_gpu_hour", sa.Float(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hardware_profiles"),
        sa.UniqueConstraint("name", name="uq_hardware_profiles_name"),
        sa.CheckConstraint("gpu_count > 0", name="ck_hardware_profiles_gpu_count_positive"),
        sa.CheckConstraint("node_count > 0", name="ck_hardware_profiles_node_count_positive"),
        sa.CheckConstraint("gpu_memory_gb > 0", name="ck_hardware_profiles_gpu_memory_positive"),
        sa.CheckConstraint("cost_per_gpu_hour >= 0", name="ck_hardware_profiles_cost_not_negative"),
        sa.CheckConstraint(
            "interconnect IN ('NVLINK', 'PCIE', 'INFINIBAND', 'ETHERNET')",
            name="ck_hardware_profiles_interconnect_known",
        ),
    )
    op.create_index("ix_hardware_profiles_gpu_type", "hardware_profiles", ["gpu_type"])

    op.create_table(
        "models",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("architecture", JSON, nullable=False),
        sa.Column("parameter_count", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("name", name="uq_models_name"),
    )

    op.create_table(
        "simulations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("hardware_profile_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("input_config", JSON, nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("optimal_config", JSON, nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_simulations"),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_simulations_model_id_models", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["hardware_profile_id"],
            ["hardware_profiles.id"],
            name="fk_simulations_hardware_profile_id_hardware_profiles",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("method IN ('REGRESSOR', 'HEURISTIC')", name="ck_simulations_method_known"),
        sa.CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="ck_simulations_confidence_unit"
        ),
    )
    op.create_index("ix_simulations_created_at_id", "simulations", ["created_at", "id"])
    op.create_index("ix_simulations_model_id_created_at", "simulations", ["model_id", "created_at"])
    op.create_index(
        "ix_simulations_hardware_profile_id_created_at", "simulations", ["hardware_profile_id", "created_at"]
    )
    op.create_index("ix_simulations_method_created_at", "simulations", ["method", "created_at"])


def downgrade() -> None:
    op.drop_table("simulations")
    op.drop_table("models")
    op.drop_table("hardware_profiles")
