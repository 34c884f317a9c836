// #/simulations: the history of stored simulations (every simulate and every optimization's answer), newest first,
// filtered by model, hardware profile and method, a page at a time.
import { useState } from "preact/hooks";
import { ErrorBox, Heading, Loading, Pager } from "../components/bits";
import { ms, num, tps, usdPerHour, when } from "../format";
import { useQuery, useTitle } from "../hooks";
import { ops } from "../operations";
import { href } from "../router";
import type { Method } from "../types";

const PAGE = 20;

export function SimulationList() {
  useTitle("History");
  const [modelId, setModelId] = useState("");
  const [profileId, setProfileId] = useState("");
  const [method, setMethod] = useState<Method | "">("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const models = useQuery(ops.ModelSearch, { search: null });
  const profiles = useQuery(ops.HardwareProfileList, { after: null });
  const { data, error, loading } = useQuery(ops.SimulationList, {
    first: PAGE,
    after: cursors.at(-1) ?? null,
    modelId: modelId || null,
    hardwareProfileId: profileId || null,
    method: method || null,
  });
  const filter = (set: (value: string) => void) => (event: Event) => {
    set((event.currentTarget as HTMLSelectElement).value);
    setCursors([null]);
  };
  const page = data?.simulations;
  return (
    <section>
      <Heading>History</Heading>
      <p class="muted">Every stored simulation: each optimization's answer and each simulate call.</p>
      <form class="filters" aria-label="Filter simulations" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="filter-model">Model</label>
          <select id="filter-model" value={modelId} onChange={filter(setModelId)}>
            <option value="">All models</option>
            {(models.data?.models ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-profile">Hardware profile</label>
          <select id="filter-profile" value={profileId} onChange={filter(setProfileId)}>
            <option value="">All profiles</option>
            {(profiles.data?.hardwareProfiles.edges ?? []).map(({ node }) => (
              <option key={node.id} value={node.id}>
                {node.name} ({node.gpuCount} × {node.gpuType})
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-method">Method</label>
          <select id="filter-method" value={method} onChange={filter((v) => setMethod(v as Method | ""))}>
            <option value="">Any method</option>
            <option value="REGRESSOR">REGRESSOR</option>
            <option value="HEURISTIC">HEURISTIC</option>
          </select>
        </div>
      </form>
      {error ? <ErrorBox>{error}</ErrorBox> : null}
      {loading && !page ? <Loading what="simulations" /> : null}
      {page ? (
        <>
          <div class="table-wrap" tabIndex={0} aria-label="Simulations table" aria-busy={loading}>
            <table class="cards">
              <caption class="visually-hidden">Simulations, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Model</th>
                  <th scope="col">Hardware</th>
                  <th scope="col">Method</th>
                  <th scope="col">Config</th>
                  <th scope="col">Throughput</th>
                  <th scope="col">p99 latency</th>
                  <th scope="col">Cost</th>
                  <th scope="col">Confidence</th>
                </tr>
              </thead>
              <tbody>
                {page.edges.map(({ node }) => (
                  <tr key={node.id}>
                    <th scope="row" class="nowrap">
                      <a href={href.simulation(node.id)}>{when(node.createdAt)}</a>
                    </th>
                    <td data-label="Model">{node.model?.name ?? "deleted model"}</td>
                    <td data-label="Hardware">{node.hardwareProfile?.name ?? "deleted profile"}</td>
                    <td data-label="Method">{node.method}</td>
                    <td data-label="Config" class="nowrap">
                      {node.config
                        ? `TP ${node.config.tensorParallelSize} × PP ${node.config.pipelineParallelSize} × ${node.config.replicas}`
                        : "—"}
                    </td>
                    <td data-label="Throughput" class="nowrap">
                      {tps(node.metrics?.outputTokensPerS)}
                    </td>
                    <td data-label="p99 latency" class="nowrap">
                      {ms(node.metrics?.e2eLatencyP99Ms)}
                    </td>
                    <td data-label="Cost" class="nowrap">
                      {usdPerHour(node.metrics?.costPerHour)}
                    </td>
                    <td data-label="Confidence">{num(node.confidence, 2)}</td>
                  </tr>
                ))}
                {page.edges.length === 0 ? (
                  <tr>
                    <td colSpan={9} class="muted">
                      No simulation matches these filters.
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
          <Pager
            label="Simulation pages"
            summary={
              <>
                {num(page.totalCount)} simulation{page.totalCount === 1 ? "" : "s"} · page {cursors.length} of{" "}
                {Math.max(1, Math.ceil(page.totalCount / PAGE))}
              </>
            }
            cursors={cursors}
            setCursors={setCursors}
            hasNextPage={page.pageInfo.hasNextPage}
            endCursor={page.pageInfo.endCursor}
          />
        </>
      ) : null}
    </section>
  );
}
