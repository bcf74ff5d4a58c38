// Plotter: scatter, histogram and 2-D density of catalog columns or filter-language expressions,
// drawn by plotly.js (WebGL scattergl, histogram, histogram2d; log axes, colorbars), loaded on
// first use from /vendor/plotly.js-dist-min/. Colour by a column (colorbar), size by a column.
// Linked through the ONE selection model of the page, the bus event catalog:rows-selected
// {name, rows, source} (0-based file-order rows): a lasso/box in the plot selects rows (the table
// and the image overlay follow), a selection made elsewhere highlights the points.
// Exports the plot as PNG/SVG (Plotly.toImage) and the selection as a catalog (POST /api/plotter/export).
// Bus: listens to catalog:loaded, catalog:filter-changed, catalog:rows-selected, catalog:row-clicked;
// emits catalog:rows-selected {source: 'plotter'} and plotter:plotted {name, kind, points}.
// Helpers (not features): plotter-data.js (payload, selection geometry, binning), plotter-figure.js
// (plotly traces and layout, the density's grids).
import { decodePlot, extent, indicesOfRows, rowsOfBins, selectPoints } from './plotter-data.js';
import { DENSITY_ABOVE, figure } from './plotter-figure.js';

const PLOTLY = '/vendor/plotly.js-dist-min/plotly.min.js';
let plotlyPromise = null;

/** window.Plotly, loading the script once (a classic script: plotly is not an ES module). */
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  plotlyPromise = plotlyPromise || new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = PLOTLY;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => { plotlyPromise = null; reject(new Error('plotly.js could not be loaded')); };
    document.head.append(script);
  });
  return plotlyPromise;
}

/** A named moment of the last plot (performance marks 'plotter:<name>', for the benchmark's breakdown). */
function mark(name) {
  performance.clearMarks(`plotter:${name}`);
  performance.mark(`plotter:${name}`);
}

/** With a catalog open a plot is near: plotly.js (4.8 MB to parse and run, most of a cold plot's
 * time) is loaded when the page is next idle, not when the plotter is first asked for. */
function preloadPlotly() {
  if (window.Plotly || plotlyPromise) return;
  const later = window.requestIdleCallback || ((fn) => setTimeout(fn, 200));
  later(() => { loadPlotly().catch(() => {}); }, { timeout: 5000 });
}

