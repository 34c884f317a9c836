"""The user guide's flow in a real browser: Endpoints → Create Endpoint → model and cluster → method → targets →
Optimize → watch it converge → review recommendations → deploy with the suggested config."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from budsim.web.trusted import OPERATIONS, operation_files
from tests.api.helpers import JOB_PROFILES, LLAMA_70B, unique
from tests.e2e.conftest import (
    COLOURED_PIXELS,
    DESKTOP,
    NO_HORIZONTAL_SCROLL,
    PHONE,
    UNLABELLED_CONTROLS,
    Budsim,
    Traffic,
    open_page,
    screenshot,
    start_budsim,
)

FALCON_7B = Path(__file__).parents[1] / "fixtures" / "hf_configs" / "tiiuae__falcon-7b.json"
# The tests set up through the page's own documents, which a TRUSTED_DOCUMENTS server accepts as well.
MODELS, PROFILES, CREATE = (
    (OPERATIONS / f"{name}.graphql").read_text() for name in ("ModelSearch", "HardwareProfileList", "CreateEndpoint")
)


async def graphql(server: Budsim, query: str, **variables: Any) -> dict[str, Any]:
    async with server.client() as http:
        body = (await http.post("/graphql", json={"query": query, "variables": variables})).json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def ids(server: Budsim, model: str, profiles: list[str]) -> tuple[str, list[str]]:
    """The ids of a model and of hardware profiles, by their names."""
    models = (await graphql(server, MODELS, search=model))["models"]
    edges = (await graphql(server, PROFILES, after=None))["hardwareProfiles"]["edges"]
    by_name = {edge["node"]["name"]: edge["node"]["id"] for edge in edges}
    return next(m["id"] for m in models if m["name"] == model), [by_name[name] for name in profiles]


async def create_endpoint(server: Budsim, name: str, method: str, **extra: Any) -> str:
    """An endpoint of Llama 3.1 8B on eight H100s, made through the API (the UI path has its own test)."""
    model, profiles = await ids(server, "meta-llama/Llama-3.1-8B-Instruct", ["H100-SXM x8"])
    payload = {"name": name, "modelId": model, "hardwareProfileIds": profiles, "method": method, **extra}
    answer = (await graphql(server, CREATE, input=payload))["createEndpoint"]
    assert answer["__typename"] == "Endpoint", answer
    endpoint_id: str = answer["id"]
    return endpoint_id


def events_seen(page: Page) -> Locator:
    return page.get_by_test_id("progress-events")


async def chart_points(page: Page) -> int:
    return int(await page.locator("figure.chart").get_attribute("data-points") or 0)


@pytest.fixture(params=["development", "trusted-documents"])
def any_server(request: pytest.FixtureRequest) -> tuple[str, Budsim]:
    """The development server, and one with TRUSTED_DOCUMENTS on, which refuses any document but the page's."""
    server: Budsim = request.getfixturevalue("budsim" if request.param == "development" else "trusted_budsim")
    return request.param, server


async def test_create_optimize_and_deploy_through_the_page(browser: Browser, any_server: tuple[str, Budsim]) -> None:
    variant, server = any_server
    page, traffic = await open_page(browser, server.url, DESKTOP)
    try:
        await create_optimize_and_deploy(page, traffic, shots=variant == "development")
        await open_the_history(page)
    finally:
        await page.context.close()
    assert traffic.foreign() == []
    assert traffic.page_errors == []
    # Every query, mutation and subscription the page has but Cancel's (test_cancel_stops_a_running_search) was
    # sent, and none was refused: on the trusted server, each was recognised as one of the shipped documents.
    assert set(traffic.operations) == {path.stem for path in operation_files()} - {"CancelOptimization"}
    assert traffic.error_codes == []


async def open_the_history(page: Page) -> None:
    await page.get_by_role("link", name="History").click()
    await page.get_by_label("Method").select_option("HEURISTIC")
    rows = page.locator("table tbody tr")
    await expect(rows.first).to_contain_text("HEURISTIC")
    await rows.first.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Predicted")).to_be_visible()


