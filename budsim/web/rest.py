"""REST routes in snake_case JSON: thin adapters over the resolvers the GraphQL API uses, and their OpenAPI document.

A body becomes the same Strawberry input object GraphQL builds (`decode`, which checks only JSON types: ranges, ids
and the rest stay the resolvers'), the same resolver validates and acts, and its answer goes out as the same type's
fields (`encode`). ENDPOINTS is the one table the app's routes and the OpenAPI document are both built from, and the
OpenAPI schemas are generated from those same types, so neither can drift from what the handlers accept.
"""

import dataclasses
import enum
import functools
import json
import re
import types
import typing
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.scalars import JSON
from strawberry.types.private import StrawberryPrivate

from budsim import __version__
from budsim.resolvers import hardware, optimize, simulate, simulations
from budsim.resolvers.auth import Forbidden
from budsim.resolvers.context import Context
from budsim.resolvers.errors import BadUserInput, Conflict, Invalid, NotFound, TooManyJobs
from budsim.schema.inputs import (
    ConstraintsInput,
    CreateHardwareProfileInput,
    OptimizeInput,
    SimulateInput,
    TargetsInput,
    WorkloadInput,
)
from budsim.schema.types.hardware import HardwareProfile, HardwareProfileConnection
from budsim.schema.types.optimization import JobStatus, OptimizationJob, OptimizationResult
from budsim.schema.types.prediction import Dtype, Engine
from budsim.schema.types.simulation import Method, Simulation, SimulationConnection
from budsim.web.context import request_context

T = TypeVar("T")
Handler = Callable[[Request, Context], Awaitable[Response]]


class MalformedBody(Exception):
    """The body is not JSON at all: the client's encoding is wrong, not a value in it (400, not 422)."""


class Refused(Invalid):
    """An input this module refused itself, its field named already as the client sent it."""


# ---- errors: the one place an expected exception becomes an HTTP status ----


