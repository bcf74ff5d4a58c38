// Catalog table view: open or upload a catalog (drag-and-drop too), page through rows, sort by a
// column, choose columns, filter with the expression language or the condition builder, add
// computed columns, see per-column statistics and histograms, export the selection, pick RA/Dec.
//
// Bus: emits catalog:loaded {name, rows, ra_col, dec_col}, catalog:filter-changed {name, filter, computed},
// catalog:rows-selected {name, rows} (0-based file-order row indices), overlay:show {name, ra_col,
// dec_col, filter}; listens to catalog:row-clicked {name, row} (highlights it, jumping to its page)
// and server:event (catalog.progress / catalog.ready while a catalog converts).
// Deep link: ?catalog=NAME&filter=&ra_col=&dec_col=[&table=1] loads the catalog into the table (shown with
// table=1, else on the first marker click or from the Catalogs menu); ra_col/dec_col are remembered.
// The RA/Dec choice is remembered per catalog in this browser (localStorage), never on the server.
// Helpers (not features): catalog-builder.js (condition builder), catalog-stats.js (statistics view),
// catalog-grid.js (rows and pager), catalog-dock.js (the dock's resize grip and fold button).
import { combine, renderBuilder } from './catalog-builder.js';
import { frameDock } from './catalog-dock.js';
import { renderPager as drawPager, renderRows } from './catalog-grid.js';
import { showStats } from './catalog-stats.js';

const STORE_KEY = 'neloura:catalog-radec:';

/** The RA/Dec columns this user chose for a catalog, or {}. */
export function loadMapping(name, storage = window.localStorage) {
  try {
    const value = JSON.parse(storage.getItem(STORE_KEY + name) || '{}');
    return value && typeof value === 'object' ? value : {};
  } catch {
    return {};
  }
}

export function saveMapping(name, mapping, storage = window.localStorage) {
  try { storage.setItem(STORE_KEY + name, JSON.stringify(mapping)); } catch { /* private mode: not remembered */ }
}