async def create_optimize_and_deploy(page: Page, traffic: Traffic, *, shots: bool) -> None:
    async def shot(name: str) -> None:
        if shots:
            await screenshot(page, name)

    name = unique("chat")
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Endpoints", level=1)).to_be_visible()
    await page.get_by_role("link", name="Create Endpoint").click()
    await expect(page).to_have_url(re.compile(r"#/endpoints/new$"))

    await page.get_by_label("Endpoint name").fill(name)
    # The model: a config.json pasted in, registered, and selected.
    await page.get_by_text("Not in the catalog? Paste its Hugging Face config.json").click()
    falcon = unique("tiiuae/falcon-7b-e2e")
    await page.get_by_label("Model name (Hugging Face id)").fill(falcon)
    await page.get_by_label("config.json").fill(FALCON_7B.read_text())
    await page.get_by_role("button", name="Register model").click()
    await expect(page.get_by_role("status").filter(has_text=f"Registered {falcon}")).to_be_visible()
    # ... and the catalog search finds catalog models; picking one replaces it.
    await page.get_by_label("Search the catalog").fill("llama-3.1-8b")
    models = page.get_by_role("radiogroup", name="Models")
    await expect(models.get_by_role("radio")).to_have_count(1)
    await models.get_by_text("meta-llama/Llama-3.1-8B-Instruct").click()

    # The hardware: a profile defined here, with a catalog GPU, and selected.
    profile = unique("l40s-pair")
    await page.get_by_text("Define a hardware profile").click()
    await page.get_by_label("Profile name").fill(profile)
    await page.get_by_label("GPU", exact=True).select_option("L40S")
    await page.get_by_label("GPUs per node").fill("2")
    await page.get_by_role("button", name="Create profile").click()
    profiles = page.get_by_role("group", name="Hardware profiles")
    await expect(profiles.get_by_role("checkbox", name=re.compile(profile))).to_be_checked()
    await profiles.get_by_role("checkbox", name=re.compile(r"^H100-SXM x8 ")).check()

    await page.get_by_role("radio", name=re.compile("^HEURISTIC")).check()
    await page.get_by_label("Max TTFT (p99)").fill("500")
    await page.get_by_label("Max p99 latency").fill("20000")
    await page.get_by_label("Min throughput").fill("100")
    await page.get_by_label("Max replicas").fill("4")
    await expect(page.get_by_text("Ready to optimize.")).to_be_visible()
    await shot("create-endpoint")

    await page.get_by_role("button", name="Optimize").click()
    await expect(page).to_have_url(re.compile(r"#/endpoints/[0-9a-f-]{36}$"))
    await expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()

    # The job's progress arrives over the subscription, then the result replaces it.
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Per 1M tokens"))
    await expect(table).to_be_visible(timeout=60_000)
    assert int(await events_seen(page).inner_text()) >= 1
    await expect(page.get_by_text("meets every target", exact=True)).to_be_visible()
    await expect(page.get_by_test_id("why")).to_contain_text("lowest cost")
    recommended = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile("^Recommended")))
    await expect(recommended).to_have_count(1)
    await expect(recommended.get_by_role("rowheader")).to_contain_text(re.compile(r"TP \d+ × PP \d+ × \d+ replica"))
    await expect(recommended).to_contain_text(re.compile(r"(Production ready|Validate in staging|More data needed)"))
    # HEURISTIC answers from the analytical model alone, and the recommendations say so, with what would raise it
    await expect(page.get_by_test_id("confidence-reasons")).to_contain_text("The analytical model answers alone")
    await expect(page.get_by_test_id("confidence-reasons")).to_contain_text("To raise it: Use the REGRESSOR method")
    assert await table.get_by_role("row").count() >= 3  # header, the pick, one Pareto member at least

    canvas = page.locator("figure.chart canvas")
    await expect(canvas).to_be_visible()
    assert await chart_points(page) >= 1
    assert await canvas.evaluate(COLOURED_PIXELS) > 20  # the points are drawn, not only the axes
    await shot("endpoint-result")

    await recommended.get_by_role("button", name="Deploy Recommended").click()
    launch = page.locator("#launch-command")
    await expect(launch).to_contain_text("vllm serve meta-llama/Llama-3.1-8B-Instruct")
    await expect(launch).to_contain_text("--tensor-parallel-size")
    await expect(page.locator("#docker-run")).to_contain_text("docker run")
    await expect(page.locator("#kubernetes-manifest")).to_contain_text("kind: Deployment")
    await expect(page.locator("#kubernetes-manifest")).to_contain_text("nvidia.com/gpu")
    await expect(recommended.get_by_text("deployed")).to_be_visible()
    await page.get_by_role("button", name="Copy").first.click()
    await expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = await page.evaluate("() => navigator.clipboard.readText()")
    assert copied == await launch.inner_text()
    await shot("endpoint-deployed")
    assert await page.evaluate(UNLABELLED_CONTROLS) == []

    # The list shows it, deployed.
    await page.get_by_role("link", name="Endpoints", exact=True).first.click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    await expect(row).to_contain_text("succeeded")
    await expect(row).to_contain_text("HEURISTIC")
    await expect(row).to_contain_text(profile)
    await shot("endpoints")
    assert any(url.startswith(traffic.origin.replace("http", "ws")) for url in traffic.requests)  # the subscription


