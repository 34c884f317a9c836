"""Names shared by every layer: enumerations, whose values are the wire names used in the API and the database, and
the numpy array types that the vectorized models pass around (one spelling, so that mypy sees one type everywhere)."""

from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Interconnect(StrEnum):
    NVLINK = "NVLINK"
    PCIE = "PCIE"
    INFINIBAND = "INFINIBAND"
    ETHERNET = "ETHERNET"


class Method(StrEnum):
    REGRESSOR = "REGRESSOR"
    HEURISTIC = "HEURISTIC"


class Engine(StrEnum):
    VLLM = "VLLM"
    SGLANG = "SGLANG"
    TRTLLM = "TRTLLM"


class Dtype(StrEnum):
    BF16 = "BF16"
    FP16 = "FP16"
    FP8 = "FP8"
    INT8 = "INT8"
    INT4 = "INT4"


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def terminal(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


class VersionStatus(StrEnum):
    """A regressor version's life: training, then trained (activated or kept aside), rejected as worse than the
    active one, or failed."""

    TRAINING = "TRAINING"
    TRAINED = "TRAINED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


class VersionOrigin(StrEnum):
    """What made a regressor version: the first start-up of a database, or `retrainRegressor`."""

    START_UP = "START_UP"
    RETRAIN = "RETRAIN"
