// Display controls: histogram with draggable min/max lines, min/max inputs, percentile presets,
// minmax and zscale, stretch (+ exponent), invert, NaN colour, reset. Changes go out as
// 'display:set'; the viewer re-renders only the visible tiles.

import { formatValue } from '../lib/format.js';
import { createHistogram } from '../lib/histogram.js';

const PRESETS = ['99.9', '99.5', '99', '98', '95', '90', 'minmax', 'zscale'];
const STRETCHES = ['linear', 'log', 'sqrt', 'squared', 'power', 'asinh', 'sinh', 'histequ'];
const NAN_COLORS = [['', 'transparent'], ['black', 'black'], ['white', 'white'], ['red', 'red'], ['magenta', 'magenta'], ['#00ff00', 'green']];

export function mount(ctx) {
  const { bus, api, ui, viewer, escape: { el } } = ctx;
  const panel = ui.addPanel({ id: 'display-panel', title: 'Display', order: 20 });
  const vminInput = el('input', { type: 'number', id: 'display-vmin', step: 'any', 'aria-label': 'minimum' });
  const vmaxInput = el('input', { type: 'number', id: 'display-vmax', step: 'any', 'aria-label': 'maximum' });
  const stretchSelect = el('select', { id: 'display-stretch', 'aria-label': 'stretch' }, STRETCHES.map((s) => el('option', { value: s }, s)));
  const exponentInput = el('input', { type: 'number', id: 'display-exponent', step: 'any', min: '0', 'aria-label': 'exponent', placeholder: 'auto' });
  const invertBox = el('input', { type: 'checkbox', id: 'display-invert' });
  const nanSelect = el('select', { id: 'display-nan', 'aria-label': 'NaN colour' }, NAN_COLORS.map(([v, t]) => el('option', { value: v }, t)));
  const presetButtons = PRESETS.map((p) => el('button', { class: 'btn small', type: 'button', dataset: { preset: p } }, /\d/.test(p) ? `${p}%` : p));
  const resetButton = el('button', { class: 'btn small', type: 'button', id: 'display-reset' }, 'Reset');
  const exponentRow = el('div', { class: 'row' }, el('label', { for: 'display-exponent' }, 'Exponent'), exponentInput);
  const set = (patch) => bus.emit('display:set', patch);
  const histo = createHistogram(el, {
    id: 'histogram',
    onDrag: (vmin, vmax) => { vminInput.value = formatValue(vmin); vmaxInput.value = formatValue(vmax); },
    onDrop: (vmin, vmax) => set({ vmin, vmax }),
  });
  panel.element.append(
    histo.element,
    el('div', { class: 'row limits' }, el('label', { for: 'display-vmin' }, 'Min'), vminInput, el('label', { for: 'display-vmax' }, 'Max'), vmaxInput),
    el('div', { class: 'chips', id: 'display-presets' }, presetButtons),
    el('div', { class: 'row' }, el('label', { for: 'display-stretch' }, 'Stretch'), stretchSelect),
    exponentRow,
    el('div', { class: 'row' }, el('label', { for: 'display-nan' }, 'NaN'), nanSelect,
      el('label', { for: 'display-invert', style: { minWidth: 0, marginLeft: '8px' } }, invertBox, ' invert'), resetButton),
  );

  // While an RGB composite is shown, these controls (one image's limits and stretch) do not apply:
  // each channel's are in the RGB panel. The panel says so instead of describing the reference image.
  const controls = [...panel.element.children];
  const rgbNote = el('div', { class: 'muted', id: 'display-rgb-note', hidden: true });
  panel.element.append(rgbNote);
  function rgbShown(detail) {
    const on = !!detail && viewer.image?.tiles === 'rgb';
    for (const c of controls) c.hidden = on;
    rgbNote.hidden = !on;
    rgbNote.textContent = on
      ? `RGB composite of ${detail.channels.length} channels: each channel's limits, stretch, colour and weight are set in the RGB panel.`
      : '';
  }

  let display = null;
  let histTimer = 0;

  async function loadHistogram() {
    const image = viewer.image;
    if (!image || !display) return;
    const width = display.vmax - display.vmin; // the histogram spans the limits and half as much each side
    const params = { path: image.path, hdu: image.hdu, plane: image.plane, bins: 160, vmin: display.vmin - 0.5 * width, vmax: display.vmax + 0.5 * width };
    try {
      const h = await api.get('/api/images/histogram', params);
      histo.setData({ counts: h.counts, lo: h.vmin, hi: h.vmax });
    } catch (err) {
      bus.emit('notify', { message: `histogram: ${err.detail || err}`, level: 'warning' });
    }
  }
  const scheduleHistogram = () => { clearTimeout(histTimer); histTimer = setTimeout(loadHistogram, 150); };

  async function preset(name) {
    const image = viewer.image;
    if (!image) return;
    const params = { path: image.path, hdu: image.hdu, plane: image.plane };
    const query = /\d/.test(name) ? { ...params, mode: 'percentiles', low: (100 - Number(name)).toFixed(3), high: name } : { ...params, mode: name };
    try {
      const lim = await api.get('/api/images/limits', query);
      set({ vmin: lim.vmin, vmax: lim.vmax });
    } catch (err) {
      bus.emit('notify', { message: `limits: ${err.detail || err}`, level: 'error' });
    }
  }

  function applyInputs() {
    const vmin = Number(vminInput.value);
    const vmax = Number(vmaxInput.value);
    if (vminInput.value === '' || vmaxInput.value === '' || !Number.isFinite(vmin) || !Number.isFinite(vmax)) return;
    if (vmin >= vmax) { bus.emit('notify', { message: 'minimum must be smaller than maximum', level: 'warning' }); return; }
    set({ vmin, vmax });
  }
  vminInput.addEventListener('change', applyInputs);
  vmaxInput.addEventListener('change', applyInputs);
  stretchSelect.addEventListener('change', () => set({ stretch: stretchSelect.value }));
  exponentInput.addEventListener('change', () => {
    const v = Number(exponentInput.value);
    set({ exponent: exponentInput.value === '' || !(v > 0) ? null : v });
  });
  invertBox.addEventListener('change', () => set({ invert: invertBox.checked }));
  nanSelect.addEventListener('change', () => set({ nan_color: nanSelect.value }));
  presetButtons.forEach((b) => b.addEventListener('click', () => preset(b.dataset.preset)));
  resetButton.addEventListener('click', () => {
    const info = viewer.image?.info;
    if (info) set({ stretch: 'linear', cmap: 'gray', invert: false, exponent: null, nan_color: '', vmin: info.vmin, vmax: info.vmax });
  });

  const menuRemovers = [
    ...STRETCHES.map((s) => ui.addMenuItem('Scale', { label: s, id: `menu-stretch-${s}`, onClick: () => set({ stretch: s }) })),
    ui.addMenuItem('Scale', { separator: true }),
    ...PRESETS.map((p) => ui.addMenuItem('Scale', { label: /\d/.test(p) ? `${p}%` : p, id: `menu-limits-${p}`, onClick: () => preset(p) })),
  ];

  const offs = [
    bus.on('display:changed', (d) => {
      display = d;
      vminInput.value = formatValue(d.vmin);
      vmaxInput.value = formatValue(d.vmax);
      stretchSelect.value = d.stretch;
      exponentInput.value = d.exponent ?? '';
      exponentRow.hidden = !['power', 'log'].includes(d.stretch);
      invertBox.checked = d.invert;
      nanSelect.value = NAN_COLORS.some(([v]) => v === d.nan_color) ? d.nan_color : '';
      histo.setLimits(d.vmin, d.vmax);
      scheduleHistogram();
    }),
    bus.on('plane:changed', scheduleHistogram),
    bus.on('rgb:shown', rgbShown),
    bus.on('image:opened', (d) => { if (d.tiles !== 'rgb') rgbShown(null); }),
  ];
  exponentRow.hidden = true;
  return () => { offs.forEach((off) => off()); menuRemovers.forEach((r) => r()); clearTimeout(histTimer); panel.remove(); };
}
