"""Specification of the search space: which options each gene gets, how genomes decode, and how they are scored."""

from dataclasses import dataclass, replace

import numpy as np
import pytest

from budsim.core.deployment import ServingConfig, Workload
from budsim.core.errors import InfeasibleConfigError
from budsim.core.search.constraints import (
    FAILED,
    RUNNABLE_TIER,
    STRUCTURAL_RULES,
    STRUCTURAL_TIER,
    Targets,
    structural_violations,
)
from budsim.core.search.evaluators import analytical_evaluator
from budsim.core.search.scoring import Evaluation, score
from budsim.core.search.space import Gene, SearchSpace, build_space, cost_per_hour, decode, encode
from budsim.core.types import Dtype, Engine, IntArray
from tests.factories import LLAMA_8B, arch, option, space_for

CHAT = Workload(input_tokens=1024, output_tokens=256, concurrency=64)


def genome_of(space: SearchSpace, cluster_index: int = 0, **values: object) -> IntArray:
    config = ServingConfig(
        tensor_parallel=values.get("tp", 1),  # type: ignore[arg-type]
        pipeline_parallel=values.get("pp", 1),  # type: ignore[arg-type]
        max_num_seqs=values.get("seqs", 256),  # type: ignore[arg-type]
        max_num_batched_tokens=values.get("tokens", 8192),  # type: ignore[arg-type]
        gpu_memory_utilization=values.get("util", 0.9),  # type: ignore[arg-type]
        max_model_len=space.max_model_len,
        replicas=values.get("replicas", 1),  # type: ignore[arg-type]
        weight_dtype=values.get("weights", Dtype.BF16),  # type: ignore[arg-type]
        kv_cache_dtype=Dtype.BF16,
    )
    return encode(space, config, cluster_index)


# ---------------------------------------------------------------- options


def test_tensor_parallel_options_are_powers_of_two_that_split_the_heads_and_fit_the_widest_node() -> None:
    # Qwen2.5-7B has 28 attention heads and 4 KV heads: TP 8 divides neither.
    qwen = build_space(arch("Qwen/Qwen2.5-7B-Instruct"), [option()], [Dtype.BF16], max_model_len=1280)
    assert qwen.tensor_parallel == (1, 2, 4)
    llama_on_l40s = space_for(clusters=[option("L40S", 4)])
    assert llama_on_l40s.tensor_parallel == (1, 2, 4)


def test_pipeline_options_stop_at_the_per_replica_limit_and_the_largest_cluster() -> None:
    assert space_for().pipeline_parallel == (1, 2, 3, 4, 5, 6, 7, 8)
    assert space_for(max_gpus_per_replica=4).pipeline_parallel == (1, 2, 3, 4)
    assert space_for(clusters=[option("L40S", 4)]).pipeline_parallel == (1, 2, 3, 4)


def test_replica_options_start_at_two_under_high_availability_and_never_exceed_the_largest_cluster() -> None:
    assert space_for().replicas == (1, 2, 3, 4, 5, 6, 7, 8)
    assert space_for(require_high_availability=True).replicas == (2, 3, 4, 5, 6, 7, 8)
    assert space_for(clusters=[option(nodes=2)], max_replicas=10).replicas == tuple(range(1, 11))


def test_each_precision_is_one_option_and_kv_cache_stays_16_bit_under_quantized_weights() -> None:
    space = build_space(arch(LLAMA_8B), [option()], [Dtype.FP8, Dtype.BF16, Dtype.FP8], max_model_len=1280)
    assert space.weight_dtypes == (Dtype.FP8, Dtype.BF16)
    batch, _ = decode(space, np.array([[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1]]))
    assert [batch.row(i).weight_dtype for i in range(2)] == [Dtype.FP8, Dtype.BF16]
    assert [batch.row(i).kv_cache_dtype for i in range(2)] == [Dtype.BF16, Dtype.BF16]


def test_a_space_without_clusters_or_precisions_is_refused() -> None:
    with pytest.raises(InfeasibleConfigError, match="hardware profile"):
        build_space(arch(LLAMA_8B), [], [Dtype.BF16], max_model_len=1280)
    with pytest.raises(InfeasibleConfigError, match="precision"):
        build_space(arch(LLAMA_8B), [option()], [], max_model_len=1280)


# ---------------------------------------------------------------- encoding


def test_encode_then_decode_returns_the_same_config_and_cluster() -> None:
    space = space_for(clusters=[option(), option("A100-80GB-SXM")])
    genome = genome_of(space, cluster_index=1, tp=4, pp=2, seqs=512, tokens=16384, util=0.85, replicas=1)
    batch, clusters = decode(space, genome[None, :])
    assert batch.row(0) == ServingConfig(4, 2, 512, 16384, 0.85, 1280, 1, Dtype.BF16, Dtype.BF16)
    assert clusters.tolist() == [1]


