"""Dependencies point one way: schema -> resolvers -> core and db; core imports nothing else of budsim."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "budsim"


def budsim_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("budsim"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("budsim"))
    return found


def modules(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


# (package, prefixes it may import from budsim)
RULES = [
    ("core", ("budsim.core",)),
    ("db", ("budsim.db", "budsim.settings", "budsim.core")),
    ("schema/types", ("budsim.schema.types", "budsim.core")),
    (
        "resolvers",
        (
            "budsim.resolvers",
            "budsim.core",
            "budsim.db",
            "budsim.schema.types",
            "budsim.schema.inputs",
            "budsim.context",
            "budsim.events",
            "budsim.jobs",
            "budsim.settings",
        ),
    ),
    # The job service runs core on rows from db; it knows nothing of GraphQL.
    (
        "jobs",
        (
            "budsim.jobs",
            "budsim.core",
            "budsim.db",
            "budsim.events",
            "budsim.settings",
            "budsim.app",
            "budsim.stored_runs",
            "budsim.pipes",
        ),
    ),
]


@pytest.mark.parametrize(("package", "allowed"), RULES, ids=[rule[0] for rule in RULES])
def test_package_imports_only_what_its_layer_allows(package: str, allowed: tuple[str, ...]) -> None:
    violations = {
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in modules(package)
        for module in budsim_imports(path)
        if not module.startswith(allowed)
    }
    assert not violations


def test_only_schema_roots_import_resolvers() -> None:
    roots = {"query.py", "mutation.py", "subscription.py", "errors.py"}
    offenders = {
        str(path.relative_to(PACKAGE))
        for path in modules("schema")
        if path.name not in roots and any(m.startswith("budsim.resolvers") for m in budsim_imports(path))
    }
    assert not offenders
