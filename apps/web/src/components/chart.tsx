import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export const COLORS = {
  accent: '#4f46e5',
  accentFill: 'rgba(79, 70, 229, 0.14)',
  accentBar: 'rgba(79, 70, 229, 0.6)',
  teal: '#0d9488',
  tealFill: 'rgba(13, 148, 136, 0.55)',
  amber: '#d97706',
  amberFill: 'rgba(217, 119, 6, 0.55)',
  grid: '#eef0f4',
  axis: '#6b7280',
};

export const axis = (label?: string, values?: uPlot.Axis['values']): uPlot.Axis => ({
  stroke: COLORS.axis,
  grid: { stroke: COLORS.grid, width: 1 },
  ticks: { stroke: COLORS.grid, width: 1 },
  font: '11px system-ui, sans-serif',
  labelFont: '11px system-ui, sans-serif',
  label,
  labelSize: label ? 18 : 0,
  values,
});

/**
 * A uPlot chart that fills its container's width. `shape` names the options: when it changes the
 * chart is rebuilt; otherwise new data is drawn into the same chart.
 */
export function Chart({
  options,
  data,
  height = 220,
  shape,
}: {
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  height?: number;
  shape: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const chart = new uPlot({ ...options, width: Math.max(el.clientWidth, 200), height }, data, el);
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(el.clientWidth, 200), height }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // rebuilt only when the shape changes; new data goes through setData below
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div class="chart" ref={box} />;
}

/** Bars for histograms: x is the bin index, labels come from the bins. */
export const barsPath = uPlot.paths.bars!({ size: [0.82, 64], gap: 1 });
