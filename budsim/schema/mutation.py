"""Mutation root. Every mutation answers a union: the success type or a typed error."""

import strawberry
from strawberry.scalars import JSON

from budsim.resolvers import (
    benchmarks,
    endpoints,
    hardware,
    models,
    optimization_jobs,
    optimize,
    regressor_versions,
    simulate,
    validation_reports,
)
from budsim.schema.errors import (
    CancelOptimizationResult,
    CreateEndpointResult,
    CreateHardwareProfileResult,
    DeleteEndpointResult,
    DeleteHardwareProfileResult,
    DeployEndpointResult,
    OptimizeResult,
    RecordBenchmarkResult,
    RecordBenchmarksResult,
    RegisterModelResult,
    RetrainRegressorResult,
    SimulateResult,
    UpdateHardwareProfileResult,
    ValidateSimulationResult,
)
from budsim.schema.inputs import (
    CreateEndpointInput,
    CreateHardwareProfileInput,
    DeployChoiceInput,
    DeploymentConfigInput,
    MeasuredMetricsInput,
    OptimizeInput,
    RecordBenchmarkInput,
    SimulateInput,
    UpdateHardwareProfileInput,
)
from budsim.schema.types.benchmark import BenchmarkFormat
from budsim.schema.types.prediction import Engine


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_hardware_profile(
        self, info: strawberry.Info, input: CreateHardwareProfileInput
    ) -> CreateHardwareProfileResult:
        return await hardware.create_profile(info.context, input)

    @strawberry.mutation
    async def update_hardware_profile(
        self, info: strawberry.Info, id: strawberry.ID, input: UpdateHardwareProfileInput
    ) -> UpdateHardwareProfileResult:
        return await hardware.update_profile(info.context, id, input)

    @strawberry.mutation
    async def delete_hardware_profile(self, info: strawberry.Info, id: strawberry.ID) -> DeleteHardwareProfileResult:
        return await hardware.delete_profile(info.context, id)

    @strawberry.mutation(description="Register a model from its Hugging Face config.json.")
    async def register_model(
        self, info: strawberry.Info, name: str, config: JSON, source: str | None = None
    ) -> RegisterModelResult:
        return await models.register(info.context, name, config, source)

    @strawberry.mutation(description="Predict one deployment and store it as a Simulation.")
    async def simulate(self, info: strawberry.Info, input: SimulateInput) -> SimulateResult:
        return await simulate.run_simulation(info.context, input)

    @strawberry.mutation(
        description="Run a stored simulation's request again (model, hardware profile, method, engine, pinned config, "
        "workload) as `simulate` runs it, as the hardware profile and the regressor stand now, and store the answer "
        "as a new Simulation linked to the old (`rerunOf`, `reruns`). An optimization's answer is a ValidationError "
        "on `simulationId`: rerun it with `reoptimize`."
    )
    async def resimulate(self, info: strawberry.Info, simulation_id: strawberry.ID) -> SimulateResult:
        return await simulate.resimulate(info.context, simulation_id)

    @strawberry.mutation(
        description="Recommend the best deployment of a model over the given hardware profiles under the targets. "
        "Queues an OptimizationJob; with `wait: true` (the default) answers when it ends or, past the server's "
        "wait limit, as it stands (QUEUED or RUNNING); with `wait: false` at once. Follow an unended job with "
        "`optimizationProgress` or `optimizationJob`."
    )
    async def optimize(self, info: strawberry.Info, input: OptimizeInput, wait: bool = True) -> OptimizeResult:
        return await optimize.run_optimization(info.context, input, wait)

    @strawberry.mutation(
        description="Queue the optimization whose answer a stored Simulation is again, with its whole request "
        "unchanged (profiles, precisions, workload, targets, constraints, seed), as `optimize` queues one and with "
        "its `wait`. The job's `rerunOf`, and the Simulation it stores, link to the one rerun. A single prediction "
        "is a ValidationError on `simulationId`: rerun it with `resimulate`."
    )
    async def reoptimize(
        self, info: strawberry.Info, simulation_id: strawberry.ID, wait: bool = True
    ) -> OptimizeResult:
        return await optimize.reoptimize(info.context, simulation_id, wait)

    @strawberry.mutation(
        description="Stop a job: a queued one at once, a running one within a generation, keeping its best so far."
    )
    async def cancel_optimization(self, info: strawberry.Info, id: strawberry.ID) -> CancelOptimizationResult:
        return await optimization_jobs.cancel(info.context, id)

    @strawberry.mutation(
        description="Store a serving run you measured; `budsim train` and server start-up training learn from it."
    )
    async def record_benchmark(self, info: strawberry.Info, input: RecordBenchmarkInput) -> RecordBenchmarkResult:
        return await benchmarks.record(info.context, input)

    @strawberry.mutation(
        description="Store many measured runs at once, all or none: the first bad one is a ValidationError naming "
        "its row and field (`input[3].ttftMs`) and nothing is written. At most 500 runs a call."
    )
    async def record_benchmarks(
        self, info: strawberry.Info, input: list[RecordBenchmarkInput]
    ) -> RecordBenchmarksResult:
        return await benchmarks.record_many(info.context, input)

    @strawberry.mutation(
        description="Read a benchmark tool's result file (vLLM `--save-result` JSON, SGLang `bench_serving` JSONL, "
        "a GuideLLM report) and store its runs as `recordBenchmarks` does: all or none, a bad run named "
        "`content[i].field` in file order. The file says the load and the metrics; the deployment is the hardware "
        "profile and `config` (TP, PP, replicas, dtypes; default one GPU in BF16). The model is the file's, found by "
        "its registered name, unless `modelId` is given."
    )
    async def import_benchmark_results(
        self,
        info: strawberry.Info,
        format: BenchmarkFormat,
        content: str,
        hardware_profile_id: strawberry.ID,
        model_id: strawberry.ID | None = None,
        config: DeploymentConfigInput | None = None,
        source: str | None = None,
        engine: Engine | None = None,
    ) -> RecordBenchmarksResult:
        return await benchmarks.import_results(
            info.context, format, content, hardware_profile_id, model_id, config, source, engine
        )

    @strawberry.mutation(
        description="Check a stored prediction against a measurement of its deployment: stores the measurement as a "
        "benchmark run on the simulation's model, profile, config and workload (tied to the simulation) and answers "
        "predicted versus measured per metric, and whether each lies within the prediction's p10-p90 interval."
    )
    async def validate_simulation(
        self, info: strawberry.Info, simulation_id: strawberry.ID, measured: MeasuredMetricsInput
    ) -> ValidateSimulationResult:
        return await validation_reports.validate(info.context, simulation_id, measured)

    @strawberry.mutation(
        description="Store a named plan for serving a model; validated as `optimize` validates, nothing runs."
    )
    async def create_endpoint(self, info: strawberry.Info, input: CreateEndpointInput) -> CreateEndpointResult:
        return await endpoints.create(info.context, input)

    @strawberry.mutation(
        description="Queue an optimization with the endpoint's stored settings (same answer shape as `optimize`): "
        "checked again, then run as `optimize` runs it. `wait: true` answers when it ends or at the server's wait "
        "limit."
    )
    async def optimize_endpoint(self, info: strawberry.Info, id: strawberry.ID, wait: bool = False) -> OptimizeResult:
        return await endpoints.optimize_endpoint(info.context, id, wait)

    @strawberry.mutation(description="Record which config of a job's answer is chosen and return how to deploy it.")
    async def deploy_endpoint(
        self, info: strawberry.Info, id: strawberry.ID, choice: DeployChoiceInput | None = None
    ) -> DeployEndpointResult:
        return await endpoints.deploy(info.context, id, choice)

    @strawberry.mutation(description="Delete an endpoint and its deployments (its jobs stay, unlinked).")
    async def delete_endpoint(self, info: strawberry.Info, id: strawberry.ID) -> DeleteEndpointResult:
        return await endpoints.delete(info.context, id)

    @strawberry.mutation(
        description="Train a new regressor version from data/benchmarks.csv and every stored benchmark run, in the "
        "background (follow it with `retrainProgress`). It is compared with the active version on whole model x GPU "
        "groups held out, the stored runs' groups among them, and activated only if it is not worse, or when "
        "`force` is true; every server and worker process then predicts with it, without a restart. One retrain at "
        "a time: a second answers ConflictError. Needs the admin scope."
    )
    async def retrain_regressor(self, info: strawberry.Info, force: bool = False) -> RetrainRegressorResult:
        return await regressor_versions.retrain(info.context, force)
