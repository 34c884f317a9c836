// #/endpoints/new: the user guide's flow on one page. Model, hardware, method, targets and constraints; Optimize
// stores the endpoint (createEndpoint), queues its first job (optimizeEndpoint) and opens the endpoint's page.
import { useEffect, useState } from "preact/hooks";
import { failureText, request } from "../api";
import { ErrorBox, Heading, Loading } from "../components/bits";
import { num, params, usdPerHour } from "../format";
import { useQuery, useTitle } from "../hooks";
import { ops } from "../operations";
import { go, href } from "../router";
import type { Engine, GpuTypeOption, Method, ModelOption, ProfileOption } from "../types";

function numberOrNull(text: string): number | null {
  const value = Number.parseFloat(text);
  return text.trim() === "" || !Number.isFinite(value) ? null : value;
}

function NumberField(props: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  unit?: string;
  hint?: string;
  min?: number;
  step?: string;
  required?: boolean;
}) {
  const hintId = props.hint ? `${props.id}-hint` : undefined;
  return (
    <div class="field">
      <label for={props.id}>
        {props.label}
        {props.unit ? <span class="muted"> ({props.unit})</span> : null}
      </label>
      <input
        id={props.id}
        name={props.id}
        type="number"
        inputMode="decimal"
        min={props.min ?? 0}
        step={props.step ?? "any"}
        required={props.required ?? false}
        value={props.value}
        aria-describedby={hintId}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      {props.hint ? (
        <small id={hintId} class="muted">
          {props.hint}
        </small>
      ) : null}
    </div>
  );
}

// ---- the model: search the catalog, or register a config.json

function ModelPicker({ selected, onSelect }: { selected: ModelOption | null; onSelect: (m: ModelOption) => void }) {
  const [search, setSearch] = useState("");
  const [debounced, setDebounced] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(search.trim()), 200);
    return () => clearTimeout(timer);
  }, [search]);
  const { data, error, loading } = useQuery(ops.ModelSearch, { search: debounced || null });
  const models = data?.models ?? [];
  return (
    <fieldset>
      <legend>1. Model</legend>
      <div class="field">
        <label for="model-search">Search the catalog</label>
        <input
          id="model-search"
          type="search"
          placeholder="e.g. llama, qwen, mistral"
          value={search}
          onInput={(event) => setSearch(event.currentTarget.value)}
          aria-controls="model-results"
        />
      </div>
      {error ? <ErrorBox>{error}</ErrorBox> : null}
      <div id="model-results" class="choices scroll" role="radiogroup" aria-label="Models" aria-busy={loading}>
        {models.map((model) => (
          <label class="choice" key={model.id}>
            <input
              type="radio"
              name="model"
              value={model.id}
              checked={selected?.id === model.id}
              onChange={() => onSelect(model)}
            />
            <span>
              <strong>{model.name}</strong>
              <span class="muted"> · {params(model.parameterCount)}</span>
            </span>
          </label>
        ))}
        {!loading && models.length === 0 ? <p class="muted">No model matches “{debounced}”.</p> : null}
      </div>
      {selected && !models.some((m) => m.id === selected.id) ? (
        <p>
          Selected: <strong>{selected.name}</strong>
        </p>
      ) : null}
      <RegisterModel onRegistered={onSelect} />
    </fieldset>
  );
}

