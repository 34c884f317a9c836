"""Specification of the deployment artifacts (`core.artifacts`): a `docker run` and a Kubernetes Deployment that start
the engine with the launch command's own flags."""

import shlex
from typing import Any

import pytest
import yaml

from budsim.core.artifacts import (
    HF_TOKEN_SECRET,
    IMAGES,
    LWS_URL,
    Target,
    deployment_artifacts,
    kubernetes_name,
)
from budsim.core.catalog.gpus import GPUS
from budsim.core.deployment import ServingConfig
from budsim.core.launch import launch
from budsim.core.types import Dtype, Engine
from tests import factories

LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
H100 = GPUS["H100-SXM"]
CONFIG = ServingConfig(
    tensor_parallel=4,
    pipeline_parallel=2,
    max_num_seqs=128,
    max_num_batched_tokens=8192,
    gpu_memory_utilization=0.9,
    max_model_len=16384,
    replicas=3,
    weight_dtype=Dtype.BF16,
    kv_cache_dtype=Dtype.BF16,
)


def target(
    engine: Engine, config: ServingConfig = CONFIG, gpus_per_node: int = 8, name: str = "Llama 70B chat"
) -> Target:
    return Target(name, engine, LLAMA_70B, factories.arch(LLAMA_70B), H100, gpus_per_node, config)


def launch_words(engine: Engine, config: ServingConfig = CONFIG) -> list[str]:
    """The launch command's words, its trailing comment left out."""
    command = launch(engine, LLAMA_70B, factories.arch(LLAMA_70B), H100, config).command
    return shlex.split(command.split("  # ")[0])


def container(manifest: str) -> dict[str, Any]:
    deployment = yaml.safe_load(manifest)
    assert (deployment["apiVersion"], deployment["kind"]) == ("apps/v1", "Deployment")
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only  # type: ignore[no-any-return]


@pytest.mark.parametrize("engine", list(Engine))
def test_the_deployment_runs_the_launch_commands_flags_on_gpus_per_replica(engine: Engine) -> None:
    artifacts = deployment_artifacts(target(engine))
    deployment = yaml.safe_load(artifacts.kubernetes_manifest)
    assert deployment["spec"]["replicas"] == 3
    engine_container = container(artifacts.kubernetes_manifest)
    assert engine_container["resources"]["limits"]["nvidia.com/gpu"] == 8  # TP 4 x PP 2
    assert engine_container["image"] == IMAGES[engine].image
    port = IMAGES[engine].port
    assert engine_container["command"] + engine_container["args"] == [
        *launch_words(engine),
        *("--host", "0.0.0.0", "--port", str(port)),
    ]
    assert artifacts.launch_command == launch(engine, LLAMA_70B, factories.arch(LLAMA_70B), H100, CONFIG).command


@pytest.mark.parametrize(("engine", "port"), [(Engine.VLLM, 8000), (Engine.SGLANG, 30000), (Engine.TRTLLM, 8000)])
def test_readiness_is_probed_on_the_engines_health_endpoint(engine: Engine, port: int) -> None:
    engine_container = container(deployment_artifacts(target(engine)).kubernetes_manifest)
    assert engine_container["readinessProbe"]["httpGet"] == {"path": "/health", "port": port}
    assert engine_container["ports"] == [{"name": "http", "containerPort": port}]


