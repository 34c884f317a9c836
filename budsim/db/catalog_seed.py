"""Seed rows for the catalogs: every catalog model, and single-node 1/2/4/8-GPU profiles of every catalog GPU.

Migrations call `seed` with whatever the catalogs hold at that revision, inserting only names not yet present, so a
later migration can call it again after the catalogs grow without touching rows users have edited.
"""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.fabrics import default_interconnect, default_specs
from budsim.core.catalog.gpus import GPUS, GpuSpec
from budsim.core.catalog.models import CATALOG_MODELS
from budsim.db.base import utcnow

SEED_GPU_COUNTS = (1, 2, 4, 8)
_profiles = sa.table(
    "hardware_profiles",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("gpu_type", sa.String()),
    sa.column("gpu_memory_gb", sa.Float()),
    sa.column("gpu_count", sa.Integer()),
    sa.column("node_count", sa.Integer()),
    sa.column("interconnect", sa.String()),
    sa.column("specs", sa.JSON()),
    sa.column("cost_per_gpu_hour", sa.Float()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_models = sa.table(
    "models",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("architecture", sa.JSON()),
    sa.column("parameter_count", sa.BigInteger()),
    sa.column("source", sa.Text()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def profile_name(gpu: GpuSpec, count: int) -> str:
    return f"{gpu.name} x{count}"


def _profile_rows() -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for gpu in GPUS.values():
        interconnect = default_interconnect(gpu)
        for count in SEED_GPU_COUNTS:
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "name": profile_name(gpu, count),
                    "gpu_type": gpu.name,
                    "gpu_memory_gb": gpu.memory_gb,
                    "gpu_count": count,
                    "node_count": 1,
                    "interconnect": interconnect.value,
                    "specs": default_specs(gpu, interconnect),
                    "cost_per_gpu_hour": gpu.cost_per_hour,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return rows


def _model_rows() -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "id": uuid.uuid4(),
            "name": model.hf_id,
            "architecture": model.config,
            "parameter_count": parse_hf_config(model.config).param_count,
            "source": model.config_source,
            "created_at": now,
        }
        for model in CATALOG_MODELS
    ]


def _insert_missing(connection: Connection, table: sa.TableClause, rows: list[dict[str, Any]]) -> None:
    existing = set(connection.execute(sa.select(table.c.name)).scalars())
    fresh = [row for row in rows if row["name"] not in existing]
    if fresh:
        connection.execute(table.insert(), fresh)


def seed(connection: Connection) -> None:
    _insert_missing(connection, _profiles, _profile_rows())
    _insert_missing(connection, _models, _model_rows())


def unseed(connection: Connection) -> None:
    """Remove seeded rows that no simulation references (user data is never deleted by a downgrade)."""
    simulations = sa.table("simulations", sa.column("model_id"), sa.column("hardware_profile_id"))
    for table, names, reference in (
        (_profiles, [row["name"] for row in _profile_rows()], simulations.c.hardware_profile_id),
        (_models, [model.hf_id for model in CATALOG_MODELS], simulations.c.model_id),
    ):
        connection.execute(table.delete().where(table.c.name.in_(names), table.c.id.not_in(sa.select(reference))))
