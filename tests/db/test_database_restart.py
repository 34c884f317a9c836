"""PostgreSQL stopped and started again under a live server: clear 503s meanwhile, recovery without a hand, no job lost.

The server under test gets a PostgreSQL of its own (initdb in a temporary directory, a free port), so stopping it
never touches the machine's shared one. Without PostgreSQL's server binaries the test is skipped, under CI=true failed.
"""

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from budsim.db import migrate
from budsim.db.session import create_engine
from budsim.db.unavailable import is_unavailable
from budsim.settings import Settings
from tests.api.helpers import submit_job
from tests.conftest import _free_port, serve

MODELS = "{ models { id name } }"
DELETE = "mutation($id: ID!) { deleteHardwareProfile(id: $id) { __typename } }"
JOB = "query($id: ID!) { optimizationJob(id: $id) { id status attempts result { simulation { id } } } }"


def _server_binaries() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


class ThrowawayPostgres:
    """A PostgreSQL cluster in `directory`, run as the `postgres` user when we are root (initdb refuses root)."""

    def __init__(self, binaries: Path, directory: Path) -> None:
        self.binaries = binaries
        self.directory = directory
        self.data = directory / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{command[0]} failed: {done.stderr or done.stdout}"

    def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.directory, "postgres")
        self._run(str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory}"
        log = str(self.directory / "postgres.log")
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    binaries = _server_binaries()
    if binaries is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    # Not under pytest's tmp_path: its parents are private to us, and the server runs as `postgres`.
    cluster = ThrowawayPostgres(binaries, Path(tempfile.mkdtemp(prefix="budsim-pg-")))
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--"] * cluster.as_postgres
            + [str(binaries / "pg_ctl"), "-D", str(cluster.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(cluster.directory, ignore_errors=True)


async def _until(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {seconds}s: {check}")


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers.get("retry-after") == "1"
    errors = response.json()["errors"]
    assert errors, response.text
    assert all(error["extensions"]["code"] == "SERVICE_UNAVAILABLE" for error in errors), errors
    assert "Internal server error" not in response.text


async def test_a_restarted_database_answers_503_meanwhile_and_loses_no_job(
    postgres: ThrowawayPostgres, model_path: Path
) -> None:
    await migrate.upgrade_url(postgres.url)
    settings = Settings(
        database_url=postgres.url,
        model_path=model_path,
        job_lease_seconds=3.0,
        job_poll_seconds=0.5,
        population_size=8,
        generations=6,
    )
    async with serve(settings) as server, server.client(timeout=30) as http:
        assert (await http.get("/readyz")).status_code == 200
        job = await submit_job(http, wait=False)

        postgres.stop()
        load = [http.post("/graphql", json={"query": MODELS}) for _ in range(20)]
        load.append(http.post("/graphql", json={"query": JOB, "variables": {"id": job["id"]}}))
        for response in await asyncio.gather(*load):
            _assert_unavailable(response)
        submitted = await http.post(
            "/graphql",
            json={
                "query": 'mutation { deleteHardwareProfile(id: "00000000-0000-0000-0000-000000000000") { __typename } }'
            },
        )
        _assert_unavailable(submitted)
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "unreachable"

        postgres.start()

        async def ready_again() -> bool:
            return (await http.get("/readyz")).status_code == 200

        await _until(ready_again, 30)
        assert (await http.post("/graphql", json={"query": MODELS})).status_code == 200

        async def job_ended() -> bool:
            response = await http.post("/graphql", json={"query": JOB, "variables": {"id": job["id"]}})
            return response.status_code == 200 and response.json()["data"]["optimizationJob"]["status"] not in (
                "QUEUED",
                "RUNNING",
            )

        await _until(job_ended, 120)
        final = (await http.post("/graphql", json={"query": JOB, "variables": {"id": job["id"]}})).json()
        assert final["data"]["optimizationJob"]["status"] == "SUCCEEDED", final

    engine = create_engine(postgres.url)
    try:
        async with engine.connect() as connection:
            jobs = (await connection.execute(text("SELECT count(*) FROM optimization_jobs"))).scalar_one()
            simulations = (await connection.execute(text("SELECT count(*) FROM simulations"))).scalar_one()
            linked = (
                await connection.execute(text("SELECT count(*) FROM optimization_jobs WHERE simulation_id IS NOT NULL"))
            ).scalar_one()
    finally:
        await engine.dispose()
    assert (jobs, simulations, linked) == (1, 1, 1)


def _wrapped(error: Exception) -> sa_exc.DBAPIError:
    """What SQLAlchemy's asyncpg dialect raises for a driver error: a DBAPIError whose cause is asyncpg's."""
    try:
        raise sa_exc.DBAPIError("SELECT 1", None, error) from error
    except sa_exc.DBAPIError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        sa_exc.DisconnectionError("idle connection failed its ping"),
        sa_exc.OperationalError("SELECT 1", None, Exception("the connection is closed")),
        _wrapped(asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")),
        _wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")),
        _wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
        _wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
    ],
    ids=type,
)
def test_a_lost_or_full_database_counts_as_unavailable(error: Exception) -> None:
    assert is_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        _wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
        sa_exc.IntegrityError("INSERT", None, Exception("duplicate key")),
    ],
    ids=type,
)
def test_other_errors_stay_internal(error: Exception) -> None:
    assert not is_unavailable(error)
