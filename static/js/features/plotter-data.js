// Plotter helpers (no DOM, no Plotly): the binary payload of GET /api/plotter/data, the selection
// geometry (lasso polygon / box in data space, log axes in log10), rows <-> point indices, sizes.

const MAGIC = 0x4c504c4e; // "NLPL" little-endian
const FLAG_Y = 1;
const FLAG_COLOR = 2;
const FLAG_SIZE = 4;

/** Decode the payload (layout in neloura/core/plotter.py) into typed arrays, without copying. */
export function decodePlot(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 16 || view.getUint32(0, true) !== MAGIC) throw new Error('not a plot payload');
  const flags = view.getUint16(6, true);
  const n = view.getUint32(8, true);
  const catalogRows = view.getUint32(12, true);
  let at = 16;
  const rows = new Uint32Array(buffer, at, n);
  at += 4 * n;
  at += (8 - (at % 8)) % 8;
  const x = new Float64Array(buffer, at, n);
  at += 8 * n;
  let y = null;
  let color = null;
  let size = null;
  if (flags & FLAG_Y) { y = new Float64Array(buffer, at, n); at += 8 * n; }
  if (flags & FLAG_COLOR) { color = new Float32Array(buffer, at, n); at += 4 * n; }
  if (flags & FLAG_SIZE) { size = new Float32Array(buffer, at, n); }
  return { n, rows, x, y, color, size, catalogRows };
}

/** Point indices of the given catalog rows (rows of the payload are ascending). */
export function indicesOfRows(payloadRows, rows) {
  const out = [];
  for (const row of rows) {
    let lo = 0;
    let hi = payloadRows.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = payloadRows[mid];
      if (v === row) { out.push(mid); break; }
      if (v < row) lo = mid + 1; else hi = mid - 1;
    }
  }
  return out;
}

const toAxis = (log) => (log ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v);

/**
 * Indices of the points inside a selection: { lasso: {x: [...], y: [...]} } (polygon, data units)
 * or { box: {x: [x0, x1], y: [y0, y1]} }; log axes are straight lines in log10, so both the shape
 * and the points go through log10 there. Even-odd rule; NaN never selected.
 */
export function selectPoints(x, y, shape, { logX = false, logY = false } = {}) {
  const fx = toAxis(logX);
  const fy = toAxis(logY);
  const out = [];
  if (shape.box) {
    const [x0, x1] = shape.box.x.map(fx).sort((a, b) => a - b);
    const [y0, y1] = shape.box.y.map(fy).sort((a, b) => a - b);
    for (let i = 0; i < x.length; i++) {
      const px = fx(x[i]);
      const py = fy(y[i]);
      if (px >= x0 && px <= x1 && py >= y0 && py <= y1) out.push(i);
    }
    return out;
  }
  const px = Float64Array.from(shape.lasso.x, fx);
  const py = Float64Array.from(shape.lasso.y, fy);
  const m = px.length;
  if (m < 3) return out;
  let minX = Infinity; let maxX = -Infinity; let minY = Infinity; let maxY = -Infinity;
  for (let k = 0; k < m; k++) {
    minX = Math.min(minX, px[k]); maxX = Math.max(maxX, px[k]);
    minY = Math.min(minY, py[k]); maxY = Math.max(maxY, py[k]);
  }
  for (let i = 0; i < x.length; i++) {
    const qx = fx(x[i]);
    const qy = fy(y[i]);
    if (!(qx >= minX && qx <= maxX && qy >= minY && qy <= maxY)) continue; // also drops NaN
    let inside = false;
    for (let a = 0, b = m - 1; a < m; b = a++) {
      if ((py[a] > qy) !== (py[b] > qy) && qx < ((px[b] - px[a]) * (qy - py[a])) / (py[b] - py[a]) + px[a]) inside = !inside;
    }
    if (inside) out.push(i);
  }
  return out;
}

/** Marker diameters (px) from a size column: its 1st..99th percentile mapped onto [lo, hi]. */
export function markerSizes(values, lo = 3, hi = 16) {
  const finite = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  const out = new Float32Array(values.length);
  if (!finite.length) return out.fill(lo);
  const a = finite[Math.floor(0.01 * (finite.length - 1))];
  const b = finite[Math.floor(0.99 * (finite.length - 1))];
  const span = b > a ? b - a : 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = Number.isFinite(v) ? lo + (hi - lo) * Math.min(1, Math.max(0, (v - a) / span)) : lo;
  }
  return out;
}

