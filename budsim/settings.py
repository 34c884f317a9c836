"""Runtime settings, read from the environment once at start-up and passed down explicitly."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./budsim.db"
# The trained regressor's default file, relative to the working directory (the repository, or /app in the image):
# the one name the service documentation gives. `budsim.regressor.training.DEFAULT_MODEL` places it in the repository.
DEFAULT_MODEL_PATH = Path("models") / "xgboost.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL, description="SQLAlchemy async URL (sqlite+aiosqlite or postgresql+asyncpg)."
    )
    model_path: Path = Field(
        DEFAULT_MODEL_PATH,
        description="Where the first regressor version is trained to (from TRAINING_DATA and the stored runs) when "
        "the database holds none; reused when trained on exactly that data. Later versions live in the database.",
    )
    training_data: Path | None = Field(
        None,
        description="The benchmark CSV the regressor trains on beside the stored runs (default: the repository's "
        "data/benchmarks.csv).",
    )
    retrain_folds: int = Field(
        0,
        ge=0,
        le=1000,
        description="How `retrainRegressor` compares a new version with the active one: 0 holds out each model x GPU "
        "group in turn (leave-one-group-out); k > 1 holds out k folds of whole groups (faster, coarser).",
    )
    regressor_poll_seconds: float = Field(
        30.0,
        gt=0,
        description="How often a process checks the database for a newly active regressor version, besides being "
        "told (the telling can be lost, and a separate worker on SQLite is never told).",
    )
    optimization_timeout: float = Field(300.0, gt=0, description="Seconds an optimization may run before it stops.")
    wait_limit_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Longest `optimize(wait: true)` holds its request; a job still queued or running then is "
        "answered as it stands and runs on, to follow with `optimizationProgress` or `optimizationJob(id)`.",
    )
    population_size: int = Field(50, ge=4, description="NSGA-II population per generation.")
    generations: int = Field(100, ge=1, description="NSGA-II generation limit.")
    run_worker: bool = Field(
        True,
        description="Run an optimization worker inside `budsim serve` (`--no-worker` or false to leave jobs "
        "to `budsim worker` processes; needs PostgreSQL).",
    )
    worker_concurrency: int = Field(2, ge=1, le=64, description="Optimization jobs one worker runs at once.")
    job_lease_seconds: float = Field(
        30.0, gt=0, description="How long a worker's claim on a job lasts without a heartbeat (renewed every third)."
    )
    job_poll_seconds: float = Field(
        2.0, gt=0, description="How often an idle worker looks for queued jobs it was not told about."
    )
    job_max_attempts: int = Field(3, ge=1, le=100, description="Tries a job gets when its workers keep dying.")
    simulate_processes: int = Field(
        1,
        ge=0,
        le=64,
        description="Child processes that compute `simulate` predictions off the event loop (0: on the loop).",
    )
    api_processes: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes `budsim serve` runs on one port, each with its own event loop, prediction process "
        "and worker; more than 1 needs PostgreSQL. One event loop is one core: one per core is the usual choice.",
    )
    bulk_concurrency: int = Field(
        2,
        ge=1,
        le=1024,
        description="Job submissions one server process works on at once, and as many websocket openings "
        "(budsim.web.admission); the rest wait their turn, so that a burst of them (20 jobs submitted, 200 dashboards "
        "following) does not queue every other request behind it on the event loop.",
    )
    max_request_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest HTTP request body (and websocket message) accepted; larger ones get 413. 1 MiB is "
        "hundreds of times a real query with its variables or a registerModel config.json.",
    )
    max_query_depth: int = Field(
        10, ge=1, description="Deepest selection an operation may nest (the deepest real one, optimize's, is 5)."
    )
    max_aliases: int = Field(30, ge=0, description="Aliased fields one operation may hold.")
    max_query_tokens: int = Field(5000, ge=100, description="Tokens (and comments) one GraphQL document may hold.")
    max_simulations_per_request: int = Field(
        10, ge=1, description="`simulate` and `optimize` fields one operation may hold, aliases included."
    )
    rate_limit_per_minute: int = Field(
        600,
        ge=0,
        description="HTTP requests one API key may make a minute in one server process (a minute's worth as a "
        "burst); over it, 429 with Retry-After. 0: no limit.",
    )
    max_active_jobs_per_key: int = Field(
        5,
        ge=0,
        description="Optimizations one API key may have queued or running at once; `optimize` refuses more until "
        "one ends. 0: no limit.",
    )
    introspection: bool = Field(
        True,
        description="Answer introspection (`__schema`, `__type`): GraphiQL needs it; false hides the schema "
        "from clients in production.",
    )
    trusted_documents: bool = Field(
        False,
        description="Answer only the dashboard's own GraphQL operations (budsim/web/operations), as a production "
        "server whose clients are the page should; any other document is refused with UNTRUSTED_DOCUMENT and "
        "GraphiQL is not served. The REST routes are unaffected.",
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins (https://app.example.com) whose browsers may call the API; empty: "
        "no CORS headers, so browsers allow only same-origin pages.",
    )
    auth_disabled: bool | None = Field(
        None,
        description="true: answer every request without an API key (development only); false: require "
        "`Authorization: Bearer <key>` (`budsim create-api-key`). Unset: required with PostgreSQL, not with SQLite.",
    )
    host: str = Field("0.0.0.0", description="Interface uvicorn binds.")
    port: int = Field(9083, ge=1, le=65535, description="Port uvicorn listens on.")
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field("info", description="Log level.")

    @property
    def cors_origin_list(self) -> list[str]:
        """`CORS_ORIGINS` split on commas, blanks dropped."""
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def auth_enabled(self) -> bool:
        """An explicit AUTH_DISABLED wins; unset, the embedded SQLite database is development (no keys needed, so
        `make serve` stays a two-command start) and PostgreSQL, a deployment, requires them."""
        if self.auth_disabled is not None:
            return not self.auth_disabled
        return self.async_database_url.startswith("postgresql")

    @property
    def async_database_url(self) -> str:
        """Accept the plain driver-less URLs people paste (postgresql://, sqlite://) and pick the async driver."""
        url = self.database_url
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url
