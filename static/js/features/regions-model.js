// Regions, data side: the page's region model (0-based image pixels, y up, sizes in pixels, angle
// counter-clockwise from +x, as /api/regions/parse returns them), DS9 image-frame text of the model
// (what the server reads for statistics, conversion and cutouts), the compressed URL form, geometry
// (outline, handles, containment) and CSV of the statistics. No DOM, no fetch.

export const SHAPES = ['circle', 'ellipse', 'box', 'polygon', 'annulus', 'line', 'point', 'text'];
export const AREA = new Set(['circle', 'ellipse', 'box', 'polygon', 'annulus', 'ellipse_annulus', 'box_annulus']);
export const ROTATES = new Set(['ellipse', 'box', 'ellipse_annulus', 'box_annulus']);

let nextId = 1;
/** A region of the model from a parsed server shape (or a drawn one). */
export function makeRegion(s) {
  return {
    id: nextId++,
    shape: s.shape,
    points: s.points.map((p) => [Number(p[0]), Number(p[1])]),
    sizes: (s.sizes || []).map(Number),
    angle: Number(s.angle || 0),
    include: s.include !== false,
    text: s.text || '',
    color: s.color || '',
    point: s.point || '',
  };
}

export function cloneRegion(r) {
  return { ...r, points: r.points.map((p) => [...p]), sizes: [...r.sizes] };
}

const num = (v) => String(Number(v.toFixed(4)));
const clean = (t) => String(t).replace(/[{}\n\r]/g, '');

/** DS9 text of regions in the image frame (1-based pixels, DS9's semi-axes for ellipses). */
export function toDs9(regions) {
  const lines = ['# Region file format: DS9 version 4.1', 'image'];
  for (const r of regions) lines.push(ds9Line(r));
  return `${lines.join('\n')}\n`;
}

export function ds9Line(r) {
  const [x, y] = r.points[0];
  const c = `${num(x + 1)},${num(y + 1)}`;
  const s = r.sizes;
  const a = num(((r.angle % 360) + 360) % 360);
  let body;
  switch (r.shape) {
    case 'circle': body = `circle(${c},${num(s[0])})`; break;
    case 'ellipse': body = `ellipse(${c},${num(s[0] / 2)},${num(s[1] / 2)},${a})`; break;
    case 'box': body = `box(${c},${num(s[0])},${num(s[1])},${a})`; break;
    case 'annulus': body = `annulus(${c},${num(s[0])},${num(s[1])})`; break;
    case 'ellipse_annulus': body = `ellipse(${c},${s.map((v) => num(v / 2)).join(',')},${a})`; break;
    case 'box_annulus': body = `box(${c},${s.map(num).join(',')},${a})`; break;
    case 'polygon': body = `polygon(${r.points.map((p) => `${num(p[0] + 1)},${num(p[1] + 1)}`).join(',')})`; break;
    case 'line': body = `line(${c},${num(r.points[1][0] + 1)},${num(r.points[1][1] + 1)})`; break;
    case 'point': body = `point(${c})`; break;
    case 'text': body = `text(${c})`; break;
    default: throw new Error(`unknown shape ${r.shape}`);
  }
  const meta = [];
  if (r.color) meta.push(`color=${clean(r.color).replace(/\s/g, '')}`);
  if (r.shape === 'point') meta.push(`point=${clean(r.point || 'cross').split(' ')[0]}`);
  if (r.text || r.shape === 'text') meta.push(`text={${clean(r.text || '')}}`);
  return `${r.include ? '' : '-'}${body}${meta.length ? ` # ${meta.join(' ')}` : ''}`;
}

// ---- URL form: deflate-raw + base64url (CompressionStream is in every current browser) ----
export const URL_MAX = 6000;

export async function encodeForUrl(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function decodeFromUrl(value) {
  const b64 = value.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Response(stream).text();
}

// ---- geometry (image pixels) ----
function rot(x, y, deg) {
  const t = (deg * Math.PI) / 180;
  return [x * Math.cos(t) - y * Math.sin(t), x * Math.sin(t) + y * Math.cos(t)];
}

/** Local (unrotated) coordinates of an image point relative to a region's centre. */
export function toLocal(r, x, y) {
  const [cx, cy] = r.points[0];
  return rot(x - cx, y - cy, -r.angle);
}

export function fromLocal(r, lx, ly) {
  const [cx, cy] = r.points[0];
  const [dx, dy] = rot(lx, ly, r.angle);
  return [cx + dx, cy + dy];
}

/** Outer half extents (local frame). */
export function halfSize(r) {
  const s = r.sizes;
  switch (r.shape) {
    case 'circle': return [s[0], s[0]];
    case 'annulus': return [s[1], s[1]];
    case 'ellipse': case 'box': return [s[0] / 2, s[1] / 2];
    case 'ellipse_annulus': case 'box_annulus': return [s[2] / 2, s[3] / 2];
    default: return [0, 0];
  }
}

/** Box corners of a rotated rectangle of full size (w, h). */
export function boxCorners(r, w, h) {
  return [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]].map(([a, b]) => fromLocal(r, a, b));
}

/** Bounding radius (image px) around the centre, for culling and hit tests. */
export function extent(r) {
  if (r.shape === 'polygon' || r.shape === 'line') {
    const [cx, cy] = centre(r);
    return Math.max(...r.points.map(([x, y]) => Math.hypot(x - cx, y - cy)));
  }
  const [a, b] = halfSize(r);
  return Math.hypot(a, b);
}

