// Cube spectra: the spectrum at the cursor (live, throttled) or inside a circle/box region, on a
// plotly chart whose plane marker is dragged to step planes; spectral axis in frequency,
// wavelength or velocity (radio/optical/relativistic, rest from the header or typed), frame from
// SPECSYS; values in BUNIT or K; CSV/FITS export. Moments, smoothing, convolution and channel maps
// are in cubes-tools.js, the beam ellipse in cubes-beam.js.
//
// Bus: listens to image:opened, image:closed, plane:changed, viewer:pointer-move, viewer:click,
// cubes:spectrum ({ region: DS9 text, label? } shows that region's spectrum) and region:spectrum
// (the regions feature's Spectrum button: { path, hdu, regions, index }, summed); emits plane:set and cubes:axis ({ values, unit, kind, convention, frame, rest_hz,
// beam, kelvin }) whenever the axis changes.
// Server: GET /api/cubes/axis, /api/cubes/spectrum, /api/cubes/spectrum/export.

import { createChart } from './cubes-chart.js';
import { mountBeam } from './cubes-beam.js';
import { mountTools } from './cubes-tools.js';

const UNITS = {
  frequency: ['', 'km/s', 'GHz', 'MHz', 'mm', 'um'],
  velocity: ['', 'km/s', 'm/s', 'GHz', 'mm'],
  wavelength: ['', 'km/s', 'um', 'nm', 'Angstrom', 'GHz'],
  energy: ['', 'keV', 'eV'],
  wavenumber: ['', 'km/s', 'GHz'],
};
const THROTTLE_MS = 90;
const fmt = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v.toPrecision(5)).toString());