/** Rows of the points in the histogram bins a selection picked (plotly's pointNumbers per bar). */
export function rowsOfBins(points, payloadRows) {
  const rows = [];
  for (const p of points || []) for (const k of p.pointNumbers || []) rows.push(payloadRows[k]);
  return rows.sort((a, b) => a - b);
}

/** [min, max] of the finite values (a small margin; [0, 1] when none). */
export function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;  // NaN compares false both ways
    if (v > hi) hi = v;
  }
  if (!(hi >= lo)) return [0, 1];
  const pad = hi > lo ? 0.01 * (hi - lo) : Math.abs(lo) * 0.01 || 0.5;
  return [lo - pad, hi + pad];
}

/**
 * A 2-D histogram of the points (x[i], y[i]) for i in `indices` (all points when null) in an
 * nx x ny grid over the ranges xr, yr (the axes' current view: re-binned on every pan/zoom).
 * Returns {z, x0, dx, y0, dy, total, max}: z[j][i] is the count of bin (i, j) (j along y), empty
 * bins null (drawn transparent), or log10(count) when `log`; x0/y0 are the first bin's centre
 * (plotly heatmap convention); a point on the upper edge counts in the last bin; NaN never counts.
 */
export function binDensity(x, y, xr, yr, nx, ny, { indices = null, log = true } = {}) {
  const g = grid(xr, yr, nx, ny);
  const counts = new Uint32Array(nx * ny);
  let total = 0;
  const add = (i) => {
    const b = g.bin(x[i], y[i]);
    if (b >= 0) { counts[b] += 1; total += 1; }
  };
  if (indices) for (let k = 0; k < indices.length; k++) add(indices[k]);
  else for (let i = 0; i < x.length; i++) add(i);
  return { ...heatmap(counts, nx, ny, log), x0: g.x0, dx: g.dx, y0: g.y0, dy: g.dy, total };
}

/**
 * The density of all points and of the points whose `mask[i]` is set, in ONE pass over the points
 * (a pan/zoom with a selection re-bins both): [all, selected], each as :func:`binDensity` returns.
 */
export function binDensityPair(x, y, xr, yr, nx, ny, mask, { log = true } = {}) {
  const g = grid(xr, yr, nx, ny);
  const counts = new Uint32Array(nx * ny);
  const picked = new Uint32Array(nx * ny);
  let total = 0;
  let totalPicked = 0;
  for (let i = 0; i < x.length; i++) {
    const b = g.bin(x[i], y[i]);
    if (b < 0) continue;
    counts[b] += 1;
    total += 1;
    if (mask[i]) { picked[b] += 1; totalPicked += 1; }
  }
  const where = { x0: g.x0, dx: g.dx, y0: g.y0, dy: g.dy };
  return [{ ...heatmap(counts, nx, ny, log), ...where, total }, { ...heatmap(picked, nx, ny, log), ...where, total: totalPicked }];
}

/** The bins of a view: bin(px, py) is the flat bin index (row-major, j along y) or -1 outside. */
function grid(xr, yr, nx, ny) {
  const [xa, xb] = xr[0] <= xr[1] ? xr : [xr[1], xr[0]];
  const [ya, yb] = yr[0] <= yr[1] ? yr : [yr[1], yr[0]];
  const dx = (xb - xa) / nx || 1;
  const dy = (yb - ya) / ny || 1;
  const bin = (px, py) => {
    if (!(px >= xa && px <= xb && py >= ya && py <= yb)) return -1;  // NaN fails too
    return Math.min(ny - 1, Math.floor((py - ya) / dy)) * nx + Math.min(nx - 1, Math.floor((px - xa) / dx));
  };
  return { bin, x0: xa + dx / 2, dx, y0: ya + dy / 2, dy };
}

/** Counts -> plotly heatmap rows: null where empty, log10(count) when `log`; and the largest count. */
function heatmap(counts, nx, ny, log) {
  let max = 0;
  const z = new Array(ny);
  for (let j = 0; j < ny; j++) {
    const row = new Array(nx);
    for (let i = 0; i < nx; i++) {
      const c = counts[j * nx + i];
      if (c > max) max = c;
      row[i] = c ? (log ? Math.log10(c) : c) : null;
    }
    z[j] = row;
  }
  return { z, max };
}
