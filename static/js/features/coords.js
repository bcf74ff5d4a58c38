// Coordinate panel: under the cursor, the 1-based FITS pixel, the physical value with BUNIT,
// the sky position (sexagesimal and degrees; ICRS, FK5 J2000 or Galactic) and, for cubes, the
// spectral value. Values come from /api/images/pixel (the engine's full WCS); at most one
// request is in flight, and only the latest pointer position is asked for next.

import { decToDms, formatSpectral, formatValue, fromIcrs, lonToDms, raToHms } from '../lib/format.js';
import { sameImage } from '../lib/url-state.js';

const FRAMES = { icrs: ['RA', 'Dec'], fk5: ['RA', 'Dec'], galactic: ['l', 'b'] };

export function mount(ctx) {
  const { bus, api, ui, viewer, escape: { el } } = ctx;
  const panel = ui.addPanel({ id: 'coords-panel', title: 'Coordinates', order: 10 });
  const frameSelect = el('select', { id: 'coords-frame', 'aria-label': 'Sky frame' },
    el('option', { value: 'icrs' }, 'ICRS'), el('option', { value: 'fk5' }, 'FK5 (J2000)'), el('option', { value: 'galactic' }, 'Galactic'));
  const cell = (id) => el('dd', { id }, '—');
  const fields = {
    pixel: cell('coords-pixel'), value: cell('coords-value'), sexa: cell('coords-sexa'),
    deg: cell('coords-deg'), spectral: cell('coords-spectral'),
  };
  const labels = { sexa: el('dt', {}, 'RA Dec'), deg: el('dt', {}, 'degrees') };
  const spectralRow = [el('dt', {}, 'Spectral'), fields.spectral];
  panel.element.append(
    el('div', { class: 'row' }, el('label', { for: 'coords-frame' }, 'Frame'), frameSelect),
    el('dl', { class: 'coords' }, el('dt', {}, 'Pixel'), fields.pixel, el('dt', {}, 'Value'), fields.value,
      labels.sexa, fields.sexa, labels.deg, fields.deg, ...spectralRow),
  );

  let latest = null; // the last readout, redrawn when the frame changes
  let wanted = null; // { col, row } the pointer is over
  let asked = null;
  let busy = false;

  function render() {
    const r = latest;
    const [lonName, latName] = FRAMES[frameSelect.value];
    labels.sexa.textContent = `${lonName} ${latName}`;
    if (!r) { Object.values(fields).forEach((f) => { f.textContent = '—'; }); return; }
    fields.pixel.textContent = `${r.column + 1}, ${r.row + 1}`;
    fields.value.textContent = `${formatValue(r.value)}${r.unit ? ` ${r.unit}` : ''}`;
    if (r.ra_deg === null || r.ra_deg === undefined) {
      fields.sexa.textContent = 'no celestial WCS';
      fields.deg.textContent = '—';
    } else {
      const [lon, lat] = fromIcrs(r.ra_deg, r.dec_deg, frameSelect.value);
      fields.sexa.textContent = frameSelect.value === 'galactic' ? `${lonToDms(lon)} ${decToDms(lat)}` : `${raToHms(lon)} ${decToDms(lat)}`;
      fields.deg.textContent = `${lon.toFixed(6)} ${lat >= 0 ? '+' : ''}${lat.toFixed(6)}`;
    }
    const s = r.spectral;
    fields.spectral.textContent = s && s.value !== null ? formatSpectral(s.value, s.unit) : '—';
  }

  async function pump() {
    const image = viewer.image;
    if (busy || !wanted || !image) return;
    // the pointer's pixel may belong to the image shown before (a panel that opened another one)
    if (wanted.col >= image.width || wanted.row >= image.height) { wanted = null; return; }
    if (asked && asked.col === wanted.col && asked.row === wanted.row && asked.plane === image.plane) return;
    busy = true;
    asked = { ...wanted, plane: image.plane };
    try {
      const body = await api.get('/api/images/pixel', { path: image.path, hdu: image.hdu, plane: image.plane, x: asked.col, y: asked.row });
      if (sameImage(viewer.image, image)) { latest = body; render(); }  // not an answer about the image shown before
    } catch (err) {
      if (err.status !== 422) bus.emit('notify', { message: `pixel readout: ${err.detail || err}`, level: 'warning' });
    } finally {
      busy = false;
      // (another image opened during the request: `asked` was cleared)
      if (wanted && (!asked || wanted.col !== asked.col || wanted.row !== asked.row)) pump();
    }
  }

  let locked = null; // the crosshair's pixel while crosshair mode holds the readout
  const offs = [
    bus.on('crosshair:changed', (c) => {
      locked = c;
      panel.element.classList.toggle('locked', Boolean(c));
      if (c) { wanted = { col: c.x, row: c.y }; pump(); }
    }),
    bus.on('viewer:pointer-move', (p) => {
      if (locked) return;
      const image = viewer.image;
      if (!p || !image) { wanted = null; return; }
      const col = Math.floor(p.x + 0.5);
      const row = Math.floor(p.y + 0.5);
      if (col < 0 || row < 0 || col >= image.width || row >= image.height) { wanted = null; return; }
      wanted = { col, row };
      pump();
    }),
    bus.on('image:opened', () => { latest = null; asked = null; wanted = null; render(); }),
    bus.on('plane:changed', () => { asked = null; pump(); }),
  ];
  frameSelect.addEventListener('change', render);
  render();
  return () => { offs.forEach((off) => off()); panel.remove(); };
}
