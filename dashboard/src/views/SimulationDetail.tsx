// #/simulations/<id>: one stored simulation, what it predicted and for what.
import {
  ConfidenceBadge,
  ConfidenceReasons,
  ErrorBox,
  Facts,
  Heading,
  Loading,
  Prose,
  StaleNotice,
} from "../components/bits";
import { ms, num, tps, usdPerHour, usdPerMillion, when } from "../format";
import { useQuery, useTitle } from "../hooks";
import { ops } from "../operations";
import { href } from "../router";

const gb = (value: number): string => `${num(value, 1)} GB`;

export function SimulationDetail({ id }: { id: string }) {
  useTitle("Simulation");
  const { data, error, loading } = useQuery(ops.SimulationDetail, { id });
  if (loading && !data) return <Loading what="the simulation" />;
  if (error) return <ErrorBox>{error}</ErrorBox>;
  const sim = data?.simulation;
  if (!sim) {
    return (
      <section>
        <Heading>Simulation not found</Heading>
        <p>
          No simulation has the id <code>{id}</code>. <a href={href.simulations}>Back to the history</a>.
        </p>
      </section>
    );
  }
  const { config, metrics, memory, workload } = sim;
  return (
    <section>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href.simulations}>History</a> <span aria-hidden="true">/</span> {sim.id.slice(0, 8)}
      </nav>
      <div class="title-row">
        <Heading>
          {sim.model?.name ?? "Deleted model"} on {sim.hardwareProfile?.name ?? "a deleted profile"}
        </Heading>
        {sim.confidence != null && sim.confidenceLevel != null ? (
          <ConfidenceBadge confidence={sim.confidence} level={sim.confidenceLevel} />
        ) : null}
      </div>
      <StaleNotice
        title="This prediction may be out of date."
        reasons={sim.staleReasons}
        advice="Simulate again to see what the change does."
      />
      <ConfidenceReasons reasons={sim.confidenceReasons} />
      <div class="columns-2">
        <section class="panel" aria-labelledby="sim-input">
          <h2 id="sim-input">Asked</h2>
          <Facts
            items={[
              ["Method", `${sim.method}${sim.engine ? ` · ${sim.engine}` : ""}`],
              ["GPU", sim.hardwareProfile?.gpuType ?? "—"],
              [
                "Workload",
                workload
                  ? `${num(workload.inputTokens)} in / ${num(workload.outputTokens)} out tokens, ` +
                    (workload.concurrency != null
                      ? `${num(workload.concurrency)} in flight`
                      : `${num(workload.requestRate, 1)} req/s`)
                  : "—",
              ],
              [
                "Config",
                config
                  ? `TP ${config.tensorParallelSize} × PP ${config.pipelineParallelSize} × ${config.replicas} replicas = ${config.totalGpus} GPUs`
                  : "—",
              ],
              [
                "Batching",
                config
                  ? `${config.maxNumSeqs} seqs, ${num(config.maxNumBatchedTokens)} batched tokens, ${num(config.maxModelLen)} ctx, ${num(config.gpuMemoryUtilization * 100)}% memory`
                  : "—",
              ],
              ["Precision", config ? `${config.weightDtype} weights, ${config.kvCacheDtype} KV cache` : "—"],
              ["When", when(sim.createdAt)],
            ]}
          />
        </section>
        <section class="panel" aria-labelledby="sim-metrics">
          <h2 id="sim-metrics">Predicted</h2>
          <Facts
            items={[
              ["TTFT p50 / p99", `${ms(metrics?.ttftP50Ms)} / ${ms(metrics?.ttftP99Ms)}`],
              ["Inter-token latency", ms(metrics?.tpotMs)],
              ["End-to-end p50 / p99", `${ms(metrics?.e2eLatencyP50Ms)} / ${ms(metrics?.e2eLatencyP99Ms)}`],
              ["Throughput", `${tps(metrics?.outputTokensPerS)} · ${num(metrics?.requestsPerS, 2)} req/s`],
              ["Cost", `${usdPerHour(metrics?.costPerHour)} · ${usdPerMillion(metrics?.costPerMillionTokens)}`],
            ]}
          />
        </section>
      </div>
      {memory ? (
        <section class="panel" aria-labelledby="sim-memory">
          <h2 id="sim-memory">Memory per GPU {memory.fits ? "(fits)" : "(does not fit)"}</h2>
          <Facts
            items={[
              ["Weights", gb(memory.weightsGbPerGpu)],
              ["KV cache", gb(memory.kvCacheGbPerGpu)],
              ["Activations", gb(memory.activationGbPerGpu)],
              ["Overhead", gb(memory.overheadGbPerGpu)],
              ["Total", gb(memory.totalGbPerGpu)],
              ["KV capacity", `${num(memory.kvCacheTokens)} tokens per replica`],
            ]}
          />
        </section>
      ) : null}
      {sim.warnings.length ? (
        <section class="panel" aria-labelledby="sim-warnings">
          <h2 id="sim-warnings">Warnings</h2>
          <ul class="warnings">
            {sim.warnings.map((w) => (
              <li key={w}>
                <Prose text={w} />
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </section>
  );
}
