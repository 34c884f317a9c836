"""How the three serving engines differ, as far as the analytical model can tell them apart.

Two kinds of difference are modelled:

1. Scheduling, from each engine's documented defaults:
   - vLLM (V1): chunked prefill is always on and prefill chunks share a step with the running decodes, which are
     scheduled first (`vllm/v1/core/sched/scheduler.py`); KV blocks are allocated as sequences grow and a sequence is
     preempted (recomputed) when none are left, so a sequence holds on average its prompt plus half its output.
     Defaults on >= 70 GB GPUs: max_num_batched_tokens 8192, max_num_seqs 1024 (`EngineArgs.get_batch_defaults`).
   - SGLang: a step is either a prefill batch or a decode batch; waiting prefills go first and pause the decodes
     (mixed chunks only with `--enable-mixed-chunk`, off by default). Admission reserves future tokens with
     `new_token_ratio`, initially 0.7 of each request's remaining output (`SGLANG_INIT_NEW_TOKEN_RATIO`).
     chunked_prefill_size 8192 on 80 GB-class GPUs.
   - TensorRT-LLM: in-flight batching mixes context and generation requests in one step; the default capacity
     scheduler policy GUARANTEED_NO_EVICT admits a request only when its prompt plus its full output fit, so it never
     preempts. max_num_tokens 8192, max_batch_size 2048 (trtllm-serve defaults).

2. Kernel speed: what remains once scheduling is modelled, measured on the aiconfigurator silicon benchmarks
   (`../shared/data/aiconfigurator_silicon_train.csv`, mode == agg) by pairing rows that share model, GPU,
   precision, parallelism (tp, attention-dp, moe-tp, moe-ep), ISL, OSL and concurrency and differ only in engine:
   - TensorRT-LLM / vLLM: 304 pairs (Llama-3.1-70B FP8 and FP4 on H200/B200, gpt-oss-120b on H200/B200). TPOT ratio
     median 0.90 (p25 0.84, p75 0.95); TTFT ratio median 0.94, but 1.7-3.4x at 1024/1024 for small TP, which is the
     GUARANTEED_NO_EVICT/whole-prompt scheduling rather than kernel speed.
   - SGLang / TensorRT-LLM: 110 pairs (DeepSeek-V3 and R1, one architecture, FP8 and FP4 on H200/B200). TPOT ratio
     median 1.05 overall (p25 0.87, p75 1.30), 0.88 on FP8 (51 pairs) and 1.27 on FP4 (59 pairs, SGLang's FP4 MoE
     path was younger); TTFT ratio median 1.70.
   - No row pairs SGLang with vLLM directly; chaining through TensorRT-LLM gives SGLang/vLLM TPOT 0.903 x 1.052 =
     0.95.
   The factors below multiply kernel time (compute- and memory-bound parts of a step), separately for decode and
   prefill tokens; bench/accuracy.py prints these pairings again so they can be re-derived when the data grows.

3. Front-end latency (`request_overhead_s`): the time a request spends outside engine steps (HTTP, tokenisation,
   admission, streaming the first token). It is the median of measured TTFT minus the analytical TTFT over the
   aiconfigurator rows at low load (concurrency <= 8, concurrency x ISL <= 8192) whose parallelism BudSim expresses
   (no attention data parallelism or expert parallelism), where queueing cannot explain the difference: vLLM 41 ms
   (229 rows, p25 27, p75 74), TensorRT-LLM 111 ms (161 rows, p25 44, p75 175), SGLang 233 ms (137 rows, p25 176,
   p75 299).
"""

from dataclasses import dataclass

from budsim.core.types import Engine


@dataclass(frozen=True, slots=True)
class EngineProfile:
    engine: Engine
    decode_kernel_factor: float  # multiplies the roofline time of decode tokens (1.0 = vLLM)
    prefill_kernel_factor: float  # multiplies the roofline time of prefill tokens
    step_overhead_s: float  # host time per step (scheduling, input preparation, sampling), overlapped with the GPU's
    per_seq_overhead_s: float  # host time per running sequence per step (sampling, detokenisation, output handling)
    request_overhead_s: float  # time a request spends outside engine steps: HTTP, tokenisation, first-token streaming
    mixes_prefill_with_decode: bool  # False: a prefill step pauses every decode (SGLang)
    reserves_kv_at_admission: bool  # admit only if prompt + reserved share of the output fits (no preemption)
    kv_reserved_output_fraction: float  # share of a request's output its KV holds on average (reserved or grown)
    default_max_num_batched_tokens: int
    default_max_num_seqs: int


# Per-step host time (scheduling, input preparation, sampling) and its per-sequence part are not measured by any
# shared table; the engines overlap it with the GPU's step (`step.step_time` takes the longer of the two). 1 ms and
# 4 us per sequence for vLLM and SGLang (0.7 ms and 2 us for the C++ executor of TensorRT-LLM) bound the shortest
# steps, those of small shards at low batch.
ENGINES: dict[Engine, EngineProfile] = {
    Engine.VLLM: EngineProfile(
        engine=Engine.VLLM,
        decode_kernel_factor=1.0,
        prefill_kernel_factor=1.0,
        step_overhead_s=1.0e-3,
        per_seq_overhead_s=4.0e-6,
        request_overhead_s=0.041,
        mixes_prefill_with_decode=True,
        reserves_kv_at_admission=False,
        kv_reserved_output_fraction=0.5,
        default_max_num_batched_tokens=8192,
        default_max_num_seqs=1024,
    ),
    Engine.SGLANG: EngineProfile(
        engine=Engine.SGLANG,
        decode_kernel_factor=0.95,
        prefill_kernel_factor=1.0,
        step_overhead_s=1.0e-3,
        per_seq_overhead_s=4.0e-6,
        request_overhead_s=0.233,
        mixes_prefill_with_decode=False,
        reserves_kv_at_admission=True,
        kv_reserved_output_fraction=0.7,
        default_max_num_batched_tokens=8192,
        default_max_num_seqs=1024,
    ),
    Engine.TRTLLM: EngineProfile(
        engine=Engine.TRTLLM,
        decode_kernel_factor=0.90,
        prefill_kernel_factor=0.94,
        step_overhead_s=0.7e-3,
        per_seq_overhead_s=2.0e-6,
        request_overhead_s=0.111,
        mixes_prefill_with_decode=True,
        reserves_kv_at_admission=True,
        kv_reserved_output_fraction=1.0,
        default_max_num_batched_tokens=8192,
        default_max_num_seqs=2048,
    ),
}


def engine_profile(engine: Engine) -> EngineProfile:
    return ENGINES[engine]
