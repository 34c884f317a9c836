// The Pareto front as a scatter: throughput (x) against p99 latency (y), each point coloured by its cost per hour.
// Chart.js draws it; this component only maps points to its data and updates the chart as new fronts arrive.
import {
  Chart,
  type ChartConfiguration,
  type ChartDataset,
  LinearScale,
  PointElement,
  ScatterController,
  Tooltip,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";
import { ms, num, tps, usdPerHour } from "../format";
import type { ParetoSample } from "../types";

Chart.register(ScatterController, PointElement, LinearScale, Tooltip);

interface Point {
  x: number;
  y: number;
  cost: number;
}

// Low cost teal, through amber, to high cost orange-red: every stop saturated (a straight teal-to-red line passes
// through grey), readable on white, and told apart by lightness as well as hue.
const STOPS: readonly (readonly [number, number, number])[] = [
  [0, 122, 122],
  [204, 150, 0],
  [214, 69, 20],
];

export function costColour(cost: number, low: number, high: number): string {
  const t = high > low ? Math.min(1, Math.max(0, (cost - low) / (high - low))) : 0;
  const position = t * (STOPS.length - 1);
  const index = Math.min(STOPS.length - 2, Math.floor(position));
  const [from, to] = [STOPS[index]!, STOPS[index + 1]!];
  const mix = (i: 0 | 1 | 2): number => Math.round(from[i] + (to[i] - from[i]) * (position - index));
  return `rgb(${mix(0)}, ${mix(1)}, ${mix(2)})`;
}

const RAMP = `linear-gradient(90deg, ${STOPS.map((s) => `rgb(${s.join(", ")})`).join(", ")})`;

function points(front: readonly ParetoSample[]): Point[] {
  return front
    .filter((p) => Number.isFinite(p.outputTokensPerS) && Number.isFinite(p.e2eLatencyP99Ms))
    .map((p) => ({ x: p.outputTokensPerS, y: p.e2eLatencyP99Ms, cost: p.costPerHour }))
    .sort((a, b) => a.x - b.x);
}

function datasets(front: Point[], pick: Point | null): ChartDataset<"scatter", Point[]>[] {
  const costs = front.map((p) => p.cost);
  const low = Math.min(...costs);
  const high = Math.max(...costs);
  const colours = front.map((p) => costColour(p.cost, low, high));
  const sets: ChartDataset<"scatter", Point[]>[] = [
    {
      label: "Pareto front",
      data: front,
      backgroundColor: colours,
      borderColor: colours,
      pointRadius: 5,
      pointHoverRadius: 7,
    },
  ];
  if (pick) {
    sets.push({
      label: "Recommended",
      data: [pick],
      backgroundColor: "rgba(0,0,0,0)",
      borderColor: "#111827",
      borderWidth: 2,
      pointRadius: 10,
      pointHoverRadius: 11,
    });
  }
  return sets;
}

export interface ParetoChartProps {
  front: readonly ParetoSample[];
  pick?: ParetoSample | null;
  caption: string;
  /** What to say while the front is empty. */
  empty: string;
}

export function ParetoChart({ front, pick = null, caption, empty }: ParetoChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"scatter", Point[]> | null>(null);
  const shown = points(front);
  const picked = pick ? (points([pick])[0] ?? null) : null;
  const costs = shown.map((p) => p.cost);
  const low = costs.length ? Math.min(...costs) : 0;
  const high = costs.length ? Math.max(...costs) : 0;

  useEffect(() => {
    if (!canvas.current) return;
    const config: ChartConfiguration<"scatter", Point[]> = {
      type: "scatter",
      data: { datasets: datasets(shown, picked) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          // Grace keeps the extreme points off the axes.
          x: { type: "linear", grace: "8%", title: { display: true, text: "Output throughput (tok/s)" } },
          y: { type: "linear", grace: "8%", title: { display: true, text: "p99 end-to-end latency (ms)" } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const p = item.raw as Point;
                return `${tps(p.x)}, p99 ${ms(p.y)}, ${usdPerHour(p.cost)}`;
              },
            },
          },
        },
      },
    };
    chart.current = new Chart(canvas.current, config);
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    current.data.datasets = datasets(shown, picked);
    current.update("none");
  });

  const summary =
    shown.length === 0
      ? "No feasible configuration yet."
      : `${shown.length} Pareto-optimal configurations, from ${tps(shown[0]?.x)} at p99 ${ms(shown[0]?.y)} ` +
        `to ${tps(shown.at(-1)?.x)} at p99 ${ms(shown.at(-1)?.y)}; cost ${usdPerHour(low)} to ${usdPerHour(high)}.`;
  return (
    <figure class="chart" data-points={shown.length}>
      <div class="chart-box">
        <canvas ref={canvas} role="img" aria-label={`Pareto front scatter. ${summary}`} />
        {shown.length === 0 ? (
          <p class="chart-empty" aria-hidden="true">
            {empty}
          </p>
        ) : null}
      </div>
      <figcaption>
        {shown.length ? <span>{caption}</span> : null}
        {shown.length ? (
          <span class="cost-scale">
            <span>{usdPerHour(low)}</span>
            <span class="cost-ramp" style={{ background: RAMP }} />
            <span>{usdPerHour(high)}</span>
            <span class="muted">cost per hour{picked ? " · ringed: recommended" : ""}</span>
          </span>
        ) : null}
        <span class="visually-hidden">{summary}</span>
        <span class="muted">{shown.length ? `${num(shown.length)} point${shown.length === 1 ? "" : "s"}` : ""}</span>
      </figcaption>
    </figure>
  );
}
