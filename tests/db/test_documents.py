"""The stored JSON documents: every kind reads back as written, and rows stored before documents had a version read.

The literal documents below are exactly what the code wrote before `budsim.db.documents` versioned them (version 1,
no `version` key); they stand for the rows already in every database, so they must never be edited to match new
code.
"""

import json
import uuid
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from budsim.core.artifacts import Artifacts
from budsim.core.deployment import ServingConfig, Workload
from budsim.core.heuristic import PartialConfig
from budsim.core.optimization import BindingTarget, Constraints
from budsim.core.predictors import ConfidenceReason, ReasonKind
from budsim.core.results import Interval, MemoryFootprint, Metrics
from budsim.core.search import Targets
from budsim.core.search.nsga2 import FrontPoint
from budsim.core.simulation import Prediction
from budsim.core.types import Dtype, Engine, JobStatus, Method
from budsim.db.documents import (
    DOCUMENT_VERSION,
    EndpointSettings,
    JobRequest,
    OptimizationAnswer,
    ParetoEntry,
    PlacedConfig,
    Progress,
    SimulateRequest,
    StoredSimulation,
    UnreadableDocument,
    artifacts_document,
    endpoint_settings_document,
    optimal_config_document,
    optimization_result_document,
    prediction_result_document,
    progress_document,
    read_artifacts,
    read_endpoint_settings,
    read_optimal_config,
    read_optimization_result,
    read_progress,
    read_request,
    read_simulate_request,
    read_simulation,
    request_document,
    simulate_input_document,
    version_of,
    without_version,
)
from budsim.db.models import HardwareProfileRow, ModelRow, SimulationRow
from tests.conftest import gql_data

PROFILE_ID = uuid.UUID("0b6c1f9e-55d4-4b3f-9a51-2f1f3c7a9e10")
MODEL_ID = uuid.UUID("5d0c8a7e-2b8f-4f0e-8c53-1e4b6f2a9d31")

CONFIG = ServingConfig(
    tensor_parallel=2,
    pipeline_parallel=1,
    max_num_seqs=128,
    max_num_batched_tokens=8192,
    gpu_memory_utilization=0.9,
    max_model_len=4096,
    replicas=4,
    weight_dtype=Dtype.FP8,
    kv_cache_dtype=Dtype.BF16,
)
METRICS = Metrics(
    ttft_mean_ms=61.2,
    ttft_p50_ms=58.9,
    ttft_p99_ms=140.5,
    tpot_ms=9.75,
    e2e_latency_mean_ms=2011.3,
    e2e_latency_p50_ms=1998.0,
    e2e_latency_p99_ms=2390.4,
    output_tokens_per_s=1591.1,
    total_tokens_per_s=9546.6,
    requests_per_s=7.9556,
    cost_per_hour=23.92,
    cost_per_million_tokens=4.1762,
)
LOW = Metrics(50.1, 48.0, 110.2, 8.1, 1701.0, 1690.2, 2002.7, 1301.5, 7809.0, 6.5075, 23.92, 3.4155)
HIGH = Metrics(75.3, 72.2, None, 11.9, 2460.8, 2443.1, None, 1880.2, 11281.2, 9.401, 23.92, 5.1072)
INTERVAL = Interval(p10=LOW, p90=HIGH)
MEMORY = MemoryFootprint(
    weights_gb_per_gpu=4.29,
    kv_cache_gb_per_gpu=62.1,
    activation_gb_per_gpu=1.2,
    overhead_gb_per_gpu=2.4,
    total_gb_per_gpu=69.99,
    kv_cache_tokens=508_000,
    max_num_seqs_at_max_model_len=124,
    fits=True,
)
WORKLOAD = Workload(input_tokens=1000, output_tokens=200, concurrency=16.0)
PLACED = PlacedConfig(
    config=CONFIG,
    gpu_type="H100-SXM",
    hardware_profile_id=PROFILE_ID,
    launch_command="vllm serve org/model --tensor-parallel-size 2  # x4 replicas",
    vllm_args="--tensor-parallel-size 2 --max-num-seqs 128",
)

# ---------------------------------------------------------------- version 1: the layouts already stored

