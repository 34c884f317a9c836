"""Subscription root."""

from collections.abc import AsyncGenerator

import strawberry

from budsim.resolvers import hardware
from budsim.schema.types.hardware import HardwareProfileEvent


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Every committed create, update and delete of a hardware profile.")
    async def hardware_profile_events(self, info: strawberry.Info) -> AsyncGenerator[HardwareProfileEvent, None]:
        async with info.context.events.subscribe(hardware.TOPIC) as queue:
            while True:
                yield await queue.get()
