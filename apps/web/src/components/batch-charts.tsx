import uPlot from 'uplot';
import { fmt } from '../format';
import type { BatchStats, Histogram } from '@dllm/contract';
import { axis, barsPath, Chart, COLORS } from './chart';

const stepped = uPlot.paths.stepped!({ align: 1 });

/**
 * Tokens per second in each time bucket since the first item started (stepped: a bucket is one
 * rate), with the running count of completed items on the right axis.
 */
export function ThroughputChart({ stats, ended }: { stats: BatchStats; ended: boolean }) {
  const points = stats.throughput.points;
  if (!points.some((p) => p.items > 0)) {
    return (
      <div class="chart-empty">{ended ? 'No item completed.' : 'No item has completed yet.'}</div>
    );
  }
  const width = stats.throughput.bucket_seconds ?? 1;
  let done = 0;
  const cumulative = points.map((p) => (done += p.items));
  // A stepped series needs the end of the last bucket too.
  const xs = [...points.map((p) => p.t), points[points.length - 1]!.t + width];
  const rates = [
    ...points.map((p) => p.tokens_per_second),
    points[points.length - 1]!.tokens_per_second,
  ];
  const items = [0, ...cumulative];
  const data: uPlot.AlignedData = [xs, rates, items];
  return (
    <Chart
      shape="throughput"
      data={data}
      height={240}
      options={{
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: false },
          y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] },
          items: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.05] },
        },
        axes: [
          axis(
            `seconds since the first item started (${fmt.num(width, 2)} s buckets)`,
            (_u, vals) => vals.map((v) => fmt.num(v, 2)),
          ),
          axis('tokens / s'),
          { ...axis('items completed'), scale: 'items', side: 1, grid: { show: false } },
        ],
        series: [
          {},
          {
            label: 'tokens/s',
            stroke: COLORS.accent,
            fill: COLORS.accentFill,
            width: 1.5,
            paths: stepped,
            points: { show: false },
          },
          {
            label: 'items completed',
            scale: 'items',
            stroke: COLORS.teal,
            width: 2,
            points: { show: false },
          },
        ],
      }}
    />
  );
}

/** Completed items per bin; each bin is labelled by where it starts. */
export function HistogramChart({
  histogram,
  label,
  color,
  fill,
  name,
  unit,
}: {
  histogram: Histogram;
  label: string;
  color: string;
  fill: string;
  name: string;
  unit?: 'ms';
}) {
  const bins = histogram.bins;
  if (bins.length === 0) return <div class="chart-empty">No completed item yet.</div>;
  const show = (n: number) =>
    unit === 'ms' ? (n >= 1000 ? `${fmt.num(n / 1000, 1)}s` : `${n}ms`) : fmt.int(n);
  const labelOf = (i: number): string => {
    const b = bins[Math.round(i)];
    return b && Math.abs(i - Math.round(i)) < 0.01 ? show(b.from) : '';
  };
  // an empty bin is no bar (uPlot would stroke a zero-height one along the axis)
  const data: uPlot.AlignedData = [
    bins.map((_, i) => i),
    bins.map((b) => (b.count > 0 ? b.count : null)),
  ];
  return (
    <Chart
      shape={`hist-${name}-${bins.length}`}
      height={200}
      data={data}
      options={{
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: false, range: [-0.6, bins.length - 0.4] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.15] },
        },
        axes: [
          { ...axis(label, (_u, vals) => vals.map(labelOf)), space: 40 },
          axis('items', (_u, vals) => vals.map((v) => (Number.isInteger(v) ? fmt.int(v) : ''))),
        ],
        series: [
          {},
          {
            label: 'items',
            stroke: color,
            fill,
            width: 1,
            paths: barsPath,
            points: { show: false },
          },
        ],
      }}
    />
  );
}

export const forwardsColors = { color: COLORS.teal, fill: COLORS.tealFill };
export const computeColors = { color: COLORS.amber, fill: COLORS.amberFill };
