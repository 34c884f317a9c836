"""Serving metrics under continuous batching, for N candidate configs at once (the optimiser's hot path).

Per replica, the engine holds B requests (the closed-loop concurrency, or what Little's law gives for an open arrival
rate), capped by max_num_seqs and by how many requests the KV cache holds. Its steps are of two kinds:

- decode steps: every decoding sequence advances one token;
- prefill steps: a chunk of waiting prompt tokens (up to the token budget) is processed; engines that mix
  (vLLM, TensorRT-LLM) run the decodes in the same step, SGLang pauses them.

Requests arrive at rate X and each brings I prompt tokens, so prefill steps make up the fraction f of steps that
carries the X·I prompt tokens per second, chunk by chunk. The two step kinds' times come from `step.py`; the decode
batch, f and the request cycle (TTFT + (O-1)·TPOT) are solved together: by fixed-point iteration for a closed loop,
by secant steps on B_dec = X (O-1) TPOT(B_dec) for an open one. Queueing is modelled where it happens: the engine's
front end (`EngineProfile.request_overhead_s`), the step in flight, the prompts ahead in the prefill budget (M/D/1
for Poisson arrivals; for a closed loop only once the budget is its bottleneck, as its arrivals are paced by its own
completions), and a slot when B reaches its cap (closed loop: Little's law on the waiting clients; open loop: M/D/c
by Sakasegawa's approximation). Tail latencies come from those waiting-time distributions (an atom at zero and an
exponential tail) and from the step-to-step variation of TPOT, not from a fixed multiple of the median;
`scheduler_sim.py` simulates the same scheduler step by step and the tests hold this approximation to it.

Request lengths are the workload's means, taken as fixed (benchmarks such as aiconfigurator's use fixed ISL/OSL).
The model describes the steady state of randomly phased clients; a fixed-length closed loop started all at once can
keep its clients in step (waves of prompts queueing behind each other for the token budget): `synchronized_ttft_ms` is
the mean TTFT of one such wave, which `core.predictors` weighs in where a benchmark's clients move in step.
"""

from dataclasses import dataclass, fields, replace
from typing import Self

import numpy as np

from budsim.core.architecture import ModelArchitecture
from budsim.core.deployment import Cluster, ConfigBatch, ServingConfig, Workload
from budsim.core.errors import CoreError
from budsim.core.perf.engines import EngineProfile, engine_profile
from budsim.core.perf.step import (
    ReplicaCost,
    StepLoad,
    StepTime,
    decode_load,
    replica_cost,
    step_floor_s,
    step_time,
)
from budsim.core.types import BoolArray, Engine, FloatArray, IntArray

Real = FloatArray | float

Z_P99 = 2.3263  # standard normal 99th percentile
# Iterations of the solvers: with 30 instead, the median candidate of bench/perf.py's 10,000 moves by < 0.5%; the
# percent closest to saturation by up to ~25%.
SOLVER_ITERATIONS = 7
MAX_PREFILL_UTILISATION = 0.98  # open loops beyond it count as saturated; keeps the M/D/1 wait finite
MAX_PREFILL_STEP_SHARE = 0.95  # SGLang: decodes always get at least this share of steps back


