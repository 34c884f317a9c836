"""Dependencies point one way: cli -> app -> web -> schema -> resolvers -> jobs -> regressor, runtime -> db -> core.

Every module of budsim falls under exactly one rule, the longest layer name that contains it; absolute and relative
imports alike are checked, and nothing is exempt.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "budsim"

CORE = ("budsim.core",)
DB = ("budsim.db", "budsim.settings", *CORE)
# layer -> the budsim modules it may import (a name allows the module and everything under it)
RULES: dict[str, tuple[str, ...]] = {
    "budsim": (),  # the package face: its version, nothing else
    "budsim.settings": (),
    "budsim.core": CORE,
    "budsim.db": DB,
    "budsim.runtime": ("budsim.runtime", *CORE),
    "budsim.regressor": ("budsim.regressor", *DB),
    "budsim.jobs": ("budsim.jobs", "budsim.runtime", "budsim.regressor", *DB),
    "budsim.schema.types": ("budsim.schema.types", *CORE),
    "budsim.schema.inputs": ("budsim.schema.inputs", "budsim.schema.types", *CORE),
    "budsim.resolvers": (
        "budsim.resolvers",
        "budsim.schema.types",
        "budsim.schema.inputs",
        "budsim.jobs",
        "budsim.runtime",
        *DB,
    ),
    "budsim.schema": ("budsim.schema", "budsim.resolvers", *CORE),  # the roots: query, mutation, subscription, errors
    # REST handlers call the resolvers GraphQL's roots call (budsim.web.rest), as thin as budsim.schema's roots; the
    # authentication middleware looks keys up in budsim.db.api_keys
    "budsim.web": (
        "budsim.web",
        "budsim.schema",
        "budsim.resolvers",
        "budsim.db.migrate",
        "budsim.db.api_keys",
        "budsim.db.unavailable",
        "budsim",
    ),
    "budsim.app": (
        "budsim.web",
        "budsim.schema",
        "budsim.jobs",
        "budsim.runtime",
        "budsim.regressor",
        "budsim.db",
        "budsim.settings",
    ),
    "budsim.cli": ("budsim",),  # the entry point may use anything
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def within(module: str, name: str) -> bool:
    return module == name or module.startswith(name + ".")


def layer_of(module: str) -> str:
    return max((layer for layer in RULES if within(module, layer)), key=len)


def imported(source: str, package: str) -> set[str]:
    """Absolute names of the budsim modules `source` imports, relative imports resolved against `package`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if within(target, "budsim"):
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if within(alias.name, "budsim"))
    return found


def budsim_imports(path: Path) -> set[str]:
    module = module_name(path)
    return imported(path.read_text(), module if path.name == "__init__.py" else module.rpartition(".")[0])


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(path) for path in MODULES])
def test_module_imports_only_what_its_layer_allows(path: Path) -> None:
    allowed = RULES[layer_of(module_name(path))]
    violations = {target for target in budsim_imports(path) if not any(within(target, name) for name in allowed)}
    assert not violations


def test_the_package_top_holds_only_settings_wiring_and_package_faces() -> None:
    loose = {path.name for path in PACKAGE.glob("*.py")}
    assert loose == {"__init__.py", "settings.py", "app.py"}


def test_relative_imports_count_as_the_modules_they_name() -> None:
    source = "from ..core import types\nfrom .news import JobNews\nfrom . import worker\nimport budsim.db.models\n"
    assert imported(source, "budsim.jobs") == {"budsim.core", "budsim.jobs.news", "budsim.jobs", "budsim.db.models"}
