"""Specification of the roofline primitives: which tensor-core peak a weight format runs at, and the two bounds."""

import numpy as np
import pytest

from budsim.core.catalog.gpus import GPUS
from budsim.core.deployment import DTYPE_CODES
from budsim.core.perf.constants import GEMM_BANDWIDTH_EFFICIENCY, GEMM_COMPUTE_EFFICIENCY
from budsim.core.perf.roofline import dtype_peak_tflops, gemm_byte_rate, gemm_flop_rate, roofline
from budsim.core.types import Dtype

H100 = GPUS["H100-SXM"]
A100 = GPUS["A100-80GB-SXM"]


def codes(*dtypes: Dtype) -> np.ndarray:
    return np.array([DTYPE_CODES.index(d) for d in dtypes])


def test_fp8_weights_run_on_fp8_tensor_cores_where_the_gpu_has_them() -> None:
    assert dtype_peak_tflops(H100, Dtype.FP8) == 1979


def test_fp8_weights_fall_back_to_the_bf16_rate_without_fp8_tensor_cores() -> None:
    assert dtype_peak_tflops(A100, Dtype.FP8) == 312  # W8A16, e.g. vLLM's FP8 Marlin on Ampere


def test_int4_weights_are_weight_only_and_compute_at_the_bf16_rate() -> None:
    assert dtype_peak_tflops(H100, Dtype.INT4) == 989


def test_int8_weights_use_the_integer_tensor_cores() -> None:
    assert dtype_peak_tflops(A100, Dtype.INT8) == 624


def test_gemm_rates_are_peaks_times_the_measured_efficiencies() -> None:
    flops = gemm_flop_rate(H100, codes(Dtype.BF16, Dtype.FP8, Dtype.INT4))
    assert flops == pytest.approx([989e12 * 0.77, 1979e12 * 0.52, 989e12 * 0.58])
    assert GEMM_COMPUTE_EFFICIENCY[Dtype.BF16] == 0.77
    bytes_per_s = gemm_byte_rate(H100, codes(Dtype.BF16, Dtype.FP8))
    assert bytes_per_s == pytest.approx([3350e9 * 0.82, 3350e9 * 0.71])
    assert GEMM_BANDWIDTH_EFFICIENCY[Dtype.FP8] == 0.71


def test_a_kernel_takes_the_slower_of_its_compute_and_memory_bounds() -> None:
    bound = roofline(np.array([2e12, 1e9]), np.array([1e9, 4e9]), np.array([1e12, 1e12]), np.array([1e12, 1e12]))
    assert bound.compute_s == pytest.approx([2.0, 1e-3])
    assert bound.memory_s == pytest.approx([1e-3, 4e-3])
    assert bound.time_s == pytest.approx([2.0, 4e-3])
