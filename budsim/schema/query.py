"""Query root."""

import strawberry

from budsim.resolvers import (
    benchmarks,
    endpoints,
    gpus,
    hardware,
    models,
    optimization_jobs,
    regressor_versions,
    simulations,
)
from budsim.schema.types.benchmark import BenchmarkRunConnection
from budsim.schema.types.endpoint import Endpoint, EndpointConnection
from budsim.schema.types.gpu import GpuType
from budsim.schema.types.hardware import HardwareProfile, HardwareProfileConnection
from budsim.schema.types.model import Model
from budsim.schema.types.optimization import JobStatus, OptimizationJob, OptimizationJobConnection
from budsim.schema.types.regressor import RegressorVersion
from budsim.schema.types.simulation import Method, Simulation, SimulationConnection


@strawberry.type
class Query:
    @strawberry.field(description="The built-in GPU catalog, each figure with its public source.")
    def gpu_types(self) -> list[GpuType]:
        return gpus.list_gpu_types()

    @strawberry.field(description="Hardware profiles by name, `first` (1-100) at a time after the cursor `after`.")
    async def hardware_profiles(
        self, info: strawberry.Info, first: int = 20, after: str | None = None, gpu_type: str | None = None
    ) -> HardwareProfileConnection:
        return await hardware.list_profiles(info.context, first, after, gpu_type)

    @strawberry.field
    async def hardware_profile(self, info: strawberry.Info, id: strawberry.ID) -> HardwareProfile | None:
        return await hardware.get_profile(info.context, id)

    @strawberry.field(description="Simulations newest first, optionally filtered.")
    async def simulations(
        self,
        info: strawberry.Info,
        first: int = 20,
        after: str | None = None,
        model_id: strawberry.ID | None = None,
        hardware_profile_id: strawberry.ID | None = None,
        method: Method | None = None,
    ) -> SimulationConnection:
        return await simulations.list_simulations(info.context, first, after, model_id, hardware_profile_id, method)

    @strawberry.field
    async def simulation(self, info: strawberry.Info, id: strawberry.ID) -> Simulation | None:
        return await simulations.get_simulation(info.context, id)

    @strawberry.field(description="Registered models whose name contains `search` (case-insensitive), by name.")
    async def models(self, info: strawberry.Info, search: str | None = None) -> list[Model]:
        return await models.search(info.context, search)

    @strawberry.field
    async def model(self, info: strawberry.Info, id: strawberry.ID) -> Model | None:
        return await models.get_model(info.context, id)

    @strawberry.field(description="Recorded benchmark runs newest first, optionally of one model.")
    async def benchmark_runs(
        self, info: strawberry.Info, first: int = 20, after: str | None = None, model_id: strawberry.ID | None = None
    ) -> BenchmarkRunConnection:
        return await benchmarks.list_runs(info.context, first, after, model_id)

    @strawberry.field
    async def optimization_job(self, info: strawberry.Info, id: strawberry.ID) -> OptimizationJob | None:
        return await optimization_jobs.get_job(info.context, id)

    @strawberry.field(description="Optimization jobs newest first, optionally only those in one status.")
    async def optimization_jobs(
        self,
        info: strawberry.Info,
        first: int = 20,
        after: str | None = None,
        status: JobStatus | None = None,
    ) -> OptimizationJobConnection:
        return await optimization_jobs.list_jobs(info.context, first, after, status)

    @strawberry.field(description="Endpoints newest first.")
    async def endpoints(self, info: strawberry.Info, first: int = 20, after: str | None = None) -> EndpointConnection:
        return await endpoints.list_endpoints(info.context, first, after)

    @strawberry.field
    async def endpoint(self, info: strawberry.Info, id: strawberry.ID) -> Endpoint | None:
        return await endpoints.get_endpoint(info.context, id)

    @strawberry.field(
        description="Regressor versions newest first, `first` (1-100) at a time before the version `before`: the "
        "active one, those kept aside or rejected, and a retrain under way."
    )
    async def regressor_versions(
        self, info: strawberry.Info, first: int = 20, before: int | None = None
    ) -> list[RegressorVersion]:
        return await regressor_versions.list_versions(info.context, first, before)

    @strawberry.field
    async def regressor_version(self, info: strawberry.Info, id: int) -> RegressorVersion | None:
        return await regressor_versions.get_version(info.context, id)
