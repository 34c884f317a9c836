"""The dashboard's GraphQL operations (budsim/web/operations/): each file holds one operation named like the file,
valid against schema.graphql, sent by the page as the file's exact text, and shipped in the package.

Trusted documents accept an operation by the sha256 of its exact text, so the page must import these files rather
than write GraphQL of its own, and the package must carry them for the server to read.
"""

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    parse,
    validate,
)

from budsim.web.trusted import OPERATIONS as OPERATIONS_DIR

ROOT = Path(__file__).parents[2]
SCHEMA = ROOT / "schema.graphql"
DASHBOARD_SOURCE = ROOT / "dashboard" / "src"
OPERATIONS = sorted(OPERATIONS_DIR.glob("*.graphql"))
RAW_IMPORT = re.compile(r'from\s+"(?P<path>[^"]+/budsim/web/operations/(?P<file>[^"/]+\.graphql))\?raw"')


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(SCHEMA.read_text())


def dashboard_sources() -> dict[Path, str]:
    return {path: path.read_text() for path in DASHBOARD_SOURCE.rglob("*") if path.suffix in {".ts", ".tsx"}}


def test_the_dashboard_has_its_operations() -> None:
    names = {path.stem for path in OPERATIONS}
    assert {"EndpointList", "EndpointDetail", "CreateEndpoint", "OptimizeEndpoint", "DeployEndpoint"} <= names
    assert {"OptimizationProgress", "CancelOptimization", "SimulationList", "SimulationDetail"} <= names


@pytest.mark.parametrize("path", OPERATIONS, ids=[path.stem for path in OPERATIONS])
def test_each_file_holds_one_operation_named_like_the_file(path: Path) -> None:
    document = parse(path.read_text())
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    others = [d for d in document.definitions if not isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)]
    assert len(operations) == 1
    assert operations[0].name is not None
    assert operations[0].name.value == path.stem
    assert others == []


@pytest.mark.parametrize("path", OPERATIONS, ids=[path.stem for path in OPERATIONS])
def test_each_operation_validates_against_the_schema(schema: GraphQLSchema, path: Path) -> None:
    errors = validate(schema, parse(path.read_text()))
    assert [error.message for error in errors] == []


def test_the_page_imports_every_operation_file_as_raw_text() -> None:
    imported: dict[str, Path] = {}
    for source_path, source in dashboard_sources().items():
        for found in RAW_IMPORT.finditer(source):
            target = (source_path.parent / found["path"]).resolve()
            assert target.is_file(), f"{source_path.name} imports {found['path']}, which does not exist"
            imported[found["file"]] = target
    assert sorted(imported) == sorted(path.name for path in OPERATIONS)
    assert all(target.parent == OPERATIONS_DIR.resolve() for target in imported.values())


def test_the_page_writes_no_graphql_of_its_own() -> None:
    """Only GraphiQL's editor starts with an example; the dashboard sends nothing but the files' texts."""
    operation = re.compile(r"\b(query|mutation|subscription)\s+[A-Z]\w*\s*[({]")
    found = {
        path.relative_to(DASHBOARD_SOURCE).as_posix(): match.group(0)
        for path, source in dashboard_sources().items()
        if path.parent.name != "graphiql"
        for match in [operation.search(source)]
        if match
    }
    assert found == {}


def test_the_operations_and_the_build_are_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["budsim"]
    package = ROOT / "budsim"
    shipped = [
        *(path.relative_to(package).as_posix() for path in OPERATIONS),
        "web/static/index.html",
        "web/static/graphiql.html",
        "web/static/assets/index-AbC123.js",
        "web/static/assets/graphiql-AbC123.css",
    ]
    unshipped = [name for name in shipped if not any(fnmatch.fnmatch(name, pattern) for pattern in patterns)]
    assert unshipped == []
