"""Measured benchmark runs users record through the API, for the regressor to train on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)  # as in 0001: what `UTCDateTime` stores on both backends
DTYPES = "('BF16', 'FP16', 'FP8', 'INT8', 'INT4')"


def upgrade() -> None:
    op.create_table(
        "benchmark_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("gpu_type", sa.String(100), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("tensor_parallel", sa.Integer(), nullable=False),
        sa.Column("pipeline_parallel", sa.Integer(), nullable=False),
        sa.Column("weight_dtype", sa.String(8), nullable=False),
        sa.Column("kv_cache_dtype", sa.String(8), nullable=True),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("engine_version", sa.String(100), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=False),
        sa.Column("tpot_ms", sa.Float(), nullable=False),
        sa.Column("output_tokens_per_s", sa.Float(), nullable=False),
        sa.Column("e2e_latency_ms", sa.Float(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_benchmark_runs"),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_benchmark_runs_model_id_models", ondelete="RESTRICT"
        ),
        sa.CheckConstraint("gpu_count > 0", name="ck_benchmark_runs_gpu_count_positive"),
        sa.CheckConstraint("tensor_parallel > 0", name="ck_benchmark_runs_tensor_parallel_positive"),
        sa.CheckConstraint("pipeline_parallel > 0", name="ck_benchmark_runs_pipeline_parallel_positive"),
        sa.CheckConstraint(
            "CASE WHEN tensor_parallel > 0 AND pipeline_parallel > 0 "
            "THEN gpu_count % (tensor_parallel * pipeline_parallel) = 0 ELSE false END",
            name="ck_benchmark_runs_parallel_divides_gpu_count",
        ),
        sa.CheckConstraint(f"weight_dtype IN {DTYPES}", name="ck_benchmark_runs_weight_dtype_known"),
        sa.CheckConstraint(
            f"kv_cache_dtype IS NULL OR kv_cache_dtype IN {DTYPES}", name="ck_benchmark_runs_kv_cache_dtype_known"
        ),
        sa.CheckConstraint("engine IN ('VLLM', 'SGLANG', 'TRTLLM')", name="ck_benchmark_runs_engine_known"),
        sa.CheckConstraint("input_tokens > 0", name="ck_benchmark_runs_input_tokens_positive"),
        sa.CheckConstraint("output_tokens > 1", name="ck_benchmark_runs_output_tokens_above_one"),
        sa.CheckConstraint("concurrency > 0", name="ck_benchmark_runs_concurrency_positive"),
        sa.CheckConstraint("ttft_ms > 0", name="ck_benchmark_runs_ttft_positive"),
        sa.CheckConstraint("tpot_ms > 0", name="ck_benchmark_runs_tpot_positive"),
        sa.CheckConstraint("output_tokens_per_s > 0", name="ck_benchmark_runs_throughput_positive"),
        sa.CheckConstraint(
            "output_tokens_per_s * tpot_ms <= 1100.0 * concurrency",
            name="ck_benchmark_runs_throughput_within_decode_bound",
        ),
        sa.CheckConstraint("e2e_latency_ms IS NULL OR e2e_latency_ms > 0", name="ck_benchmark_runs_e2e_positive"),
        sa.CheckConstraint(
            "e2e_latency_ms IS NULL OR ttft_ms < e2e_latency_ms", name="ck_benchmark_runs_ttft_within_e2e"
        ),
        sa.CheckConstraint(
            "e2e_latency_ms IS NULL OR tpot_ms * (output_tokens - 1) <= e2e_latency_ms",
            name="ck_benchmark_runs_decode_within_e2e",
        ),
        sa.CheckConstraint("trim(source) <> ''", name="ck_benchmark_runs_source_not_blank"),
    )
    op.create_index("ix_benchmark_runs_created_at_id", "benchmark_runs", ["created_at", "id"])
    op.create_index("ix_benchmark_runs_model_id_created_at", "benchmark_runs", ["model_id", "created_at"])


def downgrade() -> None:
    op.drop_table("benchmark_runs")
