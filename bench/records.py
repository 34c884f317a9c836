"""Max-throughput picks against published maximum throughputs that BudSim never trained on.

TensorRT-LLM's performance overview (docs/source/performance/perf-overview.md, the tables for v1.0; trtllm-bench
throughput: every request queued at once, uniform lengths, ModelOpt FP8 checkpoints, the PyTorch backend) publishes
total output tokens/s per model, GPU, TP degree and ISL/OSL. For each row whose model and GPU BudSim knows and whose
precision it expresses (FP8 weights and, as ModelOpt's FP8 checkpoints quantize it too, an FP8 KV cache; the FP4
rows need an FP4 dtype BudSim lacks), the search runs on exactly that many GPUs of one replica with 4,096 requests in
flight and no target, and the predicted throughput of its pick (the most output per second as judged: the pessimistic
end where confidence is low) is set beside the record. These figures are a check, not training data: nothing here is
in data/benchmarks.csv.

Run: .venv/bin/python bench/records.py [--method REGRESSOR|HEURISTIC]
"""

import argparse
from dataclasses import dataclass

import numpy as np

from budsim.cli.render import table
from budsim.core.architecture import parse_hf_config
from budsim.core.catalog.fabrics import catalog_cluster
from budsim.core.catalog.gpus import GPUS
from budsim.core.catalog.models import CATALOG_BY_ID
from budsim.core.deployment import Workload
from budsim.core.methods import STRATEGIES
from budsim.core.predictors import ResidualRegressor
from budsim.core.search import ClusterOption, Targets, optimize
from budsim.core.search.evaluators import ServingEvaluator
from budsim.core.search.space import build_space
from budsim.core.types import Dtype, Engine, Method
from budsim.regressor.training import DEFAULT_MODEL, load_or_train

SOURCE = "https://github.com/NVIDIA/TensorRT-LLM/blob/main/docs/source/performance/perf-overview.md"


@dataclass(frozen=True)
class Record:
    model: str
    gpu: str
    tp: int
    input_tokens: int
    output_tokens: int
    output_tokens_per_s: float


# The FP8 rows of the overview's tables for models in BudSim's catalog (Llama 3.3 70B is Llama 3.1 70B's
# architecture).
RECORDS = (
    *(
        Record("meta-llama/Llama-3.1-8B-Instruct", gpu, 1, isl, osl, tps)
        for gpu, rows in (
            ("H200-SXM", ((128, 128, 27911), (128, 2048, 26221), (1000, 1000, 17744), (2048, 128, 3538),
                          (2048, 2048, 12194), (5000, 500, 3902))),
            ("H100-SXM", ((128, 128, 28312), (128, 2048, 22714), (1000, 1000, 15220), (2048, 128, 3450),
                          (2048, 2048, 9305), (5000, 500, 3459))),
        )
        for isl, osl, tps in rows
    ),
    *(
        Record("meta-llama/Llama-3.1-70B-Instruct", gpu, tp, isl, osl, tps)
        for gpu, tp, rows in (
            ("H200-SXM", 1, ((128, 2048, 4336), (1000, 1000, 2909), (2048, 128, 442), (2048, 2048, 2003))),
            ("H100-SXM", 2, ((128, 2048, 6651), (1000, 1000, 4205), (2048, 128, 762), (2048, 2048, 3082))),
        )
        for isl, osl, tps in rows
    ),
    *(
        Record("meta-llama/Llama-3.1-405B-Instruct", gpu, 8, isl, osl, tps)
        for gpu, rows in (
            ("H200-SXM", ((128, 2048, 5348), (1000, 1000, 3330), (2048, 128, 456), (2048, 2048, 2948))),
            ("H100-SXM", ((128, 2048, 4340), (1000, 1000, 2919), (2048, 128, 453), (2048, 2048, 2296))),
        )
        for isl, osl, tps in rows
    ),
)  # fmt: skip


def _pick(record: Record, regressor: ResidualRegressor | None, seed: int) -> float | None:
    arch = parse_hf_config(CATALOG_BY_ID[record.model].config)
    options = [ClusterOption(catalog_cluster(GPUS[record.gpu], record.tp), record.gpu)]
    workload = Workload(record.input_tokens, record.output_tokens, concurrency=4096)
    length = record.input_tokens + record.output_tokens
    space = build_space(arch, options, [Dtype.FP8], max_model_len=max(length, 4096), max_replicas=1,
                        max_gpus_per_replica=record.tp, kv_cache_dtype=Dtype.FP8)  # fmt: skip
    evaluator = ServingEvaluator(arch, workload, Engine.TRTLLM, Targets(), regressor)
    result = optimize(space, evaluator, population=50, generations=60, seed=seed)
    if not result.pareto:
        return None
    # The pick: with cost fixed, the most output per second as judged (the pessimistic end where confidence is low);
    # what it is predicted to serve is its point.
    pick = max(result.pareto, key=lambda candidate: candidate.output_tokens_per_s)
    return pick.metrics["output_tokens_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="REGRESSOR", choices=("REGRESSOR", "HEURISTIC"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, ratios = [], []
    regressor = load_or_train(DEFAULT_MODEL) if STRATEGIES[Method(args.method)].uses_regressor else None
    for record in RECORDS:
        predicted = _pick(record, regressor, args.seed)
        ratio = predicted / record.output_tokens_per_s if predicted else float("nan")
        ratios.append(ratio)
        lengths = f"{record.input_tokens}/{record.output_tokens}"
        rows.append((record.model.split("/")[-1], record.gpu, record.tp, lengths, f"{record.output_tokens_per_s:,.0f}",
                     f"{predicted:,.0f}" if predicted else "-", f"{ratio:.2f}"))  # fmt: skip
    print(f"{args.method} max-throughput picks (TensorRT-LLM, FP8, 4,096 in flight) vs published records ({SOURCE})")
    print(table(("model", "gpu", "tp", "isl/osl", "published tok/s", "BudSim tok/s", "ratio"), rows))
    finite = np.array([r for r in ratios if np.isfinite(r)])
    within = int(np.sum(np.abs(finite - 1.0) <= 0.25))
    print(f"\nwithin 25% of the record: {within} of {len(finite)}; median ratio {np.median(finite):.2f} "
          f"(p10 {np.percentile(finite, 10):.2f}, p90 {np.percentile(finite, 90):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
