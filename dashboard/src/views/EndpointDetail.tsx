// #/endpoints/<id>: the endpoint's plan, its latest optimization live (progress, Pareto front, Cancel), the
// recommendations once it ends, and Deploy with the generated artifacts.
import { useEffect, useState } from "preact/hooks";
import { failureText, request, subscribe } from "../api";
import {
  Badge,
  ConfidenceBadge,
  ConfidenceReasons,
  ErrorBox,
  Facts,
  Heading,
  Loading,
  Prose,
  StaleNotice,
  StatusBadge,
} from "../components/bits";
import { CopyBlock } from "../components/CopyBlock";
import { ParetoChart } from "../components/ParetoChart";
import {
  CONFIDENCE_BANDS,
  TARGET_NAMES,
  count,
  ms,
  num,
  params,
  seconds,
  targetValue,
  tps,
  usdPerHour,
  usdPerMillion,
  when,
} from "../format";
import { useQuery, useTitle } from "../hooks";
import { ops } from "../operations";
import { href } from "../router";
import {
  type Deployment,
  ENDED,
  type Endpoint,
  type EndpointJob,
  type OptimizationResult,
  type PredictedMetrics,
  type Progress,
  type RecommendedConfig,
} from "../types";

/** One row of the recommendations table: the recommended config (deployed as paretoIndex null) or a Pareto
member (deployed by its index). */
interface Row {
  key: string;
  label: string;
  paretoIndex: number | null;
  config: RecommendedConfig;
  metrics: PredictedMetrics;
}