def _snake(path: str) -> str:
    """A resolver's field path (`input.workload.inputTokens`) as REST names it (`workload.input_tokens`)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), path.removeprefix("input."))


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def error_response(error: Exception) -> JSONResponse | None:
    """The HTTP answer to an exception a handler raised, or None for a fault of the server's own (left to become a
    500). Every expected failure maps here and nowhere else."""
    if isinstance(error, Forbidden):  # the key lacks the scope this route's resolver requires
        return _error(403, "FORBIDDEN", error.message, scope=error.needed.label)
    if isinstance(error, MalformedBody):
        return _error(400, "BAD_REQUEST", str(error))
    if isinstance(error, TooManyJobs):  # the same request succeeds once one of the key's jobs ends
        return _error(429, "TOO_MANY_JOBS", error.message, max_active_jobs=error.limit)
    if isinstance(error, Invalid):
        field = error.field if isinstance(error, Refused) else _snake(error.field)
        return _error(422, "BAD_USER_INPUT", error.message, field=field)
    if isinstance(error, BadUserInput):  # a query argument (`first`, `after`, an id) the resolver refused
        field = _snake(str((error.extensions or {}).get("field", "")))
        return _error(422, "BAD_USER_INPUT", error.message.removeprefix(f"{field}: "), field=field)
    if isinstance(error, NotFound):
        return _error(404, "NOT_FOUND", error.message, entity=error.entity, id=error.id)
    if isinstance(error, Conflict):
        return _error(409, "CONFLICT", error.message, field=_snake(error.field))
    return None


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (unknown path 404, wrong method 405) as the same JSON errors."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in {204, 304}:
        return Response(status_code=exc.status_code, headers=exc.headers)
    if request.url.path == "/graphql":  # Strawberry's own endpoint keeps Starlette's plain answers
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
    response = _error(exc.status_code, code, f"{exc.detail}: {request.method} {request.url.path}")
    response.headers.update(exc.headers or {})
    return response


# ---- JSON in: the Strawberry input objects GraphQL builds ----


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _private(hint: Any) -> bool:
    return typing.get_origin(hint) is typing.Annotated and any(
        isinstance(meta, StrawberryPrivate) for meta in hint.__metadata__
    )


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _decode(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):  # the inputs use unions only as `X | None`
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return None if value is None else _decode(inner, value, path)
    if value is None:
        raise Refused(path, "must not be null")
    if origin is list:
        if not isinstance(value, list):
            raise Refused(path, f"must be an array, got {_kind(value)}")
        (item,) = typing.get_args(hint)
        return [_decode(item, v, f"{path}[{n}]") for n, v in enumerate(value)]
    if hint is JSON:
        return value
    if dataclasses.is_dataclass(hint):
        return decode(typing.cast(type, hint), value, path)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        names = [member.value for member in hint]
        if value not in names:
            raise Refused(path, f"must be one of {', '.join(names)}, got {value!r}")
        return hint(value)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and not isinstance(value, bool) and isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    if hint is float and not isinstance(value, bool) and isinstance(value, int | float):
        return value
    if hint in (str, strawberry.ID) and isinstance(value, str):
        return value
    expected = {bool: "a boolean", int: "an integer", float: "a number"}.get(hint, "a string")
    raise Refused(path, f"must be {expected}, got {_kind(value)}")


def decode(cls: type[T], raw: Any, path: str = "") -> T:
    """`raw` as an instance of the input class `cls`: every key a field, every value of its type, required fields
    present; otherwise an Invalid naming the first field at fault."""
    if not isinstance(raw, dict):
        raise Refused(path or "body", f"must be a JSON object, got {_kind(raw)}")
    fields = {f.name: f for f in dataclasses.fields(typing.cast(Any, cls)) if f.init}
    for key in raw:
        if key not in fields:
            raise Refused(_join(path, key), f"is not a field here; the fields are {', '.join(fields)}")
    values = {}
    for name, field in fields.items():
        if name in raw:
            values[name] = _decode(_hints(typing.cast(type, cls))[name], raw[name], _join(path, name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise Refused(_join(path, name), "is required")
    return cls(**values)


def _query(request: Request, allowed: dict[str, Any]) -> dict[str, Any]:
    """Query parameters decoded like body fields: `allowed` maps each name to its type."""
    values = {}
    for name, raw in request.query_params.items():
        if name not in allowed:
            raise Refused(name, f"is not a query parameter here; they are {', '.join(allowed)}")
        hint = allowed[name]
        value: Any = raw
        if hint is int:
            try:
                value = int(raw)
            except ValueError:
                raise Refused(name, f"must be an integer, got {raw!r}") from None
        elif hint is bool:
            if raw not in {"true", "false"}:
                raise Refused(name, f"must be true or false, got {raw!r}")
            value = raw == "true"
        values[name] = _decode(hint, value, name)
    return values


async def _body(request: Request) -> Any:
    """The body as JSON whatever its Content-Type says: curl's `-d` alone sends form-encoded headers."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise MalformedBody(f"the request body is not JSON: {error}") from None


# ---- JSON out: the GraphQL types' own fields ----


def _linked_id(hint: Any) -> bool:
    """A private uuid (`model_id`, `simulation_id`): GraphQL resolves it into an object, REST shows the id."""
    return _private(hint) and uuid.UUID in (hint.__origin__, *typing.get_args(hint.__origin__))


def _output_fields(cls: type) -> dict[str, Any]:
    return {
        name: hint.__origin__ if _private(hint) else hint
        for name, hint in _hints(cls).items()
        if not _private(hint) or _linked_id(hint)
    }


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: encode(getattr(value, name)) for name in _output_fields(type(value))}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [encode(item) for item in value]
    return value


# Fields GraphQL resolves on demand that the REST handlers fill in themselves (see post_optimize).
RESOLVED: dict[type, dict[str, Any]] = {OptimizationJob: {"result": OptimizationResult | None}}

# ---- handlers ----


