"""Step-level discrete-event simulation of one replica's continuous-batching scheduler.

The simulation is the reference the vectorised queueing approximation in `serving.py` is tested against, and a tool
to look at one configuration closely (tail latencies, preemption). It replays what the engines' schedulers do, step
by step, and prices every step with `step.step_time`:

- each step first serves the running decodes (one token each), then spends the remaining token budget
  (max_num_batched_tokens) on prompt chunks: unfinished prompts first, then waiting requests in arrival order, while
  fewer than max_num_seqs requests run and the KV cache has room (vLLM, TensorRT-LLM). SGLang-style engines instead
  run a prefill-only step whenever prompt work is waiting and a decode-only step otherwise;
- the first token of a request is sampled by the step that finishes its prompt; later tokens by decode steps;
- KV: every prompt token processed and every token generated occupies one slot. Engines that reserve at admission
  (TensorRT-LLM, SGLang) admit a request only if its reservation (prompt + a share of its output) fits next to the
  others'; vLLM admits on the room the chunk needs, and when a decode step finds no room it preempts the most recently
  admitted request, which later recomputes its prompt and the tokens it had generated;
- a closed loop keeps `concurrency` clients, each sending its next request when the previous one finishes; an open
  loop draws Poisson arrivals at `request_rate`. A request reaches the scheduler the engine's front-end latency
  (`EngineProfile.request_overhead_s`) after its client sent it; latencies are measured from the client's send.

Bookkeeping is aggregated (decode contexts and KV are running sums, completions are indexed by decode tick), so a
step costs O(1) plus O(prompt chunks), and a few thousand requests simulate in a fraction of a second.
"""

import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from budsim.core.perf.engines import EngineProfile
from budsim.core.perf.step import ReplicaCost, StepLoad, chunk_pairs, step_time
from budsim.core.types import FloatArray

CLIENT_DELAY_S = 1e-6  # a closed-loop client resubmits just after its previous response, after the next step began


