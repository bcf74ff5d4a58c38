// Plotter helper (not a feature: not in main.js FEATURES): the plotly.js figure of a plot (traces
// and layout of a scattergl, a histogram or a 2-D density) and the density's grids, the counts
// binned for the axes' current ranges. No DOM, no Plotly calls: plotter.js draws what these return.
import { binDensity, binDensityPair, extent, markerSizes } from './plotter-data.js';

export const DENSITY_ABOVE = 100_000;  // auto: a scatter up to this many points, a binned density above
const DENSITY_BINS = 200;  // bins a side at most (fewer points: about sqrt(n) bins, 40 at least)
const SELECTED = '#ff3030';

const log10 = (values) => Float64Array.from(values, (v) => (v > 0 ? Math.log10(v) : NaN));

/** The figure of plot `spec` ({x, y, color, size, kind, logX, logY}) over payload `data`:
 * { traces, layout, density }, density the binned view of a density plot (createDensity), else null. */
export function figure(spec, data) {
  const axis = (title, log) => ({ title: { text: title }, type: log ? 'log' : 'linear', gridcolor: '#262e40', zerolinecolor: '#394257' });
  const layout = {
    paper_bgcolor: '#131822', plot_bgcolor: '#0b0e14', font: { color: '#d7dde8', size: 11 },
    margin: { l: 60, r: 20, t: 10, b: 44 }, dragmode: spec.kind === 'histogram' ? 'select' : 'lasso',
    hovermode: data.n > DENSITY_ABOVE ? false : 'closest', showlegend: false,
    xaxis: axis(spec.x, spec.logX && spec.kind !== 'histogram'), yaxis: axis(spec.y || 'count', spec.logY),
  };
  if (spec.kind === 'histogram') {
    const x = spec.logX ? log10(data.x) : data.x;
    layout.xaxis.title.text = spec.logX ? `log10(${spec.x})` : spec.x;
    return { layout, density: null, traces: [{ type: 'histogram', x, nbinsx: 80, marker: { color: '#5aa9ff' },
      selected: { marker: { color: SELECTED } }, unselected: { marker: { opacity: 0.45 } } }] };
  }
  const marker = { size: spec.size && data.size ? markerSizes(data.size) : data.n > DENSITY_ABOVE ? 2 : 4, color: '#5aa9ff' };
  if (spec.color && data.color) {
    Object.assign(marker, { color: data.color, colorscale: 'Viridis', showscale: true,
      colorbar: { title: { text: spec.color, side: 'right' }, thickness: 12 } });
  }
  const scatter = { type: 'scattergl', mode: 'markers', x: data.x, y: data.y, marker,
    selected: { marker: { color: SELECTED, opacity: 1 } }, unselected: { marker: { opacity: 0.3 } },
    hovertemplate: `${spec.x}=%{x}<br>${spec.y}=%{y}<extra></extra>` };
  if (spec.kind === 'scatter') return { layout, density: null, traces: [scatter] };
  // density: the counts binned here for the axes' current ranges (a 200x200 heatmap, re-binned
  // on every pan/zoom, TOPCAT/CARTA style), never one WebGL point each; the selection is a
  // second heatmap of the selected points' counts in the same bins, and an empty SVG scatter
  // lets plotly draw the lasso/box (its shape is evaluated on the data, not on the bins)
  layout.xaxis.type = 'linear'; layout.yaxis.type = 'linear';
  const density = createDensity(spec.logX ? log10(data.x) : data.x, spec.logY ? log10(data.y) : data.y);
  if (spec.logX) layout.xaxis.title.text = `log10(${spec.x})`;
  if (spec.logY) layout.yaxis.title.text = `log10(${spec.y})`;
  Object.assign(layout.xaxis, { range: density.view.x.slice(), autorange: false });
  Object.assign(layout.yaxis, { range: density.view.y.slice(), autorange: false });
  const [all, picked] = density.grids([]);
  const counts = { type: 'heatmap', ...all, colorscale: 'Viridis', zsmooth: false, hoverinfo: 'skip',
    colorbar: { title: { text: 'log10 count', side: 'right' }, thickness: 12 } };
  const selection = { type: 'heatmap', ...picked, showscale: false, zsmooth: false, hoverinfo: 'skip',
    colorscale: [[0, 'rgba(255,48,48,0.75)'], [1, 'rgba(255,48,48,1)']] };
  const anchor = { type: 'scatter', mode: 'markers', x: [], y: [], hoverinfo: 'skip' };
  return { layout, density, traces: [counts, selection, anchor] };
}

const attrs = (g) => ({ z: g.z, x0: g.x0, dx: g.dx, y0: g.y0, dy: g.dy });

/** The binned density of the points (hx, hy) (log10 of the values on a log axis) over `view`
 * ({x: [lo, hi], y: [lo, hi]}, the data's extent at first; set it after a pan/zoom). Grids are
 * heatmap attributes {z, x0, dx, y0, dy}; `selected` are point indices. */
export function createDensity(hx, hy) {
  const n = Math.max(40, Math.min(DENSITY_BINS, Math.round(Math.sqrt(hx.length))));
  let cached = null;  // { source: selected indices, mask }: kept until the selection changes

  /** 1 for the selected points. */
  function selectionMask(selected) {
    if (cached?.source !== selected) {
      const mask = new Uint8Array(hx.length);
      for (const i of selected) mask[i] = 1;
      cached = { source: selected, mask };
    }
    return cached.mask;
  }

  const density = {
    hx,
    hy,
    view: { x: extent(hx), y: extent(hy) },
    /** [all points, selected points]: one pass over the points when some are selected (their
     * mask), the selected grid alone otherwise (empty). */
    grids(selected) {
      const { x, y } = density.view;
      if (selected?.length) return binDensityPair(hx, hy, x, y, n, n, selectionMask(selected)).map(attrs);
      return [attrs(binDensity(hx, hy, x, y, n, n)), attrs(binDensity(hx, hy, x, y, n, n, { indices: [] }))];
    },
    /** The selected points' grid alone (a new selection: the all-points grid has not changed). */
    selectedGrid(selected) {
      return attrs(binDensity(hx, hy, density.view.x, density.view.y, n, n, { indices: selected || [] }));
    },
  };
  return density;
}
