"""The pages around the endpoint flow, in a real browser: GraphiQL from our own assets, the history of simulations,
signing in with an API key, phone width and the keyboard."""

import re
from collections.abc import Callable

import httpx
from playwright.async_api import Browser, Locator, Page, expect

from tests.api.helpers import CHAT, SIMULATE
from tests.e2e.conftest import (
    NO_HORIZONTAL_SCROLL,
    PHONE,
    UNLABELLED_CONTROLS,
    Budsim,
    Traffic,
    open_page,
    screenshot,
)

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"


async def _ids(http: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    models = (await http.post("/graphql", json={"query": "{ models { id name } }"})).json()["data"]["models"]
    query = "{ hardwareProfiles(first: 100) { edges { node { id name } } } }"
    edges = (await http.post("/graphql", json={"query": query})).json()["data"]["hardwareProfiles"]["edges"]
    return next(m["id"] for m in models if m["name"] == LLAMA_8B), {e["node"]["name"]: e["node"]["id"] for e in edges}


async def simulate_many(server: Budsim, count: int, method: str, profile: str = "H100-SXM x8") -> list[str]:
    """`count` stored simulations of Llama 3.1 8B, each at a different concurrency; their ids, oldest first."""
    async with server.client() as http:
        model, profiles = await _ids(http)
        ids = []
        for i in range(count):
            workload = {**CHAT, "concurrency": 4 + i}
            payload = {"modelId": model, "hardwareProfileId": profiles[profile], "workload": workload, "method": method}
            answer = (await http.post("/graphql", json={"query": SIMULATE, "variables": {"input": payload}})).json()
            ids.append(answer["data"]["simulate"]["id"])
        return ids


async def test_graphiql_loads_from_our_assets_and_runs_a_query(desktop: tuple[Page, Traffic]) -> None:
    page, traffic = desktop
    await page.goto("/graphql")
    await expect(page.locator(".graphiql-container")).to_be_visible(timeout=15_000)
    # GraphiQL introspects the schema on load: the Docs explorer needs it, and it goes to our own /graphql.
    await page.locator(".graphiql-query-editor .CodeMirror").click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text("query Gpus { gpuTypes { name vendor } }")
    await page.wait_for_timeout(500)  # GraphiQL reads the operation name from the editor after a debounce
    await page.keyboard.press("Control+Enter")
    result = page.locator(".result-window")
    await expect(result).to_contain_text('"H100-SXM"', timeout=15_000)
    await expect(result).to_contain_text('"NVIDIA"')
    await screenshot(page, "graphiql")
    scripts = [url for url in traffic.requests if url.endswith(".js")]
    assert scripts
    assert all(url.startswith(f"{traffic.origin}/assets/") for url in scripts)
    assert f"{traffic.origin}/graphql" in traffic.requests  # the introspection and the query


async def test_history_pages_filters_and_opens_a_simulation(desktop: tuple[Page, Traffic], budsim: Budsim) -> None:
    page, _traffic = desktop
    regressed = await simulate_many(budsim, 21, "REGRESSOR")
    heuristic = await simulate_many(budsim, 2, "HEURISTIC", profile="A100-80GB-SXM x8")
    await page.goto("/#/simulations")
    await expect(page.get_by_role("heading", name="History", level=1)).to_be_visible()
    rows = page.locator("table tbody tr")
    await expect(rows).to_have_count(20)
    pager = page.get_by_role("navigation", name="Simulation pages")
    total = int(re.search(r"([\d,]+) simulations", await pager.inner_text()).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert total >= 23
    await screenshot(page, "history")

    await pager.get_by_role("button", name="Next").click()
    await expect(pager).to_contain_text("page 2")
    await pager.get_by_role("button", name="Previous").click()
    await expect(pager).to_contain_text("page 1")

    await page.get_by_label("Method").select_option("HEURISTIC")
    await page.get_by_label("Hardware profile").select_option(label="A100-80GB-SXM x8 (8 × A100-80GB-SXM)")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("HEURISTIC")
    await expect(rows.first).to_contain_text("A100-80GB-SXM x8")
    await expect(pager).to_contain_text("2 simulations")
    assert await page.evaluate(UNLABELLED_CONTROLS) == []

    await page.get_by_label("Method").select_option("REGRESSOR")
    await expect(rows).to_have_count(1)  # the "no simulation matches" row
    await expect(rows.first).to_contain_text("No simulation matches these filters")

    await page.get_by_label("Hardware profile").select_option("")
    await page.get_by_label("Model").select_option(label=LLAMA_8B)
    await expect(rows).to_have_count(20)
    await rows.first.get_by_role("link").click()
    await expect(page).to_have_url(re.compile(rf"#/simulations/{regressed[-1]}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"{LLAMA_8B} on H100-SXM x8")
    await expect(page.get_by_text("REGRESSOR · VLLM")).to_be_visible()
    await expect(page.get_by_text("1,000 in / 200 out tokens, 24 in flight")).to_be_visible()
    await expect(page.get_by_role("heading", name=re.compile("Memory per GPU"))).to_be_visible()
    await screenshot(page, "simulation-detail")

    # An analytical answer on a GPU the benchmarks lack: the server's band, and what lowers it with what to record.
    await page.goto(f"/#/simulations/{heuristic[-1]}")
    await expect(page.get_by_text("0.45 · More data needed")).to_be_visible()
    reasons = page.get_by_test_id("confidence-reasons")
    await expect(reasons).to_contain_text("No measured run on A100-80GB-SXM")
    await expect(reasons).to_contain_text("Record a run of this model on A100-80GB-SXM with recordBenchmark")


async def test_a_server_that_requires_a_key_asks_for_one(browser: Browser, secured: Budsim) -> None:
    page, traffic = await open_page(browser, secured.url, {"width": 1280, "height": 800})
    try:
        await page.goto("/#/simulations")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await screenshot(page, "sign-in")
        await page.get_by_label("API key").fill("budsim_not-a-real-key")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_have_text("The API key is unknown or revoked.")

        assert secured.token
        await page.get_by_label("API key").fill(secured.token)
        await page.get_by_role("button", name="Sign in").click()
        # Two requests to a server sharing two cores with the rest of the suite (a retrain test trains on one of them):
        # as long as the file's other waits on the server, not the default 5 s.
        await expect(page.get_by_role("heading", name="History", level=1)).to_be_visible(timeout=15_000)
        pager = page.get_by_role("navigation", name="Simulation pages")
        await expect(pager).to_contain_text(re.compile(r"\d+ simulations? · page 1"), timeout=15_000)
        stored = await page.evaluate("() => sessionStorage.getItem('budsim.apiKey')")
        assert stored == secured.token

        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert await page.evaluate("() => sessionStorage.getItem('budsim.apiKey')") is None
    finally:
        await page.context.close()
    assert traffic.foreign() == []
    assert traffic.page_errors == []


async def test_phone_width_pages_do_not_scroll_sideways(browser: Browser, budsim: Budsim) -> None:
    [simulation] = await simulate_many(budsim, 1, "REGRESSOR")
    page, traffic = await open_page(browser, budsim.url, PHONE)
    loaded: list[tuple[str, str, Callable[[Page], Locator]]] = [
        ("phone-endpoints", "#/endpoints", lambda p: p.locator("table, .empty").first),
        (
            "phone-create",
            "#/endpoints/new",
            lambda p: p.get_by_role("radiogroup", name="Models").get_by_role("radio").first,
        ),
        ("phone-history", "#/simulations", lambda p: p.get_by_role("navigation", name="Simulation pages")),
        (
            "phone-simulation",
            f"#/simulations/{simulation}",
            lambda p: p.get_by_role("heading", name=re.compile("^Memory")),
        ),
    ]
    try:
        for name, route, content in loaded:
            await page.goto(f"/{route}")
            await expect(content(page)).to_be_visible()
            assert await page.evaluate(NO_HORIZONTAL_SCROLL), f"{route} scrolls sideways at 390 px"
            await screenshot(page, name)
    finally:
        await page.context.close()
    assert traffic.foreign() == []


async def test_the_keyboard_reaches_optimize_through_every_control(desktop: tuple[Page, Traffic]) -> None:
    page, _traffic = desktop
    await page.goto("/#/endpoints/new")
    await expect(page.get_by_label("Endpoint name")).to_be_visible()
    await expect(page.get_by_role("radiogroup", name="Models").get_by_role("radio").first).to_be_visible()
    visited: list[str] = []
    for _ in range(150):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            """() => {
              const el = document.activeElement;
              const label = el.labels?.[0]?.innerText ?? el.getAttribute('aria-label') ?? el.innerText ?? '';
              return `${el.tagName.toLowerCase()}#${el.id}:${label.trim().split('\\n')[0]}`;
            }"""
        )
        visited.append(focused)
        if focused.startswith("button#optimize"):
            break
    assert visited[-1] == "button#optimize:Optimize", visited
    # The view focuses its heading when it opens, so the first Tab lands on the form, not on the navigation.
    assert visited[0] == "input#endpoint-name:Endpoint name"
    assert "input#model-search:Search the catalog" in visited
    assert any(v.startswith("input#max-ttft") for v in visited)
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus ring is visible
    for disclosure in await page.locator("details > summary").all():
        await disclosure.click()
    assert await page.evaluate(UNLABELLED_CONTROLS) == []
