// Catalog overlay helper (not a feature: not in main.js FEATURES): which marker a click hits, and
// the row popup beside it (kept beside the marker as the view moves). Values shown as text only.
import { fmtValue, screenOf } from './overlay-data.js';

/** The marker nearest screen point `s` (within its radius + 3 px) among visible layers: {layer, i, dist} or null. */
export function hitMarker(layers, frame, s) {
  let best = null;
  for (const layer of layers) {
    if (!layer.visible || !layer.data) continue;
    const d = layer.data;
    for (let i = 0; i < d.count; i += 1) {
      const p = screenOf(frame, d, i);
      const dist = Math.hypot(p.x - s.x, p.y - s.y);
      const r = Math.max(d.size[i] * frame.scale, layer.style.minPx) + 3;
      if (dist <= r && (!best || dist < best.dist)) best = { layer, i, dist };
    }
  }
  return best;
}

/** The popup of one clicked row inside `container` (the overlay's DOM layer): { open, place, close }. */
export function createPopup(el, viewer, container) {
  let popup = null;

  function open(layer, i, row, columns, values) {
    close();
    const table = el('table', {}, columns.map((c, k) => el('tr', {}, el('th', { text: c }), el('td', { text: fmtValue(values[k]) }))));
    const button = el('button', { class: 'overlay-popup-close', title: 'Close', onclick: close }, '×');
    const node = el('div', { class: 'overlay-popup', dataset: { row: String(row) } },
      el('div', { class: 'overlay-popup-title' }, el('span', { text: `${layer.name} · row ${row}` }), button), table);
    container.appendChild(node);
    popup = { node, layer, i };
    place();
  }

  function place() {
    if (!popup || !popup.layer.data) return;
    const d = popup.layer.data;
    const p = viewer.imageToScreen(d.x[popup.i], d.y[popup.i]);
    const box = container.getBoundingClientRect();
    const w = popup.node.offsetWidth;
    const h = popup.node.offsetHeight;
    // beside the marker, flipped to the left when it would leave the viewer
    let left = p.x + 10 + w > box.width ? p.x - 10 - w : p.x + 10;
    // above the marker in the lower half (docks and the navigator sit at the bottom), else below
    let top = p.y > box.height / 2 || p.y + 10 + h > box.height ? p.y - 10 - h : p.y + 10;
    left = Math.max(0, Math.min(left, box.width - w));
    top = Math.max(0, Math.min(top, box.height - h));
    popup.node.style.left = `${Math.round(left)}px`;
    popup.node.style.top = `${Math.round(top)}px`;
  }

  function close() {
    popup?.node.remove();
    popup = null;
  }

  return { open, place, close };
}
