"""Configuration search: NSGA-II over a discrete space of serving configs, and an exhaustive check of the same space.

`space` defines the genes, the genome encoding and how genomes are scored; `operators` the variation, constraint-
dominance selection and the pick rule; `nsga2` the search loop; `exhaustive` the brute-force reference.
"""

from budsim.core.search.exhaustive import ExhaustiveResult, exhaustive_search
from budsim.core.search.nsga2 import (
    GenerationReport,
    SearchCancelled,
    SearchResult,
    StopReason,
    VariationStats,
    optimize,
)
from budsim.core.search.space import (
    Candidate,
    ClusterOption,
    Evaluation,
    Evaluator,
    Gene,
    SearchSpace,
    ServingEvaluator,
    Targets,
    analytical_evaluator,
    build_space,
    calibrated_evaluator,
    decode,
    encode,
)

__all__ = [
    "Candidate",
    "ClusterOption",
    "Evaluation",
    "Evaluator",
    "ExhaustiveResult",
    "Gene",
    "GenerationReport",
    "SearchCancelled",
    "SearchResult",
    "SearchSpace",
    "ServingEvaluator",
    "StopReason",
    "Targets",
    "VariationStats",
    "analytical_evaluator",
    "build_space",
    "calibrated_evaluator",
    "decode",
    "encode",
    "exhaustive_search",
    "optimize",
]
