"""The `budsim` command: serve, worker, migrate, export-schema, simulate, optimize, train, and API keys."""

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budsim.core.types import Engine, Interconnect, Method
from budsim.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from budsim.core.architecture import ModelArchitecture
    from budsim.core.predictors import ConfidenceReason, ResidualRegressor


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from budsim.app import create_app

    if not args.worker:
        settings = settings.model_copy(update={"run_worker": False})
    processes = args.processes or settings.api_processes
    options: dict[str, Any] = {
        "host": args.host or settings.host,
        "port": args.port or settings.port,
        "log_level": settings.log_level,
        "ws_ping_interval": 20,
        # Progress events are a few hundred bytes of JSON: compressing each one for every subscriber cost more CPU
        # on the event loop (bench/load.py) than the bytes it saved.
        "ws_per_message_deflate": False,
        "ws_max_size": settings.max_request_bytes,  # a websocket message is bounded like an HTTP body (budsim.web.body)
    }
    if processes == 1:
        uvicorn.run(create_app(settings), **options)
        return 0
    if not settings.async_database_url.startswith("postgresql"):
        print(
            f"budsim serve: {processes} processes (--processes / API_PROCESSES) need PostgreSQL in DATABASE_URL: "
            "with SQLite, job news and the worker reach only their own process",
            file=sys.stderr,
        )
        return 2
    _train_once(settings)
    # Each process builds its app from the environment (uvicorn spawns them): pass on what the command line changed.
    os.environ["RUN_WORKER"] = "true" if settings.run_worker else "false"
    os.environ["API_PROCESSES"] = str(processes)  # they share one budget of database connections
    uvicorn.run("budsim.app:create_app", factory=True, workers=processes, **options)
    return 0


def _train_once(settings: Settings) -> None:
    """Train and store the first regressor version here if there is none, rather than in every server process at
    once, all writing one file."""
    from budsim.regressor.versions import prepare_regressor

    asyncio.run(prepare_regressor(settings))


def _worker(settings: Settings, _args: argparse.Namespace) -> int:
    from budsim.jobs.standalone import run_worker

    asyncio.run(run_worker(settings))
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from budsim.db.migrate import upgrade_url

    asyncio.run(upgrade_url(settings.async_database_url, args.revision))
    print(f"database at {args.revision}: {settings.database_url}")
    return 0


def _export_schema(_settings: Settings, args: argparse.Namespace) -> int:
    from budsim.schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        print(f"wrote {args.output}")
    return 0


def _load_architecture(model: str) -> tuple[str, "ModelArchitecture"]:
    from budsim.core.architecture import parse_hf_config
    from budsim.core.catalog.models import CATALOG_MODELS

    for entry in CATALOG_MODELS:
        if entry.hf_id.lower() == model.lower():
            return entry.hf_id, parse_hf_config(entry.config)
    path = Path(model)
    if path.is_file():
        return path.name, parse_hf_config(json.loads(path.read_text()))
    known = ", ".join(entry.hf_id for entry in CATALOG_MODELS)
    raise SystemExit(f"unknown model {model!r}: give a catalog id ({known}) or a config.json path")


def _regressor(settings: Settings, method: str) -> "ResidualRegressor | None":
    """The active regressor version for a method that uses the regressor, loaded as the server loads it (trained
    first if there is none, with the stored runs); None for one that does not."""
    from budsim.core.methods import STRATEGIES
    from budsim.core.types import Method

    if not STRATEGIES[Method(method)].uses_regressor:
        return None
    from budsim.regressor.versions import prepare_regressor

    return asyncio.run(prepare_regressor(settings)).regressor


