"""The tables behind the API. Check constraints repeat the API's validation so no writer can store nonsense."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from budsim.core.types import Dtype, Engine, JobStatus, Method, VersionOrigin, VersionStatus
from budsim.db.base import Base, HasCreatedAt, HasId, JSONDocument, utcnow

INTERCONNECTS = ("NVLINK", "PCIE", "INFINIBAND", "ETHERNET")
METHODS = tuple(m.value for m in Method)
DTYPES = tuple(d.value for d in Dtype)
ENGINES = tuple(e.value for e in Engine)
JOB_STATUSES = tuple(s.value for s in JobStatus)
VERSION_STATUSES = tuple(s.value for s in VersionStatus)
VERSION_ORIGINS = tuple(o.value for o in VersionOrigin)
# Every request in flight emits at most one token per TPOT, so a closed loop of `concurrency` requests delivers at
# most concurrency x 1000 / tpot_ms output tokens/s. 10% slack covers requests whose TPOT differs from the mean
# (the mean of 1/tpot exceeds 1/mean tpot); 1100 = 1.1 x 1000 ms/s. Written as a product so Python and both databases
# compute the same IEEE double and agree at the boundary.
SCOPE_LISTS = "('read', 'read,write', 'read,write,admin')"  # budsim.core.auth.Scope.granted, each scope's list
THROUGHPUT_PER_CONCURRENCY_TPOT = 1100
PARALLEL_DIVIDES_GPU_COUNT = (
    "CASE WHEN tensor_parallel > 0 AND pipeline_parallel > 0 "
    "THEN gpu_count % (tensor_parallel * pipeline_parallel) = 0 ELSE false END"
)


# A run's load is one of the two: a closed loop of requests in flight, or an open loop at a rate.
ONE_LOAD = "(concurrency IS NOT NULL AND request_rate IS NULL) OR (concurrency IS NULL AND request_rate IS NOT NULL)"
# The metrics a run may hold: a run with none of them measured nothing.
METRIC_COLUMNS = (
    "ttft_ms",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "tpot_ms",
    "output_tokens_per_s",
    "requests_per_s",
    "e2e_latency_ms",
    "e2e_p99_ms",
)
SOME_METRIC = " OR ".join(f"{column} IS NOT NULL" for column in METRIC_COLUMNS)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class HardwareProfileRow(HasId, HasCreatedAt, Base):
    __tablename__ = "hardware_profiles"
    __table_args__ = (
        CheckConstraint("gpu_count > 0", name="gpu_count_positive"),
        CheckConstraint("node_count > 0", name="node_count_positive"),
        CheckConstraint("gpu_memory_gb > 0", name="gpu_memory_positive"),
        CheckConstraint("cost_per_gpu_hour >= 0", name="cost_not_negative"),
        CheckConstraint(_one_of("interconnect", INTERCONNECTS), name="interconnect_known"),
    )

    name: Mapped[str] = mapped_column(String(200), unique=True)
    gpu_type: Mapped[str] = mapped_column(String(100), index=True)
    gpu_memory_gb: Mapped[float]
    gpu_count: Mapped[int]
    node_count: Mapped[int]
    interconnect: Mapped[str] = mapped_column(String(16))
    specs: Mapped[dict[str, Any]]
    cost_per_gpu_hour: Mapped[float]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ModelRow(HasId, HasCreatedAt, Base):
    __tablename__ = "models"

    name: Mapped[str] = mapped_column(String(300), unique=True)
    architecture: Mapped[dict[str, Any]]
    parameter_count: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text)


class SimulationRow(HasId, HasCreatedAt, Base):
    __tablename__ = "simulations"
    __table_args__ = (
        CheckConstraint(_one_of("method", METHODS), name="method_known"),
        CheckConstraint("confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence_unit"),
        # The dashboard lists newest first, optionally filtered by model, profile or method.
        Index("ix_simulations_created_at_id", "created_at", "id"),
        Index("ix_simulations_model_id_created_at", "model_id", "created_at"),
        Index("ix_simulations_hardware_profile_id_created_at", "hardware_profile_id", "created_at"),
        Index("ix_simulations_method_created_at", "method", "created_at"),
    )

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="RESTRICT"))
    hardware_profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hardware_profiles.id", ondelete="RESTRICT"))
    method: Mapped[str] = mapped_column(String(16))
    input_config: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any]]
    optimal_config: Mapped[dict[str, Any] | None]
    confidence: Mapped[float | None]
    # The regressor version whose corrections it holds: None for HEURISTIC, or where no regressor was loaded.
    regressor_version_id: Mapped[int | None] = mapped_column(ForeignKey("regressor_versions.id", ondelete="SET NULL"))
    # The simulation it reran with the same inputs (`resimulate`, `reoptimize`); None for a first run.
    rerun_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("simulations.id", ondelete="SET NULL"), index=True)


class BenchmarkRunRow(HasId, HasCreatedAt, Base):
    """One measured serving run, with its provenance; `budsim train` learns from these and the CSV.

    A run is closed loop (`concurrency` requests in flight) or open loop (`request_rate` requests/s offered), never
    both, and holds whichever metrics were measured (at least one). Every physical check below is written so that it
    holds wherever its inputs are present: SQL passes a CHECK whose value is NULL, so a missing figure skips exactly
    the relations it takes part in.
    """

    __tablename__ = "benchmark_runs"
    __table_args__ = (
        CheckConstraint("gpu_count > 0", name="gpu_count_positive"),
        CheckConstraint("tensor_parallel > 0", name="tensor_parallel_positive"),
        CheckConstraint("pipeline_parallel > 0", name="pipeline_parallel_positive"),
        # Whole data-parallel copies of one TP x PP group (so tp x pp <= gpu_count). CASE keeps PostgreSQL from
        # dividing by zero (an error, not a check violation) before the positive checks reject the row.
        CheckConstraint(PARALLEL_DIVIDES_GPU_COUNT, name="parallel_divides_gpu_count"),
        CheckConstraint(_one_of("weight_dtype", DTYPES), name="weight_dtype_known"),
        CheckConstraint(f"kv_cache_dtype IS NULL OR {_one_of('kv_cache_dtype', DTYPES)}", name="kv_cache_dtype_known"),
        CheckConstraint(_one_of("engine", ENGINES), name="engine_known"),
        CheckConstraint("input_tokens > 0", name="input_tokens_positive"),
        # TPOT is the gap between output tokens: a run needs two of them for it to be measured at all.
        CheckConstraint("output_tokens > 1", name="output_tokens_above_one"),
        CheckConstraint("concurrency > 0", name="concurrency_positive"),
        CheckConstraint("request_rate > 0", name="request_rate_positive"),
        CheckConstraint(ONE_LOAD, name="one_load"),
        CheckConstraint(SOME_METRIC, name="some_metric"),
        CheckConstraint("ttft_ms > 0", name="ttft_positive"),
        CheckConstraint("ttft_p50_ms > 0", name="ttft_p50_positive"),
        CheckConstraint("ttft_p99_ms > 0", name="ttft_p99_positive"),
        CheckConstraint("ttft_p50_ms <= ttft_p99_ms", name="ttft_p50_within_p99"),
        CheckConstraint("tpot_ms > 0", name="tpot_positive"),
        CheckConstraint("output_tokens_per_s > 0", name="throughput_positive"),
        CheckConstraint("requests_per_s > 0", name="requests_per_s_positive"),
        CheckConstraint(
            f"output_tokens_per_s * tpot_ms <= {THROUGHPUT_PER_CONCURRENCY_TPOT}.0 * concurrency",
            name="throughput_within_decode_bound",
        ),
        CheckConstraint("e2e_latency_ms IS NULL OR e2e_latency_ms > 0", name="e2e_positive"),
        CheckConstraint("e2e_p99_ms > 0", name="e2e_p99_positive"),
        CheckConstraint("e2e_latency_ms IS NULL OR ttft_ms < e2e_latency_ms", name="ttft_within_e2e"),
        # Each request's first token comes before its last, so every quantile of TTFT is below the same one of E2E.
        CheckConstraint("ttft_p99_ms < e2e_p99_ms", name="ttft_p99_within_e2e_p99"),
        CheckConstraint(
            "e2e_latency_ms IS NULL OR tpot_ms * (output_tokens - 1) <= e2e_latency_ms", name="decode_within_e2e"
        ),
        CheckConstraint("trim(source) <> ''", name="source_not_blank"),
        Index("ix_benchmark_runs_created_at_id", "created_at", "id"),
        Index("ix_benchmark_runs_model_id_created_at", "model_id", "created_at"),
        Index("ix_benchmark_runs_simulation_id", "simulation_id"),
    )

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="RESTRICT"))
    # The GPU's name: the catalog's canonical one (`core.catalog.gpus`), or a custom profile's `gpu_type`.
    gpu_type: Mapped[str] = mapped_column(String(100))
    # The profile it ran on, where given; a deleted profile leaves its runs, named by `gpu_type`.
    hardware_profile_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hardware_profiles.id", ondelete="SET NULL")
    )
    # The stored prediction this run measured (`validateSimulation`); a deleted simulation leaves the run.
    simulation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("simulations.id", ondelete="SET NULL"))
    gpu_count: Mapped[int]
    tensor_parallel: Mapped[int]
    pipeline_parallel: Mapped[int] = mapped_column(default=1)
    weight_dtype: Mapped[str] = mapped_column(String(8))
    kv_cache_dtype: Mapped[str | None] = mapped_column(String(8))  # None: the source did not record it
    engine: Mapped[str] = mapped_column(String(16))
    engine_version: Mapped[str | None] = mapped_column(String(100))
    input_tokens: Mapped[int]
    output_tokens: Mapped[int]
    concurrency: Mapped[int | None]  # requests in flight (closed loop), or None for an open-loop run
    request_rate: Mapped[float | None]  # requests/s offered (open loop), or None for a closed-loop run
    ttft_ms: Mapped[float | None]  # means, medians and 99th percentiles, each None where not measured
    ttft_p50_ms: Mapped[float | None]
    ttft_p99_ms: Mapped[float | None]
    tpot_ms: Mapped[float | None]
    output_tokens_per_s: Mapped[float | None]
    requests_per_s: Mapped[float | None]
    e2e_latency_ms: Mapped[float | None]
    e2e_p99_ms: Mapped[float | None]
    source: Mapped[str] = mapped_column(Text)  # a URL, or who measured it and how: provenance is mandatory


class OptimizationJobRow(HasId, HasCreatedAt, Base):
    """One optimize request and its life: queued, claimed by a worker under a lease, ended with a result or a reason.

    `worker` and `lease_expires_at` are the claim: a worker extends the lease while it runs (heartbeats), and a job
    whose lease ran out is another worker's to retry (up to `max_attempts`) or to fail. Every write after the claim
    is guarded by `worker`, so a worker that lost its lease can never end a job another worker now owns.
    """

    __tablename__ = "optimization_jobs"
    __table_args__ = (
        CheckConstraint(_one_of("status", JOB_STATUSES), name="status_known"),
        CheckConstraint(_one_of("method", METHODS), name="method_known"),
        CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_counted"),
        # Workers claim the oldest queued (or lease-expired running) job; the dashboard lists newest first.
        Index("ix_optimization_jobs_status_created_at", "status", "created_at"),
        Index("ix_optimization_jobs_created_at_id", "created_at", "id"),
        # A key's queued and running jobs, counted before each of its submissions (MAX_ACTIVE_JOBS_PER_KEY).
        Index("ix_optimization_jobs_api_key_id_status", "api_key_id", "status"),
        # An endpoint's jobs newest first: its `optimizationJobs`, its latest job, which job a deploy defaults to.
        Index("ix_optimization_jobs_endpoint_id_created_at", "endpoint_id", "created_at"),
        # `reoptimize`: the job whose answer a simulation is.
        Index("ix_optimization_jobs_simulation_id", "simulation_id"),
    )

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="RESTRICT"))
    method: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]]  # the validated request (`budsim.db.documents.JobRequest`), ids resolved
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int]
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    progress: Mapped[dict[str, Any] | None]  # the latest generation's report, written at most once a second
    error: Mapped[str | None] = mapped_column(Text)
    simulation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("simulations.id", ondelete="RESTRICT"))
    # The key that submitted it; None for the development principal, and once the key is deleted.
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    # The endpoint whose settings it ran (optimizeEndpoint); None for a plain optimize, and once the endpoint is gone.
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("endpoints.id", ondelete="SET NULL"))
    # The simulation this job reruns (`reoptimize`): the simulation it stores is linked to that one.
    rerun_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("simulations.id", ondelete="SET NULL"))


class ApiKeyRow(HasId, HasCreatedAt, Base):
    """An API key, kept only as the SHA-256 of the key: the key itself is shown once, at creation."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(f"scopes IN {SCOPE_LISTS}", name="scopes_known"),)

    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(32))  # what the key grants, implied scopes included: "read,write"
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class EndpointRow(HasId, HasCreatedAt, Base):
    """A named plan for serving one model: what `optimizeEndpoint` asks each time, on which hardware profiles.

    The settings are the validated optimize request less its model, profiles, method and engine, which have columns
    of their own (`budsim.db.documents.EndpointSettings`); the profiles are in `endpoint_profiles`.
    """

    __tablename__ = "endpoints"
    __table_args__ = (
        CheckConstraint(_one_of("method", METHODS), name="method_known"),
        CheckConstraint(_one_of("engine", ENGINES), name="engine_known"),
        CheckConstraint("trim(name) <> ''", name="name_not_blank"),
        Index("ix_endpoints_created_at_id", "created_at", "id"),  # listed newest first
    )

    name: Mapped[str] = mapped_column(String(200), unique=True)
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="RESTRICT"))
    method: Mapped[str] = mapped_column(String(16))
    engine: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]]
    # The key that created it; None for the development principal, and once the key is deleted.
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EndpointProfileRow(Base):
    """Which profiles an endpoint optimizes over, in the order given. RESTRICT on the profile: a profile an endpoint
    names cannot be deleted from under it, as a profile a simulation names cannot."""

    __tablename__ = "endpoint_profiles"
    __table_args__ = (
        CheckConstraint("position >= 0", name="position_not_negative"),
        Index("ix_endpoint_profiles_hardware_profile_id", "hardware_profile_id"),  # is a profile in use?
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"), primary_key=True)
    hardware_profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hardware_profiles.id", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int]


class EndpointDeploymentRow(HasId, HasCreatedAt, Base):
    """A `deployEndpoint` answer: which config of which job was chosen, and the artifacts handed out for it.

    The config and its metrics are read from the job's Simulation, which never changes; the artifacts are stored
    (`budsim.db.documents.DeploymentArtifacts`) because they come from code and data that do change: the pinned
    image tags, the flags, the profile's GPUs per node. The record shows what was given, not what would be today.
    """

    __tablename__ = "endpoint_deployments"
    __table_args__ = (
        CheckConstraint("pareto_index IS NULL OR pareto_index >= 0", name="pareto_index_not_negative"),
        Index("ix_endpoint_deployments_endpoint_id_created_at", "endpoint_id", "created_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("optimization_jobs.id", ondelete="RESTRICT"))
    pareto_index: Mapped[int | None]  # None: the job's recommended config (its optimal_config)
    artifacts: Mapped[dict[str, Any]]


class RegressorVersionRow(HasCreatedAt, Base):
    """One training of the residual regressor: its model, what it learnt from, how it compared, whether it serves.

    Numbered, not a UUID: people say "version 3". `run_ids` are the stored benchmark runs it trained on (beside
    data/benchmarks.csv), so a later retrain can rebuild what this version knew and compare like with like. The model
    is the zlib-compressed JSON `budsim.regressor.training.write_model` writes, so every process, on any host, loads
    the same corrections from the database. At most one version is active, and at most one is training.
    """

    __tablename__ = "regressor_versions"
    __table_args__ = (
        CheckConstraint(_one_of("status", VERSION_STATUSES), name="status_known"),
        CheckConstraint(_one_of("origin", VERSION_ORIGINS), name="origin_known"),
        CheckConstraint("NOT active OR status = 'TRAINED'", name="active_is_trained"),
        CheckConstraint("status <> 'TRAINED' OR model IS NOT NULL", name="trained_has_model"),
        Index(
            "uq_regressor_versions_active",
            "active",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
        Index(
            "uq_regressor_versions_training",
            "status",
            unique=True,
            postgresql_where=text("status = 'TRAINING'"),
            sqlite_where=text("status = 'TRAINING'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=False)
    forced: Mapped[bool] = mapped_column(default=False)
    origin: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int | None]
    groups: Mapped[int | None]
    run_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    dataset_sha256: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any] | None]
    progress: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    model: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # megabytes: loaded only when asked
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
