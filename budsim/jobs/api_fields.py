"""Where each input core names sits in the API: the one translation from core's field names to the paths users see.

Core errors name core's own fields (`budsim.core.errors`); whoever reports them to a user names the input to fix
instead. The resolvers (simulate, optimize, registerModel), the worker (a search that fails on its request) and the
CLI all translate here, so a field is renamed in one place. It sits in `jobs` because that is the lowest layer both
the resolvers and the worker may import.
"""

# `ServingConfig` (and `PartialConfig`) field -> the DeploymentConfigInput field that sets it
CONFIG_INPUT_FIELDS: dict[str, str] = {
    "tensor_parallel": "tensorParallelSize",
    "pipeline_parallel": "pipelineParallelSize",
    "max_num_seqs": "maxNumSeqs",
    "max_num_batched_tokens": "maxNumBatchedTokens",
    "gpu_memory_utilization": "gpuMemoryUtilization",
    "max_model_len": "maxModelLen",
    "replicas": "replicas",
    "weight_dtype": "weightDtype",
    "kv_cache_dtype": "kvCacheDtype",
}
# search-space fields the API has always reported by their config input's name
SEARCH_INPUT_FIELDS: dict[str, str] = {"search.tensor_parallel": "search.tensorParallelSize"}


def input_field(field: str) -> str:
    """Where the input a core error names sits in a simulate or optimize input, relative to `input`.

    A config field is the DeploymentConfigInput field under `config`; `workload` and the `search.` options are
    reported under core's own name.
    """
    if field in CONFIG_INPUT_FIELDS:
        return f"config.{CONFIG_INPUT_FIELDS[field]}"
    return SEARCH_INPUT_FIELDS.get(field, field)


def model_config_field(field: str) -> str:
    """Where a `ConfigError`'s config.json key sits in registerModel's arguments: under `config`, itself when empty."""
    return f"config.{field}" if field else "config"