def _print_reasons(reasons: "tuple[ConfidenceReason, ...]") -> None:
    """What lowered the confidence, as the API says it, so a CLI answer is as explicable as a served one."""
    for reason in reasons:
        print(f"  x{reason.factor:.2f} {reason.message}; to raise it: {reason.measure}")


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    from budsim.cli.render import table
    from budsim.core.catalog.fabrics import catalog_cluster
    from budsim.core.catalog.gpus import GPUS, find_gpu
    from budsim.core.deployment import Workload
    from budsim.core.errors import CoreError
    from budsim.core.heuristic import PartialConfig
    from budsim.core.predictors import confidence_level
    from budsim.core.simulation import simulate
    from budsim.core.types import Dtype, Engine, Interconnect
    from budsim.jobs.api_fields import input_field

    name, arch = _load_architecture(args.model)
    gpu = find_gpu(args.gpu)
    if gpu is None:
        raise SystemExit(f"unknown GPU {args.gpu!r}: one of {', '.join(GPUS)}")
    cluster = catalog_cluster(
        gpu, args.gpus, args.nodes, Interconnect(args.interconnect) if args.interconnect else None
    )
    interconnect = cluster.interconnect
    if (args.concurrency is None) == (args.request_rate is None):
        raise SystemExit("give exactly one of --concurrency or --request-rate")
    workload = Workload(args.input_tokens, args.output_tokens, args.concurrency, args.request_rate)
    partial = PartialConfig(
        tensor_parallel=args.tp,
        pipeline_parallel=args.pp,
        max_num_seqs=args.max_num_seqs,
        replicas=args.replicas,
        weight_dtype=Dtype(args.weight_dtype) if args.weight_dtype else None,
        kv_cache_dtype=Dtype(args.kv_cache_dtype) if args.kv_cache_dtype else None,
    )
    try:
        prediction = simulate(arch, cluster, workload, partial, Engine(args.engine), _regressor(settings, args.method))
    except CoreError as error:
        raise SystemExit(f"{input_field(error.field)}: {error.message}") from None
    c = prediction.config
    print(f"{name} on {args.nodes} x {args.gpus} {gpu.name} ({interconnect.value}), {args.engine}, {args.method}")
    print(
        table(
            ["config", "value"],
            [
                ("tensor parallel", c.tensor_parallel),
                ("pipeline parallel", c.pipeline_parallel),
                ("replicas", c.replicas),
                ("max_num_seqs", c.max_num_seqs),
                ("max_num_batched_tokens", c.max_num_batched_tokens),
                ("gpu_memory_utilization", c.gpu_memory_utilization),
                ("max_model_len", c.max_model_len),
                ("weights / KV dtype", f"{c.weight_dtype} / {c.kv_cache_dtype}"),
            ],
        )
    )
    print()
    print(table(["memory per GPU", "value"], list(asdict(prediction.memory).items())))
    print()
    print(table(["metric", "value"], list(asdict(prediction.metrics).items())))
    print(f"\nconfidence {prediction.confidence:.2f} ({confidence_level(prediction.confidence).value})")
    _print_reasons(prediction.confidence_reasons)
    for warning in prediction.warnings:
        print(f"warning: {warning}")
    return 0


def _optimize(settings: Settings, args: argparse.Namespace) -> int:
    from budsim.cli.render import table
    from budsim.core.catalog.fabrics import catalog_cluster
    from budsim.core.catalog.gpus import find_gpu
    from budsim.core.deployment import Workload
    from budsim.core.errors import CoreError
    from budsim.core.launch import launch_command
    from budsim.core.methods import optimize_deployment
    from budsim.core.optimization import DEFAULT_WORKLOAD, Constraints, OptimizationProblem, SearchSettings
    from budsim.core.predictors import confidence_level
    from budsim.core.search import ClusterOption, Targets
    from budsim.core.types import Dtype, Engine, Method
    from budsim.jobs.api_fields import input_field

    name, arch = _load_architecture(args.model)
    clusters = []
    for gpu_name in args.gpu:
        gpu = find_gpu(gpu_name)
        if gpu is None:
            raise SystemExit(f"unknown GPU {gpu_name!r}")
        clusters.append(ClusterOption(catalog_cluster(gpu, args.gpus, args.nodes), gpu.name))
    workload = DEFAULT_WORKLOAD
    if args.concurrency is not None or args.request_rate is not None:
        workload = Workload(args.input_tokens, args.output_tokens, args.concurrency, args.request_rate)
    targets = Targets(args.max_latency_ms, args.min_throughput_tps, args.max_ttft_ms, args.max_cost_per_hour)
    constraints = Constraints(args.max_replicas, args.max_gpus_per_replica, args.high_availability)
    search = SearchSettings(settings.population_size, settings.generations, settings.optimization_timeout, args.seed)
    precisions = [Dtype(p) for p in args.precision] or [Dtype.BF16]
    try:
        engine = Engine(args.engine)
        problem = OptimizationProblem(
            arch,
            tuple(clusters),
            tuple(precisions),
            workload,
            engine,
            Method(args.method),
            targets,
            constraints,
            search,
        )
        outcome = optimize_deployment(problem, _regressor(settings, args.method))
    except CoreError as error:
        raise SystemExit(f"{input_field(error.field)}: {error.message}") from None
    rows = [
        (
            c.cluster_label,
            c.config.tensor_parallel,
            c.config.pipeline_parallel,
            c.config.replicas,
            c.config.max_num_seqs,
            c.config.weight_dtype.value,
            c.metrics.output_tokens_per_s,
            c.metrics.ttft_p99_ms,
            c.metrics.e2e_latency_p99_ms,
            c.metrics.cost_per_hour,
            c.metrics.cost_per_million_tokens,
        )
        for c in outcome.pareto
    ]
    print(
        f"{name}: Pareto front ({outcome.evaluations} configs scored in {outcome.generations} generations, "
        f"{outcome.elapsed_ms:.0f} ms)"
    )
    print(
        table(
            [
                "gpu",
                "tp",
                "pp",
                "replicas",
                "max_seqs",
                "dtype",
                "out tok/s",
                "ttft p99 ms",
                "e2e p99 ms",
                "$/h",
                "$/M tok",
            ],
            rows,
        )
    )
    if outcome.best is None:
        print("nothing could be evaluated")
        return 1
    verdict = "meets the targets" if outcome.meets_targets else "MISSES the targets"
    gpu = next(option.cluster.gpu for option in clusters if option.label == outcome.best.cluster_label)
    command = launch_command(engine, name, arch, gpu, outcome.best.config)
    level = confidence_level(outcome.confidence).value
    print(f"\npick ({verdict}, confidence {outcome.confidence:.2f} {level}):\n{command}")
    _print_reasons(outcome.confidence_reasons)
    for binding in outcome.binding:
        print(f"binding: {binding.target} requires {binding.required}, closest achieves {binding.achieved}")
    return 0


