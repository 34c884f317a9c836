"""Model architecture queries and registration."""

import re
from typing import Any

from budsim.core.architecture import parse_hf_config
from budsim.core.errors import ConfigError
from budsim.db import queries
from budsim.db.models import ModelRow
from budsim.resolvers import validation as check
from budsim.resolvers.auth import Scope, require
from budsim.resolvers.context import Context
from budsim.resolvers.errors import Conflict, Invalid, invalid_model_config
from budsim.resolvers.pagination import query_id
from budsim.resolvers.writes import commit_or_conflict
from budsim.schema.types.model import Model

# Hugging Face repo ids: `org/name` (or a bare name) of letters, digits, `-`, `_`, `.`.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[A-Za-z0-9][\w.\-]*)?$")
MAX_SEARCH_RESULTS = 100


async def search(ctx: Context, text: str | None) -> list[Model]:
    wanted = check.filter_text(text, "search")
    async with ctx.reader() as session:
        rows = await queries.search_models(session, wanted.strip() if wanted else None, MAX_SEARCH_RESULTS)
    return [Model.from_row(r) for r in rows]


async def get_model(ctx: Context, id: str) -> Model | None:
    row = await ctx.loaders.model.load(query_id(id))
    return Model.from_row(row) if row else None


async def register(ctx: Context, name: str, config: Any, source: str | None) -> Model:
    require(ctx, Scope.WRITE)
    name = check.text(name, "name", max_length=300)
    if not _MODEL_NAME.match(name):
        raise Invalid("name", f"must look like a Hugging Face id such as `org/model-name`, got {name!r}")
    config = check.json_object(config, "config")
    try:
        arch = parse_hf_config(config)
    except ConfigError as error:
        raise invalid_model_config(error) from None
    row = ModelRow(
        name=name,
        architecture=config,
        parameter_count=arch.param_count,
        source=check.text(source, "source", max_length=2000) if source else "user",
    )
    async with ctx.sessionmaker() as session:
        if await queries.model_name_taken(session, name):
            raise Conflict("name", f"a model named {name!r} is already registered")
        session.add(row)
        await commit_or_conflict(session, "name", f"a model named {name!r} is already registered")
    return Model.from_row(row)
