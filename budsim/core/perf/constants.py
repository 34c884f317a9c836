"""Named efficiency factors of the analytical performance model, each with where its value comes from.

The roofline divides work by *peak x efficiency*; these are the efficiencies. Most were read off aiconfigurator's
measured H100 SXM kernel tables (ai-dynamo/aiconfigurator, `systems/data/h100_sxm/`, kept under
`../shared/data/kernels/`): a GEMM table (vLLM 0.19, 101,003 shapes), a decode-attention table (45,056 shapes)
and an NCCL table. Each factor is a median over the selection quoted next to it (read with pyarrow; efficiency =
FLOPs or bytes of the shape / latency / datasheet peak). Values are deliberately round: they describe kernel
classes, not individual shapes, and the XGBoost residual model of the next stage corrects what a single factor per
class cannot.

Everything here is dimensionless or in seconds/bytes; nothing is engine-specific (see `engines.py` for that).
"""

from types import MappingProxyType

from budsim.core.types import Dtype

# ---------------------------------------------------------------------------------------------------- GEMMs
# A GEMM takes max(FLOPs / (peak x compute efficiency), bytes / (bandwidth x bandwidth efficiency)) plus a fixed
# latency (launch, tail, the pipeline's fill). The three are a least-squares fit (on log time) to aiconfigurator's H100
# vLLM 0.19 GEMM table for the shapes serving runs (n, k in 512..32768, every m the table holds; 18,944 per dtype):
# - BF16/FP16: compute 0.77, bandwidth 0.82, latency 3.7 us; median error 7.5% (p90 21%). The roofline without the
#   latency, as a floor rather than a sum, was 9% too fast in the median and 18% for 16 < m <= 512, the decode and
#   small-chunk shapes a wide TP shard makes.
# - FP8 (per-tensor scaled, cutlass): the prompt-sized shapes (m >= 1024) fit compute 0.52 with 7.2 us, the
#   decode-sized ones (m <= 256) bandwidth 0.71 with 5.8 us; median error 15%. The 0.62 of the largest shapes alone
#   made FP8 prompts 20% too fast. Block-scaled FP8 (DeepSeek's 128x128 scales) is slower again (0.46, 17 us): the
#   residual model absorbs that per checkpoint.
# - INT8 (W8A8 SmoothQuant-style) uses the same cutlass path as FP8: same factors.
# - INT4 weight-only (AWQ/GPTQ via Marlin, W4A16) runs at the BF16 rate. Assumption, no INT4 table is in the shared
#   data: dequantising in the main loop costs it a quarter of the BF16 efficiency once compute-bound (0.77 x 0.75);
#   Marlin reports near-ideal ~4x speed-ups over FP16 up to batch 16-32 (Frantar et al. 2024, arXiv:2408.11743,
#   abstract), close to the FP16 kernels' bandwidth: taken as FP8's 0.71, with FP8's latency.
GEMM_COMPUTE_EFFICIENCY: MappingProxyType[Dtype, float] = MappingProxyType(
    {Dtype.BF16: 0.77, Dtype.FP16: 0.77, Dtype.FP8: 0.52, Dtype.INT8: 0.52, Dtype.INT4: 0.58}
)
GEMM_BANDWIDTH_EFFICIENCY: MappingProxyType[Dtype, float] = MappingProxyType(
    {Dtype.BF16: 0.82, Dtype.FP16: 0.82, Dtype.FP8: 0.71, Dtype.INT8: 0.71, Dtype.INT4: 0.71}
)
GEMM_KERNEL_LATENCY_S: MappingProxyType[Dtype, float] = MappingProxyType(
    {Dtype.BF16: 3.7e-6, Dtype.FP16: 3.7e-6, Dtype.FP8: 6.5e-6, Dtype.INT8: 6.5e-6, Dtype.INT4: 6.5e-6}
)

# Fused MoE kernels (grouped GEMMs over experts with few tokens each, plus token permutation and a weighted reduction)
# run below a dense GEMM moving the same bytes. No MoE kernel table is in the shared data, so this is an assumption
# checked only end to end: with 0.8 the median predicted/measured TPOT of the MoE rows of the aiconfigurator benchmarks
# (0.94 over 962 rows) is within 3% of the dense rows' (0.96 over 811 rows, bench/accuracy.py's "expressible" slice).
# It multiplies both the compute and the bandwidth efficiency of expert GEMMs.
MOE_KERNEL_EFFICIENCY = 0.80

# ---------------------------------------------------------------------------------------------------- attention
# Prefill (FlashAttention-2/3, causal) as a fraction of the BF16 peak. FA3 reaches up to 0.75 of H100 BF16 peak on
# long sequences (Shah et al. 2024, arXiv:2407.08608) and markedly less on short causal ones, where tile waste on the
# mask diagonal dominates; serving prompts sit mostly in the 1-8k range, so 0.5.
ATTENTION_PREFILL_EFFICIENCY = 0.50

