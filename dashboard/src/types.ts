// The shapes of the answers to budsim/web/operations/*.graphql, field for field (schema.graphql is the source).

export type Method = "HEURISTIC" | "REGRESSOR";
export type Engine = "VLLM" | "SGLANG" | "TRTLLM";
export type Dtype = "BF16" | "FP16" | "FP8" | "INT8" | "INT4";
export type JobStatus = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED" | "TIMED_OUT";

export const ENDED: ReadonlySet<JobStatus> = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]);

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A union answer's failure members: every one has a message, some name the field. */
export interface Failure {
  __typename: "ValidationError" | "NotFoundError" | "ConflictError" | "ForbiddenError";
  message: string;
  field?: string;
}

// ---- EndpointList
export interface EndpointRow {
  id: string;
  name: string;
  method: Method;
  stale: boolean;
  createdAt: string;
  model: { name: string };
  hardwareProfiles: { name: string }[];
  latestJob: { status: JobStatus } | null;
  deployment: { createdAt: string } | null;
}
export interface EndpointListData {
  endpoints: { totalCount: number; pageInfo: PageInfo; edges: { node: EndpointRow }[] };
}

// ---- ModelSearch, RegisterModel
export interface ModelOption {
  id: string;
  name: string;
  parameterCount: number;
}
export interface ModelSearchData {
  models: ModelOption[];
}
export interface RegisterModelData {
  registerModel: ({ __typename: "Model" } & ModelOption) | Failure;
}

// ---- HardwareProfileList, GpuTypes, CreateHardwareProfile
export interface ProfileOption {
  id: string;
  name: string;
  gpuType: string;
  gpuCount: number;
  nodeCount: number;
  costPerGpuHour: number;
}
export interface HardwareProfileListData {
  hardwareProfiles: { pageInfo: PageInfo; edges: { node: ProfileOption }[] };
}
export interface GpuTypeOption {
  name: string;
  vendor: string;
  memoryGb: number;
  costPerHour: number;
}
export interface GpuTypesData {
  gpuTypes: GpuTypeOption[];
}
export interface CreateHardwareProfileInput {
  name: string;
  gpuType: string;
  gpuCount: number;
  nodeCount: number;
  costPerGpuHour?: number | null;
}
export interface CreateHardwareProfileData {
  createHardwareProfile: ({ __typename: "HardwareProfile" } & ProfileOption) | Failure;
}

// ---- CreateEndpoint, OptimizeEndpoint, CancelOptimization
export interface TargetsInput {
  maxLatencyMs: number | null;
  minThroughputTps: number | null;
  maxTtftMs: number | null;
  maxCostPerHour: number | null;
}
export interface ConstraintsInput {
  maxReplicas: number;
  maxGpusPerReplica: number;
  allowedGpuTypes: string[] | null;
  requireHighAvailability: boolean;
}
export interface WorkloadInput {
  inputTokens: number;
  outputTokens: number;
  concurrency: number;
}
export interface CreateEndpointInput {
  name: string;
  modelId: string;
  hardwareProfileIds: string[];
  method: Method;
  engine: Engine;
  workload: WorkloadInput;
  targets: TargetsInput;
  constraints: ConstraintsInput;
}
export interface CreateEndpointData {
  createEndpoint: { __typename: "Endpoint"; id: string } | Failure;
}
export interface JobStarted {
  __typename: "OptimizationJob";
  id: string;
  status: JobStatus;
}
export interface OptimizeEndpointData {
  optimizeEndpoint: JobStarted | Failure;
}
export interface CancelOptimizationData {
  cancelOptimization: JobStarted | Failure;
}

