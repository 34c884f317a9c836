"""How far to trust an answer: the guide's band of its confidence, and what lowered it.

The bands and the reasons are core's (`budsim.core.predictors.confidence`): the schema only names them, so that the
API, the REST answers and the dashboard all show the one judgement rather than each drawing its own lines.
"""

from typing import Self

import strawberry

from budsim.core.predictors import ConfidenceLevel as ConfidenceLevelKind
from budsim.core.predictors import ConfidenceReason as Reason
from budsim.core.predictors import ReasonKind

strawberry.enum(
    ConfidenceLevelKind,
    description="The user guide's bands of `confidence`: PRODUCTION_READY at 0.9 and above, VALIDATE_IN_STAGING from "
    "0.7 up to 0.9, NEEDS_MORE_DATA below 0.7.",
)
ConfidenceLevel = ConfidenceLevelKind  # the same class, registered: annotations can name it

strawberry.enum(
    ReasonKind,
    name="ConfidenceReasonKind",
    description="What lowered a confidence: a GPU, model family, GPU and family together, tensor-parallel degree, "
    "model size or concurrency the measured runs lack; pipeline stages (never measured); the regressor's ensemble "
    "disagreeing; or no regressor at all.",
)
ConfidenceReasonKind = ReasonKind


@strawberry.type(description="One penalty of a confidence: what the measured data lacks, and what to record.")
class ConfidenceReason:
    kind: ConfidenceReasonKind
    factor: float = strawberry.field(description="What this penalty multiplied the confidence by (below 1).")
    message: str = strawberry.field(description="What is unseen, e.g. 'No measured run on L40S'.")
    measure: str = strawberry.field(description="What run to record (recordBenchmark) to raise the confidence.")

    @classmethod
    def from_reason(cls, reason: Reason) -> Self:
        return cls(kind=reason.kind, factor=reason.factor, message=reason.message, measure=reason.measure)
