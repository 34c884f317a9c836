"""Load test of the running service over real HTTP and websockets.

While `--jobs` optimizations run (submitted at once with `wait: false`, seeds 0..N-1, Llama-3.1-70B over four 8-GPU
profiles, BF16 and FP8), `--subscribers` websocket clients (graphql-transport-ws) follow them with
`optimizationProgress` (subscriber i watches job i % jobs), and an open-loop stream of --rate (20) requests/s sends
`simulate` (HEURISTIC and REGRESSOR, Llama-3.1-8B on one H100) and list queries (`optimizationJobs`, `simulations`)
until every subscription has ended. Open loop: requests start on schedule whether or not earlier ones have answered,
so latency is measured under the offered load (a closed loop would lighten the load exactly when the server slows).
It prints, per mode, requests/s and p50/p99/max latency per operation, events delivered against expected (every
generation from the first one a subscriber saw up to the job's last, plus the final event), how the jobs ended, wall
time, the peak RSS of the server (and worker) with their search processes (VmRSS every 0.5 s) and the CPU seconds
each used. Before the jobs, the same query stream runs alone for --baseline seconds and gets its own table, so the
cost of the searches can be read off. The load generator shares the machine's cores with the server.

The goal it checks against: `simulate` p99 under 100 ms while the searches run on 2 cores. Missing that goal is a
measurement, not a failure; the exit status is non-zero only when an event went missing or a request failed.

Without --url it starts its own servers on a free port with a throwaway database (PostgreSQL database
`budsim_load_<hex>` created through --admin-url and dropped at the end, or a SQLite file), migrated with
`budsim migrate`. Modes: `inprocess` is `budsim serve` with its in-process worker; `separate` is
`budsim serve --no-worker` plus one `budsim worker` (PostgreSQL only). By default both run, one after the other.
The server runs --processes event-loop processes on its port (`budsim serve --processes`): by default one per core
with PostgreSQL, 1 with SQLite (which allows no more).

Run: .venv/bin/python bench/load.py [--database postgresql|sqlite] [--mode inprocess|separate] [--jobs 20]
     [--subscribers 200] [--duration-cap 300] [--rate 20] [--baseline 10] [--processes N] [--url URL [--pid PID]]
"""

import argparse
import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import multiprocessing
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets
from timing import percentile

from budsim.cli.render import table
from budsim.settings import DEFAULT_MODEL_PATH

ROOT = Path(__file__).resolve().parent.parent
BUDSIM = ROOT / ".venv" / "bin" / "budsim"
MODEL_PATH = ROOT / DEFAULT_MODEL_PATH
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
SIMULATE_P99_GOAL_MS = 100.0
SIMULATE_OPS = ("simulate", "simulate REGRESSOR")  # HEURISTIC and REGRESSOR
READY_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0
RSS_INTERVAL_S = 0.5
WS_OPEN_CONCURRENCY = 50
DEFAULT_RATE = 20.0  # half simulate, half lists: a dashboard's traffic, not a saturation test
MAX_CONNECTIONS = 100
ERROR_BACKOFF_S = 0.1
FINAL_STATUSES = frozenset({"SUCCEEDED", "TIMED_OUT", "CANCELLED", "FAILED"})

BIG_MODEL = "meta-llama/Llama-3.1-70B-Instruct"
SMALL_MODEL = "meta-llama/Llama-3.1-8B-Instruct"
SEARCH_PROFILES = ("H100-SXM x8", "A100-80GB-SXM x8", "H200-SXM x8", "L40S x8")
SIMULATE_PROFILE = "H100-SXM x1"