@dataclass(slots=True)
class _Request:
    arrival: float
    prompt: int  # tokens to prefill; after a preemption, the original prompt plus what had been generated
    output: int  # tokens still to generate since the last (re)prefill started
    total_output: int
    prefilled: int = 0
    generated: int = 0  # tokens generated since the last (re)prefill
    first_token: float = -1.0
    decode_from_tick: int = 0  # decode tick at which the current decode phase started
    decode_from_generated: int = 0
    version: int = 0  # bumped on preemption, invalidating scheduled completions
    decoding: bool = False
    reserved: float = 0.0

    @property
    def context(self) -> int:
        return self.prefilled + self.generated


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Per-request latencies (seconds) of the requests completed after the warm-up, and replica-level totals."""

    ttft_s: FloatArray
    tpot_s: FloatArray
    e2e_s: FloatArray
    duration_s: float  # measurement window
    output_tokens: int  # tokens generated inside the window
    completed: int
    steps: int
    preemptions: int
    mean_running: float  # time-averaged requests in the engine

    @property
    def output_tokens_per_s(self) -> float:
        return self.output_tokens / self.duration_s

    @property
    def requests_per_s(self) -> float:
        return self.completed / self.duration_s


@dataclass(slots=True)
class _Engine:
    cost: ReplicaCost
    profile: EngineProfile
    max_num_seqs: int
    budget: int
    kv_capacity: int
    window: int
    now: float = 0.0
    tick: int = 0  # decode steps run so far
    waiting: deque[_Request] = field(default_factory=deque)
    prefilling: list[_Request] = field(default_factory=list)
    running: list[_Request] = field(default_factory=list)  # admission order, for preemption
    decoding: int = 0
    context_sum: int = 0
    below_window: int = 0  # decoding requests whose context is still below the window
    window_context_sum: int = 0
    window_crossings: dict[int, int] = field(default_factory=dict)
    completions: dict[int, list[tuple[_Request, int]]] = field(default_factory=dict)
    kv_used: int = 0
    kv_reserved: float = 0.0
    preemptions: int = 0

    # ------------------------------------------------------------------ bookkeeping
    def _start_decoding(self, req: _Request) -> None:
        req.decoding = True
        req.decode_from_tick = self.tick
        req.decode_from_generated = req.generated
        self.decoding += 1
        context = req.context
        self.context_sum += context
        if self.window:
            clipped = min(context, self.window)
            self.window_context_sum += clipped
            if context < self.window:
                self.below_window += 1
                cross = self.tick + (self.window - context)
                self.window_crossings[cross] = self.window_crossings.get(cross, 0) + 1
        done = self.tick + (req.output - req.generated)
        self.completions.setdefault(done, []).append((req, req.version))

    def _sync(self, req: _Request) -> None:
        """Bring a decoding request's token count up to date (decode ticks are counted, not applied one by one)."""
        if req.decoding:
            req.generated = req.decode_from_generated + (self.tick - req.decode_from_tick)

    def _stop_decoding(self, req: _Request) -> None:
        self._sync(req)
        req.decoding = False
        self.decoding -= 1
        context = req.context
        self.context_sum -= context
        if self.window:
            self.window_context_sum -= min(context, self.window)
            if context < self.window:
                self.below_window -= 1
                cross = self.tick + (self.window - context)
                self.window_crossings[cross] -= 1

    def _release(self, req: _Request) -> None:
        self.kv_used -= req.context
        self.kv_reserved -= req.reserved
        req.reserved = 0.0
        self.running.remove(req)

    def _preempt_last(self) -> bool:
        """vLLM-style recompute preemption of the most recently admitted request."""
        if not self.running:
            return False
        victim = self.running[-1]
        if victim.decoding:
            self._stop_decoding(victim)
        else:
            self.prefilling.remove(victim)
        self._release(victim)
        victim.version += 1
        if victim.generated:  # recompute: the generated tokens become part of the prompt to prefill again
            victim.prompt = victim.prefilled + victim.generated
            victim.output -= victim.generated
            victim.generated = 0
        victim.prefilled = 0
        self.waiting.appendleft(victim)
        self.preemptions += 1
        return True

    def _reservation(self, req: _Request) -> float:
        if not self.profile.reserves_kv_at_admission:
            return 0.0
        remaining = req.output - req.generated
        return req.prompt + self.profile.kv_reserved_output_fraction * remaining

    # ------------------------------------------------------------------ one step
    def _schedule_prefill(self, budget: int, admit: bool) -> list[tuple[_Request, int, int]]:
        """Prompt chunks for this step: unfinished prompts first, then admissions in arrival order."""
        chunks: list[tuple[_Request, int, int]] = []
        for req in self.prefilling:
            if budget <= 0:
                break
            size = min(budget, req.prompt - req.prefilled, self.kv_capacity - self.kv_used)
            if size <= 0:
                break
            chunks.append((req, req.prefilled, size))
            self.kv_used += size
            budget -= size
        while admit and budget > 0 and self.waiting and len(self.running) < self.max_num_seqs:
            req = self.waiting[0]
            reservation = self._reservation(req)
            if self.kv_reserved + reservation > self.kv_capacity:
                break
            size = min(budget, req.prompt, self.kv_capacity - self.kv_used)
            if size <= 0:
                break
            self.waiting.popleft()
            req.reserved = reservation
            self.kv_reserved += reservation
            self.running.append(req)
            self.prefilling.append(req)
            chunks.append((req, 0, size))
            self.kv_used += size
            budget -= size
        return chunks

    def _make_room_for_decodes(self) -> bool:
        """Preempt until every decoding request has a slot for its next token; True if anything was preempted."""
        preempted = False
        while self.decoding and self.kv_used + self.decoding > self.kv_capacity and self._preempt_last():
            preempted = True
        return preempted

    def step(self) -> tuple[float, list[_Request]] | None:
        """Run one step; returns its duration and the requests it completed, or None when idle."""
        if self.profile.mixes_prefill_with_decode:
            preempted = self._make_room_for_decodes()
            decodes = self.decoding
            budget = self.budget - decodes
            chunks = self._schedule_prefill(budget, admit=not preempted) if budget > 0 else []
        else:  # prompt work first, decoding only when there is none that can run
            chunks = self._schedule_prefill(self.budget, admit=True) if self.prefilling or self.waiting else []
            decodes = 0
            if not chunks:
                self._make_room_for_decodes()
                decodes = self.decoding
        if not chunks and decodes == 0:
            return None

        window = float(self.window) or None
        window_context = self.window_context_sum if self.window else self.context_sum
        prefill_tokens = pairs = window_pairs = 0.0
        finishing = 0
        for req, offset, size in chunks:
            full, clipped = chunk_pairs(float(size), float(offset), window)
            prefill_tokens += size
            pairs += float(full)
            window_pairs += float(clipped)
            finishing += int(offset + size == req.prompt)
        load = StepLoad(
            prefill_tokens=prefill_tokens,
            prefill_pairs=pairs,
            prefill_window_pairs=window_pairs,
            prefill_seqs=float(len(chunks)),
            decode_seqs=float(decodes),
            decode_context=float(self.context_sum if decodes else 0),
            decode_window_context=float(window_context if decodes else 0),
            sampled_seqs=float(decodes + finishing),
        )
        duration = float(step_time(self.cost, load).total_s)
        self.now += duration
        finished: list[_Request] = []

        if decodes:
            self.tick += 1
            self.kv_used += self.decoding
            self.context_sum += self.decoding
            if self.window:
                self.window_context_sum += self.below_window
                crossing = self.window_crossings.pop(self.tick, 0)
                self.below_window -= crossing
            for req, version in self.completions.pop(self.tick, []):
                if version == req.version and req.decoding:
                    self._stop_decoding(req)
                    self._release(req)
                    finished.append(req)
        for req, offset, size in chunks:
            req.prefilled = offset + size
            if req.prefilled < req.prompt:
                continue
            self.prefilling.remove(req)
            req.generated += 1  # the step that finishes the prompt samples the next token
            if req.first_token < 0:
                req.first_token = self.now
            self.kv_used += 1
            if req.generated >= req.output:
                self._release(req)
                finished.append(req)
            else:
                self._start_decoding(req)
        return duration, finished


