"""Health probes: `/healthz` says the process answers, `/readyz` that its database is reachable and migrated."""

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from budsim import __version__
from budsim.db import migrate


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    head = migrate.head_revision()
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await migrate.current_revision(engine)
    except Exception as error:  # any driver error means "not ready", and says why
        return JSONResponse({"status": "unavailable", "database": "unreachable", "error": type(error).__name__}, 503)
    ready = current == head
    body = {"status": "ok" if ready else "unavailable", "database": "ok", "migration": current, "head": head}
    body["auth"] = "enabled" if request.app.state.settings.auth_enabled else "disabled"
    return JSONResponse(body, status_code=200 if ready else 503)
