"""What a job's progress carries of its front: an even sample of at most 64 points that always fits a NOTIFY."""

import itertools
import json
import uuid

from budsim.core.catalog.gpus import GPUS
from budsim.core.deployment import ServingConfig
from budsim.core.launch import launch_command, vllm_args
from budsim.core.search.nsga2 import FrontPoint
from budsim.core.types import Dtype, Engine
from budsim.db.documents import PlacedConfig, Progress, progress_document, read_progress
from budsim.jobs.news import NOTIFY_LIMIT
from budsim.jobs.request import PROGRESS_FRONT_POINTS, front_sample
from tests import factories


def front(size: int) -> list[FrontPoint]:
    return [FrontPoint(100.0 + i, 1000.0 + 7 * i, 10.0 + i / 4) for i in range(size)]  # 4 digits or fewer


def test_a_small_front_is_sent_whole() -> None:
    assert front_sample(front(5)) == tuple(front(5))


def test_a_large_front_is_thinned_evenly_keeping_both_ends() -> None:
    points = front(1000)
    sample = front_sample(points)
    assert len(sample) == PROGRESS_FRONT_POINTS == 64
    assert sample[0] == points[0]
    assert sample[-1].output_tokens_per_s == points[-1].output_tokens_per_s
    gaps = [b.output_tokens_per_s - a.output_tokens_per_s for a, b in itertools.pairwise(sample)]
    assert max(gaps) - min(gaps) <= 1.0  # evenly: 999 / 63 = 15.86 apart, rounded to whole indices


def test_values_are_rounded_to_four_significant_digits_and_unbounded_points_left_out() -> None:
    sample = front_sample([FrontPoint(123456.789, 0.00123456, 98.7654), FrontPoint(10.0, float("inf"), 1.0)])
    assert sample == (FrontPoint(123500.0, 0.001235, 98.77),)


def test_the_largest_progress_event_fits_a_notify_payload() -> None:
    """64 points of the longest numbers JSON writes, beside a best config whose model name is 300 characters long:
    the message as PostgresJobNews sends it stays under NOTIFY_LIMIT with nothing dropped."""
    model = "org/" + "m" * 296
    config = ServingConfig(8, 16, 65536, 1048576, 0.95, 1048576, 1024, Dtype.FP8, Dtype.FP8)
    arch = factories.arch("meta-llama/Llama-3.1-70B-Instruct")
    widest = FrontPoint(1.234e-05, 123456789.0, 0.0001234)
    progress = Progress(
        attempt=3,
        generation=100,
        evaluations=123456,
        elapsed_ms=299999.9,
        best_output_tokens_per_s=123456.789012,
        best_e2e_latency_p99_ms=1234567.891234,
        best_cost_per_hour=12345.678912,
        pareto_front_size=5000,
        min_violation=0.123456,
        best_config=PlacedConfig(
            config=config,
            gpu_type="A100-80GB-SXM",
            hardware_profile_id=uuid.uuid4(),
            launch_command=launch_command(Engine.TRTLLM, model, arch, GPUS["H100-SXM"], config),
            vllm_args=vllm_args(model, config),
        ),
        pareto_front=front_sample([widest] * 500),
    )
    message = {
        "kind": "progress",
        "job_id": str(uuid.uuid4()),
        "status": "RUNNING",
        "progress": progress_document(progress),
    }
    payload = json.dumps(message, separators=(",", ":")).encode()
    assert len(payload) < NOTIFY_LIMIT, len(payload)
    assert len(read_progress(message["progress"]).pareto_front) == 64