// ---- OptimizationProgress (subscription) and EndpointDetail
export interface ParetoSample {
  outputTokensPerS: number;
  e2eLatencyP99Ms: number;
  costPerHour: number;
}
export interface Progress {
  status: JobStatus;
  generation: number | null;
  evaluations: number | null;
  elapsedMs: number | null;
  bestOutputTokensPerS: number | null;
  bestE2eLatencyP99Ms: number | null;
  bestCostPerHour: number | null;
  paretoFrontSize: number | null;
  paretoFront: ParetoSample[];
  error: string | null;
}
export interface OptimizationProgressData {
  optimizationProgress: Progress;
}
export interface RecommendedConfig {
  hardwareProfileId: string;
  gpuType: string;
  tensorParallelSize: number;
  pipelineParallelSize: number;
  replicas: number;
  totalGpus: number;
  maxNumSeqs: number;
  maxModelLen: number;
  gpuMemoryUtilization: number;
  weightDtype: Dtype;
  kvCacheDtype: Dtype;
}
export interface PredictedMetrics {
  ttftP99Ms: number | null;
  e2eLatencyP99Ms: number | null;
  outputTokensPerS: number | null;
  costPerHour: number | null;
  costPerMillionTokens: number | null;
}
export interface BindingTarget {
  target: string;
  required: number | null;
  achieved: number | null;
}
/** The user guide's bands, as the server judges them (never recomputed here). */
export type ConfidenceLevel = "PRODUCTION_READY" | "VALIDATE_IN_STAGING" | "NEEDS_MORE_DATA";
/** What lowered a confidence and what run would raise it. */
export interface ConfidenceReason {
  kind: string;
  factor: number;
  message: string;
  measure: string;
}
export interface OptimizationResult {
  pickReason: string;
  confidence: number;
  confidenceLevel: ConfidenceLevel;
  confidenceReasons: ConfidenceReason[];
  meetsTargets: boolean;
  evaluations: number;
  generations: number;
  elapsedMs: number;
  warnings: string[];
  bindingTargets: BindingTarget[];
  optimalConfig: RecommendedConfig | null;
  predictedMetrics: PredictedMetrics | null;
  paretoFront: { config: RecommendedConfig; metrics: PredictedMetrics }[];
  simulation: { id: string };
}
export interface Deployment {
  jobId: string;
  paretoIndex: number | null;
  launchCommand: string;
  dockerRun: string;
  kubernetesManifest: string;
  notes: string[];
  createdAt: string;
}
export interface EndpointJob {
  id: string;
  status: JobStatus;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  progress: Progress | null;
  result: OptimizationResult | null;
}
export interface Endpoint {
  id: string;
  name: string;
  method: Method;
  engine: Engine;
  seed: number;
  createdAt: string;
  stale: boolean;
  staleReasons: string[];
  model: { name: string; parameterCount: number };
  hardwareProfiles: ProfileOption[];
  workload: { inputTokens: number; outputTokens: number; concurrency: number | null; requestRate: number | null };
  targets: TargetsInput;
  constraints: ConstraintsInput;
  latestJob: EndpointJob | null;
  deployment: Deployment | null;
}
export interface EndpointDetailData {
  endpoint: Endpoint | null;
}

// ---- DeployEndpoint
export interface DeployChoiceInput {
  jobId: string | null;
  paretoIndex: number | null;
}
export interface DeployEndpointData {
  deployEndpoint: ({ __typename: "EndpointDeployment" } & Deployment) | Failure;
}

// ---- SimulationList, SimulationDetail
export interface SimulationListVariables {
  first: number;
  after: string | null;
  modelId: string | null;
  hardwareProfileId: string | null;
  method: Method | null;
}
export interface SimulationRow {
  id: string;
  method: Method;
  confidence: number | null;
  createdAt: string;
  model: { name: string } | null;
  hardwareProfile: { name: string } | null;
  config: { tensorParallelSize: number; pipelineParallelSize: number; replicas: number } | null;
  metrics: { outputTokensPerS: number | null; e2eLatencyP99Ms: number | null; costPerHour: number | null } | null;
}
export interface SimulationListData {
  simulations: { totalCount: number; pageInfo: PageInfo; edges: { node: SimulationRow }[] };
}
export interface SimulationDetail {
  id: string;
  method: Method;
  engine: Engine | null;
  confidence: number | null;
  confidenceLevel: ConfidenceLevel | null;
  confidenceReasons: ConfidenceReason[];
  createdAt: string;
  warnings: string[];
  staleReasons: string[];
  model: { name: string } | null;
  hardwareProfile: { name: string; gpuType: string } | null;
  workload: {
    inputTokens: number;
    outputTokens: number;
    concurrency: number | null;
    requestRate: number | null;
  } | null;
  config: {
    tensorParallelSize: number;
    pipelineParallelSize: number;
    replicas: number;
    totalGpus: number;
    maxNumSeqs: number;
    maxNumBatchedTokens: number;
    maxModelLen: number;
    gpuMemoryUtilization: number;
    weightDtype: Dtype;
    kvCacheDtype: Dtype;
  } | null;
  metrics: {
    ttftP50Ms: number | null;
    ttftP99Ms: number | null;
    tpotMs: number | null;
    e2eLatencyP50Ms: number | null;
    e2eLatencyP99Ms: number | null;
    outputTokensPerS: number | null;
    requestsPerS: number | null;
    costPerHour: number | null;
    costPerMillionTokens: number | null;
  } | null;
  memory: {
    weightsGbPerGpu: number;
    kvCacheGbPerGpu: number;
    activationGbPerGpu: number;
    overheadGbPerGpu: number;
    totalGbPerGpu: number;
    kvCacheTokens: number;
    fits: boolean;
  } | null;
}
export interface SimulationDetailData {
  simulation: SimulationDetail | null;
}
