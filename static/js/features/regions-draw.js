// Regions, drawing: every region in ONE 2-D canvas layer (the viewer's addCanvasLayer), batched into
// one path per colour, culled to the visible image rectangle; outlines are drawn in image
// coordinates under the image -> screen transform (so ellipses and rotated boxes are exact), points,
// labels and handles in screen pixels. Text reaches the canvas only through fillText.

import { AREA, boxCorners, centre, extent, halfSize, handles } from './regions-model.js';

export const DEFAULT_COLOR = '#39e75f';
const SELECTED = '#ffd23f';
const HANDLE_PX = 7;
export const ROTATE_PX = 22;

export function frameOf(viewer) {
  const o = viewer.imageToScreen(0, 0);
  const px = viewer.imageToScreen(1, 0);
  const py = viewer.imageToScreen(0, 1);
  return { a: px.x - o.x, b: px.y - o.y, c: py.x - o.x, d: py.y - o.y, e: o.x, f: o.y, scale: viewer.imageScale() };
}

export const toScreen = (f, x, y) => [f.a * x + f.c * y + f.e, f.b * x + f.d * y + f.f];

function outline(g, r) {
  const [cx, cy] = r.points[0];
  const s = r.sizes;
  const t = (r.angle * Math.PI) / 180;
  const ring = (rx, ry) => { g.moveTo(cx + rx * Math.cos(t), cy + rx * Math.sin(t)); g.ellipse(cx, cy, rx, ry, t, 0, 2 * Math.PI); };
  const rect = (w, h) => { const c = boxCorners(r, w, h); g.moveTo(...c[0]); for (let i = 1; i < 4; i += 1) g.lineTo(...c[i]); g.closePath(); };
  switch (r.shape) {
    case 'circle': g.moveTo(cx + s[0], cy); g.arc(cx, cy, s[0], 0, 2 * Math.PI); break;
    case 'annulus': for (const rr of s) { g.moveTo(cx + rr, cy); g.arc(cx, cy, rr, 0, 2 * Math.PI); } break;
    case 'ellipse': ring(s[0] / 2, s[1] / 2); break;
    case 'ellipse_annulus': ring(s[0] / 2, s[1] / 2); ring(s[2] / 2, s[3] / 2); break;
    case 'box': rect(s[0], s[1]); break;
    case 'box_annulus': rect(s[0], s[1]); rect(s[2], s[3]); break;
    case 'polygon': g.moveTo(...r.points[0]); for (const p of r.points.slice(1)) g.lineTo(...p); g.closePath(); break;
    case 'line': g.moveTo(...r.points[0]); g.lineTo(...r.points[1]); break;
    default: break;
  }
}

function symbol(g, x, y, kind) {
  const k = 5;
  switch ((kind || 'cross').split(' ')[0]) {
    case 'circle': g.moveTo(x + k, y); g.arc(x, y, k, 0, 2 * Math.PI); break;
    case 'box': g.rect(x - k, y - k, 2 * k, 2 * k); break;
    case 'diamond': g.moveTo(x, y - k); g.lineTo(x + k, y); g.lineTo(x, y + k); g.lineTo(x - k, y); g.closePath(); break;
    case 'x': g.moveTo(x - k, y - k); g.lineTo(x + k, y + k); g.moveTo(x + k, y - k); g.lineTo(x - k, y + k); break;
    default: g.moveTo(x - k, y); g.lineTo(x + k, y); g.moveTo(x, y - k); g.lineTo(x, y + k); break;
  }
}

/** Draw `regions` (and the selection's handles) on a canvas 2-D context already scaled to CSS px. */
export function drawRegions(g, viewer, regions, { selected = null, draft = null } = {}) {
  const f = frameOf(viewer);
  if (!Number.isFinite(f.scale) || f.scale <= 0) return 0;
  const view = viewer.visibleImageRect();
  const visible = (r) => {
    const [x, y] = centre(r);
    const e = extent(r) + 20 / f.scale;
    return x + e >= view.x0 && x - e <= view.x1 && y + e >= view.y0 && y - e <= view.y1;
  };
  const groups = new Map();
  let drawn = 0;
  for (const r of regions) {
    if (r === selected || !visible(r)) continue;
    const key = `${r.color || DEFAULT_COLOR}|${r.include ? 1 : 0}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
    drawn += 1;
  }
  const all = [...groups.entries()];
  if (selected) all.push([`${SELECTED}|${selected.include ? 1 : 0}`, [selected]]);
  if (draft) all.push([`${SELECTED}|1`, [draft]]);
  for (const [key, list] of all) {
    const [color, include] = key.split('|');
    g.strokeStyle = color;
    g.fillStyle = color;
    g.setLineDash(include === '1' ? [] : [6, 4]);
    g.lineWidth = 1.5;
    g.save();
    g.transform(f.a, f.b, f.c, f.d, f.e, f.f);
    g.beginPath();
    for (const r of list) if (AREA.has(r.shape) || r.shape === 'line') outline(g, r);
    g.restore();
    g.stroke();
    g.beginPath();
    for (const r of list) if (r.shape === 'point') symbol(g, ...toScreen(f, ...r.points[0]), r.point);
    g.stroke();
    labels(g, f, list);
  }
  g.setLineDash([]);
  if (selected) drawHandles(g, f, selected);
  return drawn;
}

function labels(g, f, list) {
  const withText = list.filter((r) => r.text || r.shape === 'text');
  if (!withText.length || withText.length > 2000) return;
  g.font = '12px sans-serif';
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  for (const r of withText) {
    const [x, y] = r.shape === 'text' ? r.points[0] : [centre(r)[0], centre(r)[1] + halfSize(r)[1]];
    const [sx, sy] = toScreen(f, x, y);
    g.fillText(r.text || (r.shape === 'text' ? '(text)' : ''), sx, r.shape === 'text' ? sy : sy - 9);
  }
}

function drawHandles(g, f, r) {
  g.fillStyle = SELECTED;
  g.strokeStyle = '#000';
  g.lineWidth = 1;
  for (const h of handles(r, ROTATE_PX / f.scale)) {
    const [x, y] = toScreen(f, h.x, h.y);
    g.beginPath();
    if (h.kind === 'rotate') g.arc(x, y, HANDLE_PX / 2 + 1, 0, 2 * Math.PI);
    else g.rect(x - HANDLE_PX / 2, y - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
    g.fill();
    g.stroke();
  }
}

/** The handle of the selected region under screen point (sx, sy), or null. */
export function hitHandle(viewer, r, sx, sy) {
  if (!r) return null;
  const f = frameOf(viewer);
  for (const h of handles(r, ROTATE_PX / f.scale)) {
    const [x, y] = toScreen(f, h.x, h.y);
    if (Math.abs(x - sx) <= HANDLE_PX && Math.abs(y - sy) <= HANDLE_PX) return h;
  }
  return null;
}
