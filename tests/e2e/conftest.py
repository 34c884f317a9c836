"""Real-browser tests: Debian's Chromium, driven by Playwright, against a real `budsim serve` process serving the
real build of the dashboard (budsim/web/static/, `make dashboard`).

Chromium comes from the machine's package manager (`make test` installs `chromium` and `chromium-driver`), never
from Playwright's own download, which a closed network refuses; it starts with the flags that keep it from calling
home. Without the browser or the build these tests skip and say what to install, except under CI=true, where they
fail. Each test gets a fresh browser context that records every request the page makes, and fails if one left the
server's origin or if the page threw. Screenshots go to build/screenshots/.
"""

import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, Response, WebSocket, async_playwright

from budsim.core.auth import Scope
from budsim.db import api_keys
from budsim.db.session import create_engine, create_sessionmaker
from budsim.web.pages import STATIC_DIR
from tests.conftest import _free_port, migrated_database
from tests.processes import process, ready

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the networking flags Chromium keeps trying to reach Google's hosts and stalls on a closed network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# A REGRESSOR search small enough to finish in seconds, long enough to stream several generations.
QUICK_SEARCH = {"POPULATION_SIZE": "16", "GENERATIONS": "12"}


def _missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        _missing(
            f"no Chromium at {CHROMIUM}: install Debian's browser (apt-get install chromium chromium-driver, which "
            "`make test` does as root) or set CHROMIUM"
        )
    if not (STATIC_DIR / "index.html").is_file():
        _missing(f"the dashboard is not built in {STATIC_DIR}: run `make dashboard` (Node.js 20 and npm)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


@dataclass(frozen=True)
class Budsim:
    """A `budsim serve` process: its address, and an admin key when it requires one."""

    url: str
    token: str | None = None

    def client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60)


@asynccontextmanager
async def start_budsim(
    tmp_path: Path, model_path: Path, *, auth: bool, extra_env: dict[str, str] | None = None
) -> AsyncIterator[Budsim]:
    """`budsim serve` on a fresh, migrated SQLite database, with or without API keys required."""
    async with migrated_database("sqlite", tmp_path) as url:
        token = None
        if auth:
            engine = create_engine(url)
            _key, token = await api_keys.create(create_sessionmaker(engine), "e2e", Scope.ADMIN)
            await engine.dispose()
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "MODEL_PATH": str(model_path),
            "AUTH_DISABLED": "false" if auth else "true",
            "LOG_LEVEL": "warning",
            **QUICK_SEARCH,
            **(extra_env or {}),
        }
        log = tmp_path / "serve.log"
        async with process("serve", "--host", "127.0.0.1", "--port", str(port), env=env, log=log):
            base = f"http://127.0.0.1:{port}"
            await ready(base, log)
            yield Budsim(base, token)


@pytest.fixture(scope="session")
async def budsim(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> AsyncIterator[Budsim]:
    """The development server (SQLite, no keys) the flows share; each test names what it creates uniquely."""
    async with start_budsim(tmp_path_factory.mktemp("e2e-dev"), model_path, auth=False) as server:
        yield server


@pytest.fixture(scope="session")
async def secured(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> AsyncIterator[Budsim]:
    """A server that requires an API key, with an admin key in `token`."""
    async with start_budsim(tmp_path_factory.mktemp("e2e-auth"), model_path, auth=True) as server:
        yield server


@pytest.fixture(scope="session")
async def trusted_budsim(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> AsyncIterator[Budsim]:
    """A development server with TRUSTED_DOCUMENTS on: it answers only budsim/web/operations' documents."""
    directory = tmp_path_factory.mktemp("e2e-trusted")
    async with start_budsim(directory, model_path, auth=False, extra_env={"TRUSTED_DOCUMENTS": "true"}) as server:
        yield server


@dataclass
class Traffic:
    """What a page did: every request it made, the GraphQL operations it sent (over HTTP and graphql-ws) and the
    error codes they were answered with, what it logged as an error, and what it threw."""

    origin: str
    requests: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def sent(self, body: str | None) -> None:
        """An HTTP body or websocket frame the page sent: note the operation it names."""
        try:
            message = json.loads(body or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "subscribe":
            message = message.get("payload")
        if isinstance(message, dict) and isinstance(message.get("operationName"), str):
            self.operations.append(message["operationName"])

    def answered(self, body: str) -> None:
        """An answer the page received: note its errors' codes."""
        self.error_codes.extend(re.findall(r'"code":\s*"([A-Z_]+)"', body))

    def foreign(self) -> list[str]:
        """Requests to anywhere but the server (data: URLs stay in the page)."""
        own = re.compile(rf"^(https?|wss?)://{re.escape(self.origin.split('://', 1)[1])}(/|$)")
        return [url for url in self.requests if not url.startswith("data:") and not own.match(url)]


async def open_page(browser: Browser, origin: str, viewport: dict[str, int]) -> tuple[Page, Traffic]:
    context = await browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        base_url=origin,
        permissions=["clipboard-read", "clipboard-write"],  # the copy buttons, read back by the tests
    )
    page = await context.new_page()
    traffic = Traffic(origin)

    def on_request(request: Request) -> None:
        traffic.requests.append(request.url)
        if request.method == "POST" and request.url.endswith("/graphql"):
            traffic.sent(request.post_data)

    async def on_response(response: Response) -> None:
        if response.request.method == "POST" and response.url.endswith("/graphql"):
            traffic.answered(await response.text())

    def on_websocket(ws: WebSocket) -> None:
        traffic.requests.append(ws.url)
        ws.on("framesent", lambda frame: traffic.sent(frame if isinstance(frame, str) else frame.decode()))
        ws.on("framereceived", lambda frame: traffic.answered(frame if isinstance(frame, str) else frame.decode()))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            traffic.console_errors.append(message.text)

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("websocket", on_websocket)
    page.on("console", on_console)
    page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
    return page, traffic


@pytest.fixture
async def desktop(browser: Browser, budsim: Budsim) -> AsyncIterator[tuple[Page, Traffic]]:
    """A 1280 px wide page of the development server; fails the test if the page left the origin or threw."""
    page, traffic = await open_page(browser, budsim.url, DESKTOP)
    yield page, traffic
    await page.context.close()
    assert traffic.foreign() == []
    assert traffic.page_errors == []


async def screenshot(page: Page, name: str) -> Path:
    """Save the whole page to build/screenshots/<name>.png, to be looked at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


# Pixels of the chart's own colours (teal to orange-red): axes, grid lines and text are grey, so any strongly
# coloured pixel on the canvas is a drawn point.
COLOURED_PIXELS = """
(canvas) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
  }
  return coloured;
}
"""

NO_HORIZONTAL_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"

# Form controls a screen reader could not name: no <label>, no aria-label(ledby), no text (buttons).
UNLABELLED_CONTROLS = """
() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter((el) => el.type !== "hidden" && !el.closest("[aria-hidden='true']"))
  .filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")
                    || (el.tagName === "BUTTON" && el.innerText.trim())))
  .map((el) => el.outerHTML.slice(0, 120))
"""
