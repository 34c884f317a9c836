"""GPU families: `allowedGpuTypes` names GPUs as users do (`H100`), and the catalog alone says what each covers."""

import pytest

from budsim.core.catalog.gpus import GPU_FAMILIES, GPUS, gpus_named


def test_every_catalog_gpu_belongs_to_the_family_its_name_starts_with() -> None:
    for gpu in GPUS.values():
        assert gpu.name.startswith(gpu.family)
        assert gpu.name in GPU_FAMILIES[gpu.family]
    assert sum(len(names) for names in GPU_FAMILIES.values()) == len(GPUS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # families as the user guide spells them
        ("H100", {"H100-SXM", "H100-PCIe"}),
        ("A100", {"A100-40GB-SXM", "A100-80GB-SXM"}),
        ("L40S", {"L40S"}),
        ("H200", {"H200-SXM"}),
        ("B200", {"B200"}),
        ("MI300X", {"MI300X"}),
        ("h100", {"H100-SXM", "H100-PCIe"}),  # case: the family wins over find_gpu's `h100` short name
        # exact catalog names, and find_gpu's forgiving spellings of them
        ("H100-SXM", {"H100-SXM"}),
        ("h100_pcie", {"H100-PCIe"}),
        ("A100-40GB", {"A100-40GB-SXM"}),
        ("A10", {"A10G"}),
        # unknown
        ("TPU-v5", set()),
        ("", set()),
    ],
)
def test_a_name_covers_its_family_or_its_one_gpu(name: str, expected: set[str]) -> None:
    assert {gpu.name for gpu in gpus_named(name)} == expected
