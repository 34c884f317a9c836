"""Real processes for tests: `budsim` commands started and stopped, and what a child has done so far (/proc)."""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

BUDSIM = str(Path(sys.executable).parent / "budsim")


def loaded_xgboost(pid: int) -> bool:
    """Whether the process has XGBoost's library mapped: the last and heaviest of a child's imports."""
    return "libxgboost" in Path(f"/proc/{pid}/maps").read_text()


@asynccontextmanager
async def process(*args: str, env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as output:
        proc = await asyncio.create_subprocess_exec(BUDSIM, *args, env=env, stdout=output, stderr=output)
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def ready(url: str, log: Path) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(600):
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    tail = (await asyncio.to_thread(log.read_text))[-3000:]
    raise AssertionError(f"{url} never became ready:\n{tail}")
