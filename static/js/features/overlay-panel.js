// Catalog overlay helper (not a feature: not in main.js FEATURES): the side panel that adds and
// removes overlays and edits the active one (server parameters, marker style, colour range + colorbar).
// `host` is the overlay feature: { layers (Map), active(), setActive(name), show(detail), hide({name}),
// load(layer), applyStyle(layer), uploadData(layer), redraw(), syncUrl() }.
import { colorRange } from './overlay-data.js';

const SERVER_FIELDS = [['ra_col', 'RA column (auto)'], ['dec_col', 'Dec column (auto)'], ['size_col', 'size: column or number'],
  ['color_col', 'colour column'], ['filter', 'filter, e.g. flux > 10']];

/** Adds the "Catalog overlay" panel: -> { render(), refreshKnown(), show(), toggle(), remove() }. */
export function createOverlayPanel(ctx, host) {
  const { el } = ctx.escape;
  const panel = ctx.ui.addPanel({ id: 'overlay', title: 'Catalog overlay', open: false });
  panel.element.classList.add('overlay-panel');
  let known = [];                        // catalog names offered in the panel

  function field(label, input) {
    return el('label', { class: 'overlay-field' }, el('span', { text: label }), input);
  }

  function render() {
    const body = panel.element;
    const active = host.active();
    body.replaceChildren();
    const nameInput = el('input', { type: 'text', placeholder: 'catalog name (e.g. demo_sources.csv)', value: active || '', list: 'overlay-catalogs' });
    body.appendChild(el('datalist', { id: 'overlay-catalogs' }, known.map((n) => el('option', { value: n }))));
    const addButton = el('button', { onclick: () => nameInput.value && host.show({ name: nameInput.value.trim() }) }, 'Overlay');
    body.appendChild(el('div', { class: 'overlay-row' }, nameInput, addButton));
    for (const layer of host.layers.values()) {
      const tab = el('button', { class: layer.name === active ? 'overlay-tab active' : 'overlay-tab', onclick: () => { host.setActive(layer.name); render(); } }, layer.name);
      const eye = el('input', { type: 'checkbox', title: 'visible', onchange: (e) => { layer.visible = e.target.checked; host.redraw(); } });
      eye.checked = layer.visible;
      const remove = el('button', { title: 'Remove overlay', onclick: () => host.hide({ name: layer.name }) }, '×');
      body.appendChild(el('div', { class: 'overlay-row' }, eye, tab, remove));
    }
    const layer = host.layers.get(active);
    if (!layer) return;
    body.appendChild(el('div', { class: 'overlay-status', text: layer.status || '' }));
    body.append(...serverControls(layer));
    body.appendChild(styleControls(layer));
    if (layer.data?.hasColor) body.appendChild(colorbar(layer));
  }

  function serverControls(layer) {
    const inputs = SERVER_FIELDS.map(([key, ph]) => el('input', { type: 'text', value: layer.params[key] || '', placeholder: ph, dataset: { key } }));
    const unit = el('select', { dataset: { key: 'size_unit' } }, ['px', 'arcsec', 'arcmin', 'deg'].map((u) => el('option', { value: u }, u)));
    unit.value = layer.params.size_unit || 'px';
    const scale = el('select', { dataset: { key: 'color_scale' } }, ['linear', 'log'].map((u) => el('option', { value: u }, u)));
    scale.value = layer.params.color_scale || 'linear';
    const apply = el('button', { onclick: () => {
      for (const node of [...inputs, unit, scale]) layer.params[node.dataset.key] = node.value.trim();
      host.load(layer);
    } }, 'Apply');
    return [field('RA', inputs[0]), field('Dec', inputs[1]), field('Size', inputs[2]), field('Unit', unit), field('Colour by', inputs[3]),
      field('Colour scale', scale), field('Filter', inputs[4]), apply];
  }

  function styleControls(layer) {
    const restyle = async () => { await host.applyStyle(layer); host.redraw(); host.syncUrl(); };
    const set = (key, value) => { layer.style[key] = value; return restyle(); };
    const shape = el('select', { onchange: (e) => set('shape', e.target.value) }, ['circle', 'square', 'cross', 'diamond'].map((s) => el('option', { value: s }, s)));
    shape.value = layer.style.shape;
    const fill = el('input', { type: 'checkbox', onchange: (e) => set('fill', e.target.checked) });
    fill.checked = Boolean(layer.style.fill);
    const color = el('input', { type: 'color', value: layer.style.color, onchange: (e) => set('color', e.target.value) });
    const opacity = el('input', { type: 'range', min: '0.1', max: '1', step: '0.05', value: String(layer.style.opacity), oninput: (e) => set('opacity', Number(e.target.value)) });
    const outline = el('input', { type: 'range', min: '0.5', max: '5', step: '0.5', value: String(layer.style.outline), oninput: (e) => set('outline', Number(e.target.value)) });
    const cmap = el('input', { type: 'text', value: layer.style.cmap, onchange: (e) => set('cmap', e.target.value.trim() || 'viridis').then(render) });
    const label = el('input', { type: 'text', value: layer.style.label_col || '', placeholder: 'label column',
      onchange: (e) => { layer.style.label_col = e.target.value.trim(); layer.labels = new Map(); host.redraw(); } });
    return el('div', { class: 'overlay-style' }, field('Shape', shape), field('Fill', fill), field('Colour', color), field('Opacity', opacity),
      field('Outline', outline), field('Colormap', cmap), field('Labels', label));
  }

  function colorbar(layer) {
    const d = layer.data;
    const [lo, hi] = colorRange(d, layer.style);
    const img = el('img', { class: 'overlay-colorbar-img', alt: layer.style.cmap, src: ctx.api.url(`/api/images/colormaps/${encodeURIComponent(layer.style.cmap)}.png`, { width: 256, height: 12 }) });
    const title = `${layer.params.color_col}${d.colorLog ? ' (log10)' : ''}`;
    const recolor = () => { host.uploadData(layer); host.redraw(); host.syncUrl(); render(); };
    const bound = (key, value) => el('input', { type: 'number', step: 'any', class: 'overlay-range', value: String(Number(value.toPrecision(4))), dataset: { key },
      onchange: (e) => {
        const v = Number(e.target.value);
        layer.style[key] = e.target.value === '' || !Number.isFinite(v) ? undefined : v;
        recolor();
      } });
    const reset = el('button', { type: 'button', title: 'Full range of the column', onclick: () => {
      layer.style.color_min = undefined;
      layer.style.color_max = undefined;
      recolor();
    } }, 'full range');
    return el('div', { class: 'overlay-colorbar' }, el('div', { text: title }), img,
      el('div', { class: 'overlay-colorbar-ticks' }, bound('color_min', lo), reset, bound('color_max', hi)));
  }

  async function refreshKnown() {
    try {
      known = ((await ctx.api.get('/api/catalogs')).catalogs || []).map((c) => c.name);
    } catch { known = []; }
    render();
  }

  return { render, refreshKnown, show: () => panel.show(), toggle: () => panel.toggle(), remove: () => panel.remove() };
}