export function centre(r) {
  if (r.shape === 'polygon' || r.shape === 'line') {
    const n = r.points.length;
    return [r.points.reduce((s, p) => s + p[0], 0) / n, r.points.reduce((s, p) => s + p[1], 0) / n];
  }
  return r.points[0];
}

function insidePolygon(points, x, y) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function segmentDistance([x1, y1], [x2, y2], x, y) {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(x - (x1 + t * dx), y - (y1 + t * dy));
}

/** True when image point (x, y) hits region r; `tol` is the pick tolerance in image px. */
export function hits(r, x, y, tol) {
  const [lx, ly] = AREA.has(r.shape) && r.shape !== 'polygon' ? toLocal(r, x, y) : [0, 0];
  const [a, b] = halfSize(r);
  switch (r.shape) {
    case 'circle': case 'annulus': return Math.hypot(lx, ly) <= a + tol;
    case 'ellipse': case 'ellipse_annulus': return (lx / (a + tol)) ** 2 + (ly / (b + tol)) ** 2 <= 1;
    case 'box': case 'box_annulus': return Math.abs(lx) <= a + tol && Math.abs(ly) <= b + tol;
    case 'polygon': return insidePolygon(r.points, x, y) || r.points.some((p, i) => segmentDistance(p, r.points[(i + 1) % r.points.length], x, y) <= tol);
    case 'line': return segmentDistance(r.points[0], r.points[1], x, y) <= tol;
    default: return Math.hypot(x - r.points[0][0], y - r.points[0][1]) <= Math.max(tol, 4 * tol);
  }
}

/** Edit handles of a selected region: [{kind: 'size'|'inner'|'vertex'|'rotate', i?, x, y}] in image px;
 * `rotatePx` is the rotate handle's distance beyond the top edge, in image px. */
export function handles(r, rotatePx) {
  const out = [];
  const [a, b] = halfSize(r);
  switch (r.shape) {
    case 'circle': out.push({ kind: 'size', ...xy(fromLocal(r, a, 0)) }); break;
    case 'annulus':
      out.push({ kind: 'size', ...xy(fromLocal(r, a, 0)) }, { kind: 'inner', ...xy(fromLocal(r, -r.sizes[0], 0)) });
      break;
    case 'polygon': case 'line': r.points.forEach((p, i) => out.push({ kind: 'vertex', i, x: p[0], y: p[1] })); break;
    case 'ellipse': case 'box': case 'ellipse_annulus': case 'box_annulus':
      out.push({ kind: 'size', ...xy(fromLocal(r, a, b)) }, { kind: 'width', ...xy(fromLocal(r, a, 0)) },
        { kind: 'height', ...xy(fromLocal(r, 0, b)) }, { kind: 'rotate', ...xy(fromLocal(r, 0, b + rotatePx)) });
      break;
    default: break;
  }
  return out;
}
const xy = ([x, y]) => ({ x, y });

/** Apply a handle drag (image point x, y) to region r in place. */
export function dragHandle(r, handle, x, y) {
  const [lx, ly] = toLocal(r, x, y);
  const s = r.sizes;
  const grow = (wNew, hNew) => {
    if (r.shape === 'ellipse' || r.shape === 'box') { r.sizes = [wNew ?? s[0], hNew ?? s[1]]; return; }
    const fw = wNew ? wNew / s[2] : 1;
    const fh = hNew ? hNew / s[3] : 1;
    r.sizes = [s[0] * fw, s[1] * fh, s[2] * fw, s[3] * fh];
  };
  switch (handle.kind) {
    case 'size':
      if (r.shape === 'circle') r.sizes = [Math.max(0.5, Math.hypot(lx, ly))];
      else if (r.shape === 'annulus') r.sizes = [s[0], Math.max(s[0] + 0.5, Math.hypot(lx, ly))];
      else grow(Math.max(1, 2 * Math.abs(lx)), Math.max(1, 2 * Math.abs(ly)));
      break;
    case 'inner': r.sizes = [Math.max(0.5, Math.min(s[1] - 0.5, Math.hypot(lx, ly))), s[1]]; break;
    case 'width': grow(Math.max(1, 2 * Math.abs(lx)), null); break;
    case 'height': grow(null, Math.max(1, 2 * Math.abs(ly))); break;
    case 'vertex': r.points[handle.i] = [x, y]; break;
    case 'rotate': {
      const [cx, cy] = r.points[0];
      r.angle = ((((Math.atan2(y - cy, x - cx) * 180) / Math.PI - 90) % 360) + 360) % 360;
      break;
    }
    default: break;
  }
}

export function moveBy(r, dx, dy) {
  r.points = r.points.map(([x, y]) => [x + dx, y + dy]);
}

// ---- statistics CSV ----
export const STAT_COLUMNS = ['index', 'shape', 'npix', 'area_px', 'area_arcsec2', 'sum', 'mean', 'median', 'std', 'min', 'max',
  'flux', 'flux_unit', 'background', 'net_flux'];

export function statsCsv(rows) {
  const cell = (v) => {
    if (v === null || v === undefined) return '';
    const t = String(v);
    return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  return [STAT_COLUMNS.join(','), ...rows.map((r) => STAT_COLUMNS.map((k) => cell(k === 'index' ? r.index + 1 : r[k])).join(','))].join('\n') + '\n';
}
