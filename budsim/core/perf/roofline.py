"""Roofline primitives: which peak a weight dtype runs at, and the compute- and memory-bound time of a piece of work.

A kernel takes max(FLOPs / achievable FLOP/s, bytes / achievable bytes/s). The two bounds are returned separately,
not only their maximum, because the residual regressor learns from them as features and because a sum of per-kernel
maxima (what a step costs) is not the maximum of the sums.
"""

from dataclasses import dataclass

import numpy as np

from budsim.core.catalog.gpus import GpuSpec
from budsim.core.deployment import DTYPE_CODES
from budsim.core.perf.constants import GEMM_BANDWIDTH_EFFICIENCY, GEMM_COMPUTE_EFFICIENCY
from budsim.core.types import Dtype, FloatArray, IntArray

TERA = 1e12
GIGA = 1e9


@dataclass(frozen=True, slots=True)
class Bound:
    """Seconds a piece of work needs if only compute (resp. only memory traffic) limited it."""

    compute_s: FloatArray
    memory_s: FloatArray

    @property
    def time_s(self) -> FloatArray:
        return np.maximum(self.compute_s, self.memory_s)


def roofline(flops: FloatArray, bytes_moved: FloatArray, flop_rate: FloatArray, byte_rate: FloatArray) -> Bound:
    """Both bounds of one kernel class; rates are already multiplied by their efficiencies."""
    return Bound(compute_s=flops / flop_rate, memory_s=bytes_moved / byte_rate)


def dtype_peak_tflops(gpu: GpuSpec, dtype: Dtype) -> float:
    """Dense tensor-core TFLOPS a GEMM with weights of `dtype` runs at.

    FP8 uses the FP8 tensor cores where the GPU has them; elsewhere (Ampere, A10G) FP8 checkpoints run weight-only
    (W8A16, e.g. vLLM's FP8 Marlin) at the BF16 rate. INT8 is W8A8 on the integer tensor cores. INT4 is weight-only
    (AWQ/GPTQ Marlin): dequantised to BF16 inside the kernel, so BF16 rate.
    """
    if dtype == Dtype.FP8:
        return gpu.fp8_tflops if gpu.fp8_tflops is not None else gpu.bf16_tflops
    if dtype == Dtype.INT8:
        return gpu.int8_tops
    return gpu.bf16_tflops


def gemm_flop_rate(gpu: GpuSpec, weight_dtype: IntArray) -> FloatArray:
    """Achievable GEMM FLOP/s per GPU for each candidate's weight dtype (peak x measured efficiency)."""
    table = np.array([dtype_peak_tflops(gpu, d) * TERA * GEMM_COMPUTE_EFFICIENCY[d] for d in DTYPE_CODES])
    return table[weight_dtype]


def gemm_byte_rate(gpu: GpuSpec, weight_dtype: IntArray) -> FloatArray:
    """Achievable weight-streaming bytes/s per GPU for each candidate's weight dtype."""
    table = np.array([gpu.memory_bandwidth_gbs * GIGA * GEMM_BANDWIDTH_EFFICIENCY[d] for d in DTYPE_CODES])
    return table[weight_dtype]