function sameConfig(a: RecommendedConfig, b: RecommendedConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The pick first, then the rest of the Pareto front in its order. The pick is usually a member of the front: it is
shown once, in its place as "Recommended"; a closest miss (nothing meets the targets) is not, and leads alone. */
export function rowsOf(result: OptimizationResult): Row[] {
  const best = result.optimalConfig;
  const rows: Row[] = [];
  if (best && result.predictedMetrics) {
    rows.push({
      key: "best",
      label: result.meetsTargets ? "Recommended" : "Closest (misses targets)",
      paretoIndex: null,
      config: best,
      metrics: result.predictedMetrics,
    });
  }
  result.paretoFront.forEach((point, index) => {
    if (best && sameConfig(best, point.config)) return;
    rows.push({
      key: `pareto-${index}`,
      label: `Pareto #${index + 1}`,
      paretoIndex: index,
      config: point.config,
      metrics: point.metrics,
    });
  });
  return rows;
}

/** The figures behind the server's reason for the pick: what was scored, and what the pick saves per token. */
function whyFigures(result: OptimizationResult, method: string): string {
  const searched =
    method === "HEURISTIC"
      ? `Scored: the memory plan of each hardware profile and precision (${count(result.evaluations, "config")}).`
      : `Scored: ${count(result.evaluations, "configuration")} over ${count(result.generations, "generation")} of NSGA-II.`;
  const perToken = result.predictedMetrics?.costPerMillionTokens;
  if (!result.meetsTargets || perToken == null || perToken <= 0) return searched;
  const others = result.paretoFront
    .map((p) => p.metrics.costPerMillionTokens)
    .filter((v): v is number => v != null && v > perToken * (1 + 1e-9))
    .sort((a, b) => a - b);
  const next = others[0];
  const pick = `This one: ${usdPerMillion(perToken)}`;
  return next == null
    ? `${pick}, the only Pareto-optimal config. ${searched}`
    : `${pick}; the next Pareto config ${usdPerMillion(next)} (${num(((next - perToken) / perToken) * 100, 0)}% more). ${searched}`;
}

function ConfigText({ config, profiles }: { config: RecommendedConfig; profiles: Endpoint["hardwareProfiles"] }) {
  const profile = profiles.find((p) => p.id === config.hardwareProfileId);
  return (
    <span class="config">
      <strong>
        TP {config.tensorParallelSize} × PP {config.pipelineParallelSize} × {config.replicas} replica
        {config.replicas === 1 ? "" : "s"}
      </strong>
      <br />
      <span class="muted">
        {config.totalGpus} × {config.gpuType}
        {profile ? ` (${profile.name})` : ""} · {config.weightDtype}/{config.kvCacheDtype} KV · {config.maxNumSeqs} seqs
        · {num(config.maxModelLen)} ctx · {num(config.gpuMemoryUtilization * 100)}% mem
      </span>
    </span>
  );
}

// ---- while a job runs

/** The best of each objective over the front: the live values while a search runs, the final front's after. */
function bests(progress: Progress | null, result: OptimizationResult | null) {
  const front = result?.paretoFront.map((p) => p.metrics) ?? [];
  const best = (values: (number | null)[], pick: (...v: number[]) => number): number | null => {
    const known = values.filter((v): v is number => v != null);
    return known.length ? pick(...known) : null;
  };
  return {
    generation: progress?.generation ?? result?.generations ?? null,
    evaluations: progress?.evaluations ?? result?.evaluations ?? null,
    elapsedMs: progress?.elapsedMs ?? result?.elapsedMs ?? null,
    throughput:
      progress?.bestOutputTokensPerS ??
      best(
        front.map((m) => m.outputTokensPerS),
        Math.max,
      ),
    latency:
      progress?.bestE2eLatencyP99Ms ??
      best(
        front.map((m) => m.e2eLatencyP99Ms),
        Math.min,
      ),
    cost:
      progress?.bestCostPerHour ??
      best(
        front.map((m) => m.costPerHour),
        Math.min,
      ),
    frontSize: progress?.paretoFrontSize ?? (result ? result.paretoFront.length : null),
  };
}

function ProgressPanel(props: {
  job: EndpointJob;
  progress: Progress | null;
  events: number;
  onCancel: () => void;
  cancelling: boolean;
}) {
  const { job, progress } = props;
  const running = !ENDED.has(progress?.status ?? job.status);
  const shown = bests(progress, job.result);
  return (
    <section class="panel" aria-labelledby="progress-title">
      <div class="title-row">
        <h2 id="progress-title">Optimization</h2>
        <StatusBadge status={progress?.status ?? job.status} />
        {running ? (
          <button type="button" class="danger" onClick={props.onCancel} disabled={props.cancelling}>
            {props.cancelling ? "Cancelling…" : "Cancel"}
          </button>
        ) : null}
      </div>
      <div role="status" aria-live="polite" aria-atomic="false">
        <Facts
          items={[
            ["Generation", num(shown.generation)],
            ["Evaluations", num(shown.evaluations)],
            ["Elapsed", seconds(shown.elapsedMs)],
            ["Best throughput", tps(shown.throughput)],
            ["Best p99 latency", ms(shown.latency)],
            ["Best cost", usdPerHour(shown.cost)],
            ["Pareto front", shown.frontSize == null ? "—" : count(shown.frontSize, "config")],
            ["Progress events", <span data-testid="progress-events">{num(props.events)}</span>],
          ]}
        />
      </div>
      {progress?.error ? <ErrorBox>{progress.error}</ErrorBox> : null}
    </section>
  );
}

// ---- once it ended

function ResultPanel(props: {
  endpoint: Endpoint;
  job: EndpointJob;
  result: OptimizationResult;
  deployment: Deployment | null;
  deploying: number | null | undefined;
  onDeploy: (paretoIndex: number | null) => void;
}) {
  const { endpoint, job, result } = props;
  const rows = rowsOf(result);
  // A nearest miss carries its own confidence; 0 means there was no config to rate at all.
  const rated = result.meetsTargets || result.confidence > 0;
  const band = CONFIDENCE_BANDS[result.confidenceLevel];
  const deployedHere = props.deployment?.jobId === job.id ? props.deployment : null;
  return (
    <section class="panel" aria-labelledby="result-title">
      <div class="title-row">
        <h2 id="result-title">Recommendations</h2>
        {result.meetsTargets ? (
          <Badge tone="good">meets every target</Badge>
        ) : (
          <Badge tone="bad">targets not met</Badge>
        )}
        {rated ? <ConfidenceBadge confidence={result.confidence} level={result.confidenceLevel} /> : null}
      </div>
      <p class="why" data-testid="why">
        <strong>Why this pick: </strong>
        {result.pickReason} {whyFigures(result, endpoint.method)}
      </p>
      {rated ? (
        <p class="muted">
          Confidence {num(result.confidence, 2)}: {band.advice}
        </p>
      ) : null}
      {rated ? <ConfidenceReasons reasons={result.confidenceReasons} /> : null}
      {result.bindingTargets.length ? (
        <div class="notice notice-warn" role="note">
          <h3>Binding targets</h3>
          <table class="compact">
            <thead>
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Required</th>
                <th scope="col">Closest achieves (as judged)</th>
              </tr>
            </thead>
            <tbody>
              {result.bindingTargets.map((b) => (
                <tr key={b.target}>
                  <th scope="row">{TARGET_NAMES[b.target] ?? b.target}</th>
                  <td>{targetValue(b.target, b.required)}</td>
                  <td>{targetValue(b.target, b.achieved)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            Relax these targets, allow more GPUs or replicas, or a smaller model or precision. A target is judged on the
            pessimistic end of a prediction's interval where confidence is low, so what the closest achieves can differ
            from its predicted value in the table.
          </p>
        </div>
      ) : null}
      {result.warnings.length ? (
        <ul class="warnings" aria-label="Warnings">
          {result.warnings.map((w) => (
            <li key={w}>
              <Prose text={w} />
            </li>
          ))}
        </ul>
      ) : null}
      <div class="table-wrap" tabIndex={0} aria-label="Recommendations table">
        <table class="recommendations cards">
          <caption class="visually-hidden">Recommended configuration and the Pareto-optimal alternatives</caption>
          <thead>
            <tr>
              <th scope="col">Config</th>
              <th scope="col">Throughput</th>
              <th scope="col">p99 latency</th>
              <th scope="col">p99 TTFT</th>
              <th scope="col">Cost</th>
              <th scope="col">Per 1M tokens</th>
              <th scope="col">Confidence</th>
              <th scope="col">
                <span class="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const deployed =
                deployedHere !== null &&
                (deployedHere.paretoIndex === row.paretoIndex ||
                  (row.paretoIndex === null &&
                    deployedHere.paretoIndex !== null &&
                    result.optimalConfig !== null &&
                    result.paretoFront[deployedHere.paretoIndex] !== undefined &&
                    sameConfig(result.optimalConfig, result.paretoFront[deployedHere.paretoIndex]!.config)));
              return (
                <tr key={row.key} class={row.paretoIndex === null ? "pick" : ""}>
                  <th scope="row" class="config-cell">
                    <span class="row-label">
                      {row.label}
                      {deployed ? (
                        <>
                          {" "}
                          <Badge tone="good">deployed</Badge>
                        </>
                      ) : null}
                    </span>
                    <ConfigText config={row.config} profiles={endpoint.hardwareProfiles} />
                  </th>
                  <td data-label="Throughput">{tps(row.metrics.outputTokensPerS)}</td>
                  <td data-label="p99 latency">{ms(row.metrics.e2eLatencyP99Ms)}</td>
                  <td data-label="p99 TTFT">{ms(row.metrics.ttftP99Ms)}</td>
                  <td data-label="Cost">{usdPerHour(row.metrics.costPerHour)}</td>
                  <td data-label="Per 1M tokens">
                    {row.metrics.costPerMillionTokens == null ? "—" : `$${num(row.metrics.costPerMillionTokens, 2)}`}
                  </td>
                  <td data-label="Confidence">
                    {rated ? (
                      <ConfidenceBadge confidence={result.confidence} level={result.confidenceLevel} compact />
                    ) : (
                      "—"
                    )}
                  </td>
                  <td data-label="">
                    <button
                      type="button"
                      class={row.paretoIndex === null ? "" : "secondary"}
                      disabled={props.deploying !== undefined}
                      aria-label={`Deploy ${row.label}`}
                      onClick={() => props.onDeploy(row.paretoIndex)}
                    >
                      {props.deploying === row.paretoIndex ? "Deploying…" : "Deploy"}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p class="muted small">
        {count(result.evaluations, "evaluation")} ·{" "}
        {endpoint.method === "HEURISTIC" ? "memory plan" : count(result.generations, "generation")} ·{" "}
        {seconds(result.elapsedMs)} · finished {when(job.finishedAt)} ·{" "}
        <a href={href.simulation(result.simulation.id)}>stored simulation</a>. Confidence is the job's: the predictor's
        confidence for this model and hardware.
      </p>
    </section>
  );
}

function DeploymentPanel({ deployment }: { deployment: Deployment }) {
  return (
    <section class="panel" aria-labelledby="deploy-title" id="deployment">
      <div class="title-row">
        <h2 id="deploy-title" tabIndex={-1}>
          Deploy
        </h2>
        <span class="muted">
          {deployment.paretoIndex === null ? "Recommended config" : `Pareto #${deployment.paretoIndex + 1}`} · job{" "}
          <code>{deployment.jobId.slice(0, 8)}</code> · {when(deployment.createdAt)}
        </span>
      </div>
      <p class="muted">Generated text only: BudSim applies nothing. Review it before you run it.</p>
      {deployment.notes.length ? (
        <ul class="warnings" aria-label="Before you deploy">
          {deployment.notes.map((note) => (
            <li key={note}>
              <Prose text={note} />
            </li>
          ))}
        </ul>
      ) : null}
      <CopyBlock id="launch-command" title="Launch command (one replica)" text={deployment.launchCommand} wrap />
      <CopyBlock id="docker-run" title="docker run" text={deployment.dockerRun} wrap />
      <CopyBlock id="kubernetes-manifest" title="Kubernetes Deployment" text={deployment.kubernetesManifest} />
    </section>
  );
}

function Settings({ endpoint }: { endpoint: Endpoint }) {
  const { targets, constraints, workload } = endpoint;
  const target = (value: number | null, text: string): string => (value == null ? "free" : text);
  return (
    <section class="panel" aria-labelledby="settings-title">
      <h2 id="settings-title">Plan</h2>
      <Facts
        items={[
          ["Model", `${endpoint.model.name} (${params(endpoint.model.parameterCount)})`],
          [
            "Hardware",
            endpoint.hardwareProfiles
              .map(
                (p) =>
                  `${p.name}: ${p.nodeCount > 1 ? `${p.nodeCount}×` : ""}${p.gpuCount}× ${p.gpuType} at ${usdPerHour(p.costPerGpuHour)}/GPU`,
              )
              .join("; "),
          ],
          ["Method", `${endpoint.method} · ${endpoint.engine} · seed ${endpoint.seed}`],
          [
            "Workload",
            `${num(workload.inputTokens)} in / ${num(workload.outputTokens)} out tokens, ` +
              (workload.concurrency != null
                ? `${num(workload.concurrency)} in flight`
                : `${num(workload.requestRate, 1)} req/s`),
          ],
          [
            "Targets",
            [
              `TTFT ${target(targets.maxTtftMs, `≤ ${ms(targets.maxTtftMs)}`)}`,
              `p99 ${target(targets.maxLatencyMs, `≤ ${ms(targets.maxLatencyMs)}`)}`,
              `throughput ${target(targets.minThroughputTps, `≥ ${tps(targets.minThroughputTps)}`)}`,
              `cost ${target(targets.maxCostPerHour, `≤ ${usdPerHour(targets.maxCostPerHour)}`)}`,
            ].join(" · "),
          ],
          [
            "Constraints",
            `≤ ${constraints.maxReplicas} replicas · ≤ ${constraints.maxGpusPerReplica} GPUs/replica · ` +
              `${constraints.allowedGpuTypes?.length ? constraints.allowedGpuTypes.join(", ") : "any GPU"}` +
              (constraints.requireHighAvailability ? " · high availability" : ""),
          ],
          ["Created", when(endpoint.createdAt)],
        ]}
      />
    </section>
  );
}

export function EndpointDetail({ id }: { id: string }) {
  const { data, error, loading, reload } = useQuery(ops.EndpointDetail, { id });
  const endpoint = data?.endpoint ?? null;
  useTitle(endpoint ? endpoint.name : "Endpoint");
  const job = endpoint?.latestJob ?? null;
  const [live, setLive] = useState<{ jobId: string; progress: Progress; events: number } | null>(null);
  const [notice, setNotice] = useState<string | null>(() => {
    const key = `budsim.notice.${id}`;
    const stored = sessionStorage.getItem(key);
    sessionStorage.removeItem(key);
    return stored;
  });
  const [busy, setBusy] = useState<"optimize" | "cancel" | null>(null);
  const [deploying, setDeploying] = useState<number | null | undefined>(undefined);
  const [deployed, setDeployed] = useState<Deployment | null>(null);

  // Follow a queued or running job live; its last event carries the end status, then the page reloads the result.
  const followed = job && !ENDED.has(job.status) ? job.id : null;
  useEffect(() => {
    if (!followed) return;
    let ended = false;
    const stop = subscribe(
      ops.OptimizationProgress,
      { jobId: followed },
      {
        next: (data) => {
          const progress = data.optimizationProgress;
          setLive((now) => ({
            jobId: followed,
            progress,
            events: (now?.jobId === followed ? now.events : 0) + 1,
          }));
          if (ENDED.has(progress.status) && !ended) {
            ended = true;
            void reload();
          }
        },
        error: (caught) => setNotice(`Live progress stopped: ${caught.message}`),
        complete: () => {
          if (!ended) void reload();
        },
      },
    );
    return stop;
  }, [followed]);

  const optimize = async (): Promise<void> => {
    setBusy("optimize");
    setNotice(null);
    try {
      const answer = (await request(ops.OptimizeEndpoint, { id })).optimizeEndpoint;
      if (answer.__typename !== "OptimizationJob") setNotice(`Optimize was refused: ${failureText(answer)}`);
      await reload();
    } catch (caught) {
      setNotice(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(null);
    }
  };

  const cancel = async (): Promise<void> => {
    if (!job) return;
    setBusy("cancel");
    try {
      const answer = (await request(ops.CancelOptimization, { id: job.id })).cancelOptimization;
      if (answer.__typename !== "OptimizationJob") setNotice(`Cancel was refused: ${failureText(answer)}`);
      else
        setNotice(
          `Cancel requested: the job stops within a generation and keeps its best so far (${answer.status.toLowerCase()}).`,
        );
    } catch (caught) {
      setNotice(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(null);
    }
  };

  const deploy = async (paretoIndex: number | null): Promise<void> => {
    if (!job) return;
    setDeploying(paretoIndex);
    setNotice(null);
    try {
      const answer = (await request(ops.DeployEndpoint, { id, choice: { jobId: job.id, paretoIndex } })).deployEndpoint;
      if (answer.__typename === "EndpointDeployment") {
        setDeployed(answer);
        requestAnimationFrame(() => {
          const heading = document.getElementById("deploy-title");
          heading?.scrollIntoView({ behavior: "smooth", block: "start" });
          heading?.focus({ preventScroll: true });
        });
      } else {
        setNotice(`Deploy was refused: ${failureText(answer)}`);
      }
    } catch (caught) {
      setNotice(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setDeploying(undefined);
    }
  };

  if (loading && !data) return <Loading what="the endpoint" />;
  if (error && !data) return <ErrorBox>{error}</ErrorBox>;
  if (!endpoint) {
    return (
      <section>
        <Heading>Endpoint not found</Heading>
        <p>
          No endpoint has the id <code>{id}</code>. <a href={href.endpoints}>Back to the endpoints</a>.
        </p>
      </section>
    );
  }
  const progress = live && job && live.jobId === job.id ? live.progress : (job?.progress ?? null);
  const events = live && job && live.jobId === job.id ? live.events : 0;
  const running = job !== null && !ENDED.has(job.status);
  const result = job?.result ?? null;
  const deployment = deployed ?? endpoint.deployment;
  const pick = result?.predictedMetrics && result.meetsTargets ? result.predictedMetrics : null;
  const chartFront = result
    ? result.paretoFront.map((p) => ({
        outputTokensPerS: p.metrics.outputTokensPerS ?? Number.NaN,
        e2eLatencyP99Ms: p.metrics.e2eLatencyP99Ms ?? Number.NaN,
        costPerHour: p.metrics.costPerHour ?? 0,
      }))
    : (progress?.paretoFront ?? []);

  return (
    <section>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href.endpoints}>Endpoints</a> <span aria-hidden="true">/</span> {endpoint.name}
      </nav>
      <div class="title-row">
        <Heading>{endpoint.name}</Heading>
        {job ? <StatusBadge status={progress?.status ?? job.status} /> : <Badge tone="info">not optimized</Badge>}
        <button type="button" onClick={optimize} disabled={running || busy !== null}>
          {busy === "optimize" ? "Starting…" : job ? "Optimize again" : "Optimize"}
        </button>
      </div>
      <StaleNotice
        title="These recommendations may be out of date."
        reasons={endpoint.staleReasons}
        advice="Re-optimize when hardware or models change (the guide's best practice 5)."
      />
      {notice ? (
        <div class="notice notice-info" role="status">
          {notice}
        </div>
      ) : null}
      {error ? <ErrorBox>{error}</ErrorBox> : null}
      <div class="columns-2">
        <Settings endpoint={endpoint} />
        {job ? (
          <div>
            <ProgressPanel
              job={job}
              progress={progress}
              events={events}
              onCancel={cancel}
              cancelling={busy === "cancel"}
            />
            {job.error ? <ErrorBox>The job failed: {job.error}</ErrorBox> : null}
          </div>
        ) : (
          <section class="panel">
            <h2>Not optimized yet</h2>
            <p>Optimize to search for the deployment that meets the targets at the lowest cost per token.</p>
          </section>
        )}
      </div>
      {job ? (
        <section class="panel" aria-labelledby="chart-title">
          <h2 id="chart-title">Pareto front</h2>
          <ParetoChart
            front={chartFront}
            pick={
              pick
                ? {
                    outputTokensPerS: pick.outputTokensPerS ?? Number.NaN,
                    e2eLatencyP99Ms: pick.e2eLatencyP99Ms ?? Number.NaN,
                    costPerHour: pick.costPerHour ?? 0,
                  }
                : null
            }
            caption={
              result
                ? "Throughput against p99 latency of the final Pareto front: further right is faster, lower is snappier."
                : "Live: the feasible Pareto front after each generation."
            }
            empty={
              result
                ? "No configuration meets every target, so no feasible front: the closest miss is in the table below."
                : running
                  ? "Waiting for the first feasible configuration…"
                  : "The job ended without a result."
            }
          />
        </section>
      ) : null}
      {job && result ? (
        <ResultPanel
          endpoint={endpoint}
          job={job}
          result={result}
          deployment={deployment}
          deploying={deploying}
          onDeploy={deploy}
        />
      ) : null}
      {deployment ? <DeploymentPanel deployment={deployment} /> : null}
    </section>
  );
}