MODELS_QUERY = "query($s: String) { models(search: $s) { id name } }"
PROFILES_QUERY = "query($g: String) { hardwareProfiles(first: 100, gpuType: $g) { edges { node { id name } } } }"
OPTIMIZE_MUTATION = """
mutation($input: OptimizeInput!) { optimize(input: $input, wait: false) {
  __typename ... on OptimizationJob { id status } ... on ValidationError { field message } } }
"""
PROGRESS_SUBSCRIPTION = """
subscription($id: ID!) { optimizationProgress(jobId: $id) {
  status attempt generation evaluations bestOutputTokensPerS paretoFrontSize result { generations } } }
"""
SIMULATE_MUTATION = """
mutation($input: SimulateInput!) { simulate(input: $input) {
  __typename ... on Simulation { id metrics { ttftP99Ms outputTokensPerS } } } }
"""
JOBS_QUERY = "query { optimizationJobs(first: 20) { totalCount edges { node { id status progress { generation } } } } }"
SIMULATIONS_QUERY = "query { simulations(first: 20) { totalCount edges { node { id method } } } }"


# --- bookkeeping -----------------------------------------------------------------------------------------------------


@dataclass
class OpStats:
    latencies: list[float] = field(default_factory=list)
    ended: list[float] = field(default_factory=list)  # perf_counter when each answer came
    errors: int = 0
    samples: list[str] = field(default_factory=list)  # the first few failures, to print


@dataclass
class Recorder:
    ops: dict[str, OpStats] = field(default_factory=dict)

    def add(self, op: str, seconds: float, error: str | None) -> None:
        stats = self.ops.setdefault(op, OpStats())
        stats.latencies.append(seconds)
        stats.ended.append(time.perf_counter())
        if error is not None:
            stats.errors += 1
            if len(stats.samples) < 3:
                stats.samples.append(error[:300])


@dataclass
class Watch:
    """What one subscriber saw."""

    job: int
    events: list[dict[str, Any]] = field(default_factory=list)
    completed: bool = False
    error: str | None = None


@dataclass
class Tally:
    delivered: int
    expected: int
    final_status: str | None
    final_generation: int | None
    problems: list[str]


@dataclass
class Target:
    url: str
    pids: dict[str, int]  # role -> pid, whose RSS is sampled
    logs: list[Path]


# --- GraphQL over HTTP -----------------------------------------------------------------------------------------------


def api_client(url: str) -> httpx.AsyncClient:
    """A client of the API, as the query stream and the optimizing users each have one."""
    return httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=MAX_CONNECTIONS))


async def graphql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"errors: {json.dumps(body['errors'])[:300]}")
    return body["data"]


