"""Configuration search: NSGA-II over a discrete space of serving configs, and an exhaustive check of the same space.

`space` defines the genes and the genome encoding; `constraints` the rules a genome must satisfy and the user's
targets, as normalized violations; `scoring` how a population is scored and a scored genome reported; `evaluators`
the evaluator built on the memory and serving models; `operators` the variation, constraint-dominance selection and
the pick rule; `nsga2` the search loop; `exhaustive` the brute-force reference.
"""

from budsim.core.search.constraints import Targets
from budsim.core.search.evaluators import ServingEvaluator, analytical_evaluator, calibrated_evaluator
from budsim.core.search.exhaustive import ExhaustiveResult, exhaustive_search
from budsim.core.search.nsga2 import (
    GenerationReport,
    SearchCancelled,
    SearchResult,
    StopReason,
    VariationStats,
    optimize,
)
from budsim.core.search.scoring import Candidate, Evaluation, Evaluator
from budsim.core.search.space import ClusterOption, Gene, SearchSpace, build_space, decode, encode

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
