"""The browser pages: the dashboard at `/`, its assets, and GraphiQL from BudSim's own build at `GET /graphql`.

They need no API key (they hold no data), while GraphQL itself still does, over GET as over POST; the HTML is
revalidated on every load and the hashed assets are cached for good; a server without a build answers a page that
says how to build one, never a 500. These tests stand a fake build in for the real one (budsim/web/static/, built by
`make dashboard`), so they run without Node.js; tests/e2e drives the real build in a browser.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from budsim.web import pages
from tests.conftest import bearer

INDEX = '<!doctype html><title>BudSim</title><script type="module" src="/assets/index-AbC123.js"></script>'
GRAPHIQL = '<!doctype html><title>GraphiQL · BudSim</title><script type="module" src="/assets/graphiql-Z9.js"></script>'
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser sends for a page


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in build: the two pages and one asset, where the server looks for them."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "graphiql.html").write_text(GRAPHIQL)
    (tmp_path / "assets" / "index-AbC123.js").write_text("console.log('budsim')")
    monkeypatch.setattr(pages, "STATIC_DIR", tmp_path)
    return tmp_path


@pytest.fixture
def unbuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(pages, "STATIC_DIR", tmp_path / "static")
    return tmp_path


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A browser without a key, against the app with auth on."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://budsim.test") as http:
        yield http


@pytest.mark.usefixtures("built")
async def test_the_dashboard_is_served_at_the_root_without_a_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/", headers=HTML)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.usefixtures("built")
async def test_the_pages_allow_only_their_own_origin(anonymous: httpx.AsyncClient) -> None:
    """The Content-Security-Policy makes "no CDN" a rule the browser enforces, not only a habit of the build."""
    for path in ("/", "/graphql"):
        policy = (await anonymous.get(path, headers=HTML)).headers["content-security-policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["connect-src"] == "'self' ws: wss:"
        assert "http" not in policy


@pytest.mark.usefixtures("built")
async def test_graphiql_comes_from_our_build_not_a_cdn(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.text == GRAPHIQL
    assert response.headers["cache-control"] == "no-cache"
    assert "unpkg.com" not in response.text
    assert "jsdelivr" not in response.text


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("GET", "/graphql?query=%7B__typename%7D", HTML),  # an operation over GET, even from a browser
        ("GET", "/graphql?query=", HTML),
        ("GET", "/graphql", {"Accept": "*/*"}),  # not asking for a page
        ("GET", "/graphql", {"Accept": "application/json"}),
        ("POST", "/graphql", HTML),
        ("POST", "/", HTML),
        ("GET", "/graphql/", HTML),
    ],
)
@pytest.mark.usefixtures("built")
async def test_graphql_still_needs_a_key_beside_the_public_pages(
    anonymous: httpx.AsyncClient, method: str, url: str, headers: dict[str, str]
) -> None:
    response = await anonymous.request(method, url, headers=headers, json={"query": "{ __typename }"})
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


@pytest.mark.usefixtures("built")
async def test_a_browser_with_a_key_still_gets_graphiql(anonymous: httpx.AsyncClient, admin_token: str) -> None:
    response = await anonymous.get("/graphql", headers={**HTML, **bearer(admin_token)})
    assert response.text == GRAPHIQL


async def test_a_missing_build_says_how_to_build_it(anonymous: httpx.AsyncClient, unbuilt: Path) -> None:
    for path in ("/", "/graphql"):
        response = await anonymous.get(path, headers=HTML)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "npm ci &amp;&amp; npm run build" in response.text
        assert "make serve" in response.text
        assert str(unbuilt / "static") in response.text
    missing = await anonymous.get("/assets/index-AbC123.js")
    assert missing.status_code == 404


@pytest.mark.usefixtures("built")
async def test_hashed_assets_are_public_and_cached_for_good(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/assets/index-AbC123.js")
    again = await anonymous.get("/assets/index-AbC123.js", headers={"If-None-Match": response.headers["etag"]})
    assert response.status_code == 200
    assert response.text == "console.log('budsim')"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].startswith("text/javascript")
    assert again.status_code == 304


async def test_assets_are_served_from_a_build_made_while_the_server_runs(
    anonymous: httpx.AsyncClient, unbuilt: Path
) -> None:
    assert (await anonymous.get("/assets/late-1.js")).status_code == 404
    (unbuilt / "static" / "assets").mkdir(parents=True)
    (unbuilt / "static" / "assets" / "late-1.js").write_text("1")
    assert (await anonymous.get("/assets/late-1.js")).text == "1"


@pytest.mark.usefixtures("built")
async def test_asset_paths_cannot_climb_out_of_the_build(anonymous: httpx.AsyncClient) -> None:
    for path in ("/assets/../index.html", "/assets/%2e%2e/index.html", "/assets/..%2Fgraphiql.html"):
        assert (await anonymous.get(path)).status_code in {401, 404}


@pytest.mark.parametrize(
    ("method", "path", "query", "accept", "public"),
    [
        ("GET", "/", b"", "text/html", True),
        ("HEAD", "/", b"", "text/html", True),
        ("GET", "/assets/index-1.js", b"", "*/*", True),
        ("GET", "/graphql", b"", "text/html", True),
        ("GET", "/graphql", b"query=%7B__typename%7D", "text/html", False),
        ("GET", "/graphql", b"", "*/*", False),
        ("POST", "/graphql", b"", "text/html", False),
        ("POST", "/assets/index-1.js", b"", "*/*", False),
        ("GET", "/api/hardware-profiles", b"", "text/html", False),
    ],
)
def test_which_requests_are_pages(method: str, path: str, query: bytes, accept: str, public: bool) -> None:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(b"accept", accept.encode())],
    }
    assert pages.is_page_request(scope) is public


def test_websockets_and_requests_without_accept_are_not_pages() -> None:
    """A websocket is authenticated at connection_init, never as a page; a GET without Accept asks for no HTML."""
    websocket = {"type": "websocket", "path": "/graphql", "query_string": b"", "headers": [(b"accept", b"text/html")]}
    bare = {"type": "http", "method": "GET", "path": "/graphql", "query_string": b"", "headers": []}
    assert pages.is_page_request(websocket) is False
    assert pages.is_page_request(bare) is False