# Decode attention streams the KV cache. aiconfigurator H100 vLLM flash-attention decode table, cases moving more
# than 100 MB: median 0.76 of HBM bandwidth with a BF16 cache, 0.63 with an FP8 cache (dequantisation in the kernel).
ATTENTION_DECODE_BANDWIDTH_EFFICIENCY: MappingProxyType[Dtype, float] = MappingProxyType(
    {Dtype.BF16: 0.76, Dtype.FP16: 0.76, Dtype.FP8: 0.63, Dtype.INT8: 0.63, Dtype.INT4: 0.55}
)
# Decode attention compute, relevant only for MLA (many heads share one latent): a fraction of the BF16 peak.
# FlashMLA reports 580 TFLOPS on H800 SXM5 (989 BF16 peak) when compute-bound (deepseek-ai/FlashMLA README): 0.6.
ATTENTION_DECODE_COMPUTE_EFFICIENCY = 0.60

# ---------------------------------------------------------------------------------------------------- fixed latencies
# Smallest time any kernel takes, even on a handful of bytes (launch, tail, synchronisation inside a CUDA graph).
# GEMM table: m = 1 with n, k <= 256 takes 2.6-2.9 us (bf16) and 4.0-4.1 us (fp8); aiconfigurator models ~3 us per
# memory operation. The small element-wise kernels (whose bytes the model does not count) cost this each.
KERNEL_LATENCY_S = 3.0e-6
# Decode attention kernels: the decode-attention table's shortest cases take 8.3-8.9 us (p1/p10).
ATTENTION_KERNEL_LATENCY_S = 9.0e-6
# GEMM launches per layer: QKV and O projections, gate-up and down (MLA: q down/up, kv down, the two absorbed
# per-head products and O, i.e. three more).
GEMM_KERNELS_PER_LAYER = 4
EXTRA_GEMM_KERNELS_PER_MLA_LAYER = 3
# Element-wise kernels per layer as vLLM/SGLang launch them with their fused ops: input RMSNorm, RoPE + KV-cache
# write, residual-add RMSNorm, SiLU-and-mul.
ELEMENTWISE_KERNELS_PER_LAYER = 4
# A MoE layer adds two grouped expert GEMMs (replacing the dense MLP's two) and the router GEMM, top-k, token
# alignment and weighted reduction kernels.
EXTRA_KERNELS_PER_MOE_LAYER = 4

# ---------------------------------------------------------------------------------------------------- collectives
# Ring all-reduce time = latency(n) + 2 (n-1)/n x bytes / (per-direction bandwidth x efficiency(bytes)), the
# efficiency rising with the message from the latency-bound protocols' 0.33 to NVLS's 0.83 of NVLink's 450 GB/s per
# direction, half-way at 18 MB: efficiency = 0.33 + 0.50 x bytes / (bytes + 18 MB). Least-squares fit on log time to
# aiconfigurator's H100 NCCL all_reduce table (fp16, 2/4/8 GPUs, messages 16 KB - 512 MB: a decode step sends
# 0.1-4 MB, a prompt chunk of a large model 100-300 MB): latency 5.8 us + 1.5 us per extra GPU; median error 6.4%,
# within 5% of unbiased at every message-size decade. A flat 0.52, fitted up to 64 MB only, made the prompt chunks'
# all-reduces of 70B-405B models 37% too slow.
ALLREDUCE_LATENCY_BASE_S = 5.8e-6
ALLREDUCE_LATENCY_PER_PEER_S = 1.5e-6
ALLREDUCE_EFFICIENCY_SMALL = 0.33
ALLREDUCE_EFFICIENCY_LARGE = 0.83
ALLREDUCE_EFFICIENCY_HALF_BYTES = 18e6
# Crossing nodes adds a network round trip per collective. Assumption, the shared data holds no multi-node table: an
# InfiniBand round trip plus NCCL's inter-node protocol costs about as much as the whole intra-node collective does
# on 8 GPUs (18 us above): 20 us.
INTER_NODE_LATENCY_S = 20.0e-6
# Pipeline hand-off of a micro-batch's activations to the next stage: one NCCL send/recv. The NCCL table's smallest
# 2-GPU collectives (all_gather, reduce_scatter, alltoall up to 64K elements) take 5-14 us: 10 us. No send/recv table:
# the bandwidth efficiency of a flat fit to the all-reduces of up to 64 MB, 0.52.
P2P_LATENCY_S = 10.0e-6
P2P_BANDWIDTH_EFFICIENCY = 0.52

# ---------------------------------------------------------------------------------------------------- storage
# Activations, logits, the embedding table and the LM head stay in 16-bit in every quantisation scheme the engines ship
# (FP8/INT4 checkpoints exclude lm_head and embeddings from quantisation: e.g. DeepSeek-V3's and Llama FP8
# checkpoints' `ignore`/`modules_to_not_convert` lists).
ACTIVATION_BYTES = 2.0
LM_HEAD_BYTES_PER_PARAM = 2.0