@dataclass(frozen=True, slots=True)
class ServingMetrics:
    """Predicted serving behaviour per candidate (arrays of N), plus the analytical terms behind it.

    Latencies in ms, rates per second over all replicas. Configs that cannot serve the workload at all (`fits`
    False: a request does not fit the KV cache or max_model_len) and open-loop configs whose capacity is below the
    offered rate (`saturated`) get infinite latencies; their throughput is what they can deliver (0 if not fitting).
    """

    ttft_mean_ms: Real
    ttft_p50_ms: Real
    ttft_p99_ms: Real
    tpot_ms: Real
    e2e_mean_ms: Real
    e2e_p50_ms: Real
    e2e_p99_ms: Real
    output_tokens_per_s: Real
    total_tokens_per_s: Real
    requests_per_s: Real
    cost_per_hour: Real
    cost_per_million_tokens: Real  # per million output tokens
    # analytical terms (features for the residual model)
    prefill_compute_ms: Real  # one prompt prefilled alone in one step
    prefill_memory_ms: Real
    prefill_step_ms: Real
    prefill_comm_ms: Real  # communication in that step
    decode_compute_ms: Real  # one decode step at the steady running batch
    decode_memory_ms: Real
    decode_step_ms: Real
    comm_ms: Real  # communication in that decode step
    overhead_ms: Real
    mixed_step_ms: Real  # a step carrying a prefill chunk
    prefill_step_share: Real  # fraction of steps carrying prefill work
    running_batch: Real  # requests held by one replica (prefilling or decoding)
    decode_batch: Real
    batch_limit: Real  # max requests per replica: min(max_num_seqs, KV capacity / tokens held per request)
    kv_pressure: Real  # KV tokens the offered concurrency would hold / KV capacity (> 1: the cache limits the batch)
    queue_wait_ms: Real  # mean wait for a slot and for the prefill budget
    slot_wait_ms: Real  # the part of it spent waiting for a slot (max_num_seqs or the KV cache full)
    synchronized_ttft_ms: Real  # mean TTFT had every admitted client's prompt arrived at once (_synchronized_prefill_s)
    capacity_requests_per_s: Real  # open loop: throughput with the batch at its limit; closed loop: what it serves
    saturated: BoolArray | bool
    fits: BoolArray | bool

    def __len__(self) -> int:
        return int(np.size(self.ttft_mean_ms))

    def at(self, index: int) -> Self:
        """One candidate's metrics as Python scalars."""
        values = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        return replace(self, **{k: (v[index] if v.ndim else v).item() for k, v in values.items()})

    def rows(self, start: int, stop: int) -> Self:
        """Candidates start..stop-1 (a field that is one value for all candidates stays one value)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{k: v[start:stop] if np.ndim(v) else v for k, v in values.items()})


@dataclass(frozen=True, slots=True)
class ServiceScales:
    """Multipliers of a replica's service times, per candidate (arrays of N) or for all (floats).

    `decode` scales decode steps (and the decode share of a mixed step), `prefill` prompt work (the prompt share of a
    step), `frontend` the time a request spends outside the engine's steps (`EngineProfile.request_overhead_s`).
    Queueing, TTFT and throughput then follow from the scaled times, so a correction can make a replica faster or
    slower but never let it serve more than its corrected capacity; no step gets faster than the hardware allows
    (`step.ReplicaCost`'s floors).
    """

    decode: Real = 1.0
    prefill: Real = 1.0
    frontend: Real = 1.0


@dataclass(frozen=True, slots=True)
class _Inputs:
    cost: ReplicaCost
    profile: EngineProfile
    prompt: float
    decode_tokens: float  # output tokens after the first (produced by decode steps)
    budget: FloatArray  # max_num_batched_tokens
    window_pairs_per_token: float  # mean attention context per prompt token in sliding-window layers
    closed: bool


@dataclass(frozen=True, slots=True)
class _State:
    batch: FloatArray
    decode_batch: FloatArray
    cycle_s: FloatArray  # request residence: TTFT + (O-1) TPOT, without slot waiting
    decode_step: StepTime
    mixed_step: StepTime
    share: FloatArray  # f: fraction of steps with prefill
    step_s: FloatArray  # mean step
    tpot_s: FloatArray
    residual_s: FloatArray  # wait for the step in flight
    prefill_wait_s: FloatArray
    prefill_wait_prob: FloatArray
    prefill_service_s: FloatArray
    prefill_work_s: FloatArray  # time of the prefill budget one prompt occupies: 1 / prefill-limited throughput
    full_prefill_step_s: FloatArray  # a step whose whole token budget is prompt chunks
    tpot_var_per_token: FloatArray

    @property
    def throughput(self) -> FloatArray:
        return self.batch / self.cycle_s


def _window_pairs_per_token(prompt: float, window: float) -> float:
    """Mean over a prompt's tokens of min(position, window): the context a sliding-window layer attends to."""
    if not window or prompt <= window:
        return (prompt + 1.0) / 2.0
    return (window * (window + 1.0) / 2.0 + (prompt - window) * window) / prompt


def _evaluate(
    inp: _Inputs, decode_batch: FloatArray, arrivals: FloatArray | None, batch: FloatArray | None, state: _State | None
) -> _State:
    """One update of a replica's steady state: step times, prefill share, waits and the request cycle.

    Closed loop: `batch` requests are held and the arrival rate is batch / cycle of the previous estimate. Open loop:
    `arrivals` is the offered rate and the batch follows from Little's law.
    """
    cost, profile, prompt, decode_tokens = inp.cost, inp.profile, inp.prompt, inp.decode_tokens
    mixing = profile.mixes_prefill_with_decode
    context = prompt + (decode_tokens + 1.0) / 2.0  # a decoding sequence is halfway through its output on average
    decode = step_time(cost, decode_load(decode_batch, context, cost.window or None))

    budget = np.maximum(inp.budget - decode_batch, 0.1 * inp.budget) if mixing else inp.budget
    chunks = np.ceil(prompt / budget)  # steps one prompt needs when alone
    chunk = prompt / chunks
    step_prev = decode.total_s if state is None else state.step_s
    busy_prev = 0.0 if state is None else state.prefill_wait_prob
    mixed_prev = decode.total_s if state is None else state.mixed_step.total_s
    if arrivals is None:
        assert batch is not None
        cycle_prev = (chunks + decode_tokens) * decode.total_s if state is None else state.cycle_s
        arrivals = batch / cycle_prev
    demand = arrivals * prompt * step_prev  # prompt tokens arriving per step
    # A prefill step carries this prompt's chunk plus the prompts that arrived while the previous one ran; a prompt
    # spanning several steps also shares them with its neighbours' chunks whenever the prefill budget is busy.
    company = arrivals * prompt * mixed_prev + np.where(chunks > 1.0, busy_prev * (budget - chunk), 0.0)
    carried = np.minimum(budget, np.maximum(chunk + company, demand))
    share = np.minimum(demand / carried, 1.0 if mixing else MAX_PREFILL_STEP_SHARE)
    pieces = carried / chunk
    prefill = StepLoad(
        prefill_tokens=carried,
        prefill_pairs=carried * (prompt + 1.0) / 2.0,
        prefill_window_pairs=carried * inp.window_pairs_per_token,
        prefill_seqs=pieces,
        sampled_seqs=pieces / chunks,
    )
    mixed = step_time(cost, prefill + decode_load(decode_batch, context, cost.window or None) if mixing else prefill)

    step = share * mixed.total_s + (1.0 - share) * decode.total_s
    if mixing:
        tpot = step
        tpot_var = share * (1.0 - share) * (mixed.total_s - decode.total_s) ** 2
    else:  # every prefill step between two decode steps delays all decoding sequences
        odds = share / (1.0 - share)
        tpot = decode.total_s + odds * mixed.total_s
        tpot_var = odds / (1.0 - share) * mixed.total_s**2
    # A closed-loop client resubmits when its previous request ends, just after the next step has started; Poisson
    # arrivals see the step in flight length-biased, with half of it left on average.
    biased = (share * mixed.total_s**2 + (1.0 - share) * decode.total_s**2) / (2.0 * step)
    residual = step if inp.closed else biased
    # The prefill budget is a server: a prompt holds prompt/budget of a full prefill step (M/D/1, FCFS).
    # A step whose whole budget is prompt chunks: the decodes plus the prompt work scaled up where they mix, the prompt
    # step scaled up where prompts run alone (SGLang: its prompt step can be shorter than a long decode step); never
    # shorter than the hardware allows such a step (a linear extrapolation of two floored steps can be).
    if mixing:
        full_step = decode.total_s + (mixed.total_s - decode.total_s) * budget / carried
        full_step = np.maximum(full_step, step_floor_s(cost, budget + decode_batch + budget / prompt))
    else:
        full_step = np.maximum(mixed.total_s * budget / carried, step_floor_s(cost, budget + budget / prompt))
    own_work = prompt / budget * full_step
    # Queueing behind earlier prompts. Poisson arrivals: the M/D/1 wait less the residual of the prompt in service
    # (the step residual above already counts it). A closed loop's arrivals are paced by its own completions, which
    # slow down as prefill steps crowd in, so prompts do not pile up until the budget is the bottleneck; from then on
    # the clients queue until the cycle is B x own_work long (Little's law at throughput 1/own_work).
    utilisation = np.minimum(arrivals * own_work, MAX_PREFILL_UTILISATION)
    service = chunks * mixed.total_s
    unqueued = residual + service + decode_tokens * tpot
    if batch is not None and inp.closed:
        prefill_wait = np.maximum(batch * own_work - unqueued, 0.0)
        cycle = unqueued + prefill_wait
    else:
        prefill_wait = utilisation**2 / (2.0 * (1.0 - utilisation)) * own_work
        cycle = unqueued + prefill_wait
        batch = arrivals * cycle
    return _State(
        batch=batch,
        decode_batch=decode_batch,
        cycle_s=cycle,
        decode_step=decode,
        mixed_step=mixed,
        share=share,
        step_s=step,
        tpot_s=tpot,
        residual_s=residual,
        prefill_wait_s=prefill_wait,
        prefill_wait_prob=utilisation,
        prefill_service_s=service,
        prefill_work_s=own_work,
        full_prefill_step_s=full_step,
        tpot_var_per_token=tpot_var,
    )


def _solve_closed(inp: _Inputs, batch: FloatArray) -> _State:
    """Steady state with `batch` requests in the engine: the decoding share of them follows the cycle's split."""
    state = None
    decode_batch = batch * inp.decode_tokens / (inp.decode_tokens + 1.0)
    for _ in range(SOLVER_ITERATIONS):
        state = _evaluate(inp, decode_batch, None, batch, state)
        decode_batch = batch * inp.decode_tokens * state.tpot_s / state.cycle_s
    assert state is not None
    return state


def _solve_open(inp: _Inputs, rate: FloatArray, limit: FloatArray) -> _State:
    """Steady state at arrival rate `rate`: solve B_dec = rate (O-1) TPOT(B_dec) (Little's law on the decode phase)
    by secant steps; the caller has checked that the rate is below capacity."""
    share = inp.decode_tokens / (inp.decode_tokens + 1.0)
    decode_batch = np.zeros_like(rate)
    state = _evaluate(inp, decode_batch, rate, None, None)
    previous: tuple[FloatArray, FloatArray] | None = None
    for _ in range(SOLVER_ITERATIONS + 2):
        target = rate * inp.decode_tokens * state.tpot_s
        gap = target - decode_batch
        proposal = target
        if previous is not None:  # secant on gap(B) = rate (O-1) TPOT(B) - B, whose slope is below 1
            moved = decode_batch - previous[0]
            slope = (gap - previous[1]) / np.where(np.abs(moved) > 1e-9, moved, 1.0)
            secant = decode_batch - gap / np.where(slope < -1e-6, slope, -1.0)
            proposal = np.where((slope < -1e-6) & (np.abs(moved) > 1e-9), secant, target)
        previous = (decode_batch, gap)
        decode_batch = np.clip(proposal, 0.0, limit * share)
        state = _evaluate(inp, decode_batch, rate, None, state)
    return state


def _synchronized_prefill_s(inp: _Inputs, prompts: FloatArray) -> FloatArray:
    """Mean wait for the first token, front end left out, of `prompts` prompts that reach the scheduler at once.

    They go through the token budget in arrival order. While they fit one step together, that step serves them all.
    Beyond it every step carries a full budget of prompt chunks (no decodes yet: nobody has a first token) and the k-th
    prompt finishes in step ceil(k x prompt / budget), which averages (waves + max(prompt / budget, 1)) / 2 steps over
    the prompts, waves = prompts x prompt / budget. The step is priced like any prefill step, so the wave is right for
    engines that pause decodes (SGLang) as well as for those that mix them in (the first steps have nothing to mix).
    """
    prompt, budget = inp.prompt, inp.budget
    prompts = np.maximum(prompts, 1.0)
    tokens = np.minimum(prompts * prompt, budget)  # prompt tokens in each of the wave's steps
    chunk = np.minimum(prompt, budget)
    step = step_time(
        inp.cost,
        StepLoad(
            prefill_tokens=tokens,
            prefill_pairs=tokens * (prompt + 1.0) / 2.0,
            prefill_window_pairs=tokens * inp.window_pairs_per_token,
            prefill_seqs=tokens / chunk,
            sampled_seqs=tokens / prompt,
        ),
    )
    waves = prompts * prompt / budget
    steps = np.where(waves <= 1.0, 1.0, (waves + np.maximum(prompt / budget, 1.0)) / 2.0)
    return step.total_s * steps


def _tail(mean: FloatArray, prob: FloatArray, quantile: float) -> FloatArray:
    """Quantile of a wait that is 0 with probability 1 - prob and otherwise exponential with mean mean/prob."""
    prob = np.clip(prob, 1e-9, 1.0)
    return np.where(quantile > 1.0 - prob, mean / prob * np.log(prob / (1.0 - quantile)), 0.0)


def _slot_wait_open(rate: FloatArray, cycle: FloatArray, limit: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean wait for one of `limit` slots (M/D/c, Sakasegawa 1977) and the probability of waiting at all."""
    servers = np.maximum(limit, 1.0)
    load = np.clip(rate * cycle / servers, 0.0, 0.999)
    prob = load ** (np.sqrt(2.0 * (servers + 1.0)) - 1.0)
    wait = prob / (servers * (1.0 - load)) * cycle * 0.5  # (ca^2 + cs^2) / 2 with Poisson arrivals, fixed lengths
    return wait, np.minimum(prob, 1.0)


@dataclass(frozen=True, slots=True)
class _Loop:
    """A replica's steady state under one kind of arrivals, and the waits those arrivals meet: everything in which a
    closed loop and an open one differ, so that `predict` derives the rest once for both."""

    state: _State
    rate: FloatArray  # requests served per second per replica
    capacity_rate: FloatArray  # per replica; open loop: with the batch at its limit, closed loop: what it serves
    saturated: BoolArray
    offered: FloatArray  # requests the load keeps in a replica, waiting or in service
    slot_wait_s: FloatArray
    queue_wait_s: FloatArray  # mean wait for a slot and for the prefill budget
    ttft_mean_s: FloatArray  # the front end included
    ttft_p50_s: FloatArray
    ttft_p99_s: FloatArray
    in_flight: FloatArray  # prompts that may reach the scheduler at once
    batch_sd: FloatArray | float  # spread of the decode batch a request meets over its residence


def _first_token(
    fixed: FloatArray,
    residual_mean: FloatArray,
    residual_p50: FloatArray,
    residual_p99: FloatArray,
    random_mean: FloatArray,
    random_prob: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """TTFT's mean, median and 99th percentile: a fixed part, the wait for the step in flight, and a random wait
    (`_tail`'s atom at zero and exponential tail)."""
    return (
        fixed + residual_mean + random_mean,
        fixed + residual_p50 + _tail(random_mean, random_prob, 0.50),
        fixed + residual_p99 + _tail(random_mean, random_prob, 0.99),
    )


def _closed_loop(inp: _Inputs, clients: FloatArray, limit: FloatArray, frontend: Real, hardware_rate: Real) -> _Loop:
    """`clients` per replica, each resubmitting as soon as its answer comes: the loop serves what they send."""
    running = np.maximum(np.minimum(clients, limit), 1e-6)
    state = _solve_closed(inp, running)
    # A client's cycle includes the serving front end; clients queueing for a slot keep the batch full meanwhile.
    rate = np.minimum(state.batch / state.cycle_s, clients / (state.cycle_s + frontend))
    rate = np.minimum(rate, hardware_rate)
    # Little's law over a client's whole cycle (front end, waiting, in service): what the cycle in service and the
    # front end leave of clients / rate is the wait for a slot.
    slot_wait = np.maximum(clients / rate - frontend - state.cycle_s, 0.0)
    slot_prob = np.zeros_like(slot_wait)
    queue_mean = slot_wait + state.prefill_wait_s
    # A closed loop's arrivals are as regular as its request cycle (each client resubmits once per cycle), and a
    # waiting client sees the same queue ahead of it every time: its waits are taken as deterministic.
    random_mean = np.zeros_like(queue_mean)
    random_prob = 1.0 - (1.0 - state.prefill_wait_prob) * (1.0 - slot_prob)
    # The step in flight when a client resubmits carries prefill with its share of the time.
    busy = state.share * state.mixed_step.total_s / state.step_s
    residual_p50 = np.where(busy > 0.5, state.mixed_step.total_s, state.decode_step.total_s)
    residual_p99 = np.where(busy > 0.01, state.mixed_step.total_s, state.decode_step.total_s)
    fixed = state.prefill_service_s + queue_mean + frontend
    ttft = _first_token(fixed, state.residual_s, residual_p50, residual_p99, random_mean, random_prob)
    return _Loop(
        state=state,
        rate=rate,
        capacity_rate=rate,  # a closed loop serves what its clients send; nothing is refused for capacity
        saturated=np.zeros(clients.shape, dtype=bool),
        offered=clients,
        slot_wait_s=slot_wait,
        queue_wait_s=queue_mean,
        ttft_mean_s=ttft[0],
        ttft_p50_s=ttft[1],
        ttft_p99_s=ttft[2],
        in_flight=np.minimum(clients, limit),
        batch_sd=0.0,
    )


def _open_loop(inp: _Inputs, rate: FloatArray, limit: FloatArray, frontend: Real, hardware_rate: Real) -> _Loop:
    """Poisson arrivals at `rate` per replica: served up to the capacity with the batch at its limit, and beyond it
    saturated (queues that grow without bound)."""
    at_limit = _solve_closed(replace(inp, closed=True), limit)
    capacity_rate = np.minimum(at_limit.throughput, MAX_PREFILL_UTILISATION / at_limit.prefill_work_s)
    capacity_rate = np.minimum(capacity_rate, hardware_rate)
    saturated = rate >= capacity_rate * 0.999
    state = _solve_open(inp, np.minimum(rate, capacity_rate * 0.999), limit)
    slot_wait, slot_prob = _slot_wait_open(rate, state.cycle_s, limit)
    served = np.minimum(rate, capacity_rate)
    queue_mean = slot_wait + state.prefill_wait_s
    # Poisson arrivals give the waits an exponential tail.
    random_prob = 1.0 - (1.0 - state.prefill_wait_prob) * (1.0 - slot_prob)
    longest = np.maximum(state.mixed_step.total_s, state.decode_step.total_s)
    fixed = state.prefill_service_s + frontend
    ttft = _first_token(fixed, state.residual_s, state.residual_s, 0.99 * longest, queue_mean, random_prob)
    return _Loop(
        state=state,
        rate=served,
        capacity_rate=capacity_rate,
        saturated=saturated,
        offered=served * state.cycle_s,
        slot_wait_s=slot_wait,
        queue_wait_s=queue_mean,
        ttft_mean_s=ttft[0],
        ttft_p50_s=ttft[1],
        ttft_p99_s=ttft[2],
        in_flight=np.minimum(state.batch, limit),
        batch_sd=np.sqrt(2.0 * state.batch / 3.0),
    )


def predict(
    arch: ModelArchitecture,
    cluster: Cluster,
    batch: ConfigBatch,
    workload: Workload,
    engine: Engine,
    kv_tokens: IntArray,
    scales: ServiceScales | None = None,
) -> ServingMetrics:
    """Serving metrics of every candidate in `batch` for `workload`; `kv_tokens` is each replica's KV capacity.

    `scales` (the REGRESSOR method's learned corrections) multiply the service times before anything is derived.
    """
    if (workload.concurrency is None) == (workload.request_rate is None):
        raise CoreError("workload", "give exactly one of concurrency (closed loop) or request_rate (open loop)")
    if workload.input_tokens < 1 or workload.output_tokens < 1:
        raise CoreError("workload", "input_tokens and output_tokens must be at least 1")
    profile = engine_profile(engine)
    cost = replica_cost(arch, cluster, batch, profile)
    frontend: Real = profile.request_overhead_s
    if scales is not None:
        cost = cost.with_scales(scales.decode, scales.prefill)
        frontend = frontend * np.asarray(scales.frontend, dtype=np.float64)
    prompt = float(workload.input_tokens)
    output = float(workload.output_tokens)
    replicas = batch.replicas.astype(np.float64)
    capacity = np.asarray(kv_tokens, dtype=np.float64)

    held = prompt + profile.kv_reserved_output_fraction * output  # KV tokens a running request holds on average
    fits = (capacity >= prompt + output) & (batch.max_model_len >= prompt + output)
    limit = np.where(fits, np.maximum(np.minimum(batch.max_num_seqs, np.floor(capacity / held)), 1.0), 1.0)
    closed = workload.concurrency is not None
    # Requests per second no replica can exceed, its steps' floors summed over a request's tokens (`bounds`). The
    # fixed point meets it within a fraction of a percent where a correction drove the steps to their floors; this
    # makes it exact.
    hardware_rate = 1.0 / ((prompt + output) * cost.min_s_per_token)
    inp = _Inputs(
        cost=cost,
        profile=profile,
        prompt=prompt,
        decode_tokens=output - 1.0,
        budget=batch.max_num_batched_tokens.astype(np.float64),
        window_pairs_per_token=_window_pairs_per_token(prompt, cost.window),
        closed=closed,
    )

    if workload.concurrency is not None:
        loop = _closed_loop(inp, float(workload.concurrency) / replicas, limit, frontend, hardware_rate)
    else:
        assert workload.request_rate is not None  # exactly one of the two, checked above
        loop = _open_loop(inp, float(workload.request_rate) / replicas, limit, frontend, hardware_rate)
    state = loop.state
    decode_tokens = output - 1.0
    # Every admitted client's prompt at once (a benchmark's start; fixed-length closed loops keep such waves in step).
    synchronized = frontend + _synchronized_prefill_s(inp, loop.in_flight)

    # Per-request mean TPOT varies with the steps it happens to share with prefills and, in an open loop, with the
    # batch it meets (number in an M/G/inf system, averaged over a residence: variance 2B/3).
    probe = step_time(cost, decode_load(state.decode_batch + 1.0, prompt + output / 2.0, cost.window or None))
    per_seq = probe.total_s - state.decode_step.total_s
    decode_sd = np.sqrt(decode_tokens * state.tpot_var_per_token + (decode_tokens * per_seq * loop.batch_sd) ** 2)
    e2e_mean = loop.ttft_mean_s + decode_tokens * state.tpot_s
    e2e_p50 = e2e_mean + (loop.ttft_p50_s - loop.ttft_mean_s)
    excess = loop.ttft_p99_s - loop.ttft_mean_s
    e2e_p99 = e2e_mean + np.sqrt(excess**2 + (Z_P99 * decode_sd) ** 2)

    alone = step_time(
        cost,
        StepLoad(
            prefill_tokens=prompt,
            prefill_pairs=prompt * (prompt + 1.0) / 2.0,
            prefill_window_pairs=prompt * inp.window_pairs_per_token,
            prefill_seqs=1.0,
            sampled_seqs=1.0,
        ),
    )
    gpus = batch.tensor_parallel * batch.pipeline_parallel * replicas
    cost_per_hour = gpus * cluster.cost_per_gpu_hour
    served = np.where(fits, loop.rate * replicas, 0.0)
    output_rate = served * output
    unusable = ~fits | loop.saturated

    def latency(seconds: FloatArray) -> FloatArray:
        return np.where(unusable, np.inf, seconds * 1e3)

    return ServingMetrics(
        ttft_mean_ms=latency(loop.ttft_mean_s),
        ttft_p50_ms=latency(loop.ttft_p50_s),
        ttft_p99_ms=latency(loop.ttft_p99_s),
        tpot_ms=latency(state.tpot_s),
        e2e_mean_ms=latency(e2e_mean),
        e2e_p50_ms=latency(e2e_p50),
        e2e_p99_ms=latency(e2e_p99),
        output_tokens_per_s=output_rate,
        total_tokens_per_s=served * (prompt + output),
        requests_per_s=served,
        cost_per_hour=cost_per_hour.astype(np.float64),
        cost_per_million_tokens=np.where(
            output_rate > 0, cost_per_hour / np.maximum(output_rate, 1e-12) / 3600 * 1e6, np.inf
        ),
        prefill_compute_ms=alone.compute_s * 1e3,
        prefill_memory_ms=alone.memory_s * 1e3,
        prefill_step_ms=alone.total_s * 1e3,
        prefill_comm_ms=alone.comm_s * 1e3,
        decode_compute_ms=state.decode_step.compute_s * 1e3,
        decode_memory_ms=state.decode_step.memory_s * 1e3,
        decode_step_ms=state.decode_step.total_s * 1e3,
        comm_ms=state.decode_step.comm_s * 1e3,
        overhead_ms=state.decode_step.overhead_s * 1e3,
        mixed_step_ms=state.mixed_step.total_s * 1e3,
        prefill_step_share=state.share,
        running_batch=np.minimum(state.batch, limit),  # in service; an open loop's prompt queue holds no KV yet
        decode_batch=state.decode_batch,
        batch_limit=limit,
        kv_pressure=np.minimum(loop.offered, batch.max_num_seqs) * held / np.maximum(capacity, 1.0),
        queue_wait_ms=loop.queue_wait_s * 1e3,
        slot_wait_ms=loop.slot_wait_s * 1e3,
        synchronized_ttft_ms=synchronized * 1e3,
        capacity_requests_per_s=np.where(fits, loop.capacity_rate * replicas, 0.0),
        saturated=loop.saturated & fits,
        fits=fits,
    )


def predict_one(
    arch: ModelArchitecture,
    cluster: Cluster,
    config: ServingConfig,
    workload: Workload,
    engine: Engine,
    kv_tokens: int,
) -> ServingMetrics:
    """`predict` for a single config; the result holds Python scalars."""
    metrics = predict(arch, cluster, ConfigBatch.single(config), workload, engine, np.array([kv_tokens]))
    return metrics.at(0)
