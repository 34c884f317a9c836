"""How to start a chosen config outside BudSim: a `docker run` of the engine's official image and a Kubernetes
Deployment. Text only: BudSim generates these and applies nothing.

Both run the engine with the flags of `core.launch` (one `Launch` per config), so a flag is written in one place; the
container adds only what a container needs: listening on every interface at the engine's port (`--host`, `--port`,
spelt alike by all three engines), the GPUs, shared memory, and the Hugging Face token. Where the launch needs a
shell (TensorRT-LLM's LLM API options are a file, passed by process substitution) the container runs it under
`/bin/bash -c`; otherwise its command and arguments are the launch's own tokens.

What each engine's image is, and the sources of each fact (read December 2026):

- vLLM: `vllm/vllm-openai`, whose `vllm-openai` target ends in `ENTRYPOINT ["vllm", "serve"]`
  (https://github.com/vllm-project/vllm/blob/main/docker/Dockerfile), so `docker run` passes the model and flags
  only. It serves on port 8000 with `GET /health`; its Kubernetes guide mounts an `emptyDir` of `medium: Memory`,
  `sizeLimit: 2Gi` at /dev/shm and reads the token from a Secret (https://docs.vllm.ai/en/stable/deployment/k8s/),
  and its Docker guide asks for `--ipc=host` because PyTorch shares tensors between the tensor-parallel workers
  through shared memory (https://docs.vllm.ai/en/stable/deployment/docker/).
- SGLang: `lmsysorg/sglang` (https://docs.sglang.io/docs/get-started/install), which starts no server by itself;
  the project's own manifest runs `python3 -m sglang.launch_server ... --host 0.0.0.0 --port 30000` and probes
  `/health` on 30000 (https://github.com/sgl-project/sglang/blob/main/docker/k8s-sglang-service.yaml).
- TensorRT-LLM: `nvcr.io/nvidia/tensorrt-llm/release`, which starts no server by itself either
  (https://nvidia.github.io/TensorRT-LLM/quick-start-guide.html); `trtllm-serve` listens on localhost:8000 unless told
  otherwise and answers `/health` (https://nvidia.github.io/TensorRT-LLM/commands/trtllm-serve.html).

A Deployment places each replica's pod on one node. A replica that needs more GPUs than a node holds (pipeline
parallel across nodes) cannot be expressed by it; the notes say so and name a multi-node controller instead.

The manifest is written with PyYAML (a pure library: no I/O here), so quoting is YAML's and not ours.
"""

import math
import re
import shlex
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml

from budsim.core.architecture import ModelArchitecture
from budsim.core.catalog.gpus import GpuSpec
from budsim.core.deployment import ServingConfig
from budsim.core.launch import Launch, launch
from budsim.core.types import Engine

HF_TOKEN_ENV = "HF_TOKEN"  # what Hugging Face's libraries, and so all three engines, read the token from
HF_TOKEN_SECRET = "hf-token"  # the Kubernetes Secret the manifest reads it from, under HF_TOKEN_SECRET_KEY
HF_TOKEN_SECRET_KEY = "token"
HF_CACHE = "/root/.cache/huggingface"  # where the images' root user keeps downloaded weights
SHM_SIZE_LIMIT = "2Gi"  # vLLM's Kubernetes guide (module docstring)
LISTEN_ALL = "0.0.0.0"
READINESS_PERIOD_S = 10
LWS_URL = "https://github.com/kubernetes-sigs/lws"
MAX_NAME_LENGTH = 63  # a Kubernetes label value, which the name is also used as
FALLBACK_NAME = "budsim-endpoint"
YAML_WIDTH = 1000  # long enough that PyYAML folds no argument over lines: easier to read and to diff


@dataclass(frozen=True, slots=True)
class EngineImage:
    """An engine's official image and how it serves: the facts the module docstring cites."""

    repository: str
    tag: str  # pinned: see `notes`, which ask for it to be checked
    entrypoint: tuple[str, ...]  # what the image runs with no command given; () when it starts no server
    port: int
    health_path: str
    source: str

    @property
    def image(self) -> str:
        return f"{self.repository}:{self.tag}"


