"""The `budsim` command: serve, migrate, export-schema."""

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from budsim.settings import Settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from budsim.app import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level,
        ws_ping_interval=20,
    )
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from budsim.db.migrate import upgrade_url

    asyncio.run(upgrade_url(settings.async_database_url, args.revision))
    print(f"database at {args.revision}: {settings.database_url}")
    return 0


def _export_schema(_settings: Settings, args: argparse.Namespace) -> int:
    from budsim.schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="budsim", description="LLM deployment simulation and optimization service.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the GraphQL API (PORT, default 9083)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations (DATABASE_URL)")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=_migrate)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", "-o", default="schema.graphql", help="file to write, or - for stdout")
    export.set_defaults(run=_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return int(args.run(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
