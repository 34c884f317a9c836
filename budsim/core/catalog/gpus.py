"""The GPU catalog: the one place a GPU's memory, bandwidth, peak throughput and price are written down.

Conventions, so every consumer reads the numbers the same way:
- memory in GB (10^9 bytes), bandwidths in GB/s, throughput in dense (no 2:4 sparsity) TFLOPS / TOPS;
- `nvlink_gbs` is the datasheet's total (bidirectional) GPU-to-GPU fabric bandwidth per GPU, `None` without one;
  `pcie_gbs` is the bidirectional PCIe x16 host link. Communication models use half of each per direction;
- `fp8_tflops` is `None` where the tensor cores have no FP8 path (Ampere, Ada's L4 has one, A10G does not); FP8
  weights then run weight-only (W8A16) at the BF16 rate;
- `cost_per_hour` is a default on-demand list price per GPU-hour; every hardware profile may override it;
- `memory_gb` is the datasheet capacity, which vendors quote in binary units (an "80GB" H100 has 80 GiB of HBM);
  `usable_memory_gb` is what an engine can allocate, in decimal GB like every other size in BudSim.
"""

from dataclasses import dataclass

GIB_PER_GB = 2**30 / 1e9
# The driver keeps about 1% of HBM (ECC pages, reserved regions): vLLM reports 79.19 GiB total on an 80 GiB H100
# (torch.cuda.mem_get_info), 0.99 of the datasheet figure.
DRIVER_VISIBLE_FRACTION = 0.99

NVIDIA_A100 = "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"
NVIDIA_H100 = "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet"
NVIDIA_H200 = "https://www.nvidia.com/en-us/data-center/h200/"
NVIDIA_B200 = "https://www.nvidia.com/en-us/data-center/hgx/ (HGX B200: per-GPU share of the 8-GPU figures)"
NVIDIA_L40S = "https://resources.nvidia.com/en-us-l40s/l40s-datasheet-28413"
NVIDIA_L4 = "https://resources.nvidia.com/en-us-data-center-overview/l4-gpu-datasheet"
NVIDIA_A10 = "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf"
AMD_MI300X = (
    "https://www.amd.com/content/dam/amd/en/documents/instinct-tech-docs/data-sheets/amd-instinct-mi300x-data-sheet.pdf"
)
LAMBDA_PRICES = "https://lambda.ai/pricing (on-demand, 8-GPU instances, 2025)"
RUNPOD_PRICES = "https://www.runpod.io/pricing (secure cloud on-demand, 2025)"
AWS_G5_PRICE = "https://aws.amazon.com/ec2/instance-types/g5/ (g5.xlarge on-demand, us-east-1: $1.006/h for one A10G)"
NVIDIA_B300 = (
    "https://www.nvidia.com/en-us/data-center/hgx/ (HGX B300: per-GPU share of the 8-GPU figures); dense per-GPU "
    "figures as tabulated by https://verda.com/blog/gb300-nvl72-architecture"
)
NVIDIA_GB200 = (
    "https://www.nvidia.com/en-us/data-center/gb200-nvl72/ (GB200 NVL72: per-GPU share of the 72-GPU rack: 13.4 TB "
    "HBM3e, 576 TB/s, 360 PFLOPS dense FP8, 130 TB/s NVLink)"
)
NVIDIA_GB300 = (
    "https://www.nvidia.com/en-us/data-center/gb300-nvl72/ (GB300 NVL72: per-GPU share of the 72-GPU rack: 20.7 TB "
    "HBM3e, 576 TB/s, 360 PFLOPS dense FP8, 130 TB/s NVLink)"
)
ORNN_B300_PRICE = (
    "https://www.ornnai.com/research/nvidia-b200-vs-b300-why-use-one-instead-of-the-other (Ornn GPU rental "
    "benchmark, 2026: B300 on-demand $5.00-7.25/h on neoclouds; low end, as Lambda's B200 price is)"
)
COREWEAVE_GB200_PRICE = (
    "https://www.coreweave.com/pricing (gb200-4x instance, 4 GPUs, $42.00/h on demand, as listed by "
    "https://gpu.blog/gpus/nvidia-gb200-nvl72)"
)
GB300_PRICE_ESTIMATE = (
    "estimate, no public on-demand list price found: the GB200 rate x 1.25, the ratio of GB300 to GB200 NVL72 rack "
    "prices ($3.7-5.0M vs $3.0-3.9M) in Ornn's B200 vs B300 comparison (link in ORNN_B300_PRICE)"
)


