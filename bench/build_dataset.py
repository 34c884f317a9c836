"""Convert the shared public benchmark files into BudSim's own dataset, `data/benchmarks.csv`.

One output row = one measurement, with its public origin in `source`. Inputs (see ../shared/data/SOURCES.md):

- aiconfigurator_silicon_train.csv (ai-dynamo/aiconfigurator, Apache-2.0,
  aic-core/src/aiconfigurator_core/systems/silicon_sample.csv): closed-loop serving benchmarks; only `mode == agg`
  rows (one engine does prefill and decode) are kept. E2E and output throughput follow from the file's definitions:
  e2e = ttft + tpot (osl - 1), output tokens/s = concurrency x osl / e2e.
- splitwise_perf_model_h100.csv (Mutinifni/splitwise-sim, MIT, data/perf_model.csv): static batches, all rows kept
  and marked `static_batch`; concurrency = batch size, ttft = prompt_time (prefill of the whole batch), tpot =
  token_time (one decode step). The file's e2e_time does not match its own step times once token_size exceeds 128
  (it corresponds to ~130-170 generated tokens whatever token_size says) nor on the batch-64 llama2-70b rows, so e2e
  is derived as prompt_time + token_time x (token_size - 1) and output tokens/s as batch x token_size / e2e. The
  `-pcap` hardware variant ran power-capped and is marked in `source`.

Run: .venv/bin/python bench/build_dataset.py [--shared DIR] [--out data/benchmarks.csv]

`--shared` defaults to ../shared/data, resolved from the repository root (this file's parent's parent).
"""

import argparse
import csv
from collections.abc import Iterator
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPOSITORY.parent / "shared" / "data"  # ../shared/data seen from the repository root

AICONFIGURATOR = "ai-dynamo/aiconfigurator:aic-core/src/aiconfigurator_core/systems/silicon_sample.csv"
SPLITWISE = "Mutinifni/splitwise-sim:data/perf_model.csv"

# aiconfigurator system names -> GPU catalog names (budsim/core/catalog/gpus.py).
GPU_NAMES = {
    "h100_sxm": "H100-SXM",
    "h200_sxm": "H200-SXM",
    "b200_sxm": "B200",
    "b300_sxm": "B300",
    "gb200": "GB200",
    "gb300": "GB300",
    "h100-80gb": "H100-SXM",
    "h100-80gb-pcap": "H100-SXM",
}
# Weight precision as BudSim's Dtype names. fp4 (NVFP4 on Blackwell, MXFP4 gpt-oss weights) has no Dtype yet: kept
# as "FP4" so the dataset stays truthful; the accuracy script decides how to approximate it.
PRECISIONS = {"": "BF16", "bf16": "BF16", "fp8": "FP8", "fp4": "FP4", "int4": "INT4"}
SPLITWISE_MODELS = {"llama2-70b": "meta-llama/Llama-2-70b-hf", "bloom-176b": "bigscience/bloom"}

COLUMNS = (
    "source",
    "model",
    "gpu",
    "gpu_count",
    "tp",
    "pp",
    "attention_dp",
    "moe_tp",
    "moe_ep",
    "precision",
    "kv_dtype",
    "engine",
    "engine_version",
    "input_tokens",
    "output_tokens",
    "concurrency",
    "request_rate",
    "static_batch",
    "ttft_ms",
    "tpot_ms",
    "e2e_ms",
    "output_tokens_per_s",
)


def _int(text: str, default: int = 1) -> int:
    """aiconfigurator leaves parallelism blank (or 0) where a dimension is unused."""
    return int(text) if text and int(text) > 0 else default


def _num(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def aiconfigurator_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["mode"] != "agg":
                continue
            tp, dp = _int(row["tp_size"]), _int(row["attention_dp_size"])
            moe_tp, moe_ep = _int(row["moe_tp_size"]), _int(row["moe_ep_size"])
            osl, concurrency = int(row["osl"]), int(row["batch_size"])
            ttft, tpot = float(row["silicon_ttft_ms"]), float(row["silicon_tpot_ms"])
            e2e = ttft + tpot * (osl - 1)
            yield {
                "source": f"{AICONFIGURATOR}#id={row['id']}; {row['silicon_data_source']}",
                "model": row["model_path"],
                "gpu": GPU_NAMES[row["system"]],
                "gpu_count": str(max(tp * dp, moe_tp * moe_ep)),
                "tp": str(tp),
                "pp": str(_int(row["pp_size"])),
                "attention_dp": str(dp),
                "moe_tp": str(moe_tp),
                "moe_ep": str(moe_ep),
                "precision": PRECISIONS[row["precision"]],
                "kv_dtype": "",  # not recorded by the source
                "engine": row["backend"].upper(),
                "engine_version": row["backend_version"],
                "input_tokens": row["isl"],
                "output_tokens": row["osl"],
                "concurrency": str(concurrency),
                "request_rate": "",
                "static_batch": "0",
                "ttft_ms": _num(ttft),
                "tpot_ms": _num(tpot),
                "e2e_ms": _num(e2e),
                "output_tokens_per_s": _num(concurrency * osl / e2e * 1e3),
            }


def splitwise_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            batch, tokens = int(row["batch_size"]), int(row["token_size"])
            e2e = float(row["prompt_time"]) + float(row["token_time"]) * (tokens - 1)
            capped = "; power-capped" if row["hardware"].endswith("pcap") else ""
            tp = row["tensor_parallel"]
            yield {
                "source": f"{SPLITWISE}#line={line}; hardware={row['hardware']}{capped}",
                "model": SPLITWISE_MODELS[row["model"]],
                "gpu": GPU_NAMES[row["hardware"]],
                "gpu_count": tp,
                "tp": tp,
                "pp": "1",
                "attention_dp": "1",
                "moe_tp": "1",
                "moe_ep": "1",
                "precision": "FP16",
                "kv_dtype": "FP16",
                "engine": "VLLM",  # Splitwise profiled with its vLLM fork (Patel et al., ISCA 2024)
                "engine_version": "splitwise-fork",
                "input_tokens": row["prompt_size"],
                "output_tokens": str(tokens),
                "concurrency": str(batch),
                "request_rate": "",
                "static_batch": "1",
                "ttft_ms": _num(float(row["prompt_time"])),
                "tpot_ms": _num(float(row["token_time"])),
                "e2e_ms": _num(e2e),
                "output_tokens_per_s": _num(batch * tokens / e2e * 1e3),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="folder holding the shared data")
    parser.add_argument("--out", type=Path, default=REPOSITORY / "data" / "benchmarks.csv")
    args = parser.parse_args()
    if not args.shared.is_dir():
        parser.error(f"no shared data at {args.shared}; pass --shared with the folder that holds SOURCES.md")
    rows = [
        *aiconfigurator_rows(args.shared / "aiconfigurator_silicon_train.csv"),
        *splitwise_rows(args.shared / "splitwise_perf_model_h100.csv"),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows ({args.out.stat().st_size / 1e6:.2f} MB) to {args.out}")


if __name__ == "__main__":
    main()