def test_shared_memory_is_a_memory_backed_volume_and_the_token_comes_from_a_secret() -> None:
    artifacts = deployment_artifacts(target(Engine.VLLM))
    pod = yaml.safe_load(artifacts.kubernetes_manifest)["spec"]["template"]["spec"]
    [volume] = pod["volumes"]
    assert volume["emptyDir"]["medium"] == "Memory"
    assert {"name": volume["name"], "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]
    [token] = pod["containers"][0]["env"]
    assert token["name"] == "HF_TOKEN"
    assert token["valueFrom"]["secretKeyRef"]["name"] == HF_TOKEN_SECRET


def test_selector_matches_the_pod_template() -> None:
    deployment = yaml.safe_load(deployment_artifacts(target(Engine.VLLM)).kubernetes_manifest)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment["metadata"]["name"] == "llama-70b-chat"


def docker_words(docker_run: str) -> list[str]:
    return shlex.split(docker_run.replace("\\\n", " "))


def test_docker_run_passes_vllms_image_the_model_and_flags_its_entrypoint_lacks() -> None:
    """The vLLM image's ENTRYPOINT is `vllm serve`: everything after the image is its arguments."""
    words = docker_words(deployment_artifacts(target(Engine.VLLM)).docker_run)
    assert words[:2] == ["docker", "run"]
    assert words[words.index("--gpus") : words.index("--gpus") + 2] == ["--gpus", "8"]
    image = words.index(IMAGES[Engine.VLLM].image)
    assert words[image + 1 :] == [*launch_words(Engine.VLLM)[2:], "--host", "0.0.0.0", "--port", "8000"]
    assert words[words.index("-e") : words.index("-e") + 2] == ["-e", "HF_TOKEN"]


@pytest.mark.parametrize("engine", [Engine.SGLANG, Engine.TRTLLM])
def test_docker_run_names_the_server_program_for_images_that_start_none(engine: Engine) -> None:
    words = docker_words(deployment_artifacts(target(engine)).docker_run)
    image = words.index(IMAGES[engine].image)
    port = str(IMAGES[engine].port)
    assert words[image + 1 :] == [*launch_words(engine), "--host", "0.0.0.0", "--port", port]
    assert f"{port}:{port}" in words


def test_trtllm_options_that_need_a_shell_run_under_bash_in_both() -> None:
    fp8_kv = ServingConfig(4, 1, 128, 8192, 0.9, 16384, 1, Dtype.FP8, Dtype.FP8)
    artifacts = deployment_artifacts(target(Engine.TRTLLM, fp8_kv))
    engine_container = container(artifacts.kubernetes_manifest)
    assert engine_container["command"] == ["/bin/bash", "-c"]
    [line] = engine_container["args"]
    assert line.endswith("--extra_llm_api_options <(echo 'kv_cache_config: {dtype: fp8}')")
    assert line.startswith(shlex.join(launch_words(Engine.TRTLLM, fp8_kv)[:-3]))  # its flags, before the options
    words = docker_words(artifacts.docker_run)
    assert words[words.index(IMAGES[Engine.TRTLLM].image) + 1 :] == ["/bin/bash", "-c", line]
    assert any("FP8 checkpoint" in note for note in artifacts.notes)


def test_a_replica_wider_than_a_node_is_said_to_need_a_multi_node_controller() -> None:
    notes = deployment_artifacts(target(Engine.VLLM, gpus_per_node=4)).notes
    [multi_node] = [note for note in notes if LWS_URL in note]
    assert "needs 8 GPUs but a node of this hardware profile holds 4" in multi_node
    assert "across 2 nodes" in multi_node
    assert not any(LWS_URL in note for note in deployment_artifacts(target(Engine.VLLM)).notes)


@pytest.mark.parametrize("engine", list(Engine))
def test_notes_ask_for_the_pinned_tag_and_the_token_to_be_checked(engine: Engine) -> None:
    notes = deployment_artifacts(target(engine)).notes
    assert any(IMAGES[engine].image in note and "check" in note for note in notes)
    assert any("Hugging Face token" in note for note in notes)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Llama 70B chat", "llama-70b-chat"),
        ("  --Prod//Endpoint__v2--  ", "prod-endpoint-v2"),
        ("x" * 80, "x" * 63),
        ("a" * 62 + "-b", "a" * 62),  # cut at 63, never ending in a dash
        ("日本語", "budsim-endpoint"),  # nothing Kubernetes accepts: a name that is
    ],
)
def test_kubernetes_names_are_dns_labels(name: str, expected: str) -> None:
    assert kubernetes_name(name) == expected
