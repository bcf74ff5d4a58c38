// Pixel table (DS9's Analysis > Pixel Table): the physical values of the 5x5 pixels around the
// cursor (or the crosshair when it holds the readout), the centre one marked, 1-based FITS
// column and row numbers as in DS9. One request in flight; only while the panel is open.
// Toggle: key P or Analysis > Pixel table.
//
// Bus: listens to viewer:pointer-move, crosshair:changed, image:opened, plane:changed.
// Server: GET /api/images/pixel-table.

import { formatValue } from '../lib/format.js';
import { sameImage } from '../lib/url-state.js';

const SIZE = 5;

export function mount(ctx) {
  const { viewer, bus, api, ui, escape: { el } } = ctx;
  const panel = ui.addPanel({ id: 'pixel-table-panel', title: 'Pixel table', open: false, order: 12 });
  const table = el('table', { class: 'pixel-table', id: 'pixel-table' });
  const note = el('div', { class: 'muted pixel-table-note' }, 'Move the pointer over the image.');
  panel.element.append(table, note);
  let wanted = null;
  let asked = null;
  let busy = false;
  let locked = null;

  const isOpen = () => panel.panel.classList.contains('open') && !panel.panel.hidden;

  function render(body) {
    const head = el('tr', {}, el('th', {}, ''), ...body.columns.map((c) => el('th', {}, String(c + 1))));
    const rows = body.rows.map((r, i) => el('tr', {}, el('th', {}, String(r + 1)),
      ...body.values[i].map((v, j) => el('td', { class: r === body.y && body.columns[j] === body.x ? 'centre' : undefined }, v === null ? '—' : formatValue(v, 5)))));
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
    note.textContent = `${body.unit || 'no unit'} · centre (${body.x + 1}, ${body.y + 1})${locked ? ' · crosshair' : ''}`;
    table.dataset.centre = `${body.x},${body.y}`;
  }

  async function pump() {
    const image = viewer.image;
    if (busy || !wanted || !image || !isOpen()) return;
    if (asked && asked.x === wanted.x && asked.y === wanted.y && asked.plane === image.plane && asked.path === image.path) return;
    busy = true;
    asked = { ...wanted, plane: image.plane, path: image.path };
    try {
      const body = await api.get('/api/images/pixel-table', { path: image.path, hdu: image.hdu, plane: image.plane || 0, x: asked.x, y: asked.y, size: SIZE });
      if (sameImage(viewer.image, image)) render(body);  // not an answer about the image shown before
    } catch (err) {
      if (err.status !== 422) note.textContent = `pixel table: ${err.detail || err}`;
    } finally {
      busy = false;
      // (`asked` is cleared when another image opens or the panel is shown again meanwhile)
      if (wanted && (!asked || wanted.x !== asked.x || wanted.y !== asked.y)) pump();
    }
  }

  function want(x, y) {
    const image = viewer.image;
    const col = Math.floor(x + 0.5);
    const row = Math.floor(y + 0.5);
    if (!image || col < 0 || row < 0 || col >= image.width || row >= image.height) return;
    wanted = { x: col, y: row };
    pump();
  }

  function onKey(e) {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName))) return;
    if (document.querySelector('.modal-backdrop')) return;
    if (e.key === 'p' || e.key === 'P') { e.preventDefault(); toggle(); }
  }
  function toggle() {
    if (isOpen()) panel.hide(); else { panel.show(); asked = null; pump(); }
  }
  document.addEventListener('keydown', onKey);
  panel.panel.querySelector('.panel-head').addEventListener('click', () => { asked = null; setTimeout(pump, 0); });
  const offs = [
    bus.on('viewer:pointer-move', (p) => { if (p && !locked) want(p.x, p.y); }),
    bus.on('crosshair:changed', (c) => { locked = c; if (c) want(c.x, c.y); }),
    bus.on('image:opened', () => { asked = null; wanted = null; table.replaceChildren(); note.textContent = 'Move the pointer over the image.'; }),
    bus.on('plane:changed', () => { asked = null; pump(); }),
  ];
  const removers = [
    ui.addMenuItem('Analysis', { label: 'Pixel table', shortcut: 'P', id: 'menu-pixel-table', onClick: toggle }),
    ui.addShortcut('P', 'pixel table: 5×5 values around the cursor'),
  ];
  return () => {
    document.removeEventListener('keydown', onKey);
    offs.forEach((off) => off());
    removers.forEach((r) => r());
    panel.remove();
  };
}