export function mount(ctx) {
  const { bus, api, ui, viewer, escape: { el } } = ctx;
  const panel = ui.addPanel({ id: 'cubes-panel', title: 'Spectrum', order: 31 });
  const unitSel = el('select', { id: 'cubes-unit', 'aria-label': 'spectral unit' });
  const convSel = el('select', { id: 'cubes-convention', 'aria-label': 'velocity convention' },
    ['radio', 'optical', 'relativistic'].map((c) => el('option', { value: c }, c)));
  const restInput = el('input', { id: 'cubes-rest', type: 'text', placeholder: 'rest (header)', 'aria-label': 'rest frequency or wavelength', size: '11' });
  const fluxSel = el('select', { id: 'cubes-flux', 'aria-label': 'values in' }, el('option', { value: 'native' }, 'BUNIT'), el('option', { value: 'K' }, 'K'));
  const frame = el('div', { class: 'cubes-frame mono', id: 'cubes-frame' });
  const chartBox = el('div', { class: 'cubes-chart', id: 'cubes-chart' });
  const readout = el('div', { class: 'cubes-readout mono', id: 'cubes-readout' }, 'move the cursor over the cube');
  const follow = el('input', { type: 'checkbox', id: 'cubes-follow', checked: true });
  const shapeSel = el('select', { id: 'cubes-shape', 'aria-label': 'region shape' }, el('option', { value: 'circle' }, 'circle'), el('option', { value: 'box' }, 'box'));
  const sizeInput = el('input', { id: 'cubes-size', type: 'number', min: '1', step: '1', value: '6', 'aria-label': 'region radius / half-size (px)' });
  const statSel = el('select', { id: 'cubes-stat', 'aria-label': 'region statistic' }, ['mean', 'sum', 'flux'].map((s) => el('option', { value: s }, s)));
  const placeBtn = el('button', { class: 'btn small', type: 'button', id: 'cubes-place', title: 'Click on the image to place the region' }, 'Place region');
  const clearBtn = el('button', { class: 'btn small', type: 'button', id: 'cubes-clear', hidden: true }, 'Cursor');
  const csv = el('a', { class: 'btn small', id: 'cubes-csv', download: '' }, 'CSV');
  const fitsLink = el('a', { class: 'btn small', id: 'cubes-fits', download: '' }, 'FITS');
  panel.element.append(
    el('div', { class: 'row cubes-axis' }, unitSel, convSel, restInput, fluxSel),
    frame, chartBox, readout,
    el('div', { class: 'row cubes-region' }, el('label', { for: 'cubes-follow', class: 'cubes-check' }, follow, ' follow cursor'),
      shapeSel, sizeInput, statSel),
    el('div', { class: 'row' }, placeBtn, clearBtn, el('span', { class: 'cubes-spacer' }), 'Export', csv, fitsLink),
  );
  panel.hide();

  let axis = null; // /api/cubes/axis answer
  let pixel = null; // { x, y } of the shown pixel spectrum
  let region = null; // { text, label, shape } of the shown region spectrum
  let last = null; // last spectrum answer
  let timer = 0;
  let inFlight = false;
  let queued = null;
  const chart = createChart(chartBox, { onPlane: (p) => bus.emit('plane:set', { plane: p }) });
  const beam = mountBeam(ctx);
  const tools = mountTools(ctx, { axis: () => axis, spectrum: () => last });
  const overlay = viewer.addCanvasLayer(drawRegion);

  const isCube = () => (viewer.image?.info?.plane_count || 1) > 1;
  const axisParams = () => {
    const p = {};
    if (unitSel.value) p.unit = unitSel.value;
    if (unitSel.value && axis?.native_kind !== 'pixel') p.convention = convSel.value;
    if (restInput.value.trim()) p.rest = restInput.value.trim();
    return p;
  };
  const base = () => ({ path: viewer.image.path, hdu: viewer.image.hdu });

  async function loadAxis() {
    if (!viewer.image || !isCube()) return;
    try {
      axis = await api.get('/api/cubes/axis', { ...base(), ...axisParams() });
    } catch (err) {
      ui.notify(`spectral axis: ${err.detail || err}`, 'error');
      return;
    }
    const frameText = axis.spectral_kind === 'pixel' ? axis.note
      : [axis.frame ? `frame ${axis.frame}` : 'frame not given (SPECSYS)', axis.rest_hz ? `rest ${fmt(axis.rest_hz / 1e9)} GHz` : 'no rest value',
        axis.spectral_kind === 'velocity' ? axis.convention : ''].filter(Boolean).join(' · ');
    frame.textContent = frameText;
    frame.dataset.kind = axis.spectral_kind;
    convSel.disabled = axis.spectral_kind !== 'velocity';
    fluxSel.disabled = !axis.kelvin_per_unit;
    if (fluxSel.disabled) fluxSel.value = 'native';
    bus.emit('cubes:axis', { values: axis.spectral, unit: axis.spectral_unit, kind: axis.spectral_kind, convention: axis.convention,
      frame: axis.frame, rest_hz: axis.rest_hz, beam: axis.beam, kelvin: axis.kelvin_per_unit, note: axis.note });
    refresh();
  }

  function fillUnits(info) {
    const kind = info.planes?.[0]?.kind || '';
    const choices = UNITS[kind] || [''];
    unitSel.replaceChildren(...choices.map((u) => el('option', { value: u }, u || `header (${info.planes?.[0]?.unit || 'pixel'})`)));
    unitSel.disabled = choices.length < 2;
  }

  function spectrumParams() {
    const p = { ...base(), ...axisParams(), flux_unit: fluxSel.value };
    if (region) return { ...p, region: region.text, stat: statSel.value };
    return { ...p, x: pixel.x, y: pixel.y };
  }

  async function fetchSpectrum() {
    if (!viewer.image || (!pixel && !region)) return;
    if (inFlight) { queued = true; return; }
    inFlight = true;
    const params = spectrumParams();
    try {
      const s = await api.get('/api/cubes/spectrum', params);
      last = s;
      const where = region ? `${region.label} (${s.stat}, ${s.n_pixels} px)` : `x ${params.x}, y ${params.y}`;
      chartBox.dataset.where = where;
      await chart.draw({ x: s.spectral, y: s.values, xTitle: s.spectral_kind === 'pixel' ? 'plane (no spectral WCS)' : `${s.spectral_kind} [${s.spectral_unit}]`,
        yTitle: s.unit || 'value', name: where });
      chart.setPlane(viewer.image?.plane ?? 0);
      showReadout();
      const exportParams = { ...params };
      csv.href = api.url('/api/cubes/spectrum/export', { ...exportParams, format: 'csv' });
      fitsLink.href = api.url('/api/cubes/spectrum/export', { ...exportParams, format: 'fits' });
    } catch (err) {
      readout.textContent = err.detail || String(err);
    } finally {
      inFlight = false;
      if (queued) { queued = null; schedule(); }
    }
  }
  // throttle, not debounce: while the cursor moves, one request per THROTTLE_MS for its latest pixel
  function schedule() { if (!timer) timer = setTimeout(() => { timer = 0; fetchSpectrum(); }, THROTTLE_MS); }
  const refresh = () => { if (pixel || region) fetchSpectrum(); };

  function showReadout() {
    if (!last) return;
    const p = viewer.image?.plane ?? 0;
    const value = last.values[p];
    const where = region ? region.label : `x ${last.x}, y ${last.y}`;
    let text = `${where} · plane ${p + 1}: ${fmt(last.spectral[p])} ${last.spectral_unit} · ${fmt(value)} ${last.unit}`;
    const k = axis?.kelvin_per_unit?.[p];
    if (k && last.unit !== 'K' && value !== null && (!region || last.stat === 'mean')) text += ` = ${fmt(value * k)} K`;
    readout.textContent = text;
    readout.dataset.plane = String(p);
  }

  function regionText(x, y) {
    const r = Math.max(1, Number(sizeInput.value) || 6);
    const cx = (x + 1).toFixed(2);
    const cy = (y + 1).toFixed(2); // DS9 image coordinates are 1-based
    const text = shapeSel.value === 'circle' ? `image; circle(${cx},${cy},${r})` : `image; box(${cx},${cy},${2 * r},${2 * r},0)`;
    return { text, label: `${shapeSel.value} ${r} px at ${Math.round(x)}, ${Math.round(y)}`, shape: { kind: shapeSel.value, x, y, r } };
  }

  function drawRegion(g, v) {
    const s = region?.shape;
    if (!s) return;
    const c = v.imageToScreen(s.x, s.y);
    const r = s.r * v.imageScale();
    g.strokeStyle = '#4cc38a';
    g.lineWidth = 1.5;
    g.beginPath();
    if (s.kind === 'circle') g.arc(c.x, c.y, r, 0, 2 * Math.PI);
    else g.rect(c.x - r, c.y - r, 2 * r, 2 * r);
    g.stroke();
  }

  function showRegion(next) {
    region = next;
    clearBtn.hidden = !region;
    overlay.redraw();
    refresh();
  }

  placeBtn.addEventListener('click', () => {
    viewer.clickMode = 'cubes';
    placeBtn.classList.add('active');
    viewer.element.style.cursor = 'crosshair';
  });
  clearBtn.addEventListener('click', () => { showRegion(null); if (!pixel) readout.textContent = 'move the cursor over the cube'; });
  [unitSel, convSel, fluxSel].forEach((c) => c.addEventListener('change', loadAxis));
  restInput.addEventListener('change', loadAxis);
  statSel.addEventListener('change', refresh);
  sizeInput.addEventListener('change', () => { if (region?.shape) showRegion(regionText(region.shape.x, region.shape.y)); });

  const offs = [
    bus.on('image:opened', ({ info }) => {
      axis = null; last = null; pixel = null; region = null;
      overlay.redraw();
      if ((info.plane_count || 1) < 2) { panel.hide(); tools.hide(); return; }
      panel.show(); tools.show();
      fillUnits(info);
      unitSel.value = '';
      // velocity (radio) by default when the header's rest value allows it
      loadAxis().then(() => {
        if (axis?.velocity_available && axis.native_kind !== 'velocity' && [...unitSel.options].some((o) => o.value === 'km/s')) {
          unitSel.value = 'km/s';
          loadAxis();
        }
      });
      const c = { x: Math.floor(info.width / 2), y: Math.floor(info.height / 2) };
      pixel = c;
      refresh();
    }),
    bus.on('image:closed', () => { panel.hide(); tools.hide(); }),
    bus.on('plane:changed', ({ plane }) => { chart.setPlane(plane); showReadout(); }),
    bus.on('viewer:pointer-move', (p) => {
      if (!p || !follow.checked || region || !isCube()) return;
      const x = Math.round(p.x);
      const y = Math.round(p.y);
      const img = viewer.image;
      if (x < 0 || y < 0 || x >= img.width || y >= img.height || (pixel && pixel.x === x && pixel.y === y)) return;
      pixel = { x, y };
      schedule();
    }),
    bus.on('viewer:click', (p) => {
      if (viewer.clickMode !== 'cubes') return;
      viewer.clickMode = null;
      placeBtn.classList.remove('active');
      viewer.element.style.cursor = '';
      showRegion(regionText(p.x, p.y));
    }),
    bus.on('cubes:spectrum', ({ region: text, label }) => {
      if (!text || !isCube()) return;
      panel.show();
      showRegion({ text, label: label || 'region', shape: null });
    }),
    // the regions feature's Spectrum button: the sum inside one drawn region (DS9 image-frame text)
    bus.on('region:spectrum', ({ path, regions, index }) => {
      if (!regions || !isCube() || (path && path !== viewer.image?.path)) return;
      panel.show();
      statSel.value = 'sum';
      showRegion({ text: regions, label: `region ${(index ?? 0) + 1}`, shape: null });
    }),
  ];
  const onResize = () => chart.resize();
  window.addEventListener('resize', onResize);

  return () => {
    offs.forEach((off) => off());
    clearTimeout(timer);
    window.removeEventListener('resize', onResize);
    chart.destroy();
    overlay.remove();
    beam.remove();
    tools.remove();
    if (viewer.clickMode === 'cubes') viewer.clickMode = null;
    panel.remove();
  };
}
