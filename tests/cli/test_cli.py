"""The `budsim simulate` and `budsim optimize` commands print what the API would answer, with no database."""

import json
from pathlib import Path

import pytest

from budsim.cli import main
from budsim.core.catalog.models import CATALOG_MODELS


@pytest.fixture(autouse=True)
def _trained_model(model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The REGRESSOR method reads MODEL_PATH: point it at the run's trained model instead of training another."""
    monkeypatch.setenv("MODEL_PATH", str(model_path))


def test_simulate_prints_config_memory_and_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM", "--gpus", "1", "--concurrency", "8"]) == 0
    out = capsys.readouterr().out
    assert "meta-llama/Llama-3.1-8B-Instruct on 1 x 1 H100-SXM (NVLINK), VLLM, HEURISTIC" in out
    assert "tensor parallel                   1" in out
    assert "ttft_p99_ms" in out
    assert "confidence 0.60 (NEEDS_MORE_DATA)" in out
    assert "x0.60 The analytical model answers alone" in out  # the reason, with what would raise it


def test_simulate_takes_a_config_json_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CATALOG_MODELS[0].config))
    assert main(["simulate", str(config), "L40S", "--gpus", "2", "--request-rate", "1"]) == 0
    out = capsys.readouterr().out
    assert "config.json on 1 x 2 L40S (PCIE)" in out
    assert "No measured run on L40S; to raise it: Record a run of this model on L40S with recordBenchmark" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "no/such-model", "H100-SXM", "--concurrency", "1"], "unknown model"),
        (["simulate", "meta-llama/Llama-3.1-8B-Instruct", "TPU9", "--concurrency", "1"], "unknown GPU"),
        (["simulate", "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM"], "exactly one of"),
        (
            ["simulate", "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM", "--concurrency", "1", "--tp", "3"],
            "config.tensorParallelSize",
        ),
    ],
)
def test_simulate_explains_bad_arguments(argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        main(argv)


def test_optimize_prints_the_pareto_front_and_the_pick(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["optimize", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L40S", "--gpus", "4", "--max-ttft-ms", "2000"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out
    assert "pick (meets the targets" in out
    assert "vllm serve meta-llama/Llama-3.1-8B-Instruct --tensor-parallel-size" in out


def test_optimize_prints_the_launch_command_of_the_chosen_engine(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["optimize", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "H100-SXM", "--gpus", "1", "--engine", "TRTLLM",
            "--method", "HEURISTIC"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "trtllm-serve meta-llama/Llama-3.1-8B-Instruct --backend pytorch --tp_size 1" in out
    assert "vllm serve" not in out


def test_optimize_names_the_binding_target_when_nothing_meets_it(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["optimize", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L4", "--gpus", "1", "--max-ttft-ms", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "MISSES the targets" in out
    assert "binding: max_ttft_ms requires 1.0" in out


def test_simulate_with_the_regressor_corrects_the_heuristic_plan(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "meta-llama/Llama-3.1-8B-Instruct", "H100-SXM", "--gpus", "1", "--concurrency", "8"]
    assert main(argv) == 0
    heuristic = capsys.readouterr().out
    assert main([*argv, "--method", "REGRESSOR"]) == 0
    regressor = capsys.readouterr().out
    assert "HEURISTIC" in heuristic.splitlines()[0]
    assert "REGRESSOR" in regressor.splitlines()[0]
    assert (
        heuristic.split("memory per GPU")[0].splitlines()[1:] == regressor.split("memory per GPU")[0].splitlines()[1:]
    )
    assert heuristic.split("confidence")[1] != regressor.split("confidence")[1]