async def post_simulate(request: Request, ctx: Context) -> Response:
    data = decode(SimulateInput, await _body(request))
    return JSONResponse(encode(await simulate.run_simulation(ctx, data)), status_code=201)


async def _result(ctx: Context, job: OptimizationJob) -> OptimizationResult | None:
    return await ctx.loaders.optimization_result.load(job.simulation_id) if job.simulation_id else None


def _job_status(job: OptimizationJob) -> int:
    """200 once the job has ended; 202 while it is still queued or running (a `wait=false` answer, or a wait cut
    short by its limit), for the client to poll."""
    return 200 if job.status.terminal else 202


async def post_optimize(request: Request, ctx: Context) -> Response:
    wait = _query(request, {"wait": bool}).get("wait", True)
    data = decode(OptimizeInput, await _body(request))
    job = await optimize.run_optimization(ctx, data, wait)
    result = await _result(ctx, job)
    return JSONResponse(encode(job) | {"result": encode(result)}, status_code=_job_status(job))


@dataclasses.dataclass
class GuideConstraints(ConstraintsInput):
    """The user guide's constraints, which also carry the cost cap (the same target as `targets.max_cost_per_hour`)."""

    max_cost_per_hour: float | None = None


@dataclasses.dataclass
class GuideOptimizeRequest:
    """The user guide's `POST /api/optimize` body: `cluster_id` is one hardware profile's id. Fields left out take
    `POST /optimize`'s defaults."""

    model_id: strawberry.ID
    cluster_id: strawberry.ID
    method: Method | None = None
    engine: Engine | None = None
    precisions: list[Dtype] | None = None
    workload: WorkloadInput | None = None
    targets: TargetsInput | None = None
    constraints: GuideConstraints | None = None
    seed: int | None = None


def _guide_input(data: GuideOptimizeRequest) -> OptimizeInput:
    cost = data.constraints.max_cost_per_hour if data.constraints else None
    targets = data.targets
    if cost is not None:
        if targets is not None and targets.max_cost_per_hour not in (None, cost):
            raise Refused(
                "constraints.max_cost_per_hour",
                f"is {cost:g} but targets.max_cost_per_hour is {targets.max_cost_per_hour:g}; give one, or the same",
            )
        targets = dataclasses.replace(targets or TargetsInput(), max_cost_per_hour=cost)
    given = {name: getattr(data, name) for name in ("method", "engine", "precisions", "workload", "seed")}
    return OptimizeInput(
        model_id=data.model_id,
        hardware_profile_ids=[data.cluster_id],
        targets=targets,
        constraints=data.constraints,
        **{name: value for name, value in given.items() if value is not None},
    )


async def post_guide_optimize(request: Request, ctx: Context) -> Response:
    data = decode(GuideOptimizeRequest, await _body(request))
    from_constraints = data.constraints is not None and data.constraints.max_cost_per_hour is not None
    try:
        job = await optimize.run_optimization(ctx, _guide_input(data))
    except TooManyJobs:
        raise
    except Invalid as error:  # name the field as the guide's body has it
        field = _snake(error.field)
        if field.startswith("hardware_profile_ids"):
            field = "cluster_id"
        elif from_constraints and field == "targets.max_cost_per_hour":
            field = "constraints.max_cost_per_hour"
        raise Refused(field, error.message) from None
    result = await _result(ctx, job)
    answer = encode(result) if result else dict.fromkeys(_output_fields(OptimizationResult))
    if answer["predicted_metrics"] is not None:  # the guide's name for the throughput its targets constrain
        answer["predicted_metrics"]["throughput_tps"] = answer["predicted_metrics"]["output_tokens_per_s"]
    body = {"job_id": job.id, "status": job.status.value, "error": job.error, **answer}
    return JSONResponse(body, status_code=_job_status(job))


PAGE = {"first": int, "after": str}