CONFIG_V1 = {
    "tensor_parallel_size": 2,
    "pipeline_parallel_size": 1,
    "max_num_seqs": 128,
    "max_num_batched_tokens": 8192,
    "gpu_memory_utilization": 0.9,
    "max_model_len": 4096,
    "replicas": 4,
    "weight_dtype": "FP8",
    "kv_cache_dtype": "BF16",
}
METRICS_V1 = {
    "ttft_mean_ms": 61.2,
    "ttft_p50_ms": 58.9,
    "ttft_p99_ms": 140.5,
    "tpot_ms": 9.75,
    "e2e_latency_mean_ms": 2011.3,
    "e2e_latency_p50_ms": 1998.0,
    "e2e_latency_p99_ms": 2390.4,
    "output_tokens_per_s": 1591.1,
    "total_tokens_per_s": 9546.6,
    "requests_per_s": 7.9556,
    "cost_per_hour": 23.92,
    "cost_per_million_tokens": 4.1762,
    "p10": {
        "ttft_mean_ms": 50.1,
        "ttft_p50_ms": 48.0,
        "ttft_p99_ms": 110.2,
        "tpot_ms": 8.1,
        "e2e_latency_mean_ms": 1701.0,
        "e2e_latency_p50_ms": 1690.2,
        "e2e_latency_p99_ms": 2002.7,
        "output_tokens_per_s": 1301.5,
        "total_tokens_per_s": 7809.0,
        "requests_per_s": 6.5075,
        "cost_per_hour": 23.92,
        "cost_per_million_tokens": 3.4155,
    },
    "p90": {
        "ttft_mean_ms": 75.3,
        "ttft_p50_ms": 72.2,
        "ttft_p99_ms": None,
        "tpot_ms": 11.9,
        "e2e_latency_mean_ms": 2460.8,
        "e2e_latency_p50_ms": 2443.1,
        "e2e_latency_p99_ms": None,
        "output_tokens_per_s": 1880.2,
        "total_tokens_per_s": 11281.2,
        "requests_per_s": 9.401,
        "cost_per_hour": 23.92,
        "cost_per_million_tokens": 5.1072,
    },
}
PREDICTION_RESULT_V1 = {
    "engine": "VLLM",
    "workload": {"input_tokens": 1000, "output_tokens": 200, "concurrency": 16.0, "request_rate": None},
    "metrics": METRICS_V1,
    "memory": {
        "weights_gb_per_gpu": 4.29,
        "kv_cache_gb_per_gpu": 62.1,
        "activation_gb_per_gpu": 1.2,
        "overhead_gb_per_gpu": 2.4,
        "total_gb_per_gpu": 69.99,
        "kv_cache_tokens": 508000,
        "max_num_seqs_at_max_model_len": 124,
        "fits": True,
    },
    "warnings": ["the KV cache of 4 replica(s) holds 12 concurrent 1200-token requests"],
}
PLACED_V1 = {
    **CONFIG_V1,
    "gpu_type": "H100-SXM",
    "hardware_profile_id": str(PROFILE_ID),
    "launch_command": "vllm serve org/model --tensor-parallel-size 2  # x4 replicas",
    "vllm_args": "--tensor-parallel-size 2 --max-num-seqs 128",
}
OPTIMIZATION_RESULT_V1 = {
    "kind": "optimization",
    "status": "SUCCEEDED",
    "engine": "VLLM",
    "workload": {"input_tokens": 1000, "output_tokens": 200, "concurrency": 16.0, "request_rate": None},
    "targets": {"max_latency_ms": None, "min_throughput_tps": None, "max_ttft_ms": 500.0, "max_cost_per_hour": None},
    "metrics": METRICS_V1,
    "pareto_front": [{"config": PLACED_V1, "metrics": METRICS_V1}],
    "meets_targets": False,
    "binding_targets": [{"target": "max_ttft_ms", "required": 500.0, "achieved": 612.3}],
    "evaluations": 812,
    "generations": 17,
    "elapsed_ms": 10422.5,
    "warnings": ["no residual regressor is trained yet"],
}
PROGRESS_V1 = {
    "attempt": 1,
    "generation": 3,
    "evaluations": 200,
    "elapsed_ms": 912.4,
    "best_output_tokens_per_s": 1591.1,
    "best_e2e_latency_p99_ms": 2390.4,
    "best_cost_per_hour": 23.92,
    "pareto_front_size": 5,
    "min_violation": 0.0,
    "best_config": PLACED_V1,
}
REQUEST_V1 = {
    "model_id": str(MODEL_ID),
    "hardware_profile_ids": [str(PROFILE_ID)],
    "method": "REGRESSOR",
    "engine": "VLLM",
    "precisions": ["BF16", "FP8"],
    "workload": {"input_tokens": 1000, "output_tokens": 200, "concurrency": 16.0, "request_rate": None},
    "targets": {"max_latency_ms": None, "min_throughput_tps": None, "max_ttft_ms": 500.0, "max_cost_per_hour": None},
    "constraints": {"max_replicas": 10, "max_gpus_per_replica": 8, "require_high_availability": False},
    "seed": 7,
}