def _train(settings: Settings, args: argparse.Namespace) -> int:
    from budsim.regressor.stored_runs import fetch_stored_runs
    from budsim.regressor.training import DEFAULT_CSV, train_from_csv

    stored = asyncio.run(fetch_stored_runs(settings.async_database_url)) if args.stored else None
    if stored is not None:
        print(f"stored benchmark runs from DATABASE_URL: {len(stored.runs)}")
    data, output = Path(args.data or DEFAULT_CSV), Path(args.output or settings.model_path)
    report = train_from_csv(data, output, logo=args.logo, stored=stored)
    print(f"manifest: {report.manifest_path}")
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    """`budsim import FILE...`: each file's runs stored as `importBenchmarkResults` stores them, all of a file or
    none of it; the first file refused stops the command (the files before it stay imported)."""
    from budsim.core.errors import CoreError
    from budsim.core.imports import BenchmarkFormat
    from budsim.core.types import Dtype
    from budsim.resolvers.benchmarks import ImportSettings, import_runs
    from budsim.resolvers.errors import Invalid, NotFound

    import_settings = ImportSettings(
        hardware_profile_id=args.hardware_profile,
        model_id=args.model,
        tensor_parallel_size=args.tp,
        pipeline_parallel_size=args.pp,
        replicas=args.replicas,
        weight_dtype=Dtype(args.dtype),
        kv_cache_dtype=Dtype(args.kv_dtype) if args.kv_dtype else None,
        engine=Engine(args.engine) if args.engine else None,
        source=args.source,
    )

    contents = [(name, Path(name).read_text(encoding="utf-8")) for name in args.files]

    async def store(sessions: "async_sessionmaker[AsyncSession]") -> int:
        for name, content in contents:
            try:
                rows = await import_runs(sessions, BenchmarkFormat(args.format), content, import_settings)
            except (Invalid, CoreError) as error:
                print(f"{name}: {error.field}: {error.message}", file=sys.stderr)
                return 1
            except NotFound as error:
                print(f"{name}: {error.message}", file=sys.stderr)
                return 1
            loads = ", ".join(
                f"concurrency {row.concurrency}" if row.concurrency else f"{row.request_rate:g} req/s" for row in rows
            )
            print(f"{name}: {len(rows)} run(s) stored on {rows[0].gpu_type} ({loads})")
        return 0

    return asyncio.run(_with_keys(settings, store))


async def _with_keys(settings: Settings, work: "Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]") -> int:
    from budsim.db.session import create_engine, create_sessionmaker

    engine = create_engine(settings.async_database_url)
    try:
        return await work(create_sessionmaker(engine))
    finally:
        await engine.dispose()