async def get_simulations(request: Request, ctx: Context) -> Response:
    params = PAGE | {"model_id": strawberry.ID, "hardware_profile_id": strawberry.ID, "method": Method}
    args: dict[str, Any] = {"first": 20, "after": None, "model_id": None, "hardware_profile_id": None, "method": None}
    args |= _query(request, params)
    return JSONResponse(encode(await simulations.list_simulations(ctx, **args)))


async def get_simulation(request: Request, ctx: Context) -> Response:
    id = request.path_params["id"]
    found = await simulations.get_simulation(ctx, id)
    if found is None:
        raise NotFound("Simulation", id)
    return JSONResponse(encode(found))


async def get_hardware_profiles(request: Request, ctx: Context) -> Response:
    args = {"first": 20, "after": None, "gpu_type": None} | _query(request, PAGE | {"gpu_type": str})
    return JSONResponse(encode(await hardware.list_profiles(ctx, **args)))


async def post_hardware_profile(request: Request, ctx: Context) -> Response:
    data = decode(CreateHardwareProfileInput, await _body(request))
    return JSONResponse(encode(await hardware.create_profile(ctx, data)), status_code=201)


# ---- the routes, and the OpenAPI document built from the same table ----


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    type: Any
    description: str
    where: str = "query"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    body: type | None = None
    answers: dict[int, Any] = dataclasses.field(default_factory=dict)  # status -> the type its body encodes
    params: tuple[Param, ...] = ()
    example: dict[str, Any] | None = None

    def route(self) -> Route:
        handler = self.handler

        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request, request_context(request))
            except Exception as error:
                response = error_response(error)
                if response is None:
                    raise
                return response

        return Route(self.path, endpoint, methods=[self.method], name=f"{self.method} {self.path}")


PAGING = (
    Param("first", int, "Page size, 1-100 (default 20)."),
    Param("after", str, "The `end_cursor` of the previous page."),
)
GUIDE_EXAMPLE = {
    "model_id": "uuid",
    "cluster_id": "uuid",
    "method": "REGRESSOR",
    "targets": {"max_latency_ms": 2000, "min_throughput_tps": 100},
    "constraints": {"max_replicas": 4, "max_cost_per_hour": 50},
}
SIMULATE_EXAMPLE = {
    "model_id": "uuid",
    "hardware_profile_id": "uuid",
    "method": "HEURISTIC",
    "workload": {"input_tokens": 1000, "output_tokens": 200, "concurrency": 32},
    "config": {"weight_dtype": "FP8"},
}
OPTIMIZE_EXAMPLE = {
    "model_id": "uuid",
    "hardware_profile_ids": ["uuid"],
    "method": "HEURISTIC",
    "targets": {"max_ttft_ms": 2000},
}
PROFILE_EXAMPLE = {"name": "h100-x8", "gpu_type": "H100-SXM", "gpu_count": 8}
GUIDE_ANSWER = "GuideOptimizeAnswer"  # OptimizationResult's fields flat, after the job's id, status and error