@dataclass(frozen=True, slots=True)
class GpuSpec:
    name: str
    vendor: str
    memory_gb: float
    memory_bandwidth_gbs: float
    bf16_tflops: float
    fp8_tflops: float | None
    int8_tops: float
    nvlink_gbs: float | None
    pcie_gbs: float
    cost_per_hour: float
    spec_source: str
    price_source: str

    @property
    def usable_memory_gb(self) -> float:
        return usable_memory_gb(self.memory_gb)

    @property
    def family(self) -> str:
        """The product family users name (`H100`, `A100`, `MI300X`): the catalog names each GPU `FAMILY[-variant]`
        (`H100-SXM`, `A100-80GB-SXM`), so the family is the name's first part and no second list can drift."""
        return self.name.split("-", 1)[0]

    @property
    def interconnect_gbs(self) -> float:
        """The fastest GPU-to-GPU path inside a node: the fabric where there is one, else PCIe."""
        return self.nvlink_gbs if self.nvlink_gbs is not None else self.pcie_gbs


def usable_memory_gb(datasheet_gb: float) -> float:
    """Decimal GB an engine can allocate on a GPU sold as `datasheet_gb` (binary) GB."""
    return datasheet_gb * GIB_PER_GB * DRIVER_VISIBLE_FRACTION


GPUS: dict[str, GpuSpec] = {
    gpu.name: gpu
    for gpu in (
        GpuSpec("A100-40GB-SXM", "NVIDIA", 40, 1555, 312, None, 624, 600, 64, 1.29, NVIDIA_A100, LAMBDA_PRICES),
        GpuSpec("A100-80GB-SXM", "NVIDIA", 80, 2039, 312, None, 624, 600, 64, 1.79, NVIDIA_A100, LAMBDA_PRICES),
        GpuSpec("H100-SXM", "NVIDIA", 80, 3350, 989, 1979, 1979, 900, 128, 2.99, NVIDIA_H100, LAMBDA_PRICES),
        # H100 PCIe: NVLink only as an optional two-card bridge, so the default fabric is PCIe Gen5.
        GpuSpec("H100-PCIe", "NVIDIA", 80, 2000, 756, 1513, 1513, None, 128, 2.49, NVIDIA_H100, LAMBDA_PRICES),
        GpuSpec("H200-SXM", "NVIDIA", 141, 4800, 989, 1979, 1979, 900, 128, 3.99, NVIDIA_H200, RUNPOD_PRICES),
        # HGX B200 8-GPU: 1,440 GB HBM3e, 64 TB/s, 18 PFLOPS dense FP16/BF16, 36 PFLOPS dense FP8, NVLink 5 1.8 TB/s.
        GpuSpec("B200", "NVIDIA", 180, 8000, 2250, 4500, 4500, 1800, 128, 4.99, NVIDIA_B200, LAMBDA_PRICES),
        GpuSpec("L40S", "NVIDIA", 48, 864, 362, 733, 733, None, 64, 0.86, NVIDIA_L40S, RUNPOD_PRICES),
        GpuSpec("L4", "NVIDIA", 24, 300, 121, 242, 242, None, 64, 0.43, NVIDIA_L4, RUNPOD_PRICES),
        # AWS publishes no tensor-core figures for its A10G; the A10 datasheet's are the closest public numbers.
        GpuSpec("A10G", "NVIDIA", 24, 600, 125, None, 250, None, 64, 1.006, NVIDIA_A10, AWS_G5_PRICE),
        # MI300X: Infinity Fabric 7 links x 128 GB/s = 896 GB/s peak aggregate per GPU.
        GpuSpec("MI300X", "AMD", 192, 5300, 1307, 2615, 2615, 896, 128, 2.49, AMD_MI300X, RUNPOD_PRICES),
        # HGX B300 (Blackwell Ultra): 288 GB HBM3e and 8 TB/s per GPU, dense BF16 2.25 / FP8 4.5 PFLOPS as B200, INT8
        # cut to 0.15 POPS dense, NVLink 5 1.8 TB/s, PCIe Gen6 x16 (256 GB/s bidirectional).
        GpuSpec("B300", "NVIDIA", 288, 8000, 2250, 4500, 150, 1800, 256, 5.00, NVIDIA_B300, ORNN_B300_PRICE),
        # GB200 NVL72: 186 GB and 8 TB/s per GPU, dense BF16 2.5 / FP8 5 PFLOPS, INT8 5 POPS; the NVLink domain spans
        # all 72 GPUs of the rack (a hardware profile sets gpus_per_node = 72 to model it). PCIe Gen5 to the NICs.
        GpuSpec("GB200", "NVIDIA", 186, 8000, 2500, 5000, 5000, 1800, 128, 10.50, NVIDIA_GB200, COREWEAVE_GB200_PRICE),
        # GB300 NVL72: 288 GB and 8 TB/s per GPU, dense BF16 2.5 / FP8 5 PFLOPS, INT8 0.165 POPS, NVLink 5 across 72.
        GpuSpec("GB300", "NVIDIA", 288, 8000, 2500, 5000, 165, 1800, 256, 13.10, NVIDIA_GB300, GB300_PRICE_ESTIMATE),
    )
}

