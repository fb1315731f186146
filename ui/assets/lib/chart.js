// Time-series charts drawn by uPlot (vendored in /ui/vendor, loaded before
// the modules). One helper for line, stacked-area and bar charts.
import { h } from './dom.js';
import { formatDuration, formatTime } from './time.js';

export const PALETTE = [
  '#3b82f6', '#e8642c', '#22a06b', '#d946ef', '#eab308',
  '#06b6d4', '#ef4444', '#8b5cf6', '#84cc16', '#f97316',
];

/** A compact number for axes and legends: 1234567 → "1.23M". */
export function formatValue(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e15 || a < 1e-3)) return v.toExponential(2);
  for (const [size, unit] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']]) {
    if (a >= size) return `${+(v / size).toFixed(2)}${unit}`;
  }
  return String(+v.toFixed(3));
}

/** Aligns series of [unixSeconds, value] points on one x axis. */
export function align(series) {
  const xs = new Set();
  for (const s of series) for (const [t] of s.points) xs.add(t);
  const x = [...xs].sort((a, b) => a - b);
  const at = new Map(x.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const y = new Array(x.length).fill(null);
    for (const [t, v] of s.points) y[at.get(t)] = v;
    return y;
  });
  return { x, ys };
}

/** The `range`/`end` URL params of a selected time span (unix seconds). */
export function zoomParams(start, end) {
  return { range: formatDuration(Math.max(1, end - start)), end: String(Math.round(end)) };
}

/** Draws `series` ([{label, points}]) into `container`. Options: stacked,
 *  bars, height, and onZoom({range, end}), called when the user drags
 *  across the chart (the page then changes its range, so Back undoes the
 *  zoom). Returns { destroy }. */
export function timeChart(container, series, { stacked = false, bars = false, height = 280, onZoom = null } = {}) {
  const uPlot = window.uPlot;
  if (!uPlot) throw new Error('the chart library did not load');
  const { x, ys } = align(series);
  let drawn = ys;
  if (stacked) {
    // Each series is drawn as the running sum of itself and those before it,
    // filled down to zero; the largest sum is drawn first so that every
    // band stays visible. The legend still shows each series' own value.
    const sums = [];
    let acc = new Array(x.length).fill(0);
    for (const y of ys) {
      acc = acc.map((a, i) => (y[i] === null ? a : a + y[i]));
      sums.push(acc.map((a, i) => (ys.every((s) => s[i] === null) ? null : a)));
    }
    drawn = sums;
  }
  const order = stacked ? [...series.keys()].reverse() : [...series.keys()];
  const barPaths = bars && uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 64] }) : null;
  const opts = {
    width: Math.max(container.clientWidth, 200),
    height,
    scales: { x: { time: true } },
    legend: { live: true },
    // With onZoom the page owns the range: a drag selects, it does not
    // rescale the chart on its own.
    cursor: { drag: { x: true, y: false, setScale: !onZoom } },
    hooks: onZoom ? {
      setSelect: [(u) => {
        if (u.select.width < 4) return;
        const start = u.posToVal(u.select.left, 'x');
        const end = u.posToVal(u.select.left + u.select.width, 'x');
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        onZoom(zoomParams(start, end));
      }],
    } : {},
    axes: [
      { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' } },
      { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' }, values: (u, vals) => vals.map(formatValue), size: 60 },
    ],
    series: [
      { value: (u, v) => (v === null ? '—' : formatTime(v)) },
      ...order.map((i) => {
        const color = PALETTE[i % PALETTE.length];
        return {
          label: series[i].label,
          stroke: color,
          width: bars ? 0 : 1.5,
          fill: stacked || bars ? `${color}${bars ? 'cc' : '55'}` : undefined,
          paths: barPaths || undefined,
          points: { show: false },
          spanGaps: false,
          value: (u, v, si, di) => formatValue(di === null || di === undefined ? null : ys[i][di]),
        };
      }),
    ],
  };
  const data = [x, ...order.map((i) => drawn[i])];
  const holder = h('div', { class: 'chart' });
  container.append(holder);
  const plot = new uPlot(opts, data, holder);
  const resize = new ResizeObserver(() => {
    const w = Math.max(container.clientWidth, 200);
    if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height });
  });
  resize.observe(container);
  return {
    plot,
    destroy() {
      resize.disconnect();
      plot.destroy();
      holder.remove();
    },
  };
}