function RegisterModel({ onRegistered }: { onRegistered: (m: ModelOption) => void }) {
  const [name, setName] = useState("");
  const [config, setConfig] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const register = async (): Promise<void> => {
    setError(null);
    setDone(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(config);
    } catch (caught) {
      setError(`config.json is not valid JSON: ${caught instanceof Error ? caught.message : String(caught)}`);
      return;
    }
    setBusy(true);
    try {
      const answer = (await request(ops.RegisterModel, { name: name.trim(), config: parsed })).registerModel;
      if (answer.__typename === "Model") {
        onRegistered(answer);
        setDone(`Registered ${answer.name} (${params(answer.parameterCount)}) and selected it.`);
      } else {
        setError(failureText(answer));
      }
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <details class="disclosure">
      <summary>Not in the catalog? Paste its Hugging Face config.json</summary>
      <div class="field">
        <label for="register-name">Model name (Hugging Face id)</label>
        <input
          id="register-name"
          placeholder="org/model-name"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="register-config">config.json</label>
        <textarea
          id="register-config"
          rows={8}
          spellcheck={false}
          placeholder='{"model_type": "llama", "hidden_size": 4096, ...}'
          value={config}
          onInput={(event) => setConfig(event.currentTarget.value)}
        />
      </div>
      {error ? <ErrorBox>{error}</ErrorBox> : null}
      {done ? (
        <p class="notice notice-good" role="status">
          {done}
        </p>
      ) : null}
      <div class="actions">
        <button type="button" class="secondary" disabled={busy || !name.trim() || !config.trim()} onClick={register}>
          {busy ? "Registering…" : "Register model"}
        </button>
      </div>
    </details>
  );
}

// ---- the hardware: existing profiles, or a new one

function ProfilePicker(props: {
  selected: string[];
  onToggle: (id: string, on: boolean) => void;
  gpuTypes: GpuTypeOption[];
}) {
  const [profiles, setProfiles] = useState<ProfileOption[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const load = async (after: string | null): Promise<void> => {
    setLoading(true);
    try {
      const page = (await request(ops.HardwareProfileList, { after })).hardwareProfiles;
      setProfiles((known) => [...known, ...page.edges.map((e) => e.node)]);
      setMore(page.pageInfo.hasNextPage);
      setNext(page.pageInfo.endCursor);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(null);
  }, []);
  const created = (profile: ProfileOption): void => {
    setProfiles((known) => [profile, ...known]);
    props.onToggle(profile.id, true);
  };
  return (
    <fieldset>
      <legend>2. Hardware (cluster)</legend>
      <p class="muted">Pick one or more hardware profiles; the optimizer may use any of them.</p>
      {error ? <ErrorBox>{error}</ErrorBox> : null}
      {loading && profiles.length === 0 ? <Loading what="hardware profiles" /> : null}
      <div class="choices scroll" role="group" aria-label="Hardware profiles">
        {profiles.map((profile) => (
          <label class="choice" key={profile.id}>
            <input
              type="checkbox"
              name="profile"
              value={profile.id}
              checked={props.selected.includes(profile.id)}
              onChange={(event) => props.onToggle(profile.id, event.currentTarget.checked)}
            />
            <span>
              <strong>{profile.name}</strong>
              <span class="muted">
                {" "}
                · {profile.nodeCount > 1 ? `${profile.nodeCount} nodes × ` : ""}
                {profile.gpuCount} × {profile.gpuType} · {usdPerHour(profile.costPerGpuHour)} per GPU
              </span>
            </span>
          </label>
        ))}
        {!loading && profiles.length === 0 ? <p class="muted">No hardware profiles yet: define one below.</p> : null}
      </div>
      {more ? (
        <button type="button" class="secondary" onClick={() => void load(next)}>
          Show more profiles
        </button>
      ) : null}
      <DefineProfile gpuTypes={props.gpuTypes} onCreated={created} />
    </fieldset>
  );
}

function DefineProfile({ gpuTypes, onCreated }: { gpuTypes: GpuTypeOption[]; onCreated: (p: ProfileOption) => void }) {
  const [name, setName] = useState("");
  const [gpuType, setGpuType] = useState("");
  const [gpuCount, setGpuCount] = useState("8");
  const [nodeCount, setNodeCount] = useState("1");
  const [cost, setCost] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const gpu = gpuType || gpuTypes[0]?.name || "";
  const create = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const input = {
        name: name.trim(),
        gpuType: gpu,
        gpuCount: Math.round(numberOrNull(gpuCount) ?? 0),
        nodeCount: Math.round(numberOrNull(nodeCount) ?? 1),
        costPerGpuHour: numberOrNull(cost),
      };
      const answer = (await request(ops.CreateHardwareProfile, { input })).createHardwareProfile;
      if (answer.__typename === "HardwareProfile") {
        onCreated(answer);
        setName("");
      } else {
        setError(failureText(answer));
      }
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };
  const catalogPrice = gpuTypes.find((g) => g.name === gpu)?.costPerHour;
  return (
    <details class="disclosure">
      <summary>Define a hardware profile</summary>
      <div class="grid">
        <div class="field">
          <label for="profile-name">Profile name</label>
          <input id="profile-name" value={name} onInput={(event) => setName(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="profile-gpu">GPU</label>
          <select id="profile-gpu" value={gpu} onChange={(event) => setGpuType(event.currentTarget.value)}>
            {gpuTypes.map((g) => (
              <option key={g.name} value={g.name}>
                {g.vendor} {g.name} · {num(g.memoryGb)} GB · {usdPerHour(g.costPerHour)}
              </option>
            ))}
          </select>
        </div>
        <NumberField id="profile-gpus" label="GPUs per node" value={gpuCount} onInput={setGpuCount} min={1} step="1" />
        <NumberField id="profile-nodes" label="Nodes" value={nodeCount} onInput={setNodeCount} min={1} step="1" />
        <NumberField
          id="profile-cost"
          label="Cost per GPU-hour"
          unit="USD"
          value={cost}
          onInput={setCost}
          hint={
            catalogPrice != null
              ? `Empty: the catalog price, ${usdPerHour(catalogPrice)}.`
              : "Empty: the catalog price."
          }
        />
      </div>
      {error ? <ErrorBox>{error}</ErrorBox> : null}
      <div class="actions">
        <button type="button" class="secondary" disabled={busy || !name.trim() || !gpu} onClick={create}>
          {busy ? "Creating…" : "Create profile"}
        </button>
      </div>
    </details>
  );
}

// ---- the whole form

// The two methods as the user guide tells them apart.
const METHOD_CHOICES: [Method, string][] = [
  ["REGRESSOR", "XGBoost + NSGA-II search over TP, PP, batch, replicas: for production"],
  ["HEURISTIC", "memory-based TP/PP rules: fast, for exploration"],
];

export function CreateEndpoint() {
  useTitle("Create Endpoint");
  const gpus = useQuery(ops.GpuTypes, {});
  const gpuTypes = gpus.data?.gpuTypes ?? [];
  const [name, setName] = useState("");
  const [model, setModel] = useState<ModelOption | null>(null);
  const [profiles, setProfiles] = useState<string[]>([]);
  const [method, setMethod] = useState<Method>("REGRESSOR");
  const [engine, setEngine] = useState<Engine>("VLLM");
  const [inputTokens, setInputTokens] = useState("1024");
  const [outputTokens, setOutputTokens] = useState("256");
  const [concurrency, setConcurrency] = useState("32");
  const [maxTtft, setMaxTtft] = useState("");
  const [maxLatency, setMaxLatency] = useState("");
  const [minThroughput, setMinThroughput] = useState("");
  const [maxCost, setMaxCost] = useState("");
  const [maxReplicas, setMaxReplicas] = useState("10");
  const [maxGpus, setMaxGpus] = useState("8");
  const [allowed, setAllowed] = useState<string[]>([]);
  const [highAvailability, setHighAvailability] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const missing = [
    name.trim() ? null : "a name",
    model ? null : "a model",
    profiles.length ? null : "at least one hardware profile",
  ].filter((item): item is string => item !== null);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (missing.length || !model) {
      setError(`Choose ${missing.join(", ")} first.`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const input = {
        name: name.trim(),
        modelId: model.id,
        hardwareProfileIds: profiles,
        method,
        engine,
        workload: {
          inputTokens: Math.round(numberOrNull(inputTokens) ?? 1024),
          outputTokens: Math.round(numberOrNull(outputTokens) ?? 256),
          concurrency: numberOrNull(concurrency) ?? 32,
        },
        targets: {
          maxTtftMs: numberOrNull(maxTtft),
          maxLatencyMs: numberOrNull(maxLatency),
          minThroughputTps: numberOrNull(minThroughput),
          maxCostPerHour: numberOrNull(maxCost),
        },
        constraints: {
          maxReplicas: Math.round(numberOrNull(maxReplicas) ?? 10),
          maxGpusPerReplica: Math.round(numberOrNull(maxGpus) ?? 8),
          allowedGpuTypes: allowed.length ? allowed : null,
          requireHighAvailability: highAvailability,
        },
      };
      const created = (await request(ops.CreateEndpoint, { input })).createEndpoint;
      if (created.__typename !== "Endpoint") {
        setError(failureText(created));
        return;
      }
      const job = (await request(ops.OptimizeEndpoint, { id: created.id })).optimizeEndpoint;
      if (job.__typename !== "OptimizationJob") {
        // The endpoint exists: open it, where Optimize can be tried again.
        sessionStorage.setItem(`budsim.notice.${created.id}`, `Optimize was refused: ${failureText(job)}`);
      }
      go(href.endpoint(created.id));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href.endpoints}>Endpoints</a> <span aria-hidden="true">/</span> New
      </nav>
      <Heading>Create Endpoint</Heading>
      <form class="create" onSubmit={submit} noValidate>
        <div class="field">
          <label for="endpoint-name">Endpoint name</label>
          <input
            id="endpoint-name"
            required
            maxLength={200}
            placeholder="chat-prod"
            value={name}
            onInput={(event) => setName(event.currentTarget.value)}
          />
        </div>
        <ModelPicker selected={model} onSelect={setModel} />
        {gpus.error ? <ErrorBox>{gpus.error}</ErrorBox> : null}
        <ProfilePicker
          selected={profiles}
          gpuTypes={gpuTypes}
          onToggle={(id, on) => setProfiles((now) => (on ? [...new Set([...now, id])] : now.filter((p) => p !== id)))}
        />
        <fieldset>
          <legend>3. Method</legend>
          <div class="choices row">
            {METHOD_CHOICES.map(([value, blurb]) => (
              <label class="choice" key={value}>
                <input
                  type="radio"
                  name="method"
                  value={value}
                  checked={method === value}
                  onChange={() => setMethod(value)}
                />
                <span>
                  <strong>{value}</strong>
                  <span class="muted"> · {blurb}</span>
                </span>
              </label>
            ))}
          </div>
          <div class="grid">
            <div class="field">
              <label for="engine">Engine</label>
              <select id="engine" value={engine} onChange={(event) => setEngine(event.currentTarget.value as Engine)}>
                <option value="VLLM">vLLM</option>
                <option value="SGLANG">SGLang</option>
                <option value="TRTLLM">TensorRT-LLM</option>
              </select>
            </div>
            <NumberField
              id="input-tokens"
              label="Prompt tokens"
              value={inputTokens}
              onInput={setInputTokens}
              min={1}
              step="1"
            />
            <NumberField
              id="output-tokens"
              label="Output tokens"
              value={outputTokens}
              onInput={setOutputTokens}
              min={1}
              step="1"
            />
            <NumberField
              id="concurrency"
              label="Requests in flight"
              value={concurrency}
              onInput={setConcurrency}
              min={1}
            />
          </div>
        </fieldset>
        <fieldset>
          <legend>4. Performance targets</legend>
          <p class="muted">
            Each empty target is free. When none of the configs meets them all, the result says which binds.
          </p>
          <div class="grid">
            <NumberField
              id="max-ttft"
              label="Max TTFT (p99)"
              unit="ms"
              value={maxTtft}
              onInput={setMaxTtft}
              hint="e.g. 500"
            />
            <NumberField
              id="max-latency"
              label="Max p99 latency"
              unit="ms"
              value={maxLatency}
              onInput={setMaxLatency}
              hint="e.g. 2000"
            />
            <NumberField
              id="min-throughput"
              label="Min throughput"
              unit="tok/s"
              value={minThroughput}
              onInput={setMinThroughput}
              hint="e.g. 100"
            />
            <NumberField
              id="max-cost"
              label="Max cost per hour"
              unit="USD"
              value={maxCost}
              onInput={setMaxCost}
              hint="e.g. 50"
            />
          </div>
        </fieldset>
        <fieldset>
          <legend>5. Constraints</legend>
          <div class="grid">
            <NumberField
              id="max-replicas"
              label="Max replicas"
              value={maxReplicas}
              onInput={setMaxReplicas}
              min={1}
              step="1"
            />
            <NumberField
              id="max-gpus"
              label="Max GPUs per replica"
              value={maxGpus}
              onInput={setMaxGpus}
              min={1}
              step="1"
            />
          </div>
          <label class="choice">
            <input
              type="checkbox"
              id="high-availability"
              checked={highAvailability}
              onChange={(event) => setHighAvailability(event.currentTarget.checked)}
            />
            <span>Require high availability (at least two replicas)</span>
          </label>
          <details class="disclosure">
            <summary>Allowed GPU types {allowed.length ? `(${allowed.length})` : "(all)"}</summary>
            <div class="choices columns" role="group" aria-label="Allowed GPU types">
              {gpuTypes.map((g) => (
                <label class="choice" key={g.name}>
                  <input
                    type="checkbox"
                    checked={allowed.includes(g.name)}
                    onChange={(event) =>
                      setAllowed((now) =>
                        event.currentTarget.checked ? [...now, g.name] : now.filter((n) => n !== g.name),
                      )
                    }
                  />
                  <span>{g.name}</span>
                </label>
              ))}
            </div>
          </details>
        </fieldset>
        {error ? <ErrorBox>{error}</ErrorBox> : null}
        <div class="actions sticky">
          <span class="muted" aria-live="polite">
            {missing.length ? `Still needed: ${missing.join(", ")}.` : "Ready to optimize."}
          </span>
          <button type="submit" id="optimize" disabled={busy}>
            {busy ? "Starting…" : "Optimize"}
          </button>
        </div>
      </form>
    </section>
  );
}
