"""A retrained regressor's held-out accuracy next to the active version's, and the rule that decides whether it may
replace it (`Evaluation.not_worse`). Pure data: `budsim.regressor.retrain` computes it, a regressor version stores
its `document()`, the API reads it back (`from_document`). docs/model.md, "Retraining and versions".
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Percentage points by which a candidate's held-out APE may exceed the baseline's and still count as not worse: what
# training noise alone moves them by. The same data and 6 fixed folds of whole groups, trained with seeds 0-3, gave
# median APEs 12.0-13.3% (throughput), 26.1-27.1% (TTFT), 12.2-13.3% (TPOT), ranges of up to 1.3 points, and p90s
# ranging over up to 3.8 points (TPOT 39.0-42.8%).
MEDIAN_TOLERANCE = 1.5
P90_TOLERANCE = 4.0
DOCUMENT_VERSION = 1


@dataclass(frozen=True, slots=True)
class MetricAccuracy:
    """One metric (`budsim.regressor.training.METRICS`: output_tokens_per_s, ttft_ms, tpot_ms), held-out absolute
    percentage error |predicted / measured - 1| x 100: the candidate's, the
    baseline's (the active version's training data, same folds; None without a baseline), over all rows and over
    the stored runs' rows alone (None when there are none)."""

    metric: str
    median_ape: float
    p90_ape: float
    active_median_ape: float | None = None
    active_p90_ape: float | None = None
    user_median_ape: float | None = None
    active_user_median_ape: float | None = None

    def regressions(self) -> tuple[str, ...]:
        """Each comparison in which the candidate is worse than the baseline by more than the tolerance, in words."""
        checks = (
            ("median APE", self.median_ape, self.active_median_ape, MEDIAN_TOLERANCE),
            ("p90 APE", self.p90_ape, self.active_p90_ape, P90_TOLERANCE),
            ("median APE on stored runs", self.user_median_ape, self.active_user_median_ape, MEDIAN_TOLERANCE),
        )
        return tuple(
            f"{self.metric} {name} {ours:.1f}% against the active version's {theirs:.1f}% (tolerance {tolerance:g})"
            for name, ours, theirs, tolerance in checks
            if ours is not None and theirs is not None and not ours <= theirs + tolerance
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A candidate's held-out accuracy next to the active version's, on `folds` folds of `rows` rows (`user_rows` of
    them from stored runs)."""

    folds: int
    rows: int
    user_rows: int
    metrics: tuple[MetricAccuracy, ...]

    @property
    def compared(self) -> bool:
        """Whether a baseline was scored (`retrain` got the active version's run ids)."""
        return any(m.active_median_ape is not None for m in self.metrics)

    def regressions(self) -> tuple[str, ...]:
        """Why the candidate is worse, one line per failed comparison; none when it is not worse."""
        return tuple(line for metric in self.metrics for line in metric.regressions())

    def not_worse(self) -> bool:
        """The activation rule: no metric's median or p90 APE (all rows) nor median APE on the stored runs' rows is
        worse than the active version's by more than the tolerance (module docstring). True without a baseline."""
        return not self.regressions()

    def document(self) -> dict[str, Any]:
        """JSON-ready (finite floats, None, ints, strings), for a database column; `from_document` reads it back."""
        return {
            "version": DOCUMENT_VERSION,
            "folds": self.folds,
            "rows": self.rows,
            "user_rows": self.user_rows,
            "metrics": [
                {
                    "metric": m.metric,
                    "median_ape": m.median_ape,
                    "p90_ape": m.p90_ape,
                    "active_median_ape": m.active_median_ape,
                    "active_p90_ape": m.active_p90_ape,
                    "user_median_ape": m.user_median_ape,
                    "active_user_median_ape": m.active_user_median_ape,
                }
                for m in self.metrics
            ],
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> "Evaluation":
        """`document()` read back; parsed JSON (Any by nature) is converted field by field."""

        def number(value: Any) -> float | None:
            return None if value is None else float(value)

        return cls(
            int(document["folds"]),
            int(document["rows"]),
            int(document["user_rows"]),
            tuple(
                MetricAccuracy(
                    str(m["metric"]),
                    float(m["median_ape"]),
                    float(m["p90_ape"]),
                    number(m.get("active_median_ape")),
                    number(m.get("active_p90_ape")),
                    number(m.get("user_median_ape")),
                    number(m.get("active_user_median_ape")),
                )
                for m in document["metrics"]
            ),
        )