ANSWER = OptimizationAnswer(
    status=JobStatus.SUCCEEDED,
    engine=Engine.VLLM,
    workload=WORKLOAD,
    targets=Targets(max_ttft_ms=500.0),
    metrics=METRICS,
    interval=INTERVAL,
    pareto_front=(ParetoEntry(PLACED, METRICS, INTERVAL),),
    meets_targets=False,
    binding_targets=(BindingTarget("max_ttft_ms", 500.0, 612.3),),
    evaluations=812,
    generations=17,
    elapsed_ms=10422.5,
    warnings=("no residual regressor is trained yet",),
)
PROGRESS = Progress(
    attempt=1,
    generation=3,
    evaluations=200,
    elapsed_ms=912.4,
    best_output_tokens_per_s=1591.1,
    best_e2e_latency_p99_ms=2390.4,
    best_cost_per_hour=23.92,
    pareto_front_size=5,
    min_violation=0.0,
    best_config=PLACED,
    pareto_front=(FrontPoint(812.0, 1204.5, 11.96), FrontPoint(1591.1, 2390.4, 23.92)),
)
# What a progress document says now beyond version 1's layout: the front, as rows (PARETO_SAMPLE_FIELDS order).
PROGRESS_FRONT = {"pareto_front": [[812.0, 1204.5, 11.96], [1591.1, 2390.4, 23.92]]}
REQUEST = JobRequest(
    model_id=MODEL_ID,
    hardware_profile_ids=(PROFILE_ID,),
    method=Method.REGRESSOR,
    engine=Engine.VLLM,
    precisions=(Dtype.BF16, Dtype.FP8),
    workload=WORKLOAD,
    targets=Targets(max_ttft_ms=500.0),
    constraints=Constraints(),
    seed=7,
)
PREDICTION = Prediction(
    config=CONFIG,
    metrics=METRICS,
    interval=INTERVAL,
    memory=MEMORY,
    confidence=0.6,
    warnings=("the KV cache of 4 replica(s) holds 12 concurrent 1200-token requests",),
)
STORED_PREDICTION = StoredSimulation(
    config=CONFIG,
    engine=Engine.VLLM,
    workload=WORKLOAD,
    metrics=METRICS,
    interval=INTERVAL,
    memory=MEMORY,
    warnings=PREDICTION.warnings,
)

# What a prediction's or an optimization's result says now beyond version 1's layout: what lowered its confidence.
NO_REASONS: dict[str, Any] = {"confidence_reasons": []}
REASONS = (
    ConfidenceReason(
        ReasonKind.UNSEEN_GPU, 0.8, "No measured run on L40S", "Record a run of this model on L40S with recordBenchmark"
    ),
    ConfidenceReason(ReasonKind.ENSEMBLE_DISAGREEMENT, 0.93, "The ensemble disagrees", "Record runs near it"),
)


def stored(document: dict[str, Any]) -> dict[str, Any]:
    """A document as a JSON column gives it back."""
    return json.loads(json.dumps(document))  # type: ignore[no-any-return]


# ---------------------------------------------------------------- round trips


def test_a_prediction_reads_back_as_written() -> None:
    result = stored(prediction_result_document(PREDICTION, Engine.VLLM, WORKLOAD))
    config = stored(optimal_config_document(CONFIG))
    assert read_simulation(result, config) == STORED_PREDICTION


def test_an_optimization_answer_and_its_pick_read_back_as_written() -> None:
    assert read_optimization_result(stored(optimization_result_document(ANSWER))) == ANSWER
    assert read_optimal_config(stored(optimal_config_document(PLACED))) == PLACED
    unplaced = replace(ANSWER, metrics=None, interval=None, pareto_front=())
    assert read_optimization_result(stored(optimization_result_document(unplaced))) == unplaced


def test_confidence_reasons_read_back_as_written_and_in_their_order() -> None:
    prediction = replace(PREDICTION, confidence_reasons=REASONS)
    result = stored(prediction_result_document(prediction, Engine.VLLM, WORKLOAD))
    assert read_simulation(result, None).confidence_reasons == REASONS
    answer = replace(ANSWER, confidence_reasons=REASONS)
    assert read_optimization_result(stored(optimization_result_document(answer))) == answer


def test_a_reason_of_a_kind_this_code_does_not_know_is_left_out() -> None:
    """Newer code may name a penalty this code lacks: the answer still reads, with the reasons it knows."""
    document = stored(optimization_result_document(replace(ANSWER, confidence_reasons=REASONS)))
    document["confidence_reasons"].insert(0, {"kind": "SOMETHING_NEW", "factor": 0.5, "message": "m", "measure": "x"})
    assert read_optimization_result(document).confidence_reasons == REASONS