ENDPOINTS = (
    Endpoint(
        "POST",
        "/api/optimize",
        post_guide_optimize,
        "The user guide's optimization call: recommend a deployment on one cluster, waiting for the search.",
        GuideOptimizeRequest,
        {200: GUIDE_ANSWER, 202: GUIDE_ANSWER, 404: None, 422: None, 429: None},
        example=GUIDE_EXAMPLE,
    ),
    Endpoint(
        "POST",
        "/simulate",
        post_simulate,
        "Predict one deployment and store it as a Simulation.",
        SimulateInput,
        {201: Simulation, 404: None, 422: None},
        example=SIMULATE_EXAMPLE,
    ),
    Endpoint(
        "POST",
        "/optimize",
        post_optimize,
        "Queue an optimization over the given hardware profiles; answers the job, with its result once it ended.",
        OptimizeInput,
        {200: OptimizationJob, 202: OptimizationJob, 404: None, 422: None, 429: None},
        (Param("wait", bool, "Wait for the job to end (default true); false answers 202 at once."),),
        example=OPTIMIZE_EXAMPLE,
    ),
    Endpoint(
        "GET",
        "/simulations",
        get_simulations,
        "Simulations newest first, optionally filtered.",
        answers={200: SimulationConnection, 422: None},
        params=(
            *PAGING,
            Param("model_id", strawberry.ID, "Only this model's."),
            Param("hardware_profile_id", strawberry.ID, "Only this hardware profile's."),
            Param("method", Method, "Only this method's."),
        ),
    ),
    Endpoint(
        "GET",
        "/simulations/{id}",
        get_simulation,
        "One simulation.",
        answers={200: Simulation, 404: None, 422: None},
        params=(Param("id", strawberry.ID, "The simulation's id.", "path"),),
    ),
    Endpoint(
        "GET",
        "/hardware-profiles",
        get_hardware_profiles,
        "Hardware profiles by name.",
        answers={200: HardwareProfileConnection, 422: None},
        params=(*PAGING, Param("gpu_type", str, "Only profiles of this GPU type.")),
    ),
    Endpoint(
        "POST",
        "/hardware-profiles",
        post_hardware_profile,
        "Add a hardware profile; catalog GPUs fill in memory, specs and price.",
        CreateHardwareProfileInput,
        {201: HardwareProfile, 409: None, 422: None},
        example=PROFILE_EXAMPLE,
    ),
)

SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    strawberry.ID: {"type": "string"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    datetime: {"type": "string", "format": "date-time"},
    JSON: {"description": "Any JSON value."},
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "enum": ["BAD_REQUEST", "BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "METHOD_NOT_ALLOWED"],
                },
                "field": {"type": "string", "description": "The offending input, as a dotted snake_case path."},
                "message": {"type": "string"},
                "entity": {"type": "string"},
                "id": {"type": "string"},
            },
        }
    },
}


