// Regions, side panel and dialogs: drawing tools, edit/delete/undo, import and export (DS9, CRTF; sky,
// pixel), the statistics table (CSV), the selected region's live statistics and its tools (exact
// parameters, FITS cutout, histogram, radial profile, cube spectrum hook, sources inside), and
// "points from the catalog selection". Text through el()/textContent only; plots with plotly.js.

import { formatValue } from '../lib/format.js';
import { AREA, ROTATES, ds9Line, makeRegion, statsCsv } from './regions-model.js';

const TOOLS = [['select', '↖', 'Select / move (Esc)'], ['circle', '◯', 'Circle'], ['ellipse', '⬭', 'Ellipse'], ['box', '▭', 'Box'],
  ['polygon', '⬠', 'Polygon (click vertices, double-click ends)'], ['annulus', '◎', 'Annulus'], ['line', '╱', 'Line'],
  ['point', '✚', 'Point'], ['text', 'T', 'Text']];
const TABLE_MAX = 300;
const SIZE_NAMES = {
  circle: ['radius'], ellipse: ['width', 'height'], box: ['width', 'height'], annulus: ['inner radius', 'outer radius'],
  ellipse_annulus: ['inner width', 'inner height', 'outer width', 'outer height'],
  box_annulus: ['inner width', 'inner height', 'outer width', 'outer height'],
};
const fmt = (v) => (v === null || v === undefined ? '—' : typeof v === 'number' ? formatValue(v, 6) : String(v));

function download(name, data, type) {
  const url = URL.createObjectURL(data instanceof Blob ? data : new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

let plotly = null;
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotly) {
    plotly = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/vendor/plotly.js-dist-min/plotly.min.js';
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { plotly = null; reject(new Error('plotly.js could not be loaded')); };
      document.head.append(s);
    });
  }
  return plotly;
}