async def test_a_regressor_search_streams_generations_into_the_chart(
    desktop: tuple[Page, Traffic], budsim: Budsim
) -> None:
    page, _traffic = desktop
    endpoint = await create_endpoint(budsim, unique("regressor"), "REGRESSOR", targets={"maxTtftMs": 800})
    await page.goto(f"/#/endpoints/{endpoint}")
    await expect(page.get_by_text("Not optimized yet")).to_be_visible()
    await page.get_by_role("button", name="Optimize", exact=True).click()
    # Each generation is one event; the chart follows the feasible front they carry.
    await expect(events_seen(page)).to_have_text(re.compile(r"^([3-9]|\d\d+)$"), timeout=60_000)
    await expect(page.get_by_role("table").filter(has_text="Per 1M tokens")).to_be_visible(timeout=60_000)
    generations = await page.get_by_text(re.compile(r"\d+ generations")).first.inner_text()
    assert re.search(r"\b1[0-2] generations", generations), generations  # GENERATIONS=12 in QUICK_SEARCH
    assert await chart_points(page) >= 2
    assert await page.locator("figure.chart canvas").evaluate(COLOURED_PIXELS) > 40
    await screenshot(page, "endpoint-regressor")


async def test_cancel_stops_a_running_search(browser: Browser, tmp_path: Path, model_path: Path) -> None:
    """A search long enough to watch and cancel: Llama 3.1 70B over four GPU types in two precisions, populations of
    400 (about 0.3 s a generation here; the 16 of the shared server converge in well under a second). The server
    runs with TRUSTED_DOCUMENTS on, so that CancelOptimization is shown to be one of the documents it accepts."""
    slow = {"POPULATION_SIZE": "400", "GENERATIONS": "100", "TRUSTED_DOCUMENTS": "true"}
    async with start_budsim(tmp_path, model_path, auth=False, extra_env=slow) as server:
        model, profiles = await ids(server, LLAMA_70B, JOB_PROFILES)
        payload = {
            "name": unique("cancel"),
            "modelId": model,
            "hardwareProfileIds": profiles,
            "method": "REGRESSOR",
            "precisions": ["BF16", "FP8"],
        }
        endpoint = (await graphql(server, CREATE, input=payload))["createEndpoint"]["id"]
        page, traffic = await open_page(browser, server.url, DESKTOP)
        try:
            await page.goto(f"/#/endpoints/{endpoint}")
            await page.get_by_role("button", name="Optimize", exact=True).click()
            await expect(events_seen(page)).to_have_text(re.compile(r"^([2-9]|\d\d+)$"), timeout=60_000)
            await page.get_by_role("button", name="Cancel").click()
            await screenshot(page, "endpoint-running")
            await expect(page.get_by_role("status").filter(has_text="Cancel requested")).to_be_visible()
            status = page.locator(".title-row").filter(has=page.get_by_role("heading", level=1))
            await expect(status).to_contain_text("cancelled", timeout=30_000)
            await expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
            # A cancelled search keeps its best so far: the recommendations are there.
            await expect(page.get_by_role("rowheader", name=re.compile("^Recommended"))).to_be_visible()
            generations = await page.get_by_text(re.compile(r"\d+ generations? ·")).first.inner_text()
            assert int(re.search(r"(\d+) generations?", generations).group(1)) < 100  # type: ignore[union-attr]
        finally:
            await page.context.close()
        assert traffic.foreign() == []
        assert traffic.page_errors == []
        assert "CancelOptimization" in traffic.operations  # and, with TRUSTED_DOCUMENTS on, answered:
        assert traffic.error_codes == []


