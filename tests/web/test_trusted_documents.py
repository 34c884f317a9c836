"""TRUSTED_DOCUMENTS: a server answers only the dashboard's own operations, over HTTP and websockets."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, OperationType, parse

from budsim.schema.trusted import CODE, document_digest
from budsim.settings import Settings
from budsim.web.trusted import OPERATIONS, operation_files, trusted_digests
from tests.api.ws import subscribe
from tests.conftest import LiveServer, migrated_database, serve

CATALOG = "query GpuNames {\n  gpuTypes {\n    name\n  }\n}\n"


def test_a_document_digest_ignores_formatting_but_not_fields() -> None:
    assert document_digest(parse(CATALOG)) == document_digest(parse("query GpuNames { gpuTypes { name } } # note"))
    assert document_digest(parse(CATALOG)) != document_digest(parse("query GpuNames { gpuTypes { name vendor } }"))


def test_the_trusted_set_is_one_digest_per_operation_file(tmp_path: Path) -> None:
    (tmp_path / "GpuNames.graphql").write_text(CATALOG)
    (tmp_path / "Models.graphql").write_text("query Models { models { id } }")
    (tmp_path / "notes.txt").write_text("not an operation")
    assert trusted_digests(tmp_path) == {
        document_digest(parse(CATALOG)),
        document_digest(parse("query Models { models { id } }")),
    }


def test_the_shipped_operations_all_parse() -> None:
    """Start-up reads every shipped file; one that does not parse would stop a trusted server from starting."""
    assert len(trusted_digests()) == len(operation_files(OPERATIONS))


@pytest.fixture(scope="module")
async def trusted(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> AsyncIterator[LiveServer]:
    async with (
        migrated_database("sqlite", tmp_path_factory.mktemp("trusted")) as url,
        serve(Settings(database_url=url, model_path=model_path, run_worker=False, trusted_documents=True)) as live,
    ):
        yield live


@pytest.fixture
def shipped_query() -> str:
    """A query the dashboard ships: the server must run it unchanged (comments and all)."""
    for path in operation_files():
        text = path.read_text()
        operations = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
        if all(o.operation == OperationType.QUERY and not o.variable_definitions for o in operations):
            return text
    pytest.skip("no variable-free query among the shipped operations")


async def test_a_shipped_operation_runs(trusted: LiveServer, shipped_query: str) -> None:
    async with trusted.client() as client:
        body = (await client.post("/graphql", json={"query": shipped_query})).json()
    assert "errors" not in body, body
    assert body["data"]


async def test_any_other_document_is_refused_before_it_runs(trusted: LiveServer) -> None:
    async with trusted.client() as client:
        response = await client.post("/graphql", json={"query": "query { gpuTypes { name memoryGb } }"})
    body = response.json()
    assert body.get("data") is None
    assert [error["extensions"]["code"] for error in body["errors"]] == [CODE]
    assert "TRUSTED_DOCUMENTS" in body["errors"][0]["message"]


async def test_a_subscription_outside_the_set_is_refused_over_a_websocket(trusted: LiveServer) -> None:
    async with subscribe(trusted, "subscription { hardwareProfileEvents { kind id } }") as subscription:
        answer = await subscription.next(timeout_s=10)
    assert answer is not None
    assert [error["extensions"]["code"] for error in answer["errors"]] == [CODE]


async def test_graphiql_is_not_served_when_only_trusted_documents_run(trusted: LiveServer) -> None:
    async with trusted.client() as client:
        response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "GraphiQL is off on this server" in response.text
    assert "TRUSTED_DOCUMENTS=true" in response.text
    assert "/assets/" not in response.text