def test_a_value_outside_the_options_cannot_be_encoded() -> None:
    with pytest.raises(InfeasibleConfigError, match="tensor_parallel"):
        genome_of(space_for(), tp=3)


def test_any_in_range_genome_decodes_to_allowed_values_only() -> None:
    space = space_for(clusters=[option(), option("L40S", 4)])
    genomes = np.random.default_rng(0).integers(0, space.sizes, size=(500, len(Gene)))
    batch, clusters = decode(space, genomes)
    assert set(batch.tensor_parallel.tolist()) <= set(space.tensor_parallel)
    assert set(batch.pipeline_parallel.tolist()) <= set(space.pipeline_parallel)
    assert set(batch.replicas.tolist()) <= set(space.replicas)
    assert set(batch.gpu_memory_utilization.tolist()) <= set(space.gpu_memory_utilization)
    assert set(clusters.tolist()) == {0, 1}


# ---------------------------------------------------------------- structural rules


def test_structural_rules_measure_relative_overshoot() -> None:
    space = space_for(clusters=[option(), option("L40S", 4)])
    genomes = np.stack(
        [
            genome_of(space, tp=4, pp=4),  # 16 GPUs per replica, limit 8
            genome_of(space, tp=2, replicas=8),  # 16 GPUs on an 8-GPU cluster
            genome_of(space, cluster_index=1, tp=8),  # TP 8 on 4-GPU nodes (and 8 GPUs on a 4-GPU cluster)
            genome_of(space, seqs=1024, tokens=2048),  # allowed: the budget covers every sequence
            genome_of(space, tp=2, pp=4),  # exactly at both limits
        ]
    )
    rules = structural_violations(space, genomes)
    assert rules["gpus_per_replica"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert rules["cluster_gpus"].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert rules["tensor_parallel_within_node"].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert rules["batched_tokens_per_seq"].tolist() == [0.0] * 5


def test_every_structural_rule_is_in_the_structural_tier() -> None:
    space = space_for()
    assert structural_violations(space, genome_of(space)[None, :]).keys() == STRUCTURAL_RULES


def test_near_misses_are_ordered_by_tier_then_total_violation() -> None:
    # An undeployable layout, then a config that cannot run, then a target missed by far: the order is by tier.
    rows = {
        "cluster_gpus": np.array([0.01, 0.0, 0.0, 0.0]),
        "memory": np.array([0.0, 0.02, 0.0, 0.0]),
        "max_latency_ms": np.array([0.0, 0.0, 500.0, 3.0]),
    }
    evaluation = Evaluation(np.ones((4, 3)), rows)
    assert evaluation.violation.tolist() == [0.01, 0.02, 500.0, 3.0]
    assert evaluation.severity.tolist() == [STRUCTURAL_TIER + 0.01, RUNNABLE_TIER + 0.02, 500.0, 3.0]
    assert np.argsort(evaluation.severity).tolist() == [3, 2, 1, 0]


def test_high_availability_is_enforced_even_on_a_hand_built_space() -> None:
    space = space_for()
    ha = replace(space, require_high_availability=True)  # replicas=1 is still an option
    rules = structural_violations(ha, np.stack([genome_of(ha, replicas=1), genome_of(ha, replicas=2)]))
    assert rules["high_availability"].tolist() == [0.5, 0.0]


def test_a_token_budget_below_max_num_seqs_is_a_violation() -> None:
    space = space_for(max_num_seqs=(4096,), max_num_batched_tokens=(2048,))
    assert structural_violations(space, np.zeros((1, len(Gene)), dtype=np.int64))["batched_tokens_per_seq"][0] == 1.0


# ---------------------------------------------------------------- the analytical evaluator


def test_cost_per_hour_pays_for_every_gpu_of_every_pipeline_stage_and_replica() -> None:
    space = space_for()
    price = option().cluster.cost_per_gpu_hour
    genomes = np.stack(
        [genome_of(space, tp=2, pp=1, replicas=2), genome_of(space, tp=2, pp=2, replicas=2), genome_of(space, tp=1)]
    )
    objectives = analytical_evaluator(arch(LLAMA_8B), CHAT, Engine.VLLM)(space, genomes).objectives
    assert objectives[:, 2].tolist() == pytest.approx([4 * price, 8 * price, price])
    assert objectives[1, 2] == pytest.approx(2 * objectives[0, 2])  # the PP=2 twin costs twice as much
    assert cost_per_hour(space, genomes).tolist() == pytest.approx(objectives[:, 2].tolist())


def test_a_config_whose_weights_do_not_fit_violates_memory_by_its_relative_shortfall() -> None:
    # Llama-3.1-70B in BF16 is ~141 GB: nowhere near one H100's ~76 GB budget at 0.9, comfortable on four.
    model = arch("meta-llama/Llama-3.1-70B-Instruct")
    space = space_for(model)
    genomes = np.stack([genome_of(space, tp=1), genome_of(space, tp=4)])
    evaluation = analytical_evaluator(model, CHAT, Engine.VLLM)(space, genomes)
    memory = evaluation.violations["memory"]
    assert 0.8 < memory[0] < 1.0  # ~65 GB short of ~76 GB
    assert memory[1] == 0.0
    assert evaluation.objectives[0, 0] == 0.0
    assert evaluation.objectives[0, 1] == np.inf
    assert evaluation.metrics["memory_fits"].tolist() == [0.0, 1.0]


def test_targets_are_relative_overshoots_and_an_unservable_config_misses_them_entirely() -> None:
    space = space_for()
    genomes = np.stack([genome_of(space, tp=1), genome_of(space, tp=1, replicas=8)])
    free = analytical_evaluator(arch(LLAMA_8B), CHAT, Engine.VLLM)(space, genomes)
    p99 = free.objectives[:, 1]
    limit = float(p99.max()) / 2
    wanted = float(free.objectives[:, 0].max()) * 2
    targets = Targets(max_latency_ms=limit, min_throughput_tps=wanted)
    bound = analytical_evaluator(arch(LLAMA_8B), CHAT, Engine.VLLM, targets)(space, genomes)
    assert bound.violations["max_latency_ms"].tolist() == pytest.approx(np.maximum(p99 / limit - 1, 0).tolist())
    assert bound.violations["min_throughput_tps"].tolist() == pytest.approx(
        (1 - free.objectives[:, 0] / wanted).tolist()
    )
    # Nothing fits on one GPU for 70B: its latency is infinite, so the latency target counts as missed by 1.
    model = arch("meta-llama/Llama-3.1-70B-Instruct")
    out_of_memory = analytical_evaluator(model, CHAT, Engine.VLLM, targets)(space_for(model), genomes[:1])
    assert out_of_memory.violations["max_latency_ms"].tolist() == [1.0]


def test_an_open_loop_beyond_capacity_is_infeasible_by_its_missing_share() -> None:
    flood = Workload(input_tokens=1024, output_tokens=256, request_rate=500.0)
    space = space_for()
    evaluation = analytical_evaluator(arch(LLAMA_8B), flood, Engine.VLLM)(space, genome_of(space)[None, :])
    capacity = evaluation.metrics["capacity_requests_per_s"][0]
    assert evaluation.violations["capacity"][0] == pytest.approx(1 - capacity / 500.0)
    assert 0.5 < evaluation.violations["capacity"][0] < 1.0


# ---------------------------------------------------------------- scoring failures


@dataclass(frozen=True)
class Flaky:
    """Looks best of all where it is broken: NaN latency with huge throughput for TP 2, an exception for TP 4."""

    def __call__(self, space: SearchSpace, genomes: IntArray) -> Evaluation:
        batch, _ = decode(space, genomes)
        if (batch.tensor_parallel == 4).any():
            raise RuntimeError("model blew up")
        tp2 = batch.tensor_parallel == 2
        objectives = np.column_stack(
            [np.where(tp2, 1e12, 100.0), np.where(tp2, np.nan, 50.0), np.where(tp2, 0.0, 10.0)]
        )
        return Evaluation(objectives, {"memory": np.zeros(len(batch))})


def test_a_failed_evaluation_scores_as_the_worst_infeasible_never_the_best() -> None:
    space = space_for()
    genomes = np.stack([genome_of(space, tp=1), genome_of(space, tp=2), genome_of(space, tp=4)])
    scored = score(space, Flaky(), genomes)
    assert scored.violation.tolist() == [0.0, np.inf, np.inf]
    assert scored.severity.tolist() == [0.0, np.inf, np.inf]
    assert scored.violations[FAILED].tolist() == [0.0, np.inf, np.inf]
    assert scored.objectives[0].tolist() == [100.0, 50.0, 10.0]  # the healthy row keeps its scores
    assert scored.objectives[1].tolist() == [0.0, np.inf, np.inf]
    assert scored.objectives[2].tolist() == [0.0, np.inf, np.inf]


def test_a_feasible_row_with_an_infinite_objective_counts_as_failed() -> None:
    class Inconsistent:
        def __call__(self, space: SearchSpace, genomes: IntArray) -> Evaluation:
            return Evaluation(np.array([[1.0, np.inf, 1.0]]), {})

    space = space_for()
    assert score(space, Inconsistent(), genome_of(space)[None, :]).violation.tolist() == [np.inf]
