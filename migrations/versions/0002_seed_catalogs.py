"""Seed the catalog models and single-node profiles of every catalog GPU.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

from budsim.db.catalog_seed import seed, unseed

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    seed(op.get_bind())


def downgrade() -> None:
    unseed(op.get_bind())