def _create_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from budsim.core.auth import Scope
    from budsim.db import api_keys

    try:
        scope = Scope.parse(args.scopes)
    except ValueError as error:
        raise SystemExit(f"budsim create-api-key: --scopes: {error}") from None
    name = args.name.strip()
    if not name or len(name) > 200:
        raise SystemExit("budsim create-api-key: --name must be 1 to 200 characters")

    async def create(sessions: "async_sessionmaker[AsyncSession]") -> int:
        key, secret = await api_keys.create(sessions, name, scope)
        print(f"id      {key.id}\nname    {key.name}\nscopes  {key.scope.granted}")
        print(f"key     {secret}")
        print("The key is shown once and stored only as a hash: keep it now.", file=sys.stderr)
        return 0

    return asyncio.run(_with_keys(settings, create))


def _list_api_keys(settings: Settings, _args: argparse.Namespace) -> int:
    from budsim.db import api_keys

    def when(moment: "datetime | None") -> str:
        return moment.isoformat(timespec="seconds") if moment else "-"

    async def list_keys(sessions: "async_sessionmaker[AsyncSession]") -> int:
        print(f"{'id':36}  {'scopes':17}  {'created':25}  {'last used':25}  {'revoked':25}  name")
        for key in await api_keys.list_all(sessions):
            print(
                f"{key.id!s:36}  {key.scope.granted:17}  {when(key.created_at):25}  {when(key.last_used_at):25}  "
                f"{when(key.revoked_at):25}  {key.name}"
            )
        return 0

    return asyncio.run(_with_keys(settings, list_keys))


