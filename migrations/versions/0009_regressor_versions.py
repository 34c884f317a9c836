"""Regressor versions, the version each simulation was predicted with, and reruns linked to what they rerun.

A version is one training of the residual regressor (at first start-up, or by `retrainRegressor`): its model, what it
was trained on, how it did against the version active before it, and whether it is the one every process predicts
with. At most one version is active and at most one is training, each held by a partial unique index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)  # as in 0001: what `UTCDateTime` stores on both backends
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
STATUSES = "status IN ('TRAINING', 'TRAINED', 'REJECTED', 'FAILED')"


def upgrade() -> None:
    op.create_table(
        "regressor_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("groups", sa.Integer(), nullable=True),
        sa.Column("run_ids", JSON, nullable=False),
        sa.Column("dataset_sha256", sa.String(64), nullable=True),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("progress", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model", sa.LargeBinary(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("activated_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_regressor_versions"),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name="fk_regressor_versions_api_key_id_api_keys", ondelete="SET NULL"
        ),
        sa.CheckConstraint(STATUSES, name="ck_regressor_versions_status_known"),
        sa.CheckConstraint("origin IN ('START_UP', 'RETRAIN')", name="ck_regressor_versions_origin_known"),
        sa.CheckConstraint("NOT active OR status = 'TRAINED'", name="ck_regressor_versions_active_is_trained"),
        sa.CheckConstraint("status <> 'TRAINED' OR model IS NOT NULL", name="ck_regressor_versions_trained_has_model"),
    )
    where = {"postgresql_where": sa.text("active"), "sqlite_where": sa.text("active")}
    op.create_index("uq_regressor_versions_active", "regressor_versions", ["active"], unique=True, **where)
    training = sa.text("status = 'TRAINING'")
    op.create_index(
        "uq_regressor_versions_training",
        "regressor_versions",
        ["status"],
        unique=True,
        postgresql_where=training,
        sqlite_where=training,
    )
    with op.batch_alter_table("simulations") as batch:
        batch.add_column(sa.Column("regressor_version_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rerun_of_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_simulations_regressor_version_id_regressor_versions",
            "regressor_versions",
            ["regressor_version_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            "fk_simulations_rerun_of_id_simulations", "simulations", ["rerun_of_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_simulations_rerun_of_id", "simulations", ["rerun_of_id"])
    with op.batch_alter_table("optimization_jobs") as batch:
        batch.add_column(sa.Column("rerun_of_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_optimization_jobs_rerun_of_id_simulations", "simulations", ["rerun_of_id"], ["id"], ondelete="SET NULL"
        )
    # `reoptimize` finds the job whose answer a simulation is.
    op.create_index("ix_optimization_jobs_simulation_id", "optimization_jobs", ["simulation_id"])


def downgrade() -> None:
    op.drop_index("ix_optimization_jobs_simulation_id", table_name="optimization_jobs")
    with op.batch_alter_table("optimization_jobs") as batch:
        batch.drop_constraint("fk_optimization_jobs_rerun_of_id_simulations", type_="foreignkey")
        batch.drop_column("rerun_of_id")
    op.drop_index("ix_simulations_rerun_of_id", table_name="simulations")
    with op.batch_alter_table("simulations") as batch:
        batch.drop_constraint("fk_simulations_rerun_of_id_simulations", type_="foreignkey")
        batch.drop_constraint("fk_simulations_regressor_version_id_regressor_versions", type_="foreignkey")
        batch.drop_column("rerun_of_id")
        batch.drop_column("regressor_version_id")
    op.drop_index("uq_regressor_versions_training", table_name="regressor_versions")
    op.drop_index("uq_regressor_versions_active", table_name="regressor_versions")
    op.drop_table("regressor_versions")