_ALIASES = {
    "a100": "A100-80GB-SXM",
    "a10040gb": "A100-40GB-SXM",
    "a100sxm": "A100-80GB-SXM",
    "a10080gb": "A100-80GB-SXM",
    "h100": "H100-SXM",
    "h100sxm": "H100-SXM",
    "h10080gb": "H100-SXM",
    "h100pcie": "H100-PCIe",
    "h200": "H200-SXM",
    "h200sxm": "H200-SXM",
    "b200sxm": "B200",
    "b300sxm": "B300",
    "a10": "A10G",
}


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_BY_KEY = {_normalise(name): name for name in GPUS} | _ALIASES


def find_gpu(name: str) -> GpuSpec | None:
    """Look a GPU up by catalog name, forgiving case, punctuation and common short names (`h100`, `a100_sxm`)."""
    canonical = _BY_KEY.get(_normalise(name))
    return GPUS[canonical] if canonical else None


# family -> its catalog GPUs' names, in catalog order
GPU_FAMILIES: dict[str, tuple[str, ...]] = {
    family: tuple(gpu.name for gpu in GPUS.values() if gpu.family == family)
    for family in dict.fromkeys(gpu.family for gpu in GPUS.values())
}
_FAMILY_BY_KEY = {_normalise(family): family for family in GPU_FAMILIES}


def gpus_named(name: str) -> tuple[GpuSpec, ...]:
    """Every catalog GPU a user's name covers: all of a family's (`H100`: H100-SXM and H100-PCIe), else the one GPU
    `find_gpu` knows by that name; () for a name the catalog does not know. A family wins over `find_gpu`'s short
    names (`h100` alone means H100-SXM there), because a user restricting to `H100` means either variant."""
    family = _FAMILY_BY_KEY.get(_normalise(name))
    if family is not None:
        return tuple(GPUS[gpu] for gpu in GPU_FAMILIES[family])
    gpu = find_gpu(name)
    return (gpu,) if gpu else ()
