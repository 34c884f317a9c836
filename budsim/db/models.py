"""The three tables behind the API. Check constraints repeat the API's validation so no writer can store nonsense."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from budsim.db.base import Base, HasCreatedAt, HasId, utcnow

INTERCONNECTS = ("NVLINK", "PCIE", "INFINIBAND", "ETHERNET")
METHODS = ("REGRESSOR", "HEURISTIC")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class HardwareProfileRow(HasId, HasCreatedAt, Base):
    __tablename__ = "hardware_profiles"
    __table_args__ = (
        CheckConstraint("gpu_count > 0", name="gpu_count_positive"),
        CheckConstraint("node_count > 0", name="node_count_positive"),
        CheckConstraint("gpu_memory_gb > 0", name="gpu_memory_positive"),
        CheckConstraint("cost_per_gpu_hour >= 0", name="cost_not_negative"),
        CheckConstraint(_one_of("interconnect", INTERCONNECTS), name="interconnect_known"),
    )

    name: Mapped[str] = mapped_column(String(200), unique=True)
    gpu_type: Mapped[str] = mapped_column(String(100), index=True)
    gpu_memory_gb: Mapped[float]
    gpu_count: Mapped[int]
    node_count: Mapped[int]
    interconnect: Mapped[str] = mapped_column(String(16))
    specs: Mapped[dict[str, Any]]
    cost_per_gpu_hour: Mapped[float]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ModelRow(HasId, HasCreatedAt, Base):
    __tablename__ = "models"

    name: Mapped[str] = mapped_column(String(300), unique=True)
    architecture: Mapped[dict[str, Any]]
    parameter_count: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text)


class SimulationRow(HasId, HasCreatedAt, Base):
    __tablename__ = "simulations"
    __table_args__ = (
        CheckConstraint(_one_of("method", METHODS), name="method_known"),
        CheckConstraint("confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence_unit"),
        # The dashboard lists newest first, optionally filtered by model, profile or method.
        Index("ix_simulations_created_at_id", "created_at", "id"),
        Index("ix_simulations_model_id_created_at", "model_id", "created_at"),
        Index("ix_simulations_hardware_profile_id_created_at", "hardware_profile_id", "created_at"),
        Index("ix_simulations_method_created_at", "method", "created_at"),
    )

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="RESTRICT"))
    hardware_profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hardware_profiles.id", ondelete="RESTRICT"))
    method: Mapped[str] = mapped_column(String(16))
    input_config: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any]]
    optimal_config: Mapped[dict[str, Any] | None]
    confidence: Mapped[float | None]