class Schemas:
    """JSON Schemas of the input and output types, each class once under components.schemas."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": ERROR}

    def of(self, hint: Any, inputs: bool) -> dict[str, Any]:
        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            return {"anyOf": [self.of(inner, inputs), {"type": "null"}]}
        if origin is list:
            return {"type": "array", "items": self.of(typing.get_args(hint)[0], inputs)}
        if hint in SCALARS:
            return SCALARS[hint]
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return {"type": "string", "enum": [member.value for member in hint]}
        if dataclasses.is_dataclass(hint):
            return self.object(typing.cast(type, hint), inputs)
        raise TypeError(f"no JSON Schema for {hint!r}")

    def object(self, cls: type, inputs: bool) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.components:
            self.components[name] = {}  # placed first: a type that refers to itself stops here
            fields = {f.name: f for f in dataclasses.fields(typing.cast(Any, cls))}
            hints = {n: _hints(cls)[n] for n, f in fields.items() if f.init} if inputs else _output_fields(cls)
            hints |= {} if inputs else RESOLVED.get(cls, {})
            properties = {}
            for field_name, hint in hints.items():
                schema = dict(self.of(hint, inputs))
                description = getattr(fields.get(field_name), "description", None)
                if description:  # OpenAPI 3.1 (JSON Schema 2020-12) lets a description sit beside a $ref
                    schema["description"] = description
                properties[field_name] = schema
            required = [
                n
                for n in hints
                if not inputs
                or (fields[n].default is dataclasses.MISSING and fields[n].default_factory is dataclasses.MISSING)
            ]
            self.components[name] = {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
            if cls.__doc__ and not cls.__doc__.startswith(name + "("):  # a dataclass's generated doc says nothing
                self.components[name]["description"] = cls.__doc__
        return {"$ref": f"#/components/schemas/{name}"}

    def guide_answer(self) -> dict[str, Any]:
        """OptimizationResult's fields, flat, after the job's id, status and error."""
        self.object(OptimizationResult, inputs=False)
        result = self.components["OptimizationResult"]
        metrics = self.components["PerformanceMetrics"]
        self.components["GuidePredictedMetrics"] = metrics | {
            "properties": metrics["properties"] | {"throughput_tps": THROUGHPUT_TPS},
            "required": [*metrics["required"], "throughput_tps"],
        }
        guide_metrics = {"$ref": "#/components/schemas/GuidePredictedMetrics"}
        properties = result["properties"] | {"predicted_metrics": guide_metrics}
        nullable = {name: {"anyOf": [schema, {"type": "null"}]} for name, schema in properties.items()}
        return {
            "type": "object",
            "description": "The result's fields are null while the job has none (not ended, or FAILED).",
            "properties": {
                "job_id": {"type": "string"},
                "status": self.of(JobStatus, inputs=False),
                "error": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                **nullable,
            },
            "required": ["job_id", "status", "error", *result["required"]],
            "additionalProperties": False,
        }


# The app's routes outside REST, listed so the document names every route the server answers.
ELSEWHERE = (
    ("/healthz", "get", "Liveness: the process answers."),
    ("/readyz", "get", "Readiness: the database is reachable and migrated (503 otherwise)."),
    ("/", "get", "The dashboard: BudSim's web page (HTML, no key needed; its data comes from /graphql)."),
    ("/graphql", "get", "GraphiQL (for a browser, no key needed), or a GraphQL query in the query string."),
    ("/graphql", "post", "A GraphQL operation; the schema (SDL) is `budsim export-schema`'s output."),
)


THROUGHPUT_TPS = {"type": ["number", "null"], "description": "The user guide's name for `output_tokens_per_s`."}


def _response(status: int, answer: Any, schemas: Schemas) -> dict[str, Any]:
    if status >= 400:
        schema: dict[str, Any] = {"$ref": "#/components/schemas/Error"}
    elif answer == GUIDE_ANSWER:
        schema = schemas.guide_answer()
    else:
        schema = schemas.of(answer, inputs=False)
    descriptions = {
        200: "OK",
        201: "Created",
        202: "Accepted: the job has not ended yet",
        400: "The body is not JSON",
        404: "No object has the given id",
        409: "Conflicts with stored data",
        422: "An input is invalid; `error.field` names it",
        429: "The API key has MAX_ACTIVE_JOBS_PER_KEY optimizations queued or running; retry when one ends",
    }
    return {"description": descriptions[status], "content": {"application/json": {"schema": schema}}}


def openapi_document() -> dict[str, Any]:
    schemas = Schemas()
    paths: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "operationId": re.sub(r"\W+", "_", f"{endpoint.method} {endpoint.path}".lower()).strip("_"),
            "parameters": [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.where == "path",
                    "description": p.description,
                    "schema": schemas.of(p.type, inputs=True),
                }
                for p in endpoint.params
            ],
            "responses": {
                str(status): _response(status, answer, schemas) for status, answer in endpoint.answers.items()
            },
        }
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": schemas.of(endpoint.body, inputs=True),
                        **({"example": endpoint.example} if endpoint.example else {}),
                    }
                },
            }
            operation["responses"]["400"] = _response(400, None, schemas)
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    for path, method, summary in ELSEWHERE:
        paths.setdefault(path, {})[method] = {
            "summary": summary,
            "operationId": re.sub(r"\W+", "_", f"{method} {path}").strip("_"),
            "responses": {"200": {"description": "OK"}},
        }
    paths["/openapi.json"] = {
        "get": {
            "summary": "This document.",
            "operationId": "get_openapi_json",
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {}}}}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "BudSim REST API",
            "version": __version__,
            "description": "The GraphQL API's simulate, optimize, simulations and hardware profiles in snake_case "
            "JSON. Errors: 400 malformed JSON, 422 invalid input naming `error.field`, 404, 409, 405, 429.",
        },
        "paths": paths,
        "components": {"schemas": schemas.components},
    }


def routes() -> list[Route]:
    document = openapi_document()

    async def openapi(_request: Request) -> JSONResponse:
        return JSONResponse(document)

    return [*(endpoint.route() for endpoint in ENDPOINTS), Route("/openapi.json", openapi, methods=["GET"])]
