"""`budsim create-api-key`, `list-api-keys` and `revoke-api-key` against DATABASE_URL, on both backends.

Synchronous tests: the commands run their own event loop, as from a shell."""

import asyncio
import re

import pytest

from budsim.cli import main
from budsim.core.auth import Scope
from budsim.db import api_keys
from budsim.db.session import create_engine, create_sessionmaker


@pytest.fixture
def database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


async def authenticate(url: str, key: str) -> str | None:
    engine = create_engine(url)
    try:
        principal = await api_keys.authenticate(create_sessionmaker(engine), key)
        return principal.scope.label if principal else None
    finally:
        await engine.dispose()


def test_a_key_is_created_listed_and_revoked(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["create-api-key", "--name", "ci deploys", "--scopes", "read,write"]) == 0
    created = capsys.readouterr()
    key_id = re.search(r"^id\s+(\S+)$", created.out, re.M).group(1)  # type: ignore[union-attr]
    key = re.search(r"^key\s+(budsim_\S+)$", created.out, re.M).group(1)  # type: ignore[union-attr]
    assert "scopes  read,write" in created.out
    assert "shown once" in created.err
    assert asyncio.run(authenticate(database, key)) == "write"

    assert main(["list-api-keys"]) == 0
    [line] = [row for row in capsys.readouterr().out.splitlines() if row.startswith(key_id)]
    assert "read,write" in line
    assert line.endswith("ci deploys")
    assert key not in line  # only the hash is kept

    assert main(["revoke-api-key", key_id]) == 0
    assert f"revoked {key_id}" in capsys.readouterr().out
    assert asyncio.run(authenticate(database, key)) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create-api-key", "--name", "x", "--scopes", "read,root"], "unknown scope 'root'"),
        (["create-api-key", "--name", "x", "--scopes", ","], "at least one scope"),
        (["create-api-key", "--name", " ", "--scopes", "read"], "--name"),
        (["revoke-api-key", "not-a-uuid"], "not a key id"),
    ],
)
def test_bad_arguments_are_explained(argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        main(argv)


def test_revoking_an_unknown_key_fails(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["revoke-api-key", "00000000-0000-4000-8000-000000000000"]) == 1
    assert "no API key" in capsys.readouterr().err


def test_scopes_imply_the_ones_below() -> None:
    assert Scope.parse("admin").granted == "read,write,admin"
    assert Scope.parse("write, read") is Scope.WRITE
    assert Scope.ADMIN > Scope.WRITE > Scope.READ
