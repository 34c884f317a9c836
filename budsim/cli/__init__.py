"""The `budsim` command line: serve, worker, migrate, export-schema, simulate, optimize, train."""

from budsim.cli.commands import main

__all__ = ["main"]
