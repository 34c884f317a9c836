"""The committed schema.graphql is what the code serves: schema drift fails CI."""

from pathlib import Path

from budsim.cli import main
from budsim.schema import build_schema

ROOT = Path(__file__).parents[2]


def test_committed_sdl_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == build_schema().as_str() + "\n", "run `make schema` and commit schema.graphql"


def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    target = tmp_path / "out.graphql"
    assert main(["export-schema", "--output", str(target)]) == 0
    assert target.read_text() == (ROOT / "schema.graphql").read_text()
