"""Core names its own fields; the API reports the input the user typed. One table translates, and it covers every
field a user can set."""

from dataclasses import fields

from strawberry.utils.str_converters import to_camel_case

from budsim.core.deployment import ServingConfig
from budsim.core.heuristic import PartialConfig
from budsim.jobs.api_fields import CONFIG_INPUT_FIELDS, input_field, model_config_field
from budsim.schema.inputs import DeploymentConfigInput


def test_every_config_field_maps_to_the_input_field_that_sets_it() -> None:
    core = [f.name for f in fields(ServingConfig)]
    assert core == [f.name for f in fields(PartialConfig)] == list(CONFIG_INPUT_FIELDS)
    inputs = [to_camel_case(f.name) for f in fields(DeploymentConfigInput)]  # type: ignore[arg-type]
    assert list(CONFIG_INPUT_FIELDS.values()) == inputs


def test_core_fields_become_the_paths_the_api_has_always_reported() -> None:
    assert input_field("max_num_seqs") == "config.maxNumSeqs"
    assert input_field("tensor_parallel") == "config.tensorParallelSize"
    assert input_field("workload") == "workload"
    assert input_field("search.precisions") == "search.precisions"
    assert input_field("search.tensor_parallel") == "search.tensorParallelSize"
    assert model_config_field("num_key_value_heads") == "config.num_key_value_heads"
    assert model_config_field("") == "config"
