"""Subscription root."""

from collections.abc import AsyncGenerator

import strawberry

from budsim.resolvers import hardware, optimization_jobs, regressor_versions
from budsim.schema.types.hardware import HardwareProfileEvent
from budsim.schema.types.optimization import OptimizationProgress
from budsim.schema.types.regressor import RegressorVersion


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every committed create, update and delete of a hardware profile, through any server process."
    )
    async def hardware_profile_events(self, info: strawberry.Info) -> AsyncGenerator[HardwareProfileEvent, None]:
        async for event in hardware.follow_events(info.context):
            yield event

    @strawberry.subscription(
        description="A job's progress: where it stands now, then one event per generation, then its end with the "
        "result. Works for a job run by a worker in any process."
    )
    async def optimization_progress(
        self, info: strawberry.Info, job_id: strawberry.ID
    ) -> AsyncGenerator[OptimizationProgress, None]:
        async for event in optimization_jobs.follow(info.context, job_id):
            yield event

    @strawberry.subscription(
        description="A retrain as it stands, again at each stage and fold, and last as it ended (TRAINED, REJECTED "
        "or FAILED), whichever server process runs it."
    )
    async def retrain_progress(self, info: strawberry.Info, version_id: int) -> AsyncGenerator[RegressorVersion, None]:
        async for event in regressor_versions.follow(info.context, version_id):
            yield event