def test_progress_reads_back_as_written() -> None:
    assert read_progress(stored(progress_document(PROGRESS))) == PROGRESS
    assert read_progress(stored(progress_document(Progress(attempt=2)))) == Progress(attempt=2)


def test_endpoint_settings_read_back_as_written() -> None:
    settings = EndpointSettings(
        precisions=(Dtype.FP8,),
        workload=WORKLOAD,
        targets=Targets(max_latency_ms=2000.0, min_throughput_tps=100.0),
        constraints=Constraints(max_replicas=4, max_gpus_per_replica=8, require_high_availability=True),
        allowed_gpu_types=("H100", "A100-80GB-SXM"),
        seed=3,
    )
    assert read_endpoint_settings(stored(endpoint_settings_document(settings))) == settings
    defaults = replace(settings, precisions=None, allowed_gpu_types=None)  # the model's own; every profile
    assert read_endpoint_settings(stored(endpoint_settings_document(defaults))) == defaults


def test_deployment_artifacts_read_back_as_written() -> None:
    artifacts = Artifacts("vllm serve m  # 1 replica", "docker run x", "kind: Deployment\n", ("check the tag",))
    document = artifacts_document(artifacts)
    assert document["version"] == DOCUMENT_VERSION
    assert read_artifacts(stored(document)) == artifacts


def test_a_job_request_reads_back_as_written() -> None:
    assert read_request(stored(request_document(REQUEST))) == REQUEST


SIMULATE_REQUEST = SimulateRequest(
    model_id=MODEL_ID,
    hardware_profile_id=PROFILE_ID,
    method=Method.REGRESSOR,
    engine=Engine.SGLANG,
    workload=Workload(input_tokens=1000, output_tokens=200, request_rate=2.5),
    config=PartialConfig(tensor_parallel=4, gpu_memory_utilization=0.85, kv_cache_dtype=Dtype.FP8),
)


def test_a_simulate_request_reads_back_as_written_with_only_the_fields_set() -> None:
    document = simulate_input_document(SIMULATE_REQUEST)
    # The layout every simulate has stored (and the API shows as inputConfig): unset fields absent, no version.
    assert document == {
        "method": "REGRESSOR",
        "engine": "SGLANG",
        "config": {"tensor_parallel_size": 4, "gpu_memory_utilization": 0.85, "kv_cache_dtype": "FP8"},
        "workload": {"input_tokens": 1000, "output_tokens": 200, "request_rate": 2.5},
    }
    assert read_simulate_request(stored(document), MODEL_ID, PROFILE_ID) == SIMULATE_REQUEST


def test_an_optimizations_input_config_is_no_simulate_request() -> None:
    document = {"kind": "optimization", "hardware_profile_ids": [str(PROFILE_ID)], "precisions": ["BF16"], "seed": 0}
    with pytest.raises(KeyError):
        read_simulate_request(document, MODEL_ID, PROFILE_ID)


def test_every_column_document_is_version_1s_layout_marked_with_its_version() -> None:
    written = {
        "prediction": (
            prediction_result_document(PREDICTION, Engine.VLLM, WORKLOAD),
            PREDICTION_RESULT_V1 | NO_REASONS,  # a key added, not a new layout
        ),
        "config": (optimal_config_document(CONFIG), CONFIG_V1),
        "placed": (optimal_config_document(PLACED), PLACED_V1),
        "optimization": (optimization_result_document(ANSWER), OPTIMIZATION_RESULT_V1 | NO_REASONS),
        "progress": (progress_document(PROGRESS), PROGRESS_V1 | PROGRESS_FRONT),  # a key added, not a new layout
        "request": (request_document(REQUEST), REQUEST_V1),
    }
    for kind, (document, v1) in written.items():
        assert document["version"] == DOCUMENT_VERSION == version_of(document), kind
        assert without_version(document) == v1, kind  # so the API's raw JSON fields show what they showed


# ---------------------------------------------------------------- version 1


def test_a_prediction_stored_in_version_1_reads() -> None:
    assert read_simulation(PREDICTION_RESULT_V1, CONFIG_V1) == STORED_PREDICTION
    assert read_simulation(PREDICTION_RESULT_V1, CONFIG_V1).confidence_reasons == ()  # stored before reasons were
    assert version_of(PREDICTION_RESULT_V1) == version_of(CONFIG_V1) == 1


