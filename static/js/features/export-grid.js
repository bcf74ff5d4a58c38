// Export helper (not a feature: not in main.js FEATURES): a WCS coordinate grid (RA/Dec lines at
// round intervals, labelled in sexagesimal) drawn on the export canvas. Lines come from the
// server's full WCS (POST /api/images/pixel-to-world for the field, /world-to-pixel for the lines).

import { decToDms, raToHms } from '../lib/format.js';

const STEPS_ARCSEC = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 18000, 36000, 72000, 180000, 360000];

function niceStep(span, steps, wanted = 4) {
  return steps.find((s) => span / s <= wanted) || steps[steps.length - 1];
}

function values(lo, hi, step) {
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

/** Draw the grid over an image region; toExport(x, y) maps 0-based image px to export px. */
export async function drawGrid(ctx, g, rect, toExport, { scale = 1, width, height }) {
  const image = ctx.viewer.image;
  if (!image?.info?.wcs?.has_celestial) return false;
  const base = { path: image.path, hdu: image.hdu, plane: image.plane || 0 };
  const n = 9;
  const xs = [];
  const ys = [];
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j < n; j += 1) {
      xs.push(rect.x0 + ((rect.x1 - rect.x0) * i) / (n - 1));
      ys.push(rect.y0 + ((rect.y1 - rect.y0) * j) / (n - 1));
    }
  }
  const sky = await ctx.api.post('/api/images/pixel-to-world', { ...base, x: xs, y: ys });
  const ok = sky.ra_deg.map((v, k) => v !== null && sky.dec_deg[k] !== null);
  const decs = sky.dec_deg.filter((v, k) => ok[k]);
  if (decs.length < 4) return false;
  const ref = sky.ra_deg[Math.floor(sky.ra_deg.length / 2)] ?? sky.ra_deg.find((v) => v !== null);
  const ras = sky.ra_deg.filter((v, k) => ok[k]).map((v) => ref + ((((v - ref) % 360) + 540) % 360) - 180); // unwrapped near ref
  const [raLo, raHi] = [Math.min(...ras), Math.max(...ras)];
  const [decLo, decHi] = [Math.min(...decs), Math.max(...decs)];
  // RA lines at round seconds/minutes of time, Dec lines at round arcseconds/minutes
  const raStep = niceStep((raHi - raLo) * 240, STEPS_ARCSEC) / 240;
  const decStep = niceStep((decHi - decLo) * 3600, STEPS_ARCSEC) / 3600;
  const lines = [];
  const samples = 40;
  for (const ra of values(raLo, raHi, raStep)) {
    lines.push({ kind: 'ra', value: ((ra % 360) + 360) % 360, pts: Array.from({ length: samples }, (_, k) => [ra, decLo + ((decHi - decLo) * k) / (samples - 1)]) });
  }
  for (const dec of values(decLo, decHi, decStep)) {
    lines.push({ kind: 'dec', value: dec, pts: Array.from({ length: samples }, (_, k) => [raLo + ((raHi - raLo) * k) / (samples - 1), dec]) });
  }
  if (!lines.length) return false;
  const flat = lines.flatMap((l) => l.pts);
  const px = await ctx.api.post('/api/images/world-to-pixel', { ...base, ra_deg: flat.map((p) => ((p[0] % 360) + 360) % 360), dec_deg: flat.map((p) => p[1]) });
  g.save();
  g.strokeStyle = 'rgba(120, 200, 255, 0.55)';
  g.lineWidth = Math.max(1, scale);
  g.fillStyle = '#bfe3ff';
  g.font = `${11 * scale}px sans-serif`;
  g.shadowColor = '#000';
  g.shadowBlur = 3 * scale;
  let k = 0;
  const decimals = decStep * 3600 < 1 ? 1 : 0;
  for (const line of lines) {
    g.beginPath();
    let first = null;
    let last = null;
    for (let i = 0; i < line.pts.length; i += 1, k += 1) {
      const x = px.x_pix[k];
      const y = px.y_pix[k];
      if (x === null || y === null) continue;
      const p = toExport(x, y);
      if (!last) g.moveTo(p.x, p.y); else g.lineTo(p.x, p.y);
      last = p;
      if (p.x >= 0 && p.y >= 0 && p.x <= width && p.y <= height && !first) first = p;
    }
    g.stroke();
    // label where the line enters the picture, kept inside it
    const at = first || last;
    if (!at) continue;
    const text = line.kind === 'ra' ? raToHms(line.value, raStep * 240 < 1 ? 1 : 0) : decToDms(line.value, decimals);
    const w = g.measureText(text).width;
    g.fillText(text, Math.min(Math.max(at.x + 3 * scale, 2), width - w - 2), Math.min(Math.max(at.y - 3 * scale, 12 * scale), height - 3 * scale));
  }
  g.restore();
  return true;
}
