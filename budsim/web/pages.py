"""The browser pages BudSim serves itself: the dashboard at `/`, its hashed assets under `/assets/`, and GraphiQL at
`GET /graphql`, all built from `dashboard/` into STATIC_DIR (`npm run build`, which `make serve` runs when needed).

Nothing here reaches outside the server: the pages load only their own assets, and their Content-Security-Policy
tells the browser to refuse anything else, so the dashboard works on an air-gapped cluster.

The pages carry no data and need no API key (web.auth lets `is_page_request` through); everything they show comes
from GraphQL, which does. A missing build is not an error of the server: `/` and `/graphql` then answer a short page
saying how to build it.
"""

import html
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PREFIX = "/assets/"
GRAPHQL_PATH = "/graphql"
PAGE_PATHS = frozenset({"/"})

# Vite names every asset by its content's hash: a changed file is a new URL, so a browser may keep one forever.
IMMUTABLE = "public, max-age=31536000, immutable"
# The HTML names the current assets: revalidated on every load, so a new build is picked up at once.
REVALIDATE = "no-cache"
# 'self' only: no CDN, font or analytics host can be reached even by accident. Inline styles: Chart.js, GraphiQL's
# editor and the GraphiQL page's one <style> set them. data: carries GraphiQL's bundled fonts and the empty favicon.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; font-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "cache-control": REVALIDATE,
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BudSim: {what} not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; line-height: 1.5">
<h1>BudSim's {what} is not built</h1>
<p>The API works: <code>POST /graphql</code> answers GraphQL (with <code>Authorization: Bearer &lt;key&gt;</code>
where the server requires keys).</p>
<p>To build the pages (Node.js 20 and npm), from the repository root run <code>make serve</code>, which builds them when
they are missing or older than their sources, or by hand:</p>
<pre>cd dashboard &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>The build is written to <code>{directory}</code>.</p>
</body></html>
"""


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def is_graphiql_request(scope: Scope) -> bool:
    """A browser opening GraphiQL: GET /graphql with no query string that accepts HTML.

    Strawberry renders the IDE for every GET without a `query` parameter that accepts HTML or */*; this is a strict
    subset of those (no query string at all, text/html named), so a request this lets through without a key can only
    ever be answered the page, never run an operation.
    """
    return (
        scope["type"] == "http"
        and scope["method"] == "GET"
        and scope["path"] == GRAPHQL_PATH
        and not scope.get("query_string")
        and "text/html" in _header(scope, b"accept")
    )


def is_page_request(scope: Scope) -> bool:
    """A request for one of the pages or their assets (GET or HEAD): public, like the probes."""
    if scope["type"] != "http":
        return False
    path: str = scope["path"]
    if scope["method"] in ("GET", "HEAD") and (path in PAGE_PATHS or path.startswith(ASSETS_PREFIX)):
        return True
    return is_graphiql_request(scope)


def _not_built(what: str) -> HTMLResponse:
    page = NOT_BUILT.format(what=what, directory=html.escape(str(STATIC_DIR)))
    return HTMLResponse(page, status_code=404, headers=PAGE_HEADERS)


def page_response(name: str, what: str) -> Response:
    """One of the built HTML pages, revalidated on every load; the how-to-build page while it is missing."""
    path = STATIC_DIR / name
    if not path.is_file():
        return _not_built(what)
    return FileResponse(path, media_type="text/html", headers=PAGE_HEADERS)


async def dashboard(_request: Request) -> Response:
    return page_response("index.html", "dashboard")


class Assets(StaticFiles):
    """The hashed build outputs under STATIC_DIR/assets, cached for good; 404 (not a start-up error) while nothing
    is built. The directory is looked up per request, so a build made while the server runs is served at once."""

    def __init__(self) -> None:
        super().__init__(check_dir=False)

    @property
    def all_directories(self) -> list[str | os.PathLike[str]]:
        return [STATIC_DIR / "assets"]

    @all_directories.setter
    def all_directories(self, _directories: list[str | os.PathLike[str]]) -> None:
        """StaticFiles sets the directories once, in __init__; these are STATIC_DIR's."""

    async def check_config(self) -> None:
        """StaticFiles raises for a missing directory; a server without a build still serves the API."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = IMMUTABLE
        response.headers["x-content-type-options"] = "nosniff"
        return response


def routes() -> list[BaseRoute]:
    """`/` and `/assets/*`; GraphiQL is the GraphQL view's own (web.graphql)."""
    return [
        Route("/", dashboard, methods=["GET"]),
        Mount(ASSETS_PREFIX.rstrip("/"), app=Assets(), name="assets"),
    ]
