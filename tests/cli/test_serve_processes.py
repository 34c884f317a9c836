"""`budsim serve --processes N`: several event loops on one port, each with its worker, against one PostgreSQL."""

import asyncio
import os
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from budsim.cli import main
from budsim.core.auth import Scope
from budsim.db import api_keys
from budsim.db.session import create_engine, create_sessionmaker
from tests.api.helpers import OPTIMIZE, job_input
from tests.conftest import _free_port, gql_data, migrated_database
from tests.processes import process, ready

SPAWNED = "multiprocessing.spawn"


def server_processes(supervisor: int) -> list[int]:
    """The supervisor's spawned children that serve (not multiprocessing's resource tracker)."""
    found = []
    for pid in Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split():
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if SPAWNED in command and "resource_tracker" not in command:
            found.append(int(pid))
    return found


async def test_two_processes_serve_one_port_and_run_jobs(tmp_path: Path, model_path: Path) -> None:
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(migrated_database("postgresql", tmp_path))
        env = {**os.environ, "DATABASE_URL": url, "MODEL_PATH": str(model_path), "LOG_LEVEL": "warning"}
        port = _free_port()
        log = tmp_path / "serve.log"
        args = ("serve", "--processes", "2", "--host", "127.0.0.1", "--port", str(port))
        supervisor = await stack.enter_async_context(process(*args, env=env, log=log))
        base = f"http://127.0.0.1:{port}"
        await ready(base, log)  # one process answering: the other may still be starting
        for _ in range(100):
            if len(server_processes(supervisor.pid)) == 2:
                break
            await asyncio.sleep(0.1)
        assert len(server_processes(supervisor.pid)) == 2
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        _key, token = await api_keys.create(create_sessionmaker(engine), "two-processes", Scope.ADMIN)
        headers = {"Authorization": f"Bearer {token}"}  # PostgreSQL: auth is on
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
            answer = (await gql_data(http, OPTIMIZE, input=await job_input(http, seed=3), wait=True))["optimize"]
        assert answer["__typename"] == "OptimizationJob", answer
        assert answer["status"] == "SUCCEEDED"


def test_more_than_one_process_needs_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # With SQLite, job news and the worker reach only their own process: a second one would strand jobs.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'budsim.db'}")
    assert main(["serve", "--processes", "2"]) == 2
    assert "need PostgreSQL in DATABASE_URL" in capsys.readouterr().err