export function mount(ctx) {
  const { el } = ctx.escape;
  const offs = [];
  const st = { name: '', filter: '', data: null, kind: 'scatter', spec: null, selected: [], seq: 0, columns: [] };

  // ---- DOM ----
  const dock = el('section', { class: 'plotter-dock', hidden: true, 'aria-label': 'Plotter' });
  const catalogSelect = el('select', { class: 'plot-catalog', title: 'Catalog' });
  const kindSelect = el('select', { class: 'plot-kind', title: 'Plot type' },
    [['auto', 'auto'], ['scatter', 'scatter'], ['histogram', 'histogram'], ['density', '2-D density']]
      .map(([v, t]) => el('option', { value: v }, t)));
  const columnList = el('datalist', { id: 'plot-columns' });
  const field = (cls, placeholder, title) => el('input', { type: 'text', class: cls, placeholder, title, list: 'plot-columns', spellcheck: 'false' });
  const xInput = field('plot-x', 'x: column or expression', 'x axis: a column or an expression, e.g. -2.5*log10(flux)+23.9');
  const yInput = field('plot-y', 'y (empty: histogram)', 'y axis: a column or an expression');
  const colorInput = field('plot-color', 'colour by…', 'colour by a column or expression (colorbar)');
  const sizeInput = field('plot-size', 'size by…', 'marker size by a column or expression');
  const filterInput = el('input', { type: 'text', class: 'plot-filter', placeholder: 'filter, e.g. mag_ab < 24', spellcheck: 'false' });
  const logX = el('input', { type: 'checkbox', class: 'plot-logx' });
  const logY = el('input', { type: 'checkbox', class: 'plot-logy' });
  const status = el('span', { class: 'plot-status muted' });
  const error = el('div', { class: 'plot-error', hidden: true });
  const graph = el('div', { class: 'plot-graph' });
  const exportFormat = el('select', { class: 'plot-export-format', title: 'Selection export format' },
    ['csv', 'fits', 'votable', 'parquet'].map((f) => el('option', { value: f }, f.toUpperCase())));
  const form = el('form', { class: 'plot-form', onsubmit: (e) => { e.preventDefault(); plot(); } },
    catalogSelect, kindSelect, xInput, yInput, colorInput, sizeInput,
    el('label', { class: 'plot-check' }, logX, 'log x'), el('label', { class: 'plot-check' }, logY, 'log y'),
    filterInput, el('button', { class: 'btn small primary plot-go', type: 'submit' }, 'Plot'), columnList);
  const tools = el('div', { class: 'plot-tools' },
    el('button', { class: 'btn small plot-png', type: 'button', onclick: () => saveImage('png') }, 'PNG'),
    el('button', { class: 'btn small plot-svg', type: 'button', onclick: () => saveImage('svg') }, 'SVG'),
    el('span', { class: 'muted' }, 'selection:'), exportFormat,
    el('button', { class: 'btn small plot-export', type: 'button', onclick: exportSelection }, 'Export'),
    el('button', { class: 'btn small plot-clear', type: 'button', onclick: () => select([], true) }, 'Clear'),
    status,
    el('button', { class: 'btn small plot-close', type: 'button', title: 'Close the plotter', onclick: () => { dock.hidden = true; } }, '×'));
  dock.append(form, tools, error, graph);
  document.getElementById('viewer-wrap')?.append(dock);
  const resize = new ResizeObserver(() => { if (window.Plotly && st.spec) window.Plotly.Plots.resize(graph); });
  resize.observe(graph);

  // ---- catalogs ----
  async function refreshList() {
    try {
      const body = await ctx.api.get('/api/catalogs');
      catalogSelect.replaceChildren(el('option', { value: '' }, 'catalog…'),
        ...body.catalogs.map((c) => el('option', { value: c.name }, c.name)));
      catalogSelect.value = st.name;
    } catch (err) {
      ctx.ui.notify(err.detail || String(err), 'error');
    }
  }

  async function useCatalog(name) {
    if (!name || name === st.name && st.columns.length) return;
    st.name = name;
    try {
      const info = await ctx.api.get('/api/catalogs/columns', { name });
      st.columns = info.columns.filter((c) => c.kind === 'num' || c.kind === 'bool').map((c) => c.name);
      st.catalogRows = Number(info.rows) || 0;
      columnList.replaceChildren(...st.columns.map((c) => el('option', { value: c })));
      if (!xInput.value) xInput.value = st.columns[0] || '';
      if (!yInput.value && st.columns.length > 1) yInput.value = st.columns[1];
    } catch (err) {
      ctx.ui.notify(err.detail || String(err), 'error');
    }
    if (![...catalogSelect.options].some((o) => o.value === name)) await refreshList();
    catalogSelect.value = name;
  }

  // ---- plotting ----
  async function plot(spec = null) {
    if (spec) {
      xInput.value = spec.x || ''; yInput.value = spec.y || ''; colorInput.value = spec.color || ''; sizeInput.value = spec.size || '';
      kindSelect.value = spec.kind || 'auto'; logX.checked = !!spec.logX; logY.checked = !!spec.logY;
      if (spec.filter !== undefined) filterInput.value = spec.filter;
      if (spec.name) await useCatalog(spec.name);
    }
    if (!st.name || !xInput.value.trim()) { showError('choose a catalog and an x column or expression'); return; }
    const want = { name: st.name, x: xInput.value.trim(), y: yInput.value.trim(), color: colorInput.value.trim(),
      size: sizeInput.value.trim(), filter: filterInput.value.trim() };
    const seq = ++st.seq;
    status.textContent = 'loading…';
    error.hidden = true;
    let Plotly;
    let data;
    mark('start');
    try {
      [Plotly, data] = await Promise.all([loadPlotly().finally(() => mark('plotly')), ctx.api.get('/api/plotter/data', fetched(want))
        .then((blob) => blob.arrayBuffer()).then(decodePlot).finally(() => mark('data'))]);
    } catch (err) {
      if (seq === st.seq) { status.textContent = ''; showError(err.detail || err.message || String(err)); }
      return;
    }
    if (seq !== st.seq) return;
    let kind = kindSelect.value;
    if (kind === 'auto') kind = !data.y ? 'histogram' : data.n > DENSITY_ABOVE ? 'density' : 'scatter';
    if (kind !== 'histogram' && !data.y) { showError('a scatter or density plot needs a y column'); status.textContent = ''; return; }
    st.data = data;
    st.kind = kind;
    st.spec = { ...want, kind, logX: logX.checked, logY: logY.checked };
    const { traces, layout, density } = figure(st.spec, data);
    st.density = density;
    st.shownSelection = 0;
    st.selectedIndices = [];
    if (graph.data && graph.dataset.kind !== kind) {  // a new plot type: a new scene, not the old one reused
      Plotly.purge(graph);
      delete graph.dataset.wired;
    }
    graph.dataset.kind = kind;
    mark('figure');
    await Plotly.react(graph, traces, layout, { responsive: true, displaylogo: false, scrollZoom: true,
      modeBarButtonsToRemove: ['toImage'] });
    mark('drawn');
    if (!graph.dataset.wired) wirePlotly();
    status.textContent = `${data.n.toLocaleString()} of ${data.catalogRows.toLocaleString()} rows`;
    dock.dataset.points = String(data.n);
    applySelection(st.selected);
    ctx.bus.emit('plotter:plotted', { name: st.name, kind, points: data.n });
  }

  /** The payload's query: a density (asked for, or sure on auto: every row of a catalog above the
   * density threshold) draws no colour or size, so their columns are not sent (4-8 bytes a point). */
  function fetched(want) {
    const kind = kindSelect.value;
    const density = want.y && (kind === 'density' || (kind === 'auto' && !want.filter && st.catalogRows > DENSITY_ABOVE));
    return density ? { ...want, color: '', size: '' } : want;
  }

  // ---- density: re-binned for the current view ----
  /** After a pan/zoom (or a double-click reset): re-bin for the new axis ranges, in the next frame. */
  function onRelayout(event) {
    if (st.kind !== 'density' || !event || !Object.keys(event).some((k) => /^[xy]axis/.test(k))) return;
    if (event['xaxis.autorange'] || event['yaxis.autorange']) {  // reset: the data's full extent
      window.Plotly.relayout(graph, { 'xaxis.range': extent(st.density.hx), 'yaxis.range': extent(st.density.hy) });
      return;
    }
    if (st.rebin) return;
    st.rebin = requestAnimationFrame(() => {
      st.rebin = 0;
      const { xaxis, yaxis } = graph.layout;
      if (st.kind !== 'density' || !xaxis?.range || !yaxis?.range) return;
      st.density.view = { x: xaxis.range.map(Number), y: yaxis.range.map(Number) };
      const [all, picked] = st.density.grids(st.selectedIndices);
      const both = {};
      for (const key of ['z', 'x0', 'dx', 'y0', 'dy']) both[key] = [all[key], picked[key]];
      Promise.resolve(window.Plotly.restyle(graph, both, [0, 1])).then(() => {
        graph.dataset.rebins = String(Number(graph.dataset.rebins || 0) + 1);
      });
    });
  }

  // ---- selection: plot -> bus ----
  function wirePlotly() {
    graph.dataset.wired = '1';
    graph.on('plotly_selected', (event) => {
      if (!event || !st.data || st.clearing) return;
      const data = st.data;
      let rows;
      if (st.kind === 'histogram') {
        rows = rowsOfBins(event.points, data.rows);
      } else if (st.kind === 'scatter') {  // plotly's own selection (log axes included), exactly as drawn
        rows = (event.points || []).filter((p) => p.curveNumber === 0).map((p) => data.rows[p.pointIndex]).sort((a, b) => a - b);
      } else {
        const shape = event.lassoPoints ? { lasso: event.lassoPoints } : event.range ? { box: event.range } : null;
        if (!shape) return;
        const density = st.kind === 'density';  // there the axes are linear over log10 values
        const x = density ? st.density.hx : data.x;
        const y = density ? st.density.hy : data.y;
        const log = density ? {} : { logX: st.spec.logX, logY: st.spec.logY };
        const indices = selectPoints(x, y, shape, log);  // ascending, as the payload's rows
        rows = new Array(indices.length);
        for (let k = 0; k < indices.length; k++) rows[k] = data.rows[indices[k]];
        select(rows, false, true, indices);
        return;
      }
      select(rows, false, true);
    });
    graph.on('plotly_deselect', () => { if (!st.clearing) select([], false, true); });
    graph.on('plotly_relayout', onRelayout);
  }

  // fromPlot: plotly has already styled its own lasso selection of a scatter (no second redraw);
  // indices: the points of `rows` when the plot knows them (no search of the rows)
  function select(rows, redraw, fromPlot = false, indices = null) {
    st.selected = rows;
    if (fromPlot && st.kind === 'scatter') {
      st.shownSelection = rows.length;
      updateStatus(rows.length);
    } else {
      applySelection(rows, { keepShape: !redraw, indices });
    }
    ctx.bus.emit('catalog:rows-selected', { name: st.name, rows, source: 'plotter' });
  }

  function updateStatus(selected) {
    dock.dataset.selected = String(selected);
    status.textContent = `${st.data.n.toLocaleString()} of ${st.data.catalogRows.toLocaleString()} rows` +
      (selected ? ` · ${selected.toLocaleString()} selected` : '');
  }

  // ---- selection: bus -> plot ----
  function applySelection(rows, { keepShape = false, indices: known = null } = {}) {
    if (!st.data || !window.Plotly || !graph.data) return;
    const indices = known || indicesOfRows(st.data.rows, rows);
    updateStatus(indices.length);
    let cleared = Promise.resolve();
    if (!keepShape && graph.layout?.selections?.length) {  // a selection made elsewhere: drop the lasso shape
      st.clearing = true;  // plotly announces that as a deselect, which is not the user's
      cleared = Promise.resolve(window.Plotly.relayout(graph, { selections: [] })).finally(() => { st.clearing = false; });
    }
    const shown = st.shownSelection || 0;
    st.shownSelection = indices.length;
    if (!shown && !indices.length) return;  // nothing drawn as selected, nothing to draw: no redraw
    cleared.then(() => {
      if (st.kind === 'density') {
        st.selectedIndices = indices;
        const picked = st.density.selectedGrid(indices);
        window.Plotly.restyle(graph, { z: [picked.z], x0: [picked.x0], dx: [picked.dx], y0: [picked.y0], dy: [picked.dy] }, [1]);
      } else {
        window.Plotly.restyle(graph, { selectedpoints: [indices.length ? indices : null] }, [0]);
      }
    });
  }

  function onRowsSelected({ name, rows, source }) {
    if (source === 'plotter' || name !== st.name) return;
    st.selected = (rows || []).map(Number);
    applySelection(st.selected);
  }

  // ---- exports ----
  async function saveImage(format) {
    if (!window.Plotly || !st.spec) { ctx.ui.notify('plot something first', 'warning'); return; }
    const url = await window.Plotly.toImage(graph, { format, width: graph.clientWidth * 2, height: graph.clientHeight * 2 });
    download(url, `${st.name.replace(/[^A-Za-z0-9._-]+/g, '_')}-plot.${format}`);
  }

  async function exportSelection() {
    if (!st.name || !st.selected.length) { ctx.ui.notify('select points first (lasso or box in the plot)', 'warning'); return; }
    try {
      const blob = await ctx.api.post('/api/plotter/export', { name: st.name, rows: st.selected, format: exportFormat.value });
      const url = URL.createObjectURL(blob);
      const ext = { csv: 'csv', fits: 'fits', votable: 'vot', parquet: 'parquet' }[exportFormat.value];
      download(url, `${st.name.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '_')}-selection.${ext}`);
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      ctx.ui.notify(err.detail || String(err), 'error');
    }
  }

  function download(url, name) {
    const a = el('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  }

  function showError(text) {
    error.hidden = false;
    error.textContent = text;
  }

  // ---- wiring ----
  function open(detail = {}) {
    dock.hidden = false;
    refreshList();
    if (detail.name || detail.x) plot(detail);
    else if (st.name) useCatalog(st.name);
  }
  catalogSelect.addEventListener('change', () => { st.columns = []; xInput.value = ''; yInput.value = ''; useCatalog(catalogSelect.value); });
  offs.push(ctx.bus.on('catalog:loaded', ({ name }) => {
    if (!st.name || dock.hidden) { st.columns = []; useCatalog(name); }
    preloadPlotly();
  }));
  offs.push(ctx.bus.on('catalog:filter-changed', ({ name, filter }) => {
    if (name !== st.name) return;
    filterInput.value = filter || '';
    if (st.spec) plot();
  }));
  offs.push(ctx.bus.on('catalog:rows-selected', onRowsSelected));
  offs.push(ctx.bus.on('catalog:row-clicked', ({ name, row }) => onRowsSelected({ name, rows: [row] })));
  offs.push(ctx.bus.on('plotter:show', open));
  const removeMenu = ctx.ui.addMenuItem('Catalogs', { label: 'Plotter…', onClick: () => (dock.hidden ? open() : (dock.hidden = true)) });

  return function unmount() {
    for (const off of offs) off();
    resize.disconnect();
    removeMenu();
    if (window.Plotly && graph.data) window.Plotly.purge(graph);
    dock.remove();
  };
}
