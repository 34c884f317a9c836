"""Each method (`Method`) as one strategy: how it optimizes, and whether its predictions are corrected.

The API's resolvers, the job worker and the CLI all ask this registry what a method does instead of testing which
method they hold, so they cannot disagree about it, and a method is added or changed here alone.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from budsim.core.calibration import NO_REGRESSOR, measured_gpus
from budsim.core.optimization import OptimizationOutcome, OptimizationProblem, heuristic_deployment, search_deployment
from budsim.core.predictors import ResidualRegressor
from budsim.core.search.nsga2 import GenerationCallback
from budsim.core.types import Method

# How a method answers an optimization problem, given the regressor it predicts with (None where it uses none, or
# none is loaded), a callback for each generation of a search, and the GPUs with measured runs (the loaded
# regressor's, `calibration.measured_gpus`), which the analytical confidence uses where no regressor corrects.
Optimizer = Callable[
    [OptimizationProblem, ResidualRegressor | None, GenerationCallback | None, frozenset[str]], OptimizationOutcome
]


@dataclass(frozen=True, slots=True)
class Strategy:
    """What one method does.

    `uses_regressor`: its predictions (a simulation's, or a search's scores) are the analytical models' corrected by
    the residual regressor. A caller loads or passes a regressor only for such a method, and where none is loaded the
    answer says so (`NO_REGRESSOR`) rather than pass the analytical models' figures off as corrected ones.
    """

    method: Method
    uses_regressor: bool
    optimizer: Optimizer

    def regressor(self, loaded: ResidualRegressor | None) -> ResidualRegressor | None:
        """The regressor this method predicts with: the loaded one, or None for a method that uses none."""
        return loaded if self.uses_regressor else None

    def warnings(self, loaded: ResidualRegressor | None) -> tuple[str, ...]:
        """What an answer of this method must add when `loaded` is the regressor there is."""
        return (NO_REGRESSOR,) if self.uses_regressor and loaded is None else ()

    def optimize(
        self,
        problem: OptimizationProblem,
        regressor: ResidualRegressor | None = None,
        on_generation: GenerationCallback | None = None,
    ) -> OptimizationOutcome:
        """`problem` answered by this method, with `regressor` where it uses one; CPU-bound (up to the problem's
        time limit for a search), so an event loop runs it elsewhere."""
        outcome = self.optimizer(problem, self.regressor(regressor), on_generation, measured_gpus(regressor))
        missing = self.warnings(regressor)
        return replace(outcome, warnings=(*outcome.warnings, *missing)) if missing else outcome


def _search(
    problem: OptimizationProblem,
    regressor: ResidualRegressor | None,
    on_generation: GenerationCallback | None,
    measured: frozenset[str],
) -> OptimizationOutcome:
    """Without a loaded regressor `measured` is the shipped data's GPUs (`calibration.measured_gpus(None)`), which
    the analytical evaluator defaults to."""
    return search_deployment(problem, on_generation=on_generation, regressor=regressor)


def _plan(
    problem: OptimizationProblem,
    regressor: ResidualRegressor | None,
    on_generation: GenerationCallback | None,
    measured: frozenset[str],
) -> OptimizationOutcome:
    """The plan is scored once, by the analytical models: there is no regressor to use and no generation to report;
    the loaded regressor still says which GPUs are measured."""
    return heuristic_deployment(problem, measured)


STRATEGIES: Mapping[Method, Strategy] = MappingProxyType(
    {
        Method.REGRESSOR: Strategy(Method.REGRESSOR, uses_regressor=True, optimizer=_search),
        Method.HEURISTIC: Strategy(Method.HEURISTIC, uses_regressor=False, optimizer=_plan),
    }
)


def optimize_deployment(
    problem: OptimizationProblem,
    regressor: ResidualRegressor | None = None,
    on_generation: GenerationCallback | None = None,
) -> OptimizationOutcome:
    """`problem` answered by its own method's strategy."""
    return STRATEGIES[problem.method].optimize(problem, regressor, on_generation)