export function createRegionsPanel(a) {
  const { st, ctx } = a;
  const { el } = ctx.escape;
  const panel = ctx.ui.addPanel({ id: 'regions-panel', title: 'Regions', open: false, order: 40 });
  const root = panel.element;
  const tools = el('div', { class: 'regions-tools', role: 'toolbar' });
  const file = el('input', { type: 'file', accept: '.reg,.crtf,.txt,.ds9', id: 'regions-file', hidden: true });
  const exportSel = el('select', { id: 'regions-export-format', title: 'Export format' },
    ...[['ds9:sky', 'DS9 .reg (sky)'], ['ds9:pixel', 'DS9 .reg (image)'], ['crtf:sky', 'CRTF (sky)'], ['crtf:pixel', 'CRTF (pixel)']]
      .map(([v, t]) => el('option', { value: v }, t)));
  const actions = el('div', { class: 'regions-actions' },
    button('Import…', () => file.click(), 'regions-import'),
    exportSel, button('Export', onExport, 'regions-export'),
    button('Undo', () => a.undo(), 'regions-undo'), button('Clear', () => a.clear(), 'regions-clear'));
  const selected = el('div', { class: 'regions-selected', id: 'region-selected' });
  const catalogs = el('div', { class: 'regions-catalogs' });
  const note = el('div', { class: 'regions-note muted' });
  const summary = el('div', { class: 'regions-summary muted', id: 'regions-summary' });
  const table = el('table', { class: 'grid regions-table', id: 'regions-table' });
  const tableTools = el('div', { class: 'regions-actions' },
    button('Statistics of all', () => a.allStats(), 'regions-all-stats'), button('CSV', onCsv, 'regions-csv'));
  root.append(tools, actions, file, selected, catalogs, note, summary, tableTools, el('div', { class: 'regions-table-wrap' }, table));

  function button(label, onClick, id, title) {
    return el('button', { class: 'btn', type: 'button', id, title, onclick: (e) => { e.stopPropagation(); Promise.resolve(onClick()).catch(a.notifyError); } }, label);
  }

  file.addEventListener('change', async () => {
    const f = file.files[0];
    file.value = '';
    if (f) await a.importText(await f.text(), f.name);
  });

  async function onExport() {
    const [to, system] = exportSel.value.split(':');
    if (!st.regions.length) { ctx.ui.notify('no regions to export', 'warning'); return; }
    const text = await a.exportText(to, system);
    const stem = (ctx.viewer.image?.path || 'regions').split('/').pop().replace(/\.[^.]*$/, '');
    download(`${stem}_${system}.${to === 'ds9' ? 'reg' : 'crtf'}`, text, 'text/plain');
  }

  function onCsv() {
    const rows = st.regions.map((r, index) => ({ ...(st.stats.get(r.id) || {}), index, shape: r.shape }));
    download('region_statistics.csv', statsCsv(rows), 'text/csv');
  }

  function render() {
    tools.replaceChildren(...TOOLS.map(([tool, icon, title]) => el('button', {
      class: `tool${st.tool === tool ? ' active' : ''}`, type: 'button', title, 'aria-label': title, dataset: { tool },
      'aria-pressed': String(st.tool === tool), onclick: () => a.setTool(tool),
    }, icon)));
    renderSelected();
    renderCatalogs();
    renderNote();
    renderStats();
  }

  function renderSelected() {
    const r = st.selected;
    document.body.dataset.regionSelected = r ? `${r.shape} ${r.sizes.map((v) => v.toFixed(2)).join(',')} ${r.angle.toFixed(1)}` : '';
    if (!r) { selected.replaceChildren(el('div', { class: 'muted' }, 'No region selected: draw one, or click a region.')); return; }
    const s = st.stats.get(r.id);
    const cube = (ctx.viewer.image?.info?.plane_count || 1) > 1;
    const rows = s ? [['pixels', s.npix], ['area (arcsec²)', s.area_arcsec2], ['sum', s.sum], ['mean', s.mean], ['median', s.median],
      ['std', s.std], ['min', s.min], ['max', s.max], [`flux (${s.flux_unit})`, s.flux]] : [];
    if (s && s.net_flux !== undefined) rows.push(['annulus background', s.background], [`net flux, inner disk (${s.flux_unit})`, s.net_flux]);
    selected.replaceChildren(
      el('div', { class: 'regions-selected-head' }, el('strong', {}, `${r.shape} #${st.regions.indexOf(r) + 1}`), r.include ? '' : ' (excluded)'),
      el('table', { class: 'kv', id: 'region-stats' }, ...rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', { dataset: { key: k } }, fmt(v))))),
      el('div', { class: 'regions-actions' },
        button('Edit…', () => openDialog(r), 'region-edit'), button('Delete', () => a.remove(r), 'region-delete'),
        AREA.has(r.shape) ? button('Cutout', () => cutout(r), 'region-cutout', 'FITS cutout with WCS and mask') : null,
        AREA.has(r.shape) ? button('Histogram', () => histogram(r), 'region-histogram') : null,
        ['circle', 'annulus'].includes(r.shape) ? button('Profile', () => profile(r), 'region-profile', 'radial profile') : null,
        cube && AREA.has(r.shape) ? button('Spectrum', () => a.spectrum(r), 'region-spectrum', 'spectrum summed inside (cube)') : null));
  }

  function renderCatalogs() {
    const names = [...st.catalogs];
    const parts = [];
    if (names.length) {
      const sel = el('select', { id: 'regions-catalog' }, ...names.map((n) => el('option', { value: n }, n)));
      parts.push(sel, button(st.selected ? 'Sources inside (selected)' : 'Sources inside (all)', () => a.sourcesInside(sel.value), 'regions-sources'));
    }
    if (st.selection?.rows?.length) {
      parts.push(button(`Points from selection (${st.selection.rows.length.toLocaleString()} of ${st.selection.name})`, () => a.pointsFromSelection(), 'regions-points'));
    }
    catalogs.replaceChildren(...parts);
  }

  function renderNote() { note.textContent = st.linkNote || ''; }

  function renderStats() {
    summary.textContent = `${st.regions.length.toLocaleString()} region(s)`;
    renderSelected();
    const head = el('tr', {}, ...['#', 'shape', 'pixels', 'area″²', 'mean', 'median', 'std', 'flux', 'net'].map((h) => el('th', {}, h)));
    const body = st.regions.slice(0, TABLE_MAX).map((r, i) => {
      const s = st.stats.get(r.id) || {};
      const tr = el('tr', { class: r === st.selected ? 'selected' : '', onclick: () => { a.select(r); panTo(r); } },
        el('td', {}, String(i + 1)), el('td', {}, r.shape), el('td', {}, fmt(s.npix)), el('td', {}, fmt(s.area_arcsec2)),
        el('td', {}, fmt(s.mean)), el('td', {}, fmt(s.median)), el('td', {}, fmt(s.std)), el('td', {}, fmt(s.flux)), el('td', {}, fmt(s.net_flux)));
      return tr;
    });
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
  }

  function panTo(r) {
    const [x, y] = r.points[0];
    const v = ctx.viewer.visibleImageRect();
    if (x < v.x0 || x > v.x1 || y < v.y0 || y > v.y1) ctx.viewer.panTo(x, y);
  }

  // ---- per-region tools ----
  async function cutout(r) {
    const blob = await ctx.api.post('/api/regions/cutout', a.body({ regions: ds9Text(r), index: 0 }));
    const stem = (ctx.viewer.image?.path || 'image').split('/').pop().replace(/\.[^.]*$/, '');
    download(`${stem}_region${st.regions.indexOf(r) + 1}.fits`, blob, 'application/fits');
  }
  const ds9Text = (r) => `image\n${ds9Line(r)}\n`;

  async function plotModal(title, traces, layout) {
    const m = ctx.ui.openModal({ title, wide: true, id: 'region-plot' });
    const div = el('div', { class: 'regions-plot' });
    m.body.append(div);
    const Plotly = await loadPlotly();
    await Plotly.newPlot(div, traces, {
      paper_bgcolor: '#131822', plot_bgcolor: '#131822', font: { color: '#d6dde8' }, margin: { l: 60, r: 20, t: 20, b: 50 }, ...layout,
    }, { displaylogo: false, responsive: true });
    m.onClose = () => Plotly.purge(div);
    return m;
  }

  async function histogram(r) {
    const h = await ctx.api.post('/api/regions/histogram', a.body({ regions: ds9Text(r), index: 0, bins: 64 }));
    const centres = h.counts.map((_, i) => (h.edges[i] + h.edges[i + 1]) / 2);
    await plotModal(`Histogram of region #${st.regions.indexOf(r) + 1} (${h.n.toLocaleString()} pixels)`,
      [{ type: 'bar', x: centres, y: h.counts, marker: { color: '#39e75f' } }],
      { xaxis: { title: { text: `value (${h.unit || 'no unit'})` } }, yaxis: { title: { text: 'pixels' }, type: 'log' }, bargap: 0 });
  }

  async function profile(r) {
    const p = await ctx.api.post('/api/regions/profile', a.body({ regions: ds9Text(r), index: 0, step_px: Math.max(0.5, r.sizes.at(-1) / 60) }));
    const scale = ctx.viewer.image?.info?.wcs?.pixel_scale_arcsec;
    const x = scale ? p.radius_px.map((v) => v * scale) : p.radius_px;
    await plotModal(`Radial profile of region #${st.regions.indexOf(r) + 1}`,
      [{ type: 'scatter', mode: 'lines+markers', x, y: p.profile, line: { color: '#39e75f' } }],
      { xaxis: { title: { text: scale ? 'radius (arcsec)' : 'radius (px)' } }, yaxis: { title: { text: `mean (${p.unit || 'no unit'})` } } });
  }

  // ---- exact parameters ----
  async function openDialog(r) {
    const m = ctx.ui.openModal({ title: `${r.shape} #${st.regions.indexOf(r) + 1}`, id: 'region-dialog' });
    const hasSky = !!ctx.viewer.image?.info?.wcs?.has_celestial;
    const system = el('select', { name: 'system' }, el('option', { value: 'pixel' }, 'pixel: x, y (0-based), px, angle from +x'),
      hasSky ? el('option', { value: 'sky' }, 'sky: RA, Dec (deg), arcsec, angle from RA axis') : null);
    const form = el('form', { class: 'regions-dialog' });
    const fields = el('div', { class: 'regions-fields' });
    const text = el('input', { name: 'text', value: r.text || '' });
    const color = el('input', { name: 'color', type: 'color', value: /^#[0-9a-f]{6}$/i.test(r.color) ? r.color : '#39e75f' });
    const include = el('input', { name: 'include', type: 'checkbox', checked: r.include });
    form.append(el('label', {}, 'coordinates ', system), fields, el('label', {}, 'text ', text), el('label', {}, 'colour ', color),
      el('label', {}, include, ' include (unchecked: excluded, DS9 "-")'),
      el('div', { class: 'regions-actions' }, el('button', { class: 'btn', type: 'submit', id: 'region-apply' }, 'Apply')));
    m.body.append(form);
    let frame = 'icrs';
    const input = (name, value) => el('label', {}, `${name} `, el('input', { name, value: Number.isFinite(value) ? String(Number(value.toPrecision(12))) : '', inputmode: 'decimal' }));
    async function fill() {
      let v = { points: r.points, sizes: r.sizes, angle: r.angle };
      if (system.value === 'sky') {
        const out = await ctx.api.post('/api/regions/convert', a.body({ regions: ds9Text(r), to: 'ds9', system: 'sky' }));
        const lines = out.regions.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !/^global\b/i.test(l));
        frame = lines[0];
        const nums = (/\(([^)]*)\)/.exec(lines[1]) || [, ''])[1].split(',').map(Number);
        v = skyValues(r, nums);
      }
      const parts = [];
      if (r.shape === 'polygon' || r.shape === 'line') {
        parts.push(el('label', {}, 'vertices (one "x y" a line) ', el('textarea', { name: 'vertices', rows: 5 }, v.points.map((p) => p.join(' ')).join('\n'))));
      } else {
        parts.push(input(system.value === 'sky' ? 'ra' : 'x', v.points[0][0]), input(system.value === 'sky' ? 'dec' : 'y', v.points[0][1]));
      }
      (SIZE_NAMES[r.shape] || []).forEach((n, i) => parts.push(input(`${n} (${system.value === 'sky' ? 'arcsec' : 'px'})`, v.sizes[i])));
      if (ROTATES.has(r.shape)) parts.push(input('angle (deg)', v.angle));
      fields.replaceChildren(...parts);
    }
    system.addEventListener('change', () => fill().catch(a.notifyError));
    await fill();
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const values = [...fields.querySelectorAll('input')].map((i) => Number(i.value));
        const vertices = fields.querySelector('textarea')?.value.trim().split('\n').map((l) => l.trim().split(/[\s,]+/).map(Number));
        if (values.some((v) => !Number.isFinite(v)) || (vertices && vertices.some((p) => p.length !== 2 || p.some((v) => !Number.isFinite(v))))) {
          throw new Error('every field needs a number');
        }
        const textBody = buildText(r, system.value, frame, values, vertices);
        const out = await ctx.api.post('/api/regions/parse', a.body({ regions: textBody }));
        const before = a.snapshot();
        const next = makeRegion(out.regions[0]);
        Object.assign(r, { points: next.points, sizes: next.sizes, angle: next.angle, text: text.value, color: color.value, include: include.checked });
        a.changed(r, before);
        a.live(r);
        m.close();
      } catch (err) { a.notifyError(err); }
    });
  }

  return {
    render, renderStats, renderNote, openDialog,
    show() { panel.show(); panel.panel.scrollIntoView({ block: 'nearest' }); },
    remove() { panel.remove(); },
  };
}

