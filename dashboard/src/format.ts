// Numbers and words as the pages show them.
import type { ConfidenceLevel } from "./types";

const DASH = "—";

export function num(value: number | null | undefined, digits = 0): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "1 evaluation", "734 evaluations". */
export function count(value: number, noun: string): string {
  return `${num(value)} ${noun}${value === 1 ? "" : "s"}`;
}

export function ms(value: number | null | undefined): string {
  return value == null ? DASH : `${num(value, value < 100 ? 1 : 0)} ms`;
}

export function tps(value: number | null | undefined): string {
  return value == null ? DASH : `${num(value, 0)} tok/s`;
}

export function usdPerHour(value: number | null | undefined): string {
  return value == null ? DASH : `$${num(value, 2)}/h`;
}

export function usdPerMillion(value: number | null | undefined): string {
  return value == null ? DASH : `$${num(value, 2)} per 1M tokens`;
}

export function params(count: number): string {
  return count >= 1e9 ? `${num(count / 1e9, 1)}B params` : `${num(count / 1e6, 0)}M params`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export function seconds(milliseconds: number | null | undefined): string {
  return milliseconds == null ? DASH : `${num(milliseconds / 1000, 1)} s`;
}

/** How the page shows the user guide's confidence bands. Which band a score is in is the server's to say
 * (`confidenceLevel`): the thresholds live in one place, core's, and the page only words and colours the level. */
export interface Band {
  label: string;
  tone: "good" | "warn" | "bad";
  advice: string;
}

export const CONFIDENCE_BANDS: Record<ConfidenceLevel, Band> = {
  PRODUCTION_READY: { label: "Production ready", tone: "good", advice: "High confidence." },
  VALIDATE_IN_STAGING: {
    label: "Validate in staging",
    tone: "warn",
    advice: "Moderate confidence: validate in staging.",
  },
  NEEDS_MORE_DATA: {
    label: "More data needed",
    tone: "bad",
    advice: "Low confidence: record benchmarks of what the reasons name (recordBenchmark).",
  },
};

/** A target's API name as people say it. */
export const TARGET_NAMES: Record<string, string> = {
  maxTtftMs: "Max TTFT (p99)",
  max_ttft_ms: "Max TTFT (p99)",
  maxLatencyMs: "Max p99 latency",
  max_latency_ms: "Max p99 latency",
  minThroughputTps: "Min throughput",
  min_throughput_tps: "Min throughput",
  maxCostPerHour: "Max cost per hour",
  max_cost_per_hour: "Max cost per hour",
  memory: "GPU memory (the model does not fit)",
  capacity: "Capacity (the load exceeds what it can serve)",
  request_fits: "Request length (a request does not fit)",
};

export function targetValue(target: string, value: number | null): string {
  if (value == null) return DASH;
  if (/ttft|latency/i.test(target)) return ms(value);
  if (/throughput/i.test(target)) return tps(value);
  if (/cost/i.test(target)) return usdPerHour(value);
  return num(value, 2);
}

export function statusTone(status: string): "good" | "warn" | "bad" | "info" {
  if (status === "SUCCEEDED") return "good";
  if (status === "FAILED") return "bad";
  if (status === "CANCELLED" || status === "TIMED_OUT") return "warn";
  return "info";
}