def test_an_optimization_stored_in_version_1_reads() -> None:
    assert read_optimization_result(OPTIMIZATION_RESULT_V1) == ANSWER
    assert read_optimal_config(PLACED_V1) == PLACED
    # the Simulation type's view of it: the pick's config and metrics, no memory
    assert read_simulation(OPTIMIZATION_RESULT_V1, PLACED_V1) == StoredSimulation(
        CONFIG, Engine.VLLM, WORKLOAD, METRICS, INTERVAL, None, ANSWER.warnings
    )


def test_progress_stored_in_version_1_reads() -> None:
    assert read_progress(PROGRESS_V1) == replace(PROGRESS, pareto_front=())  # stored before fronts were reported
    # a job that ended before its first generation was saved: only the outcome's totals
    ended = {"attempt": 1, "generation": 0, "evaluations": 0, "elapsed_ms": 3.2}
    assert read_progress(ended) == Progress(attempt=1, generation=0, evaluations=0, elapsed_ms=3.2)
    # a NOTIFY payload over 8 kB travels without its best config
    assert read_progress({**PROGRESS_V1, "best_config": None}).best_config is None


def test_a_job_request_stored_in_version_1_reads() -> None:
    assert read_request(REQUEST_V1) == REQUEST
    sparse = {**REQUEST_V1, "targets": {}}  # as a hand-written request may say it
    assert read_request(sparse).targets == Targets()


def test_answers_stored_before_later_fields_were_reported_read_with_those_fields_unknown() -> None:
    metrics = {k: v for k, v in METRICS_V1.items() if k not in ("e2e_latency_mean_ms", "p10", "p90")}
    placed = {k: v for k, v in PLACED_V1.items() if k != "launch_command"}
    old = read_optimization_result({**OPTIMIZATION_RESULT_V1, "metrics": metrics})
    assert old.metrics is not None
    assert old.metrics.e2e_latency_mean_ms is None
    assert old.metrics.ttft_p99_ms == METRICS.ttft_p99_ms
    assert old.interval is None
    assert read_optimal_config(placed).launch_command is None
    empty = read_simulation({}, None)  # a row with nothing to say
    assert empty == StoredSimulation(None, None, None, None, None, None, ())


def test_a_document_of_a_version_this_code_does_not_know_is_refused() -> None:
    with pytest.raises(UnreadableDocument):
        read_simulation({**PREDICTION_RESULT_V1, "version": DOCUMENT_VERSION + 1}, CONFIG_V1)
    with pytest.raises(UnreadableDocument):
        read_progress({**PROGRESS_V1, "version": "2"})


# ---------------------------------------------------------------- through the API


SIMULATION = """
query($id: ID!) {
  simulation(id: $id) {
    result optimalConfig
    config { tensorParallelSize maxNumSeqs weightDtype totalGpus }
    engine warnings
    workload { inputTokens concurrency requestRate }
    metrics { ttftP99Ms e2eLatencyMeanMs costPerMillionTokens p10 { ttftP99Ms } p90 { ttftP99Ms } }
    memory { kvCacheTokens fits }
    confidenceLevel confidenceReasons { kind }
  }
}
"""


async def test_a_row_stored_in_version_1_reads_through_the_api_as_one_stored_now(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        model = (await session.scalars(select(ModelRow).limit(1))).one()
        profile = (await session.scalars(select(HardwareProfileRow).limit(1))).one()
        rows = [
            SimulationRow(
                model_id=model.id,
                hardware_profile_id=profile.id,
                method="HEURISTIC",
                input_config={},
                result=result,
                optimal_config=config,
                confidence=0.6,
            )
            for result, config in [
                (PREDICTION_RESULT_V1, CONFIG_V1),
                (prediction_result_document(PREDICTION, Engine.VLLM, WORKLOAD), optimal_config_document(CONFIG)),
            ]
        ]
        session.add_all(rows)
        await session.commit()
    old, new = [(await gql_data(client, SIMULATION, id=str(row.id)))["simulation"] for row in rows]
    assert old | {"result": old["result"] | NO_REASONS} == new  # the raw document gained one key, nothing else
    assert old["confidenceLevel"] == "NEEDS_MORE_DATA"  # from the stored confidence, 0.6
    assert old["confidenceReasons"] == []  # stored before reasons were given
    assert old["result"] == PREDICTION_RESULT_V1
    assert old["optimalConfig"] == CONFIG_V1
    assert old["config"] == {"tensorParallelSize": 2, "maxNumSeqs": 128, "weightDtype": "FP8", "totalGpus": 8}
    assert old["metrics"]["p90"] == {"ttftP99Ms": None}
    assert old["memory"] == {"kvCacheTokens": 508000, "fits": True}