def _revoke_api_key(settings: Settings, args: argparse.Namespace) -> int:
    import uuid

    from budsim.db import api_keys

    try:
        key_id = uuid.UUID(args.id)
    except ValueError:
        raise SystemExit(f"budsim revoke-api-key: {args.id!r} is not a key id (see `budsim list-api-keys`)") from None

    async def revoke(sessions: "async_sessionmaker[AsyncSession]") -> int:
        key = await api_keys.revoke(sessions, key_id)
        if key is None:
            print(f"budsim revoke-api-key: no API key {key_id}", file=sys.stderr)
            return 1
        print(f"revoked {key.id} ({key.name}) at {key.revoked_at}")
        return 0

    return asyncio.run(_with_keys(settings, revoke))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="budsim", description="LLM deployment simulation and optimization service.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the GraphQL API (PORT, default 9083)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--no-worker",
        dest="worker",
        action="store_false",
        help="run no optimization worker in this process (jobs go to `budsim worker` processes)",
    )
    serve.add_argument(
        "--processes",
        type=_positive,
        default=None,
        help="server processes sharing the port, each with its own event loop and worker (API_PROCESSES; "
        "PostgreSQL only above 1)",
    )
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="run optimization jobs only (DATABASE_URL, WORKER_CONCURRENCY)")
    worker.set_defaults(run=_worker)

    migrate = commands.add_parser("migrate", help="apply database migrations (DATABASE_URL)")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=_migrate)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", "-o", default="schema.graphql", help="file to write, or - for stdout")
    export.set_defaults(run=_export_schema)

    sim = commands.add_parser("simulate", help="predict one deployment in-process and print it (no database)")
    sim.add_argument("model", help="catalog model id (e.g. meta-llama/Llama-3.1-8B-Instruct) or a config.json path")
    sim.add_argument("gpu", help="catalog GPU (e.g. H100-SXM)")
    sim.add_argument("--gpus", type=int, default=8, help="GPUs per node (default 8)")
    sim.add_argument("--nodes", type=int, default=1)
    sim.add_argument("--interconnect", choices=list(Interconnect))
    sim.add_argument("--engine", choices=list(Engine), default="VLLM")
    sim.add_argument("--input-tokens", type=int, default=1000)
    sim.add_argument("--output-tokens", type=int, default=200)
    sim.add_argument("--concurrency", type=float)
    sim.add_argument("--request-rate", type=float)
    sim.add_argument("--tp", type=int)
    sim.add_argument("--pp", type=int)
    sim.add_argument("--replicas", type=int)
    sim.add_argument("--max-num-seqs", type=int)
    sim.add_argument("--weight-dtype", choices=["BF16", "FP16", "FP8", "INT8", "INT4"])
    sim.add_argument("--kv-cache-dtype", choices=["BF16", "FP16", "FP8"])
    sim.add_argument("--method", choices=list(Method), default="HEURISTIC", help="REGRESSOR corrects with MODEL_PATH")
    sim.set_defaults(run=_simulate)

    opt = commands.add_parser("optimize", help="search the best deployment in-process and print the Pareto front")
    opt.add_argument("model", help="catalog model id or a config.json path")
    opt.add_argument("--gpu", action="append", required=True, help="catalog GPU; repeat to let the search choose")
    opt.add_argument("--gpus", type=int, default=8, help="GPUs per node (default 8)")
    opt.add_argument("--nodes", type=int, default=1)
    opt.add_argument("--engine", choices=list(Engine), default="VLLM")
    opt.add_argument("--precision", action="append", default=[], choices=["BF16", "FP16", "FP8", "INT8", "INT4"])
    opt.add_argument("--input-tokens", type=int, default=1024)
    opt.add_argument("--output-tokens", type=int, default=256)
    opt.add_argument("--concurrency", type=float)
    opt.add_argument("--request-rate", type=float)
    opt.add_argument("--max-latency-ms", type=float)
    opt.add_argument("--min-throughput-tps", type=float)
    opt.add_argument("--max-ttft-ms", type=float)
    opt.add_argument("--max-cost-per-hour", type=float)
    opt.add_argument("--max-replicas", type=int, default=10)
    opt.add_argument("--max-gpus-per-replica", type=int, default=8)
    opt.add_argument("--high-availability", action="store_true")
    opt.add_argument("--seed", type=int, default=0)
    opt.add_argument("--method", choices=list(Method), default="REGRESSOR", help="HEURISTIC plans without searching")
    opt.set_defaults(run=_optimize)

    train = commands.add_parser("train", help="train the XGBoost residual regressor and print held-out accuracy")
    train.add_argument("--data", help="benchmark CSV (default data/benchmarks.csv)")
    train.add_argument("--output", help="model file (default MODEL_PATH)")
    train.add_argument("--no-logo", dest="logo", action="store_false", help="skip the leave-one-group-out table")
    train.add_argument(
        "--no-stored", dest="stored", action="store_false", help="ignore benchmark runs stored in DATABASE_URL"
    )
    train.set_defaults(run=_train)

    imported = commands.add_parser(
        "import", help="store a benchmark tool's result files as measured runs (DATABASE_URL), as training uses them"
    )
    imported.add_argument("files", nargs="+", metavar="FILE")
    imported.add_argument("--format", required=True, choices=["VLLM", "SGLANG", "GUIDELLM"], type=str.upper)
    imported.add_argument("--hardware-profile", required=True, help="the hardware profile's id the runs used")
    imported.add_argument("--model", default=None, help="the model's id (default: the file's, by registered name)")
    imported.add_argument("--tp", type=_positive, default=1, help="tensor parallel size (default 1)")
    imported.add_argument("--pp", type=_positive, default=1, help="pipeline parallel size (default 1)")
    imported.add_argument("--replicas", type=_positive, default=1, help="data-parallel copies (default 1)")
    imported.add_argument("--dtype", default="BF16", choices=["BF16", "FP16", "FP8", "INT8", "INT4"], type=str.upper)
    imported.add_argument("--kv-dtype", default=None, choices=["BF16", "FP16", "FP8", "INT8", "INT4"], type=str.upper)
    imported.add_argument("--engine", default=None, choices=["VLLM", "SGLANG", "TRTLLM"], type=str.upper)
    imported.add_argument("--source", default=None, help="provenance: who measured, where, how")
    imported.set_defaults(run=_import)

    create_key = commands.add_parser(
        "create-api-key", help="make an API key and print it once (DATABASE_URL; stored only as a hash)"
    )
    create_key.add_argument("--name", required=True, help="who or what uses the key")
    create_key.add_argument(
        "--scopes", default="read", help="read, write or admin, comma-separated; admin implies write implies read"
    )
    create_key.set_defaults(run=_create_api_key)
    list_keys = commands.add_parser("list-api-keys", help="list API keys (never the keys themselves)")
    list_keys.set_defaults(run=_list_api_keys)
    revoke_key = commands.add_parser("revoke-api-key", help="revoke an API key by its id: refused from then on")
    revoke_key.add_argument("id")
    revoke_key.set_defaults(run=_revoke_api_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return int(args.run(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