def simulate(
    cost: ReplicaCost,
    profile: EngineProfile,
    *,
    max_num_seqs: int,
    max_num_batched_tokens: int,
    kv_tokens: int,
    input_tokens: int,
    output_tokens: int,
    concurrency: int | None = None,
    request_rate: float | None = None,
    num_requests: int = 2000,
    warmup_requests: int = 200,
    seed: int = 0,
    stagger_s: float = 0.0,
    jitter_s: float = 0.0,
) -> SimulationResult:
    """Simulate one replica until `num_requests` complete; statistics skip the first `warmup_requests` completions.

    `cost` must hold one candidate's coefficients as floats (`ReplicaCost.at`). Closed-loop clients send their first
    request at a uniformly random time in [0, stagger_s] (0: all at once, as a benchmark starts) and each later one
    an exponentially distributed delay of mean `jitter_s` after the previous response. With fixed request lengths and
    no jitter, requests that finish together come back together for ever (the loop phase-locks); real clients'
    network and tokenisation jitter breaks such groups up, which a jitter of about one decode step reproduces.
    """
    if (concurrency is None) == (request_rate is None):
        raise ValueError("give exactly one of concurrency or request_rate")
    if kv_tokens < input_tokens + output_tokens:
        raise ValueError("the KV cache cannot hold a single request")
    rng = np.random.default_rng(seed)
    engine = _Engine(cost, profile, max_num_seqs, max_num_batched_tokens, kv_tokens, int(cost.window))
    arrivals: list[tuple[float, int, float]] = []  # heap of (reaches the engine, sequence number, sent by client)
    issued = 0

    def issue(at: float) -> None:
        """A client sends a request at `at`; it reaches the scheduler after the engine's front-end latency."""
        nonlocal issued
        heapq.heappush(arrivals, (at + profile.request_overhead_s, issued, at))
        issued += 1

    if concurrency is not None:
        starts = rng.uniform(0.0, stagger_s, concurrency) if stagger_s > 0 else np.zeros(concurrency)
        for start in np.sort(starts):
            issue(float(start))
    else:
        assert request_rate is not None
        gaps = rng.exponential(1.0 / request_rate, num_requests + warmup_requests)
        for at in np.cumsum(gaps):
            issue(float(at))

    ttft: list[float] = []
    tpot: list[float] = []
    e2e: list[float] = []
    completed = 0
    window_start = 0.0
    window_tokens = 0
    steps = 0
    running_area = 0.0
    while completed < num_requests:
        while arrivals and arrivals[0][0] <= engine.now:
            _, _, at = heapq.heappop(arrivals)
            engine.waiting.append(
                _Request(arrival=at, prompt=input_tokens, output=output_tokens, total_output=output_tokens)
            )
        result = engine.step()
        if result is None:  # idle until the next arrival
            if not arrivals:
                break
            engine.now = max(engine.now, arrivals[0][0])
            continue
        duration, finished = result
        steps += 1
        if completed >= warmup_requests:
            running_area += duration * (len(engine.running) + len(finished))
        for req in finished:
            completed += 1
            if completed == warmup_requests:
                window_start = engine.now
            elif completed > warmup_requests:
                ttft.append(req.first_token - req.arrival)
                e2e.append(engine.now - req.arrival)
                if req.total_output > 1:
                    tpot.append((engine.now - req.first_token) / (req.total_output - 1))
                window_tokens += req.total_output
            if concurrency is not None:
                issue(engine.now + CLIENT_DELAY_S + (rng.exponential(jitter_s) if jitter_s > 0 else 0.0))
    duration = max(engine.now - window_start, 1e-12)
    return SimulationResult(
        ttft_s=np.array(ttft),
        tpot_s=np.array(tpot),
        e2e_s=np.array(e2e),
        duration_s=duration,
        output_tokens=window_tokens,
        completed=max(completed - warmup_requests, 0),
        steps=steps,
        preemptions=engine.preemptions,
        mean_running=running_area / duration,
    )
