"""Measurements in: open-loop runs, runs on any hardware profile, whichever metrics were measured, and the stored
prediction a run validates.

The three metrics a run had to carry (TTFT, TPOT, output tokens/s) and its concurrency become optional; the checks
that relate them stay as they were, as SQL passes a CHECK whose value is NULL: each still holds wherever its inputs
are present. New checks keep a run to one load (concurrency or request rate) and at least one metric.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_METRICS = ("ttft_p50_ms", "ttft_p99_ms", "requests_per_s", "e2e_p99_ms")
RELAXED = ("concurrency", "ttft_ms", "tpot_ms", "output_tokens_per_s")
METRICS = ("ttft_ms", "ttft_p50_ms", "ttft_p99_ms", "tpot_ms", "output_tokens_per_s", "requests_per_s")
CHECKS = {
    "request_rate_positive": "request_rate > 0",
    "one_load": "(concurrency IS NOT NULL AND request_rate IS NULL) OR (concurrency IS NULL AND request_rate IS NOT "
    "NULL)",
    "some_metric": " OR ".join(f"{column} IS NOT NULL" for column in (*METRICS, "e2e_latency_ms", "e2e_p99_ms")),
    "ttft_p50_positive": "ttft_p50_ms > 0",
    "ttft_p99_positive": "ttft_p99_ms > 0",
    "ttft_p50_within_p99": "ttft_p50_ms <= ttft_p99_ms",
    "requests_per_s_positive": "requests_per_s > 0",
    "e2e_p99_positive": "e2e_p99_ms > 0",
    "ttft_p99_within_e2e_p99": "ttft_p99_ms < e2e_p99_ms",
}


def upgrade() -> None:
    # `op.f`: the names are final, not run through the metadata's naming convention a second time.
    # Batch mode: SQLite cannot alter a column's nullability or add a foreign key in place, so Alembic copies the
    # table there (keeping its named checks); PostgreSQL gets plain ALTER TABLEs.
    with op.batch_alter_table("benchmark_runs") as batch:
        batch.add_column(sa.Column("hardware_profile_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("simulation_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("request_rate", sa.Float(), nullable=True))
        for column in NEW_METRICS:
            batch.add_column(sa.Column(column, sa.Float(), nullable=True))
        batch.alter_column("concurrency", existing_type=sa.Integer(), nullable=True)
        for column in RELAXED[1:]:
            batch.alter_column(column, existing_type=sa.Float(), nullable=True)
        batch.create_foreign_key(
            "fk_benchmark_runs_hardware_profile_id_hardware_profiles",
            "hardware_profiles",
            ["hardware_profile_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            "fk_benchmark_runs_simulation_id_simulations", "simulations", ["simulation_id"], ["id"], ondelete="SET NULL"
        )
        for name, condition in CHECKS.items():
            batch.create_check_constraint(op.f(f"ck_benchmark_runs_{name}"), condition)
    op.create_index("ix_benchmark_runs_simulation_id", "benchmark_runs", ["simulation_id"])


def downgrade() -> None:
    # The old table holds only closed-loop runs with all three metrics: the others cannot go back and are deleted.
    op.execute(
        "DELETE FROM benchmark_runs WHERE concurrency IS NULL OR ttft_ms IS NULL OR tpot_ms IS NULL "
        "OR output_tokens_per_s IS NULL"
    )
    op.drop_index("ix_benchmark_runs_simulation_id", table_name="benchmark_runs")
    with op.batch_alter_table("benchmark_runs") as batch:
        for name in CHECKS:
            batch.drop_constraint(op.f(f"ck_benchmark_runs_{name}"), type_="check")
        batch.drop_constraint("fk_benchmark_runs_simulation_id_simulations", type_="foreignkey")
        batch.drop_constraint("fk_benchmark_runs_hardware_profile_id_hardware_profiles", type_="foreignkey")
        batch.alter_column("concurrency", existing_type=sa.Integer(), nullable=False)
        for column in RELAXED[1:]:
            batch.alter_column(column, existing_type=sa.Float(), nullable=False)
        for column in (*reversed(NEW_METRICS), "request_rate", "simulation_id", "hardware_profile_id"):
            batch.drop_column(column)