async def timed(
    recorder: Recorder, op: str, call: Callable[[], Awaitable[dict[str, Any]]], check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    start = time.perf_counter()
    error: str | None = None
    data: dict[str, Any] | None = None
    try:
        data = await call()
        if not check(data):
            error = f"unexpected answer: {json.dumps(data)[:300]}"
    except Exception as exc:  # every failure is counted against its operation
        error = f"{type(exc).__name__}: {exc}"
    recorder.add(op, time.perf_counter() - start, error)
    return None if error else data


async def model_id(http: httpx.AsyncClient, name: str) -> str:
    models = (await graphql(http, MODELS_QUERY, {"s": name.split("/")[-1]}))["models"]
    return next(m["id"] for m in models if m["name"] == name)


async def profile_id(http: httpx.AsyncClient, name: str) -> str:
    data = await graphql(http, PROFILES_QUERY, {"g": name.split(" ")[0]})
    return next(e["node"]["id"] for e in data["hardwareProfiles"]["edges"] if e["node"]["name"] == name)


async def submit_jobs(
    http: httpx.AsyncClient, recorder: Recorder, model: str, profiles: list[str], count: int
) -> list[str]:
    async def one(seed: int) -> str:
        variables = {
            "input": {"modelId": model, "hardwareProfileIds": profiles, "precisions": ["BF16", "FP8"], "seed": seed}
        }
        data = await timed(
            recorder,
            "optimize(wait:false)",
            lambda: graphql(http, OPTIMIZE_MUTATION, variables),
            lambda d: d["optimize"]["__typename"] == "OptimizationJob",
        )
        if data is None:
            raise RuntimeError(f"optimize seed {seed} failed: {recorder.ops['optimize(wait:false)'].samples}")
        return data["optimize"]["id"]

    return list(await asyncio.gather(*(one(seed) for seed in range(count))))


async def query_stream(
    http: httpx.AsyncClient, recorder: Recorder, small_model: str, profile: str, rate: float, stop: asyncio.Event
) -> None:
    """Open loop: a request starts every 1/rate s on average (exponential gaps), answered or not, so a slow server
    meets the same offered load instead of a lighter one. Half are `simulate` (one in three of those REGRESSOR), half
    list queries, until told to stop; then the requests in flight finish."""

    def simulate_input(method: str) -> dict[str, Any]:
        workload = {"inputTokens": 1024, "outputTokens": 256, "concurrency": 16}
        return {"input": {"modelId": small_model, "hardwareProfileId": profile, "method": method, "workload": workload}}

    def is_simulation(d: dict[str, Any]) -> bool:
        return d["simulate"]["__typename"] == "Simulation"

    requests: dict[str, Callable[[], Awaitable[dict[str, Any] | None]]] = {
        "simulate": lambda: timed(
            recorder, "simulate", lambda: graphql(http, SIMULATE_MUTATION, simulate_input("HEURISTIC")), is_simulation
        ),
        "simulate REGRESSOR": lambda: timed(
            recorder,
            "simulate REGRESSOR",
            lambda: graphql(http, SIMULATE_MUTATION, simulate_input("REGRESSOR")),
            is_simulation,
        ),
        "optimizationJobs list": lambda: timed(
            recorder, "optimizationJobs list", lambda: graphql(http, JOBS_QUERY), lambda d: True
        ),
        "simulations list": lambda: timed(
            recorder, "simulations list", lambda: graphql(http, SIMULATIONS_QUERY), lambda d: True
        ),
    }
    mix = itertools.cycle(
        [
            "simulate",
            "optimizationJobs list",
            "simulate",
            "simulations list",
            "simulate REGRESSOR",
            "optimizationJobs list",
        ]
    )
    rng = random.Random(0)
    in_flight: set[asyncio.Task[Any]] = set()
    next_start = time.perf_counter()
    while not stop.is_set():
        task = asyncio.create_task(requests[next(mix)]())
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        next_start += rng.expovariate(rate)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, next_start - time.perf_counter()))
    await asyncio.gather(*in_flight, return_exceptions=True)


# --- websocket subscribers -------------------------------------------------------------------------------------------


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/") + "/graphql"


async def subscribe(url: str, job_id: str, watch: Watch, opening: asyncio.Semaphore, recorder: Recorder) -> None:
    try:
        async with opening:
            start = time.perf_counter()
            socket_ = await websockets.connect(ws_url(url), subprotocols=["graphql-transport-ws"], max_size=None)
            await socket_.send(json.dumps({"type": "connection_init"}))
            while (message := json.loads(await socket_.recv()))["type"] != "connection_ack":
                if message["type"] == "ping":
                    await socket_.send(json.dumps({"type": "pong"}))
            payload = {"query": PROGRESS_SUBSCRIPTION, "variables": {"id": job_id}}
            await socket_.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            recorder.add("websocket connect+ack", time.perf_counter() - start, None)
        async with socket_:
            await read_events(socket_, watch)
    except Exception as exc:  # a broken subscription is reported, the others go on
        watch.error = f"{type(exc).__name__}: {exc}"


async def read_events(socket_: websockets.ClientConnection, watch: Watch) -> None:
    async for raw in socket_:
        message = json.loads(raw)
        kind = message["type"]
        if kind == "ping":
            await socket_.send(json.dumps({"type": "pong"}))
        elif kind == "next":
            if message["payload"].get("errors"):
                watch.error = f"errors in event: {json.dumps(message['payload']['errors'])[:300]}"
            watch.events.append(message["payload"]["data"]["optimizationProgress"])
        elif kind == "complete":
            watch.completed = True
            return
        elif kind == "error":
            watch.error = f"subscription error: {json.dumps(message.get('payload'))[:300]}"
            return


