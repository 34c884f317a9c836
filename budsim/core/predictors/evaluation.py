"""PLACEHOLDER until the retrain evaluation lands."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MetricAccuracy:
    metric: str
    median_ape: float
    p90_ape: float
    active_median_ape: float | None
    active_p90_ape: float | None
    user_median_ape: float | None
    active_user_median_ape: float | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    folds: int
    rows: int
    user_rows: int
    metrics: tuple[MetricAccuracy, ...]

    def not_worse(self) -> bool:
        return True

    def document(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Evaluation":
        return cls(
            document["folds"],
            document["rows"],
            document["user_rows"],
            tuple(MetricAccuracy(**m) for m in document["metrics"]),
        )
