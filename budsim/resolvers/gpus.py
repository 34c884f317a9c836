"""The GPU catalog query."""

from budsim.core.catalog.gpus import GPUS
from budsim.schema.types.gpu import GpuType


def list_gpu_types() -> list[GpuType]:
    return [GpuType.from_spec(gpu) for gpu in GPUS.values()]
