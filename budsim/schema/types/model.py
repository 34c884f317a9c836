"""Model architectures registered from Hugging Face config.json files."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from budsim.core.architecture import ModelArchitecture, parse_hf_config


@strawberry.type(description="The figures of a config.json that sizing and performance depend on.")
class Architecture:
    model_type: str
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    max_context: int
    tie_word_embeddings: bool
    sliding_window: int | None
    is_moe: bool
    num_experts: int | None
    experts_per_token: int | None
    uses_mla: bool
    active_parameter_count: float = strawberry.field(description="Parameters one token touches (MoE: routed subset).")

    @classmethod
    def from_core(cls, arch: ModelArchitecture) -> "Architecture":
        return cls(
            model_type=arch.model_type,
            num_layers=arch.num_layers,
            hidden_size=arch.hidden_size,
            num_attention_heads=arch.num_heads,
            num_key_value_heads=arch.num_kv_heads,
            head_dim=arch.head_dim,
            intermediate_size=arch.intermediate_size,
            vocab_size=arch.vocab_size,
            max_context=arch.max_context,
            tie_word_embeddings=arch.tie_embeddings,
            sliding_window=arch.sliding_window,
            is_moe=arch.moe is not None,
            num_experts=arch.moe.num_experts if arch.moe else None,
            experts_per_token=arch.moe.experts_per_token if arch.moe else None,
            uses_mla=arch.mla is not None,
            active_parameter_count=float(arch.active_param_count),
        )


@strawberry.type
class Model:
    id: strawberry.ID
    name: str = strawberry.field(description="Hugging Face id, e.g. meta-llama/Llama-3.1-8B-Instruct.")
    parameter_count: float = strawberry.field(description="Total parameters (a Float: counts exceed GraphQL's Int).")
    source: str = strawberry.field(description="Where the config came from: a URL, or `user`.")
    config: JSON = strawberry.field(description="The config.json as registered.")
    created_at: datetime
    hf_config: strawberry.Private[dict[str, Any]]  # `config` as the dict it is, for parsing

    @strawberry.field(description="The parsed architecture.")
    def architecture(self) -> Architecture:
        return Architecture.from_core(parse_hf_config(self.hf_config))

    @classmethod
    def from_row(cls, row: Any) -> "Model":
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            parameter_count=float(row.parameter_count),
            source=row.source,
            config=row.architecture,
            created_at=row.created_at,
            hf_config=row.architecture,
        )