export function mount(ctx) {
  const { el } = ctx.escape;
  const offs = [];
  const st = {
    name: '', info: null, filter: '', sort: '', columns: null, computed: [], offset: 0, limit: 50,
    total: 0, page: null, selected: new Set(), focus: null, ra: '', dec: '', seq: 0,
  };

  // ---- DOM ----
  const dock = el('section', { class: 'catalog-dock', hidden: true, 'aria-label': 'Catalog table' });
  const catalogSelect = el('select', { class: 'cat-name', title: 'Catalog' });
  const fileInput = el('input', { type: 'file', hidden: true, accept: '.fits,.fit,.fts,.vot,.xml,.csv,.tsv,.ecsv,.parquet,.txt,.dat' });
  const raSelect = el('select', { class: 'cat-ra', title: 'RA column' });
  const decSelect = el('select', { class: 'cat-dec', title: 'Dec column' });
  const filterInput = el('input', { type: 'text', class: 'cat-filter', placeholder: 'filter, e.g. flux > 10 && dec < -30', spellcheck: 'false' });
  const filterError = el('div', { class: 'cat-error', hidden: true });
  const builder = el('div', { class: 'cat-builder' });
  const computedInput = el('input', { type: 'text', class: 'cat-computed', placeholder: 'new column: mag = -2.5*log10(flux) + 23.9', spellcheck: 'false' });
  const chooser = el('div', { class: 'cat-chooser', hidden: true });
  const table = el('table', { class: 'cat-table' });
  const tableWrap = el('div', { class: 'cat-table-wrap' }, table);
  const pager = el('div', { class: 'cat-pager' });
  const statsBox = el('div', { class: 'cat-stats', hidden: true });
  const status = el('div', { class: 'cat-status muted' });
  const exportSelect = el('select', { class: 'cat-export-format', title: 'Export format' },
    ['csv', 'fits', 'votable', 'parquet'].map((f) => el('option', { value: f }, f.toUpperCase())));
  const exportLink = el('a', { class: 'btn cat-export', href: '#', download: '' }, 'Export');

  const head = el('div', { class: 'cat-head' },
    catalogSelect,
    el('button', { class: 'btn small', title: 'Upload a catalog (or drop a file here)', onclick: () => fileInput.click() }, 'Upload…'),
    fileInput,
    el('label', { class: 'cat-radec' }, 'RA', raSelect, 'Dec', decSelect),
    el('button', { class: 'btn small', onclick: showOnImage, title: 'Overlay the filtered rows on the image' }, 'Show on image'),
    el('button', { class: 'btn small', onclick: () => { chooser.hidden = !chooser.hidden; } }, 'Columns…'),
    exportSelect, exportLink,
    status,
    el('button', { class: 'btn small cat-close', title: 'Close the table', onclick: () => { dock.hidden = true; } }, '×'),
  );
  const filterRow = el('form', { class: 'cat-filter-row', onsubmit: (e) => { e.preventDefault(); applyFilter(filterInput.value); } },
    filterInput,
    el('button', { class: 'btn small primary', type: 'submit' }, 'Apply'),
    el('button', { class: 'btn small', type: 'button', onclick: () => { filterInput.value = ''; applyFilter(''); } }, 'Clear'),
    el('button', { class: 'btn small cat-tools-toggle', type: 'button', title: 'Condition builder and computed columns',
      onclick: () => { tools.hidden = !tools.hidden; } }, 'Builder…'),
  );
  const computedRow = el('form', { class: 'cat-filter-row', onsubmit: (e) => { e.preventDefault(); addComputed(); } },
    computedInput, el('button', { class: 'btn small', type: 'submit' }, 'Add column'));
  const tools = el('div', { class: 'cat-tools', hidden: true }, builder, computedRow);  // folded: the table gets the room
  const wrap = document.getElementById('viewer-wrap');
  const frame = frameDock(el, dock, head, wrap);
  const { setFolded } = frame;
  dock.append(frame.grip, head, filterRow, filterError, tools, chooser, tableWrap, pager, statsBox);
  wrap?.append(dock);

  // ---- loading ----
  async function refreshList(selected) {
    try {
      const body = await ctx.api.get('/api/catalogs');
      catalogSelect.replaceChildren(el('option', { value: '' }, 'choose a catalog…'),
        ...body.catalogs.map((c) => el('option', { value: c.name }, `${c.name} (${c.format})`)));
      catalogSelect.value = selected || st.name || '';
    } catch (err) {
      ctx.ui.notify(err.detail || String(err), 'error');
    }
  }

  async function open(name, { filter = '', ra = '', dec = '', show = true } = {}) {
    if (!name) return;
    if (show) dock.hidden = false;
    st.name = name;
    st.filter = filter;
    st.sort = '';
    st.columns = null;
    st.computed = [];
    st.offset = 0;
    st.selected = new Set();
    filterInput.value = filter;
    status.textContent = 'opening…';
    try {
      const state = await ctx.api.get('/api/catalogs/open', { name });
      if (state.state === 'converting') status.textContent = `converting… ${Math.round(100 * state.fraction)}%`;
      st.info = await ctx.api.get('/api/catalogs/columns', { name });
    } catch (err) {
      status.textContent = '';
      ctx.ui.notify(err.detail || String(err), 'error');
      return;
    }
    ctx.ui.progress(`catalog:${name}`, null);
    const remembered = loadMapping(name);
    st.ra = ra || remembered.ra_col || st.info.ra_col || '';
    st.dec = dec || remembered.dec_col || st.info.dec_col || '';
    if (ra || dec) saveMapping(name, { ra_col: st.ra, dec_col: st.dec });
    renderRadec();
    renderBuilderRow();
    renderChooser();
    if (![...catalogSelect.options].some((o) => o.value === name)) await refreshList(name);
    catalogSelect.value = name;
    ctx.bus.emit('catalog:loaded', { name, rows: st.info.rows, ra_col: st.ra, dec_col: st.dec });
    await load();
  }

  function params(extra = {}) {
    return {
      name: st.name, filter: st.filter || undefined, sort: st.sort || undefined,
      columns: st.columns ? st.columns.join(',') : undefined,
      computed: st.computed.length ? st.computed.join('\n') : undefined, ...extra,
    };
  }

  async function load(extra = {}) {
    if (!st.name) return;
    const seq = ++st.seq;
    status.textContent = 'loading…';
    try {
      const page = await ctx.api.get('/api/catalogs/rows', params({ offset: st.offset, limit: st.limit, ...extra }));
      if (seq !== st.seq) return;
      st.page = page;
      st.total = page.total;
      st.offset = page.offset;
      filterError.hidden = true;
      renderTable();
      renderPager();
      updateExport();
      status.textContent = `${page.total.toLocaleString()} of ${st.info.rows.toLocaleString()} rows`;
    } catch (err) {
      if (seq !== st.seq) return;
      status.textContent = '';
      showError(err);
    }
  }

  function showError(err) {
    const text = err.detail || String(err);
    filterError.hidden = false;
    filterError.textContent = text;
    const at = /at position (\d+)\)?$/.exec(text);  // the server points at the offending character
    if (at && filterInput.value === st.filter) {
      const pos = Math.min(Number(at[1]), filterInput.value.length);
      filterInput.focus();
      filterInput.setSelectionRange(pos, Math.min(pos + 1, filterInput.value.length));
    }
  }

  async function applyFilter(text) {
    st.filter = text.trim();
    st.offset = 0;
    await load();
    if (filterError.hidden) ctx.bus.emit('catalog:filter-changed', { name: st.name, filter: st.filter, computed: st.computed.join('\n') });
  }

  function addComputed() {
    const text = computedInput.value.trim();
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^]+)$/.exec(text);
    if (!match) { showError({ detail: 'write NAME = EXPRESSION, e.g. mag = -2.5*log10(flux)' }); return; }
    st.computed = [...st.computed.filter((c) => !c.startsWith(`${match[1]}=`)), `${match[1]}=${match[2]}`];
    if (st.columns && !st.columns.includes(match[1])) st.columns = [...st.columns, match[1]];
    computedInput.value = '';
    load().then(renderChooser);
  }

  // ---- rendering ----
  function columnNames() {
    return [...st.info.columns.map((c) => c.name), ...st.computed.map((c) => c.split('=')[0])];
  }

  function renderRadec() {
    const names = st.info.columns.filter((c) => c.kind === 'num' || c.kind === 'str').map((c) => c.name);
    for (const [select, value] of [[raSelect, st.ra], [decSelect, st.dec]]) {
      select.replaceChildren(el('option', { value: '' }, '—'), ...names.map((n) => el('option', { value: n }, n)));
      select.value = value;
    }
  }

  function renderBuilderRow() {
    renderBuilder(el, builder, st.info.columns, {
      onAdd: (condition, join) => {
        filterInput.value = combine(filterInput.value, condition, join);
        applyFilter(filterInput.value);
      },
      onError: (message) => showError({ detail: message }),
    });
  }

  function renderChooser() {
    const shown = new Set(st.columns || columnNames());
    chooser.replaceChildren(...columnNames().map((name) => {
      const box = el('input', { type: 'checkbox', value: name, onchange: () => {
        const picked = [...chooser.querySelectorAll('input:checked')].map((b) => b.value);
        st.columns = picked.length === columnNames().length ? null : picked;
        load();
      } });
      box.checked = shown.has(name);
      return el('label', {}, box, name);
    }));
  }

  function renderTable() {
    renderRows(el, table, {
      page: st.page, columns: st.info.columns, sort: st.sort, rowClass, onSort: sortBy, onStats: showColumnStats, onRow: selectRow,
    });
  }

  function rowClass(index) {
    return [st.selected.has(index) ? 'selected' : '', st.focus === index ? 'focus' : ''].filter(Boolean).join(' ');
  }

  function renderPager() {
    drawPager(el, pager, {
      total: st.total, offset: st.offset, limit: st.limit, selected: st.selected.size,
      onOffset: (offset) => { st.offset = offset; load(); },
      onLimit: (limit) => { st.limit = limit; st.offset = 0; load(); },
      onClearSelection: () => { st.selected.clear(); emitSelection(); renderTable(); renderPager(); },
    });
  }

  function sortBy(name) {
    st.sort = st.sort === name ? `-${name}` : st.sort === `-${name}` ? '' : name;
    st.offset = 0;
    load();
  }

  function selectRow(index, event) {
    if (event.ctrlKey || event.metaKey) {
      if (st.selected.has(index)) st.selected.delete(index); else st.selected.add(index);
    } else if (event.shiftKey && st.focus !== null) {
      const rows = st.page.index;
      const [a, b] = [rows.indexOf(st.focus), rows.indexOf(index)].sort((x, y) => x - y);
      if (a >= 0) for (const r of rows.slice(a, b + 1)) st.selected.add(r);
    } else {
      st.selected = new Set([index]);
    }
    st.focus = index;
    emitSelection();
    renderTable();
    renderPager();
  }

  function emitSelection() {
    ctx.bus.emit('catalog:rows-selected', { name: st.name, rows: [...st.selected].sort((a, b) => a - b), source: 'table' });
  }

  function showColumnStats(column) {
    return showStats(el, statsBox, column,
      (name) => ctx.api.get('/api/catalogs/stats', { ...params(), column: name, bins: 40, columns: undefined, sort: undefined }));
  }

  function updateExport() {
    exportLink.href = ctx.api.url('/api/catalogs/export', { ...params(), format: exportSelect.value });
  }

  function showOnImage() {
    if (!st.name) return;
    ctx.bus.emit('overlay:show', { name: st.name, ra_col: st.ra || undefined, dec_col: st.dec || undefined, filter: st.filter || undefined });
  }

  function onRadec() {
    st.ra = raSelect.value;
    st.dec = decSelect.value;
    saveMapping(st.name, { ra_col: st.ra, dec_col: st.dec });
    ctx.bus.emit('catalog:loaded', { name: st.name, rows: st.info?.rows, ra_col: st.ra, dec_col: st.dec });
  }

  // a selection made elsewhere (plotter lasso, cross-match, regions): highlight it, show its first row
  async function onRowsSelected({ name, rows, source }) {
    if (source === 'table' || name !== st.name) return;
    st.selected = new Set((rows || []).map(Number));
    if (!st.page) return;  // the catalog is still opening: its first page shows the selection
    const first = st.selected.size ? [...st.selected].reduce((a, b) => Math.min(a, b)) : null;
    if (first !== null && !dock.hidden && !st.page.index.some((r) => st.selected.has(r))) await load({ around: first });
    else renderTable();
    renderPager();
  }

  async function onRowClicked({ name, row }) {
    if (name !== st.name || row === undefined || row === null) return;
    dock.hidden = false;
    setFolded(false);
    st.focus = Number(row);
    st.selected = new Set([st.focus]);
    if (st.page && st.page.index.includes(st.focus)) renderTable();
    else await load({ around: st.focus });
    renderPager();
    table.querySelector('tr.focus')?.scrollIntoView({ block: 'nearest' });
  }

  // ---- uploads ----
  async function upload(file) {
    if (!file) return;
    ctx.ui.progress('catalog-upload', 0, `uploading ${file.name}`);
    try {
      const kept = await ctx.api.upload('/api/catalogs/upload', file, { onProgress: (f) => ctx.ui.progress('catalog-upload', Math.min(f, 0.99), `uploading ${file.name}`) });
      ctx.ui.notify(`${kept.name}: ${kept.rows.toLocaleString()} rows`, 'success');
      await refreshList(kept.name);
      await open(kept.name);
    } catch (err) {
      ctx.ui.notify(err.detail || String(err), 'error');
    } finally {
      ctx.ui.progress('catalog-upload', null);
    }
  }

  // ---- wiring ----
  catalogSelect.addEventListener('change', () => open(catalogSelect.value));
  fileInput.addEventListener('change', () => { upload(fileInput.files[0]); fileInput.value = ''; });
  raSelect.addEventListener('change', onRadec);
  decSelect.addEventListener('change', onRadec);
  exportSelect.addEventListener('change', updateExport);
  dock.addEventListener('dragover', (e) => { e.preventDefault(); dock.classList.add('drop'); });
  dock.addEventListener('dragleave', () => dock.classList.remove('drop'));
  dock.addEventListener('drop', (e) => { e.preventDefault(); dock.classList.remove('drop'); upload(e.dataTransfer?.files?.[0]); });
  offs.push(ctx.bus.on('catalog:row-clicked', onRowClicked));
  offs.push(ctx.bus.on('catalog:rows-selected', onRowsSelected));
  offs.push(ctx.bus.on('server:event', (event) => {
    if (!event || !String(event.type || '').startsWith('catalog.')) return;
    if (event.type === 'catalog.progress') ctx.ui.progress(`catalog:${event.name}`, Math.min(event.fraction, 0.99), `converting ${event.name}`);
    else ctx.ui.progress(`catalog:${event.name}`, null);
  }));
  const removeMenu = ctx.ui.addMenuItem('Catalogs', { label: 'Catalog table…', onClick: () => {
    dock.hidden = !dock.hidden;
    if (!dock.hidden) refreshList();
  } });

  const link = new URLSearchParams(window.location.search);
  if (link.get('catalog')) {
    refreshList(link.get('catalog'));
    // the table stays folded unless the link asks for it (table=1): the image comes first; a marker click
    // unfolds it. Opened once every feature is mounted: those mounted after this one hear catalog:loaded.
    ctx.ready(() => open(link.get('catalog'), { filter: link.get('filter') || '', ra: link.get('ra_col') || '',
      dec: link.get('dec_col') || '', show: link.get('table') === '1' }));
  }

  return function unmount() {
    for (const off of offs) off();
    removeMenu();
    frame.dispose();
    dock.remove();
  };
}
