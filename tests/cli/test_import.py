"""`budsim import FILE...` stores result files' runs in DATABASE_URL as importBenchmarkResults does."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from budsim.cli import main
from budsim.db.models import BenchmarkRunRow, HardwareProfileRow
from budsim.db.session import create_engine, create_sessionmaker

FIXTURES = Path(__file__).parent.parent / "fixtures" / "benchmarks"


async def h100_profile_and_runs(url: str, source: str) -> tuple[str, list[tuple[int | None, float | None]]]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            profile = await session.scalar(
                select(HardwareProfileRow.id).where(HardwareProfileRow.name == "H100-SXM x8")
            )
            runs = await session.execute(
                select(BenchmarkRunRow.concurrency, BenchmarkRunRow.request_rate)
                .where(BenchmarkRunRow.source.startswith(source))
                .order_by(BenchmarkRunRow.created_at)
            )
            return str(profile), [(c, r) for c, r in runs.all()]
    finally:
        await engine.dispose()


def test_files_are_imported_one_after_another_and_a_bad_one_stops_with_where(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    source = f"cli import test {tmp_path.name}"
    profile, _ = asyncio.run(h100_profile_and_runs(database_url, source))
    vllm = FIXTURES / "vllm_serve_c16.json"
    argv = ["import", str(vllm), str(vllm), "--format", "vllm", "--hardware-profile", profile, "--source", source]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == [f"{vllm}: 1 run(s) stored on H100-SXM (concurrency 16)"] * 2

    bad = tmp_path / "burst.json"
    bad.write_text(vllm.read_text().replace('"max_concurrency": 16', '"max_concurrency": null'))
    assert main([*argv[:2], str(bad), *argv[3:]]) == 1
    assert f"{bad}: content: the file: neither a request rate nor a maximum concurrency" in capsys.readouterr().err
    assert asyncio.run(h100_profile_and_runs(database_url, source))[1] == [(16, None), (16, None), (16, None)]