IMAGES = MappingProxyType(
    {
        Engine.VLLM: EngineImage(
            repository="vllm/vllm-openai",
            tag="v0.18.0",
            entrypoint=("vllm", "serve"),
            port=8000,
            health_path="/health",
            source="https://hub.docker.com/r/vllm/vllm-openai/tags",
        ),
        Engine.SGLANG: EngineImage(
            repository="lmsysorg/sglang",
            tag="v0.5.9",
            entrypoint=(),
            port=30000,
            health_path="/health",
            source="https://hub.docker.com/r/lmsysorg/sglang/tags",
        ),
        Engine.TRTLLM: EngineImage(
            repository="nvcr.io/nvidia/tensorrt-llm/release",
            tag="1.0.0",
            entrypoint=(),
            port=8000,
            health_path="/health",
            source="https://catalog.ngc.nvidia.com/orgs/nvidia/teams/tensorrt-llm/containers/release",
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Target:
    """What to deploy: a config of a model with an engine, on GPUs of which one node holds `gpus_per_node`."""

    name: str  # the endpoint's name; the Kubernetes objects are named after it
    engine: Engine
    model: str  # the Hugging Face id the engine downloads
    arch: ModelArchitecture
    gpu: GpuSpec
    gpus_per_node: int
    config: ServingConfig


@dataclass(frozen=True, slots=True)
class Artifacts:
    launch_command: str  # one replica, as `core.launch` writes it
    docker_run: str
    kubernetes_manifest: str  # YAML
    notes: tuple[str, ...]  # what a person must check before applying either


def kubernetes_name(name: str) -> str:
    """`name` as a Kubernetes object name and label value: lowercase letters, digits and dashes, at most 63."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:MAX_NAME_LENGTH].strip("-")
    return slug or FALLBACK_NAME


def _listen(image: EngineImage) -> tuple[str, ...]:
    return ("--host", LISTEN_ALL, "--port", str(image.port))


@dataclass(frozen=True, slots=True)
class ContainerCommand:
    """What one replica's container runs: Kubernetes' `command` (the program) and `args`."""

    command: tuple[str, ...]
    args: tuple[str, ...]

    @property
    def words(self) -> tuple[str, ...]:
        return (*self.command, *self.args)


def container_command(started: Launch, image: EngineImage) -> ContainerCommand:
    """The launch's program and tokens with the listening flags added; where the launch needs a shell, bash running
    its line."""
    words = (*started.args, *_listen(image))
    if started.options_flag is None:
        return ContainerCommand(started.program, words)
    return ContainerCommand(("/bin/bash", "-c"), (f"{shlex.join((*started.program, *words))} {started.options_flag}",))


def _docker_run(started: Launch, image: EngineImage, gpus: int) -> str:
    words = container_command(started, image).words
    if image.entrypoint and words[: len(image.entrypoint)] == image.entrypoint:
        words = words[len(image.entrypoint) :]  # the image runs these itself
    lines = [
        f"docker run --rm --gpus {gpus} --ipc=host -p {image.port}:{image.port}",
        f"-v ~/.cache/huggingface:{HF_CACHE} -e {HF_TOKEN_ENV}",
        f"{image.image} {shlex.join(words)}",
    ]
    return " \\\n  ".join(lines)


def _manifest(name: str, started: Launch, image: EngineImage, config: ServingConfig) -> dict[str, Any]:
    command = container_command(started, image)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "llm-server"}
    container = {
        "name": started.engine.value.lower(),
        "image": image.image,
        "command": list(command.command),
        "args": list(command.args),
        "env": [
            {
                "name": HF_TOKEN_ENV,
                "valueFrom": {"secretKeyRef": {"name": HF_TOKEN_SECRET, "key": HF_TOKEN_SECRET_KEY, "optional": True}},
            }
        ],
        "ports": [{"name": "http", "containerPort": image.port}],
        "resources": {"limits": {"nvidia.com/gpu": config.gpus_per_replica}},
        "readinessProbe": {
            "httpGet": {"path": image.health_path, "port": image.port},
            "periodSeconds": READINESS_PERIOD_S,
        },
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},  # copies: PyYAML writes a shared dict as an anchor
        "spec": {
            "replicas": config.replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [container],
                    # Tensor-parallel workers exchange tensors through /dev/shm, of which a container gets 64 MB.
                    "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE_LIMIT}}],
                },
            },
        },
    }


def _notes(target: Target, started: Launch, image: EngineImage, name: str) -> tuple[str, ...]:
    config, gpus = target.config, target.config.gpus_per_replica
    notes = [
        f"{image.image} is the tag BudSim pins for {target.engine.value} ({image.source}): check that it is current "
        f"and serves {target.model} on your GPUs and driver before applying.",
        f"Gated models need a Hugging Face token: `kubectl create secret generic {HF_TOKEN_SECRET} "
        f"--from-literal={HF_TOKEN_SECRET_KEY}=<token>` for the manifest, `export {HF_TOKEN_ENV}=<token>` for "
        "docker run; public models start without one.",
    ]
    if gpus > target.gpus_per_node:
        nodes = math.ceil(gpus / target.gpus_per_node)
        notes.append(
            f"One replica needs {gpus} GPUs but a node of this hardware profile holds {target.gpus_per_node}: a "
            f"Deployment runs each replica's pod on one node, and docker run one host, so neither starts as "
            f"generated. Run each replica across {nodes} nodes with a multi-node controller such as LeaderWorkerSet "
            f"({LWS_URL}) and the engine's own multi-node launch."
        )
    notes.append(
        f"No Service is generated: put one, or your load balancer, in front of the {config.replicas} "
        f"replica{'s' if config.replicas > 1 else ''} (Deployment {name}, port {image.port})."
    )
    notes.append(f"Each pod downloads the weights at start; mount a volume at {HF_CACHE} to keep them across restarts.")
    notes.extend(f"{caution[0].upper()}{caution[1:]}." for caution in started.cautions)
    return tuple(notes)


def deployment_artifacts(target: Target) -> Artifacts:
    """The launch command, `docker run` and Kubernetes Deployment for `target`, with what to check first."""
    started = launch(target.engine, target.model, target.arch, target.gpu, target.config)
    image = IMAGES[target.engine]
    name = kubernetes_name(target.name)
    manifest = yaml.safe_dump(_manifest(name, started, image, target.config), sort_keys=False, width=YAML_WIDTH)
    return Artifacts(
        launch_command=started.command,
        docker_run=_docker_run(started, image, target.config.gpus_per_replica),
        kubernetes_manifest=manifest,
        notes=_notes(target, started, image, name),
    )
