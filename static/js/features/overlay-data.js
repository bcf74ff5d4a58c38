// Catalog overlay, data side: deep-link keys, the binary payload decoder (layout documented in
// neloura/core/overlay.py), colormap lookup tables and the image -> screen frame. No DOM state.

export const LINK_KEYS = ['ra_col', 'dec_col', 'size_col', 'size_unit', 'color_col', 'cmap', 'color_scale', 'filter', 'computed',
  'shape', 'label_col', 'color', 'renderer', 'color_min', 'color_max'];
export const SERVER_KEYS = ['ra_col', 'dec_col', 'size_col', 'size_unit', 'color_col', 'color_scale', 'filter', 'computed'];
export const DEFAULT_STYLE = { shape: 'circle', fill: false, outline: 1.5, opacity: 0.9, color: '#00ff66', cmap: 'viridis',
  minPx: 4, label_col: '' };  // minPx: smallest on-screen radius (CSS px), so markers stay visible at fit zoom

/** Overlay parameters from a query string (`catalog=` plus the LINK_KEYS); null without a catalog. */
export function readDeepLink(search = window.location.search) {
  const q = new URLSearchParams(search);
  const name = q.get('catalog');
  if (!name) return null;
  const out = { name };
  for (const key of LINK_KEYS) if (q.get(key)) out[key] = q.get(key);
  if (q.get('marker_cmap')) out.cmap = q.get('marker_cmap');  // unambiguous alias (cmap also sets the image's)
  return out;
}

/** Every overlay of a query string: the one of `catalog=` and the LINK_KEYS first (the one the panel
 * edits), then one per `overlay=` (each its own URL-encoded query of the same keys). */
export function readDeepLinks(search = window.location.search) {
  const first = readDeepLink(search);
  const more = new URLSearchParams(search).getAll('overlay').map((text) => readDeepLink(`?${text}`)).filter(Boolean);
  return first ? [first, ...more] : more;
}

/** Query string of the page with the overlay keys of `layer` (or none) in place of the old ones;
 * `others` (the panel's other overlays) as `overlay=` keys. */
export function withOverlayQuery(search, layer, others = []) {
  const q = new URLSearchParams(search);
  for (const key of ['catalog', 'marker_cmap', 'overlay', ...LINK_KEYS]) if (key !== 'cmap') q.delete(key);
  for (const other of others) q.append('overlay', withOverlayQuery('', other));
  if (layer) {
    q.set('catalog', layer.name);
    for (const key of SERVER_KEYS) if (layer.params[key]) q.set(key, layer.params[key]);
    if (layer.style.cmap && layer.params.color_col) q.set('marker_cmap', layer.style.cmap);
    if (layer.style.shape !== DEFAULT_STYLE.shape) q.set('shape', layer.style.shape);
    if (layer.style.label_col) q.set('label_col', layer.style.label_col);
    if (layer.style.color !== DEFAULT_STYLE.color) q.set('color', layer.style.color);
    for (const key of ['color_min', 'color_max']) if (Number.isFinite(layer.style[key])) q.set(key, String(layer.style[key]));
  }
  return q.toString();
}

/** Decode the binary payload (layout: neloura/core/overlay.py). */
export function decodeOverlay(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== 'NLOV' || view.getUint16(4, true) !== 1) throw new Error('not an overlay payload');
  const flags = view.getUint16(6, true);
  const n = view.getUint32(8, true);
  const head = {
    count: n, matched: view.getUint32(12, true), sizeConst: view.getFloat32(16, true),
    sizeMin: view.getFloat32(20, true), sizeMax: view.getFloat32(24, true), colorMin: view.getFloat32(28, true),
    colorMax: view.getFloat32(32, true), pixelScale: view.getFloat32(36, true), width: view.getUint32(40, true),
    height: view.getUint32(44, true), colorLog: Boolean(flags & 4), hasColor: Boolean(flags & 2),
  };
  let offset = 48;
  const x = new Float32Array(buffer, offset, n); offset += 4 * n;
  const y = new Float32Array(buffer, offset, n); offset += 4 * n;
  const rows = new Uint32Array(buffer, offset, n); offset += 4 * n;
  const size = new Float32Array(n).fill(head.sizeConst);
  if (flags & 1) {
    const q = new Uint16Array(buffer, offset, n); offset += 2 * n;
    const span = head.sizeMax - head.sizeMin;
    for (let i = 0; i < n; i += 1) if (q[i] !== 65535) size[i] = head.sizeMin + (q[i] / 65534) * span;
  }
  const value = new Float32Array(n).fill(-1);
  if (flags & 2) {
    const q = new Uint16Array(buffer, offset, n);
    for (let i = 0; i < n; i += 1) if (q[i] !== 65535) value[i] = q[i] / 65534;
  }
  return { ...head, x, y, rows, size, value };
}

export async function loadLut(ctx, cmap) {
  const img = new Image();
  img.src = ctx.api.url(`/api/images/colormaps/${encodeURIComponent(cmap)}.png`, { width: 256, height: 1 });
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = 256;
  canvas.height = 1;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  return new Uint8Array(g.getImageData(0, 0, 256, 1).data.buffer);
}

export function frameOf(viewer) {
  const o = viewer.imageToScreen(0, 0);
  const px = viewer.imageToScreen(1, 0);
  const py = viewer.imageToScreen(0, 1);
  const rect = viewer.element.getBoundingClientRect();
  return { a: px.x - o.x, b: px.y - o.y, c: py.x - o.x, d: py.y - o.y, e: o.x, f: o.y, width: rect.width,
    height: rect.height, dpr: window.devicePixelRatio || 1, scale: viewer.imageScale() };
}

/** Screen position (CSS px in the viewer) of marker i of a decoded payload under a frame. */
export function screenOf(frame, data, i) {
  return { x: frame.a * data.x[i] + frame.c * data.y[i] + frame.e, y: frame.b * data.x[i] + frame.d * data.y[i] + frame.f };
}

export function fmtValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(8)));
  return String(v);
}

/** The colour range in use: the user's (`color_min`/`color_max`, in the payload's units: log10 with
 * color_scale=log) or the column's own. */
export function colorRange(data, style) {
  const lo = Number.isFinite(style.color_min) ? style.color_min : data.colorMin;
  const hi = Number.isFinite(style.color_max) ? style.color_max : data.colorMax;
  return [lo, hi];
}

/** Colour positions 0..1 for the colormap over [lo, hi] (clamped; -1 stays "no value"). */
export function rescaleColors(data, lo, hi) {
  const out = new Float32Array(data.count);
  const span = data.colorMax - data.colorMin;
  const width = hi - lo || 1;
  for (let i = 0; i < data.count; i += 1) {
    const v = data.value[i];
    if (v < 0) { out[i] = -1; continue; }
    const t = (data.colorMin + v * span - lo) / width;
    out[i] = t < 0 ? 0 : t > 1 ? 1 : t;
  }
  return out;
}