def last_generation(final: dict[str, Any] | None, gens: list[int]) -> int | None:
    """The job's last generation: the result's, else the final event's, else the last one seen."""
    if final is not None and final.get("result") and final["result"].get("generations") is not None:
        return final["result"]["generations"]
    if final is not None and final.get("generation") is not None:
        return final["generation"]
    return gens[-1] if gens else None


def tally(watch: Watch) -> Tally:
    """Expected: each generation from the first one seen (0 when the first event predates generation 0) up to the
    job's last, plus the final event; delivered: the distinct ones of those that arrived."""
    problems = [watch.error] if watch.error else []
    finals = [e for e in watch.events if e["status"] in FINAL_STATUSES]
    final = finals[0] if finals else None
    progress = [e for e in watch.events if e["status"] not in FINAL_STATUSES]
    gens = [e["generation"] for e in progress if e["generation"] is not None]
    if len(finals) > 1:
        problems.append(f"{len(finals)} final events")
    if final is not None and watch.events[-1] is not final:
        problems.append("events after the final one")
    if final is not None and not watch.completed:
        problems.append("no complete after the final event")
    if final is None:
        problems.append("no final event")
    final_gen = last_generation(final, gens)
    start = 0 if progress and progress[0]["generation"] is None else (gens[0] if gens else None)
    for before, after in itertools.pairwise(gens):
        if after != before + 1:
            problems.append(f"generation {before} -> {after}")
    if len(set(gens)) != len(gens):
        problems.append("duplicate generations")
    if start is None or final_gen is None:
        expected_progress, delivered_progress = len(set(gens)), len(set(gens))
    else:
        expected_progress = max(0, final_gen - start + 1)
        delivered_progress = len({g for g in gens if start <= g <= final_gen})
        if gens and max(gens) > final_gen:
            problems.append(f"generation {max(gens)} beyond the last ({final_gen})")
    return Tally(
        delivered=delivered_progress + (1 if final else 0),
        expected=expected_progress + 1,
        final_status=final["status"] if final else None,
        final_generation=final_gen,
        problems=problems,
    )


# --- memory ----------------------------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants: a server's search processes are part of the server."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for children in Path(f"/proc/{current}/task").glob("*/children"):
                pending += [int(child) for child in children.read_text().split()]
    return found


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> float | None:
    """Resident memory of the process and its descendants; None once it is gone."""
    if not Path(f"/proc/{pid}").exists():
        return None
    return sum(_rss_mb(member) for member in process_tree(pid))


async def sample_rss(pids: dict[str, int], peaks: dict[str, float], stop: asyncio.Event) -> None:
    while True:
        for role, pid in pids.items():
            current = rss_mb(pid)
            if current is not None:
                peaks[role] = max(peaks.get(role, 0.0), current)
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RSS_INTERVAL_S)


# --- servers and databases -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def throwaway_database(kind: str, admin_url: str) -> AsyncIterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="budsim_load_") as folder:
            yield f"sqlite:///{folder}/load.db"
        return
    name = f"budsim_load_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def server_env(database_url: str) -> dict[str, str]:
    # The load generator sends no API key: its own servers answer without one (with --url, the server must too).
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "MODEL_PATH": str(MODEL_PATH),
        "LOG_LEVEL": "warning",
        "AUTH_DISABLED": "true",
    }


def ensure_model() -> None:
    if not MODEL_PATH.exists():
        print(f"training {MODEL_PATH} once (absent) ...", flush=True)
        subprocess.run([str(BUDSIM), "train", "--no-logo", "--no-stored"], cwd=ROOT, check=True)