async def test_an_endpoint_whose_targets_cannot_be_met_says_which_bind(
    desktop: tuple[Page, Traffic], budsim: Budsim
) -> None:
    page, _traffic = desktop
    targets = {"maxTtftMs": 1, "minThroughputTps": 1_000_000}
    endpoint = await create_endpoint(budsim, unique("impossible"), "HEURISTIC", targets=targets)
    await page.goto(f"/#/endpoints/{endpoint}")
    await page.get_by_role("button", name="Optimize", exact=True).click()
    await expect(page.get_by_text("targets not met")).to_be_visible(timeout=60_000)
    binding = page.get_by_role("note").filter(has=page.get_by_role("heading", name="Binding targets"))
    await expect(binding).to_contain_text("Max TTFT (p99)")
    await expect(binding).to_contain_text("1.0 ms")
    await expect(binding).to_contain_text("Min throughput")
    await expect(binding).to_contain_text("1,000,000 tok/s")
    await expect(page.get_by_role("rowheader", name="Closest (misses targets)")).to_be_visible()
    await expect(page.get_by_test_id("why")).to_contain_text("No config scored meets every target")
    await screenshot(page, "endpoint-binding")


async def test_a_changed_profile_marks_the_endpoint_stale(desktop: tuple[Page, Traffic], budsim: Budsim) -> None:
    page, _traffic = desktop
    profile = unique("stale-h100")
    created = await graphql(
        budsim,
        'mutation($n: String!) { createHardwareProfile(input: {name: $n, gpuType: "H100-SXM", gpuCount: 8}) '
        "{ ... on HardwareProfile { id } } }",
        n=profile,
    )
    profile_id = created["createHardwareProfile"]["id"]
    model, _ = await ids(budsim, "meta-llama/Llama-3.1-8B-Instruct", [])
    answer = await graphql(
        budsim,
        CREATE,
        input={"name": unique("stale"), "modelId": model, "hardwareProfileIds": [profile_id], "method": "HEURISTIC"},
    )
    endpoint = answer["createEndpoint"]["id"]
    await page.goto(f"/#/endpoints/{endpoint}")
    await page.get_by_role("button", name="Optimize", exact=True).click()
    await expect(page.get_by_text("meets every target", exact=True)).to_be_visible(timeout=60_000)
    await expect(page.get_by_test_id("stale")).to_have_count(0)

    await graphql(
        budsim,
        "mutation($id: ID!) { updateHardwareProfile(id: $id, input: {costPerGpuHour: 1.5}) { __typename } }",
        id=profile_id,
    )
    await page.reload()
    stale = page.get_by_test_id("stale")
    await expect(stale).to_contain_text("These recommendations may be out of date.")
    await expect(stale).to_contain_text(profile)
    await screenshot(page, "endpoint-stale")


async def test_the_endpoint_page_fits_a_phone(browser: Browser, budsim: Budsim) -> None:
    endpoint = await create_endpoint(budsim, unique("phone"), "HEURISTIC")
    page, traffic = await open_page(browser, budsim.url, PHONE)
    try:
        await page.goto(f"/#/endpoints/{endpoint}")
        await page.get_by_role("button", name="Optimize", exact=True).click()
        await page.get_by_role("button", name="Deploy Recommended").click(timeout=60_000)
        await expect(page.locator("#launch-command")).to_contain_text("vllm serve")
        assert await page.evaluate(NO_HORIZONTAL_SCROLL), "the endpoint page scrolls sideways at 390 px"
        await screenshot(page, "phone-endpoint")
    finally:
        await page.context.close()
    assert traffic.foreign() == []


async def test_signed_in_progress_follows_over_an_authenticated_websocket(browser: Browser, secured: Budsim) -> None:
    """With keys required, the page sends its key on HTTP and in graphql-ws's connection_init."""
    endpoint = await create_endpoint(secured, unique("signed-in"), "HEURISTIC")
    page, traffic = await open_page(browser, secured.url, {"width": 1280, "height": 900})
    try:
        await page.goto(f"/#/endpoints/{endpoint}")
        assert secured.token
        await page.get_by_label("API key").fill(secured.token)
        await page.get_by_role("button", name="Sign in").click()
        frames: list[str] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda frame: frames.append(str(frame))))
        await page.get_by_role("button", name="Optimize", exact=True).click()
        await expect(page.get_by_text("meets every target", exact=True)).to_be_visible(timeout=60_000)
        assert int(await events_seen(page).inner_text()) >= 1
        init = json.loads(next(frame for frame in frames if "connection_init" in frame))
        assert init["payload"] == {"Authorization": f"Bearer {secured.token}"}
    finally:
        await page.context.close()
    assert traffic.foreign() == []
    assert traffic.page_errors == []
