// Line charts for the analysis views, drawn by uPlot (www/vendor, copied from npm by scripts/build-web.sh).
import uPlot from './vendor/uPlot.esm.js';

// Colours for the series, in order (then again).
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f',
  '#bcbd22'];

// The stylesheet, linked once.
function linkStyle() {
  if (document.querySelector('link[data-uplot]')) return;
  const link = Object.assign(document.createElement('link'), { rel: 'stylesheet', href: new URL('./vendor/uPlot.min.css', import.meta.url).href });
  link.dataset.uplot = '';
  document.head.append(link);
}

/**
 * Draws a line chart into `container` (replacing what it held), as wide as the container and `height` px tall
 * (default 240), and returns the uPlot instance. `x`: the x values, ascending; `series`: [{label, values}],
 * each with a value (or null for a gap) per x. Optional: `xFormat(v)` and `yFormat(v)` for axis and legend
 * values, `points` to mark every value (default: when there are at most 30 of them), `yMin` / `yMax`.
 */
export function lineChart(container, { title, xLabel, yLabel, x, series, xFormat, yFormat, height = 240, points, yMin, yMax }) {
  linkStyle();
  container.replaceChildren();
  const show = points ?? x.length <= 30;
  const width = Math.max(200, Math.floor(container.clientWidth || container.getBoundingClientRect().width || 480));
  const fmt = (f) => (f ? (u, v) => (v == null ? '—' : f(v)) : undefined);
  const opts = {
    title,
    width,
    height,
    scales: {
      x: { time: false },
      y: yMin != null || yMax != null ? { range: (u, lo, hi) => [yMin ?? lo, yMax ?? hi] } : {},
    },
    axes: [
      { label: xLabel, ...(xFormat && { values: (u, splits) => splits.map((v) => xFormat(v)) }) },
      { label: yLabel, ...(yFormat && { values: (u, splits) => splits.map((v) => yFormat(v)) }) },
    ],
    series: [
      { label: xLabel ?? 'x', value: fmt(xFormat) },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: COLOURS[i % COLOURS.length],
        width: 1.5,
        points: { show },
        value: fmt(yFormat),
      })),
    ],
  };
  const chart = new uPlot(opts, [x, ...series.map((s) => s.values)], container);
  // Follows the container's width.
  if (typeof ResizeObserver === 'function') {
    const observer = new ResizeObserver(() => {
      if (!chart.root.isConnected) return observer.disconnect();
      const w = Math.floor(container.clientWidth);
      if (w > 0 && w !== chart.width) chart.setSize({ width: w, height });
    });
    observer.observe(container);
  }
  return chart;
}