async def run_checked(args: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({process.returncode}):\n{output.decode()[-2000:]}")


async def start(args: list[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(*args, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE_S)
    except TimeoutError:
        process.kill()
        await process.wait()


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def wait_ready(url: str, server: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise RuntimeError(f"server exited ({server.returncode}):\n{log_tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.5)
    raise RuntimeError(f"server not ready after {READY_TIMEOUT_S:.0f} s:\n{log_tail(log)}")


@contextlib.asynccontextmanager
async def launched(mode: str, database: str, admin_url: str, server_processes: int) -> AsyncIterator[Target]:
    ensure_model()
    async with throwaway_database(database, admin_url) as database_url:
        env = server_env(database_url)
        await run_checked([str(BUDSIM), "migrate"], env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory(prefix="budsim_load_logs_") as folder:
            logs = [Path(folder) / "server.log"]
            serve = [
                str(BUDSIM),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--processes",
                str(server_processes),
            ]
            processes = {"server": await start(serve + (["--no-worker"] if mode == "separate" else []), env, logs[0])}
            try:
                if mode == "separate":
                    logs.append(Path(folder) / "worker.log")
                    processes["worker"] = await start([str(BUDSIM), "worker"], env, logs[1])
                await wait_ready(url, processes["server"], logs[0])
                yield Target(url=url, pids={role: p.pid for role, p in processes.items()}, logs=logs)
            finally:
                await asyncio.gather(*(stop_process(p) for p in processes.values()))
                print_log_problems(logs)


def print_log_problems(logs: list[Path]) -> None:
    for log in logs:
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        flagged = [line for line in lines if "Traceback" in line or "ERROR" in line or "Error" in line]
        if flagged:
            print(f"{log.name}: {len(flagged)} error lines, e.g.:")
            for line in flagged[:5]:
                print(f"  {line[:200]}")


# --- one run ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """How much load to apply."""

    jobs: int
    subscribers: int
    rate: float  # query requests started per second
    cap_s: float
    baseline_s: float


@dataclass
class Ids:
    big_model: str
    small_model: str
    search_profiles: list[str]
    simulate_profile: str


@dataclass
class RunResult:
    recorder: Recorder
    baseline: Recorder
    baseline_s: float
    tallies: list[Tally]
    wall_s: float
    peaks: dict[str, float]
    cpu_s: dict[str, float]
    timed_out: bool
    started: float  # perf_counter when the window began: the jobs' submission


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process and its descendants (this process alone when pid is None)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    if not Path(f"/proc/{pid}").exists():
        return None
    return sum(_cpu_ticks(member) for member in process_tree(pid)) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float | None]:
    return {**{role: cpu_seconds(pid) for role, pid in pids.items()}, "load generator": cpu_seconds(None)}


def cpu_used(before: dict[str, float | None], after: dict[str, float | None]) -> dict[str, float]:
    return {
        role: end - begin for role, end in after.items() if end is not None and (begin := before.get(role)) is not None
    }


async def lookup_ids(http: httpx.AsyncClient) -> Ids:
    return Ids(
        big_model=await model_id(http, BIG_MODEL),
        small_model=await model_id(http, SMALL_MODEL),
        search_profiles=[await profile_id(http, name) for name in SEARCH_PROFILES],
        simulate_profile=await profile_id(http, SIMULATE_PROFILE),
    )


def start_loops(
    http: httpx.AsyncClient, recorder: Recorder, ids: Ids, rate: float, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(query_stream(http, recorder, ids.small_model, ids.simulate_profile, rate, stop))]


async def idle_baseline(http: httpx.AsyncClient, ids: Ids, shape: Shape) -> Recorder:
    """The same query stream with no search running, for comparison."""
    recorder = Recorder()
    stop = asyncio.Event()
    tasks = start_loops(http, recorder, ids, shape.rate, stop)
    try:
        await asyncio.sleep(shape.baseline_s)
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        await cancel_all(tasks)
    return recorder


async def _watch_all(url: str, job_ids: list[str], watches: list[Watch], recorder: Recorder, cap: float) -> bool:
    opening = asyncio.Semaphore(WS_OPEN_CONCURRENCY)
    subs = [asyncio.create_task(subscribe(url, job_ids[w.job], w, opening, recorder)) for w in watches]
    try:
        _, pending = await asyncio.wait(subs, timeout=cap)
    finally:
        await cancel_all(subs)
    return bool(pending)


def _ready() -> None:
    """Nothing: a first call that makes the pool start its process and import, before the window opens."""


def _optimize_in_child(url: str, ids: Ids, shape: Shape) -> tuple[list[Tally], Recorder, bool]:
    """Tallied here: the parent unpickles 200 tallies rather than 5,520 events, which took 6 ms of its interpreter lock
    (an idle core) while its query stream still had requests in flight."""
    recorder = Recorder()
    watches, timed_out = asyncio.run(_submit_and_watch(url, ids, shape, recorder))
    return [tally(watch) for watch in watches], recorder, timed_out


async def _submit_and_watch(url: str, ids: Ids, shape: Shape, recorder: Recorder) -> tuple[list[Watch], bool]:
    async with api_client(url) as http:
        job_ids = await submit_jobs(http, recorder, ids.big_model, ids.search_profiles, shape.jobs)
    watches = [Watch(job=i % shape.jobs) for i in range(shape.subscribers)]
    return watches, await _watch_all(url, job_ids, watches, recorder, shape.cap_s)


@contextlib.asynccontextmanager
async def optimizing_users() -> AsyncIterator[concurrent.futures.ProcessPoolExecutor]:
    """The process that submits the jobs and follows them, started and imported before the window opens.

    The optimizing users are other clients than the dashboard's query stream, and they run apart from it: on one
    event loop with the stream, the client's own work (20 submissions' connections and requests, 200 handshakes and
    their events) delayed the sending of queries and the reading of their answers, and that delay counted as server
    latency. Started inside the window, the process's imports took a core for half a second of the burst.
    Timestamps stay comparable: perf_counter is the system-wide monotonic clock on Linux.
    """
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        await asyncio.get_running_loop().run_in_executor(pool, _ready)
        yield pool


async def optimize_and_follow(
    pool: concurrent.futures.ProcessPoolExecutor, url: str, ids: Ids, shape: Shape, recorder: Recorder
) -> tuple[list[Tally], bool]:
    """Submit the jobs and follow each until its subscriptions end; answer the tally of what each subscriber saw and
    whether --duration-cap cut them short."""
    future = asyncio.get_running_loop().run_in_executor(pool, _optimize_in_child, url, ids, shape)
    tallies, theirs, timed_out = await future
    for op, stats in theirs.ops.items():
        mine = recorder.ops.setdefault(op, OpStats())
        mine.latencies += stats.latencies
        mine.ended += stats.ended
        mine.errors += stats.errors
        mine.samples += stats.samples
    return tallies, timed_out


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def drive(target: Target, shape: Shape) -> RunResult:
    recorder = Recorder()
    peaks: dict[str, float] = {}
    stop_rss = asyncio.Event()
    rss_task = asyncio.create_task(sample_rss(target.pids, peaks, stop_rss))
    loops: list[asyncio.Task[None]] = []
    try:
        async with (
            api_client(target.url) as http,
            optimizing_users() as users,
        ):
            ids = await lookup_ids(http)
            baseline = await idle_baseline(http, ids, shape) if shape.baseline_s > 0 else Recorder()
            cpu_before = cpu_snapshot(target.pids)
            started = time.perf_counter()
            stop = asyncio.Event()
            loops = start_loops(http, recorder, ids, shape.rate, stop)
            tallies, timed_out = await optimize_and_follow(users, target.url, ids, shape, recorder)
            wall = time.perf_counter() - started
            cpu = cpu_used(cpu_before, cpu_snapshot(target.pids))
            stop.set()
            await asyncio.gather(*loops)
    finally:  # on failure or Ctrl-C too: nothing may outlive the client
        await cancel_all(loops)
        stop_rss.set()
        await rss_task
    return RunResult(recorder, baseline, shape.baseline_s, tallies, wall, peaks, cpu, timed_out, started)


# --- report ----------------------------------------------------------------------------------------------------------


OP_HEADERS = ("operation", "count", "req/s", "p50 ms", "p99 ms", "max ms", "errors")


def op_rows(recorder: Recorder, wall_s: float) -> list[tuple[Any, ...]]:
    rows = []
    for op, stats in sorted(recorder.ops.items()):
        ms = [s * 1e3 for s in stats.latencies]
        rows.append((op, len(ms), len(ms) / wall_s, percentile(ms, 50), percentile(ms, 99), max(ms), stats.errors))
    return rows


def report(label: str, result: RunResult, shape: Shape) -> list[str]:
    jobs = shape.jobs
    """Print one mode's figures; answer why it failed (empty when it did not)."""
    print(f"\n=== mode: {label} | cpu_count: {os.cpu_count()} ===")
    if result.baseline.ops:
        print(f"before the jobs, no search running ({result.baseline_s:.0f} s, the same {shape.rate:g} queries/s):")
        print(table(OP_HEADERS, op_rows(result.baseline, result.baseline_s)))
        print(f"\nwhile {jobs} optimizations run:")
    print(table(OP_HEADERS, op_rows(result.recorder, result.wall_s)))
    delivered = sum(t.delivered for t in result.tallies)
    expected = sum(t.expected for t in result.tallies)
    share = 100.0 * delivered / expected if expected else 0.0
    print(f"events delivered/expected: {delivered}/{expected} ({share:.2f}%)")
    completed = sum(1 for t in result.tallies if t.final_status is not None and not t.problems)
    print(f"subscribers completed: {completed}/{len(result.tallies)}")
    by_job: dict[int, Tally] = {}
    for index, t in enumerate(result.tallies):
        if t.final_status is not None:
            by_job.setdefault(index % jobs, t)
    statuses = Counter(t.final_status for t in by_job.values())
    unseen = jobs - len(by_job)
    print(f"jobs ended: {dict(statuses)}" + (f", {unseen} not seen ending" if unseen else ""))
    generations = [t.final_generation for t in by_job.values() if t.final_generation is not None]
    if generations:
        print(
            f"generations per job: min {min(generations)}, median {statistics.median(generations):g}, "
            f"max {max(generations)}"
        )
    print(f"wall time: {result.wall_s:.1f} s" + (" (hit --duration-cap)" if result.timed_out else ""))
    for role, peak in result.peaks.items():
        print(f"peak RSS {role} with its search processes: {peak:.0f} MB")
    for role, seconds in result.cpu_s.items():
        print(f"CPU during the run, {role}: {seconds:.1f} s ({seconds / result.wall_s:.2f} cores)")
    print(goal_line(result.recorder))
    for op in SIMULATE_OPS:
        settled = settled_latencies(result.recorder, op)
        if settled:
            ms = [s * 1e3 for s in settled]
            print(
                f"{op} once every subscriber had connected ({len(ms)} requests, searches still running): "
                f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms"
            )
        if op in result.recorder.ops:
            print(when_slow(result, op))
    return failures(result, delivered, expected)


def goal_line(recorder: Recorder) -> str:
    """The goal holds for every `simulate`, whichever its method: each method's p99, and that of all of them."""
    verdicts = []
    for label, ops in (*((op, [op]) for op in SIMULATE_OPS), ("all", SIMULATE_OPS)):
        latencies = [s for op in ops if op in recorder.ops for s in recorder.ops[op].latencies]
        if latencies:
            p99 = percentile(latencies, 99) * 1e3
            verdicts.append(f"{label} {'met' if p99 < SIMULATE_P99_GOAL_MS else 'MISSED'} ({p99:.1f} ms)")
    return f"goal simulate p99 < {SIMULATE_P99_GOAL_MS:.0f} ms: " + ", ".join(verdicts)


def spans(stats: OpStats) -> list[tuple[float, float]]:
    """(start, latency) of each request, in perf_counter seconds."""
    return [(end - latency, latency) for latency, end in zip(stats.latencies, stats.ended, strict=True)]


def when_slow(result: RunResult, op: str, count: int = 5) -> str:
    """When the slowest `op` requests were sent, against when the jobs were submitted and the websockets opened:
    the first thing to know about a tail (a burst, or something periodic such as a garbage collection)."""

    def at(seconds: float) -> str:
        return f"{seconds - result.started:.2f} s"

    slowest = sorted(spans(result.recorder.ops[op]), key=lambda span: -span[1])[:count]
    line = f"slowest {op} (sent at, from the window's start): " + ", ".join(
        f"{at(start)}: {latency * 1e3:.0f} ms" for start, latency in sorted(slowest)
    )
    for phase, name in (("submissions", "optimize(wait:false)"), ("websocket opens", "websocket connect+ack")):
        if (stats := result.recorder.ops.get(name)) and stats.latencies:
            requests = spans(stats)
            first, last = min(s for s, _ in requests), max(s + lat for s, lat in requests)
            line += f"; {phase} {at(first)}-{at(last)}"
    return line


def settled_latencies(recorder: Recorder, op: str) -> list[float]:
    """Latencies of `op` requests sent after the last subscriber's handshake: the steady state, without the burst of
    connections at the start."""
    handshakes = recorder.ops.get("websocket connect+ack")
    stats = recorder.ops.get(op)
    if handshakes is None or stats is None or not handshakes.ended:
        return []
    settled_at = max(handshakes.ended)
    return [latency for start, latency in spans(stats) if start > settled_at]


def failures(result: RunResult, delivered: int, expected: int) -> list[str]:
    why = []
    problems = Counter(p for t in result.tallies for p in t.problems)
    if delivered < expected or expected == 0 or problems:
        why.append(f"events delivered {delivered} of {expected}; subscribers with problems:")
        for problem, count in problems.most_common(8):
            why.append(f"  {count} subscriber(s): {problem}")
    for op, stats in [*result.baseline.ops.items(), *result.recorder.ops.items()]:
        if stats.errors:
            why.append(f"{stats.errors} failed {op}, e.g. {stats.samples[0]}")
    return why


# --- entry point -----------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--mode", choices=["inprocess", "separate"], help="default: both (separate needs PostgreSQL)")
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--duration-cap", type=float, default=300.0, help="seconds to wait for the subscriptions")
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help="query requests started per second (open loop)"
    )
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of queries alone first (0: none)")
    parser.add_argument("--url", help="drive this running server instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: the server process whose RSS to sample")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL URL used to create the throwaway database")
    parser.add_argument(
        "--processes",
        type=int,
        help="`budsim serve --processes`: default one per core with PostgreSQL (the deployment a 2-core machine "
        "would run), 1 with SQLite",
    )
    args = parser.parse_args()
    if args.processes is None:
        args.processes = (os.cpu_count() or 1) if args.database == "postgresql" else 1
    return args


def shape_of(args: argparse.Namespace) -> Shape:
    return Shape(args.jobs, args.subscribers, args.rate, args.duration_cap, args.baseline)


def modes(args: argparse.Namespace) -> list[str]:
    if args.mode:
        return [args.mode]
    if args.database == "sqlite":
        print("separate mode needs PostgreSQL: running inprocess only")
        return ["inprocess"]
    return ["inprocess", "separate"]


async def run_mode(args: argparse.Namespace, mode: str) -> list[str]:
    label = f"{mode} ({args.database}, {args.processes} server process{'es' if args.processes > 1 else ''})"
    print(f"\n--- {label}: {args.jobs} jobs, {args.subscribers} subscribers ...", flush=True)
    async with launched(mode, args.database, args.admin_url, args.processes) as target:
        result = await drive(target, shape_of(args))
    return report(label, result, shape_of(args))


async def main_async(args: argparse.Namespace) -> list[str]:
    if args.mode == "separate" and args.database == "sqlite":
        return ["separate mode needs PostgreSQL"]
    if args.url:
        target = Target(url=args.url.rstrip("/"), pids={"server": args.pid} if args.pid else {}, logs=[])
        result = await drive(target, shape_of(args))
        return report(f"external {args.url}", result, shape_of(args))
    why = []
    for mode in modes(args):
        why += [f"[{mode}] {reason}" for reason in await run_mode(args, mode)]
    return why


def main() -> None:
    args = parse_args()
    why = asyncio.run(main_async(args))
    if why:
        print("\nFAILED:\n" + "\n".join(why))
        sys.exit(1)


if __name__ == "__main__":
    main()
