// Export the current view as PNG, with a colorbar, at a chosen resolution: the visible region
// is re-assembled from the server's tiles at the level that matches the output size (not a
// screenshot), so a 4x export has 4x the detail when the image has it. The visible overlays
// come along: features that draw vectors answer 'export:collect' (the catalog overlay redraws its
// markers at the export's resolution), other viewer layers (canvases) are composited as drawn;
// an optional WCS grid (export-grid.js) and the colorbar (with its unit, nothing clipped).
//
// Bus: listens to export:png; emits export:collect { layers: [] } and draws every
// `layer(g, frame)` pushed into it (frame = image px -> export px, as overlay-gl.js frames).

import { formatValue } from '../lib/format.js';
import { drawGrid } from './export-grid.js';

const TILE = 256;
const MAX_TILES = 600;

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not load ${src}`));
    img.src = src;
  });
}

function levelGeometry(image, rect, outW) {
  const { width: W, height: H, info } = image;
  const x0 = Math.max(-0.5, rect.x0);
  const x1 = Math.min(W - 0.5, rect.x1);
  const y0 = Math.max(-0.5, rect.y0);
  const y1 = Math.min(H - 0.5, rect.y1);
  const perImagePx = outW / (x1 - x0);
  const f = 2 ** Math.max(0, Math.min(info.max_level, Math.floor(Math.log2(Math.max(1, 1 / perImagePx)))));
  const level = info.max_level - Math.log2(f);
  // level pixel coordinates: origin top-left of the image (display orientation)
  const box = { left: (x0 + 0.5) / f, right: (x1 + 0.5) / f, top: (H - (y1 + 0.5)) / f, bottom: (H - (y0 + 0.5)) / f };
  return { level, f, box, lw: Math.ceil(W / f), lh: Math.ceil(H / f) };
}

// The view as shown, straight (no rotation, no flip): the visible part of the image, cropped to it.
function straightPlan(viewer, scale) {
  const image = viewer.image;
  const r = viewer.element.getBoundingClientRect();
  const rect = viewer.visibleImageRect();
  const g0 = levelGeometry(image, rect, r.width * scale);
  const { box } = g0;
  const s = (r.width * scale) / ((rect.x1 - rect.x0) / g0.f);
  const H = image.height;
  // image px (0-based, y up) -> export px: level coordinates (origin top-left) scaled by s
  const toExport = (x, y) => ({ x: ((x + 0.5) / g0.f - box.left) * s, y: ((H - (y + 0.5)) / g0.f - box.top) * s });
  // level px -> export px, for the tiles
  const tileMatrix = [s, 0, 0, s, -box.left * s, -box.top * s];
  return { ...g0, rect, toExport, tileMatrix, outW: Math.round((box.right - box.left) * s), outH: Math.round((box.bottom - box.top) * s), smooth: s < 1 };
}

// A panel whose view is rotated or mirrored (locked to an image of another orientation or parity):
// the whole panel as shown, the tiles drawn through the view's own image -> screen map, scaled.
function turnedPlan(viewer, scale) {
  const image = viewer.image;
  const { width: W, height: H, info } = image;
  const r = viewer.element.getBoundingClientRect();
  const rect = viewer.visibleImageRect();
  const o = viewer.imageToScreen(0, 0);
  const px = viewer.imageToScreen(1, 0);
  const py = viewer.imageToScreen(0, 1);
  const [a, b, c, d] = [px.x - o.x, px.y - o.y, py.x - o.x, py.y - o.y].map((v) => v * scale);
  const [e, f] = [o.x * scale, o.y * scale];
  const toExport = (x, y) => ({ x: a * x + c * y + e, y: b * x + d * y + f });
  const perImagePx = Math.hypot(a, b);
  const k = 2 ** Math.max(0, Math.min(info.max_level, Math.floor(Math.log2(Math.max(1, 1 / perImagePx)))));
  const clip = { x0: Math.max(-0.5, rect.x0), x1: Math.min(W - 0.5, rect.x1), y0: Math.max(-0.5, rect.y0), y1: Math.min(H - 0.5, rect.y1) };
  const box = { left: (clip.x0 + 0.5) / k, right: (clip.x1 + 0.5) / k, top: (H - (clip.y1 + 0.5)) / k, bottom: (H - (clip.y0 + 0.5)) / k };
  // level px (u, v), origin top-left: image x = u k - 0.5, y = H - v k - 0.5
  const tileMatrix = [a * k, b * k, -c * k, -d * k, e - 0.5 * a + c * (H - 0.5), f - 0.5 * b + d * (H - 0.5)];
  return { level: info.max_level - Math.log2(k), f: k, box, lw: Math.ceil(W / k), lh: Math.ceil(H / k), rect, toExport, tileMatrix,
    outW: Math.round(r.width * scale), outH: Math.round(r.height * scale), smooth: perImagePx * k < 1 };
}

function isTurned(viewer) {
  const o = viewer.orientation();
  const rot = ((o.rotation % 360) + 360) % 360;
  return o.flip || (rot > 1e-6 && rot < 360 - 1e-6);
}

async function render(ctx, scale, withColorbar, withGrid = false) {
  const { viewer } = ctx;
  const r = viewer.element.getBoundingClientRect();
  const plan = isTurned(viewer) ? turnedPlan(viewer, scale) : straightPlan(viewer, scale);
  const { level, box, lw, lh, outW, outH, toExport, rect } = plan;
  const cols = [Math.max(0, Math.floor(box.left / TILE)), Math.min(Math.ceil(lw / TILE) - 1, Math.floor((box.right - 1e-9) / TILE))];
  const rows = [Math.max(0, Math.floor(box.top / TILE)), Math.min(Math.ceil(lh / TILE) - 1, Math.floor((box.bottom - 1e-9) / TILE))];
  const count = (cols[1] - cols[0] + 1) * (rows[1] - rows[0] + 1);
  if (count > MAX_TILES) throw new Error(`that resolution needs ${count} tiles; choose a smaller one`);
  const band = withColorbar ? Math.round(58 * scale) : 0;
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, outW);
  canvas.height = Math.max(1, outH + band);
  const g = canvas.getContext('2d');
  g.fillStyle = '#000';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.imageSmoothingEnabled = plan.smooth;
  const jobs = [];
  for (let row = rows[0]; row <= rows[1]; row += 1) {
    for (let col = cols[0]; col <= cols[1]; col += 1) {
      jobs.push(loadImage(viewer.tileUrl(level, col, row)).then((img) => ({ img, col, row })));
    }
  }
  g.save();
  g.beginPath();
  g.rect(0, 0, outW, outH);
  g.clip();
  g.setTransform(...plan.tileMatrix);
  for (const { img, col, row } of await Promise.all(jobs)) g.drawImage(img, col * TILE, row * TILE, img.naturalWidth, img.naturalHeight);
  g.setTransform(1, 0, 0, 1, 0, 0);
  const o = toExport(0, 0);
  const px = toExport(1, 0);
  const py = toExport(0, 1);
  const frame = { a: px.x - o.x, b: px.y - o.y, c: py.x - o.x, d: py.y - o.y, e: o.x, f: o.y, width: outW, height: outH, dpr: 1,
    scale: Math.hypot(px.x - o.x, px.y - o.y), uiScale: scale };
  compositeLayers(ctx, g, frame, r);
  const collect = { layers: [] };
  ctx.bus.emit('export:collect', collect);
  for (const draw of collect.layers) draw(g, frame);
  if (withGrid) await drawGrid(ctx, g, rect, toExport, { scale, width: outW, height: outH });
  g.restore();
  if (withColorbar) await drawColorbar(ctx, g, outW, outH, band, scale);
  return canvas;
}

// Canvases other features put over the tiles (viewer layers), as drawn on the screen, mapped from
// screen px to export px; a layer marked data-export="vector" draws itself through export:collect.
function compositeLayers(ctx, g, frame, screen) {
  const viewer = ctx.viewer;
  const a = viewer.screenToImage(0, 0);
  const b = viewer.screenToImage(screen.width, screen.height);
  const p = { x: frame.a * a.x + frame.c * a.y + frame.e, y: frame.b * a.x + frame.d * a.y + frame.f };
  const q = { x: frame.a * b.x + frame.c * b.y + frame.e, y: frame.b * b.x + frame.d * b.y + frame.f };
  for (const layer of viewer.element.querySelectorAll('.viewer-layer')) {
    if (layer.dataset.export === 'vector' || layer.hidden) continue;
    for (const c of layer.tagName === 'CANVAS' ? [layer] : layer.querySelectorAll('canvas')) {
      if (c.hidden || !c.width || !c.height) continue;
      g.drawImage(c, p.x, p.y, q.x - p.x, q.y - p.y);
    }
  }
}

async function drawColorbar(ctx, g, outW, outH, band, scale) {
  const { viewer, api } = ctx;
  const image = viewer.image;
  const d = viewer.display;
  const cb = await api.get('/api/images/colorbar', { path: image.path, hdu: image.hdu, plane: image.plane, stretch: d.stretch, exponent: d.exponent, vmin: d.vmin, vmax: d.vmax, ticks: 5 });
  const swatch = await loadImage(api.url(`/api/images/colormaps/${encodeURIComponent(d.cmap)}.png`, { width: 512, height: 12, invert: d.invert ? 'true' : undefined }));
  const pad = 20 * scale;
  const w = outW - 2 * pad;
  g.fillStyle = '#0b0e14';
  g.fillRect(0, outH, outW, band);
  g.drawImage(swatch, pad, outH + 6 * scale, w, 12 * scale);
  g.fillStyle = '#d7dde8';
  g.font = `${11 * scale}px sans-serif`;
  g.textBaseline = 'top';
  for (const t of cb.ticks) {
    const x = pad + t.position * w;
    g.fillRect(x, outH + 18 * scale, Math.max(1, scale), 4 * scale);
    const label = formatValue(t.value, 4);
    const tw = g.measureText(label).width;
    g.textAlign = 'left';
    g.fillText(label, Math.min(Math.max(x - tw / 2, 2 * scale), outW - tw - 2 * scale), outH + 24 * scale);  // never past an edge
  }
  // unit and stretch on their own line below the tick labels, inside the band
  const unitText = `${cb.unit ? `${cb.unit} · ` : ''}${d.stretch}`;
  g.textAlign = 'right';
  g.fillStyle = '#8590a6';
  g.fillText(unitText, outW - pad, outH + 40 * scale);
  g.textAlign = 'left';
}

export function mount(ctx) {
  const { bus, ui, viewer, escape: { el } } = ctx;
  function show() {
    if (!viewer.image) { ui.notify('Open an image first', 'warning'); return; }
    const modal = ui.openModal({ title: 'Export view as PNG', id: 'export-modal' });
    const r = viewer.element.getBoundingClientRect();
    const scale = el('select', { id: 'export-scale' }, [1, 2, 4].map((k) => el('option', { value: String(k) }, `${k}× (${Math.round(r.width * k)} px wide)`)));
    const cb = el('input', { type: 'checkbox', id: 'export-colorbar', checked: true });
    const grid = el('input', { type: 'checkbox', id: 'export-grid', disabled: !viewer.image.info?.wcs?.has_celestial });
    const go = el('button', { class: 'btn primary', type: 'button', id: 'export-go' }, 'Export');
    const status = el('div', { class: 'muted', id: 'export-status' });
    modal.body.append(el('div', { class: 'row' }, el('label', { for: 'export-scale' }, 'Resolution'), scale),
      el('div', { class: 'row' }, el('label', { for: 'export-colorbar' }, cb, ' with colorbar')),
      el('div', { class: 'row' }, el('label', { for: 'export-grid' }, grid, ' with coordinate grid (RA/Dec)')),
      el('p', { class: 'muted' }, 'Visible overlays (catalog markers, detections, other layers) are included.'),
      el('div', { class: 'row' }, go), status);
    go.addEventListener('click', async () => {
      go.disabled = true;
      status.textContent = 'rendering…';
      try {
        const canvas = await render(ctx, Number(scale.value), cb.checked, grid.checked);
        window.neloura.lastExport = canvas;  // for tests and the console: the canvas just exported
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
        const a = el('a', { href: URL.createObjectURL(blob), download: `${viewer.image.path.split('/').pop().replace(/\.[^.]*$/, '')}-view.png` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
        status.textContent = `exported ${canvas.width}×${canvas.height} px`;
      } catch (err) {
        status.textContent = '';
        ui.notify(`export failed: ${err.detail || err.message || err}`, 'error');
      } finally {
        go.disabled = false;
      }
    });
  }
  const off = bus.on('export:png', show);
  return off;
}
