// Catalog overlay helper (not a feature: not in main.js FEATURES): the markers' labels, text drawn
// on one 2-D canvas above the markers (never HTML), the label column's values fetched for the
// markers in view; no labels for a layer with more than LABEL_MAX markers in view.
import { sizeCanvas } from './overlay-gl.js';
import { fmtValue, screenOf } from './overlay-data.js';

const LABEL_MAX = 300;

/** The labels of one panel's overlays on `canvas`: { draw(frame), clear() }. `layers` is the
 * panel's name -> layer map; `redraw()` draws the panel again once fetched values arrive. */
export function createLabels(ctx, canvas, layers, redraw) {
  function draw(frame) {
    const g = canvas.getContext('2d');
    sizeCanvas(canvas, frame);
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.setTransform(frame.dpr, 0, 0, frame.dpr, 0, 0);
    for (const layer of layers.values()) {
      if (!layer.visible || !layer.style.label_col || !layer.data) continue;
      const visible = visibleMarkers(layer, frame, LABEL_MAX + 1);
      if (visible.length > LABEL_MAX) continue;
      const missing = visible.map((i) => layer.data.rows[i]).filter((r) => !layer.labels.has(r));
      if (missing.length) { fetchLabels(layer, missing); continue; }
      g.font = '12px sans-serif';
      g.fillStyle = layer.style.color;
      g.strokeStyle = 'rgba(0,0,0,0.7)';
      g.lineWidth = 3;
      for (const i of visible) {
        const text = fmtValue(layer.labels.get(layer.data.rows[i]));
        const { x, y } = screenOf(frame, layer.data, i);
        const r = Math.max(layer.data.size[i] * frame.scale, layer.style.minPx);
        g.strokeText(text, x + r + 3, y - 3);
        g.fillText(text, x + r + 3, y - 3);
      }
    }
  }

  async function fetchLabels(layer, rows) {
    if (layer.labelsPending) return;
    layer.labelsPending = true;
    try {
      const body = await ctx.api.post('/api/catalogs/overlay/rows', { name: layer.name, rows, columns: [layer.style.label_col] });
      body.rows.forEach((row, k) => layer.labels.set(body.index[k], row[0]));
    } catch (e) {
      ctx.ui.notify(e.detail || String(e), 'error');
      layer.style.label_col = '';
    } finally {
      layer.labelsPending = false;
      redraw();
    }
  }

  function clear() {
    canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
  }

  return { draw, clear };
}

/** Indices of the layer's markers inside the view, the first `cap` of them. */
function visibleMarkers(layer, frame, cap) {
  const out = [];
  const d = layer.data;
  for (let i = 0; i < d.count && out.length < cap; i += 1) {
    const { x, y } = screenOf(frame, d, i);
    if (x >= 0 && y >= 0 && x <= frame.width && y <= frame.height) out.push(i);
  }
  return out;
}
