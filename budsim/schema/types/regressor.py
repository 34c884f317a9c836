"""Regressor versions: each training of the residual regressor, how it compared, and which one serves."""

from datetime import datetime

import strawberry

from budsim.core.types import VersionOrigin as VersionOriginKind
from budsim.core.types import VersionStatus as VersionStatusKind

strawberry.enum(
    VersionStatusKind,
    name="RegressorVersionStatus",
    description="TRAINING; TRAINED (active, or kept aside once another was activated); REJECTED (worse than the "
    "version active when it ended, and not forced); FAILED (with `error`).",
)
strawberry.enum(
    VersionOriginKind,
    name="RegressorVersionOrigin",
    description="START_UP: trained when the database had no version; RETRAIN: by `retrainRegressor`.",
)
VersionStatus = VersionStatusKind  # the same classes, registered: annotations can name them
VersionOrigin = VersionOriginKind


@strawberry.type(
    description="One metric's error on runs held out of training (percent: |predicted / measured - 1| x 100), for "
    "this version and for the version active when it was evaluated, on the same held-out groups."
)
class MetricAccuracy:
    metric: str = strawberry.field(description="output_tokens_per_s, ttft_ms or tpot_ms.")
    median_ape: float
    p90_ape: float
    active_median_ape: float | None = strawberry.field(
        description="The active version's training data, held out the same way; null when there was none."
    )
    active_p90_ape: float | None
    user_median_ape: float | None = strawberry.field(description="On the stored (recorded) runs alone.")
    active_user_median_ape: float | None


@strawberry.type(description="How a version compared with the active one, on whole model x GPU groups held out.")
class RegressorMetrics:
    folds: int = strawberry.field(description="Held-out folds of whole model x GPU groups.")
    rows: int = strawberry.field(description="Runs evaluated (data/benchmarks.csv and stored runs).")
    user_rows: int = strawberry.field(description="Of which stored runs.")
    not_worse: bool = strawberry.field(description="Whether it passed the activation rule (docs/model.md).")
    metrics: list[MetricAccuracy]


@strawberry.type(description="Where a retrain stands: its stage, and how far through it.")
class RetrainProgress:
    stage: str = strawberry.field(description="queued, loading, evaluating, training, done.")
    done: int
    total: int


@strawberry.type(
    description="One training of the residual regressor. Every process predicts with the active one and switches "
    "to a newly activated one without a restart; each Simulation records the version it was predicted with."
)
class RegressorVersion:
    id: int
    status: VersionStatus
    active: bool
    forced: bool = strawberry.field(description="Activated by `retrainRegressor(force: true)` whatever it scored.")
    origin: VersionOrigin
    created_at: datetime
    finished_at: datetime | None
    activated_at: datetime | None
    rows: int | None = strawberry.field(description="Runs it trained on.")
    groups: int | None = strawberry.field(description="Model x GPU groups among them.")
    user_runs: int = strawberry.field(description="Stored benchmark runs among them.")
    metrics: RegressorMetrics | None = strawberry.field(
        description="Its held-out accuracy beside the active version's; null for a start-up version and while training."
    )
    progress: RetrainProgress | None
    error: str | None