/** Sky values from regions' DS9 output numbers (degrees; ellipse semi-axes). */
function skyValues(r, n) {
  const deg = (v) => v * 3600;
  if (r.shape === 'polygon' || r.shape === 'line') {
    const points = [];
    for (let i = 0; i + 1 < n.length; i += 2) points.push([n[i], n[i + 1]]);
    return { points, sizes: [], angle: 0 };
  }
  const rest = n.slice(2);
  const points = [[n[0], n[1]]];
  switch (r.shape) {
    case 'circle': case 'annulus': return { points, sizes: rest.map(deg), angle: 0 };
    case 'ellipse': case 'ellipse_annulus': return { points, sizes: rest.slice(0, -1).map((v) => 2 * deg(v)), angle: rest.at(-1) };
    case 'box': case 'box_annulus': return { points, sizes: rest.slice(0, -1).map(deg), angle: rest.at(-1) };
    default: return { points, sizes: [], angle: 0 };
  }
}

/** DS9 text of one region from dialog values (pixel 0-based or sky degrees/arcsec). */
function buildText(r, system, frame, values, vertices) {
  const sky = system === 'sky';
  const pos = (x, y) => (sky ? `${x},${y}` : `${x + 1},${y + 1}`);
  const size = (v) => (sky ? `${v}"` : String(v));
  const head = sky ? frame : 'image';
  if (vertices) {
    const body = vertices.map(([x, y]) => pos(x, y)).join(',');
    return `${head}\n${r.shape}(${body})\n`;
  }
  const [x, y, ...rest] = values;
  const sizes = rest.slice(0, (SIZE_NAMES[r.shape] || []).length);
  const angle = ROTATES.has(r.shape) ? rest.at(-1) : null;
  const ds9 = { ellipse_annulus: 'ellipse', box_annulus: 'box' }[r.shape] || r.shape;
  const half = r.shape === 'ellipse' || r.shape === 'ellipse_annulus';
  const parts = [pos(x, y), ...sizes.map((v) => size(half ? v / 2 : v))];
  if (angle !== null) parts.push(String(angle));
  return `${head}\n${ds9}(${parts.join(',')})\n`;
}
