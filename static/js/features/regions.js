// Regions: draw, edit, import/export DS9 and CRTF, statistics from the server's full-resolution
// pixels (live while dragging), cutouts, histograms, radial profiles, regions <-> catalog selections,
// all regions in one canvas layer. The model is in 0-based image pixels (regions-model.js); the
// server reads and writes the files (POST /api/regions/*).
//
// Bus: emits catalog:rows-selected {name, rows} (sources inside the regions), regions:changed
// {count, ds9}, region:spectrum {path, hdu, regions, index} (the cube spectrum feature answers);
// listens to catalog:rows-selected (a selection can become point regions), catalog:loaded /
// overlay:show (known catalogs), image:opened, plane:changed.
// URL: ?regions=<deflate-raw + base64url of the DS9 image-frame text> (up to URL_MAX characters), else
// ?regions_id=<id> of a copy saved with POST /api/regions/links.
// Helpers (not features): regions-model.js, regions-draw.js, regions-edit.js, regions-panel.js.

import { URL_MAX, cloneRegion, decodeFromUrl, encodeForUrl, makeRegion, toDs9 } from './regions-model.js';
import { drawRegions } from './regions-draw.js';
import { attachEditor } from './regions-edit.js';
import { createRegionsPanel } from './regions-panel.js';

const LIVE_MS = 120;
const AUTO_STATS_MAX = 2000;
const UNDO_MAX = 100;

export function mount(ctx) {
  const st = {
    regions: [], selected: null, draft: null, tool: 'select', stats: new Map(), undo: [],
    catalogs: new Set(), selection: null, linkNote: '',
  };
  const offs = [];
  let imageKey = null;
  let panelIndex = ctx.panels ? ctx.panels.active : 0; // panels: each keeps its regions (stash) while another is active
  const stash = new Map();
  let restoring = null;

  const layer = ctx.viewer.addCanvasLayer((g, viewer) => {
    const t0 = performance.now();
    const n = drawRegions(g, viewer, st.regions, { selected: st.selected, draft: st.draft });
    document.body.dataset.regionsDrawn = String(n + (st.selected ? 1 : 0));
    document.body.dataset.regionsDrawMs = (performance.now() - t0).toFixed(1);
  });
  layer.canvas.classList.add('regions-layer');
  let frame = 0;
  const redraw = () => { if (!frame) frame = requestAnimationFrame(() => { frame = 0; layer.redraw(); }); };

  const image = () => ctx.viewer.image;
  const body = (extra = {}) => ({ path: image().path, hdu: image().hdu, plane: image().plane || 0, ...extra });
  const notifyError = (e) => ctx.ui.notify(e.detail || e.message || String(e), 'error');

  // ---- model changes (every change is undoable) ----
  const snapshot = () => ({ regions: st.regions.map(cloneRegion), selectedId: st.selected?.id ?? null });
  function push(before) {
    st.undo.push(before);
    if (st.undo.length > UNDO_MAX) st.undo.shift();
  }
  function changed(region, before) {
    if (before) push(before);
    if (region) st.stats.delete(region.id);
    afterChange();
  }
  function afterChange() {
    document.body.dataset.regionsCount = String(st.regions.length);
    redraw();
    panel.render();
    scheduleStats();
    scheduleUrl();
    ctx.bus.emit('regions:changed', { count: st.regions.length, ds9: toDs9(st.regions) });
  }
  function add(region, before) {
    push(before);
    st.regions.push(region);
    st.selected = region;
    afterChange();
  }
  function addMany(shapes, before) {
    if (before) push(before);
    const made = shapes.map(makeRegion);
    st.regions.push(...made);
    st.selected = made.length === 1 ? made[0] : st.selected;
    afterChange();
    return made;
  }
  function remove(region) {
    push(snapshot());
    st.regions = st.regions.filter((r) => r !== region);
    st.stats.delete(region.id);
    if (st.selected === region) st.selected = null;
    afterChange();
  }
  function clear() {
    if (!st.regions.length) return;
    push(snapshot());
    st.regions = [];
    st.selected = null;
    st.stats.clear();
    afterChange();
  }
  function undo() {
    const prev = st.undo.pop();
    if (!prev) return;
    st.regions = prev.regions;
    st.selected = st.regions.find((r) => r.id === prev.selectedId) || null;
    st.stats.clear();
    afterChange();
  }
  function select(region) {
    st.selected = region;
    redraw();
    panel.render();
    if (region && !st.stats.has(region.id)) live(region);
  }

  // ---- statistics ----
  let liveBusy = false;
  let liveNext = null;
  let liveLast = 0;
  async function live(region) {
    if (!image() || !region) return;
    if (liveBusy || performance.now() - liveLast < LIVE_MS) {
      liveNext = region;
      if (!liveBusy) setTimeout(() => { const r = liveNext; liveNext = null; if (r) live(r); }, LIVE_MS);
      return;
    }
    liveBusy = true;
    liveLast = performance.now();
    try {
      const out = await ctx.api.post('/api/regions/stats', body({ regions: toDs9([region]) }));
      if (out.regions[0]) st.stats.set(region.id, out.regions[0]);
      panel.renderStats();
    } catch (e) {
      if (e.status !== 422) notifyError(e);
    } finally {
      liveBusy = false;
      if (liveNext) { const r = liveNext; liveNext = null; setTimeout(() => live(r), LIVE_MS); }
    }
  }
  let statsTimer = 0;
  function scheduleStats() {
    clearTimeout(statsTimer);
    if (st.regions.length <= AUTO_STATS_MAX) statsTimer = setTimeout(() => allStats(), 300);
    else if (st.selected) live(st.selected);
  }
  async function allStats() {
    if (!image() || !st.regions.length) { panel.renderStats(); return; }
    const list = [...st.regions];
    try {
      const out = await ctx.api.post('/api/regions/stats', body({ regions: toDs9(list) }));
      out.regions.forEach((row, i) => { if (list[i]) st.stats.set(list[i].id, row); });
      document.body.dataset.regionsStats = String(out.regions.length);
    } catch (e) { notifyError(e); }
    panel.renderStats();
  }

  // ---- import / export ----
  async function importText(text, name = 'regions') {
    if (!image()) { ctx.ui.notify('open an image first', 'warning'); return; }
    const t0 = performance.now();
    try {
      const out = await ctx.api.post('/api/regions/parse', body({ regions: text }));
      document.body.dataset.regionsParseMs = (performance.now() - t0).toFixed(0);
      addMany(out.regions, snapshot());
      document.body.dataset.regionsImportMs = (performance.now() - t0).toFixed(0);
      const skipped = out.skipped.length ? `; not imported: ${out.skipped.map((s) => `line ${s.line} ${s.shape} (${s.reason})`).slice(0, 5).join('; ')}` : '';
      ctx.ui.notify(`${name}: ${out.count.toLocaleString()} region(s) imported${skipped}`, out.skipped.length ? 'warning' : 'success');
    } catch (e) { notifyError(e); }
  }
  async function exportText(to, system) {
    const out = await ctx.api.post('/api/regions/convert', body({ regions: toDs9(st.regions), to, system }));
    if (out.left_out.length) ctx.ui.notify(`${out.left_out.length} region(s) have no ${to.toUpperCase()} form and were left out`, 'warning');
    return out.regions;
  }

  // ---- URL ----
  let urlTimer = 0;
  function scheduleUrl() { clearTimeout(urlTimer); urlTimer = setTimeout(syncUrl, st.regions.length > 300 ? 2000 : 400); }
  async function syncUrl() {
    if (restoring) return;
    const q = new URLSearchParams(window.location.search);
    q.delete('regions');
    q.delete('regions_id');
    st.linkNote = '';
    if (st.regions.length) {
      const text = toDs9(st.regions);
      const encoded = await encodeForUrl(text);
      if (encoded.length <= URL_MAX) {
        q.set('regions', encoded);
      } else {
        try {
          q.set('regions_id', (await ctx.api.post('/api/regions/links', { regions: text })).id);
          st.linkNote = `${st.regions.length.toLocaleString()} regions: the view link points to a copy saved on the server`;
        } catch (e) {
          st.linkNote = `the regions are not in the view link (${e.detail || e}): export a .reg file`;
        }
      }
    }
    const query = q.toString();
    const next = `${window.location.pathname}${query ? `?${query}` : ''}`;
    if (next !== window.location.pathname + window.location.search) window.history.replaceState(null, '', next);
    panel.renderNote();
  }
  ctx.ready(() => {
    const q = new URLSearchParams(window.location.search);
    if (q.get('regions')) restoring = { inline: q.get('regions') };
    else if (q.get('regions_id')) restoring = { id: q.get('regions_id') };
  });

  // ---- catalogs ----
  async function sourcesInside(name) {
    const list = st.selected ? [st.selected] : st.regions;
    const out = await ctx.api.post('/api/regions/catalog', body({ regions: toDs9(list), name }));
    ownSelection = true;
    ctx.bus.emit('catalog:rows-selected', { name, rows: out.rows });
    ownSelection = false;
    ctx.ui.notify(`${out.count.toLocaleString()} source(s) of ${name} inside`, 'success');
  }
  async function pointsFromSelection() {
    const sel = st.selection;
    if (!sel || !sel.rows?.length) { ctx.ui.notify('select catalog rows first (table, plot or overlay)', 'warning'); return; }
    const out = await ctx.api.post('/api/regions/from-catalog', body({ name: sel.name, rows: sel.rows.slice(0, 100000) }));
    addMany(out.regions, snapshot());
    ctx.ui.notify(`${out.count.toLocaleString()} point region(s) from ${sel.name}`, 'success');
  }
  let ownSelection = false;

  const actions = {
    st, ctx, body, redraw, select, remove, clear, undo, changed, snapshot, addMany, importText, exportText,
    allStats, live, sourcesInside, pointsFromSelection, notifyError,
    setTool(tool) { st.tool = tool; editor.cancel(); ctx.viewer.element.style.cursor = tool === 'select' ? '' : 'crosshair'; panel.render(); },
    spectrum(region) {
      const index = st.regions.indexOf(region);
      ctx.bus.emit('region:spectrum', { ...body(), regions: toDs9([region]), index: Math.max(0, index) });
    },
  };
  const panel = createRegionsPanel(actions);
  const editor = attachEditor(ctx, st, {
    snapshot, select, redraw, add, changed, remove, undo, live,
    setDraft(r) { st.draft = r; redraw(); },
    setTool: (tool) => actions.setTool(tool),
    openDialog: (r) => panel.openDialog(r),
  });

  offs.push(ctx.bus.on('image:opened', async (d) => {
    const key = `${d.path}#${d.hdu}`;
    const now = ctx.panels ? ctx.panels.active : 0;
    if (now !== panelIndex) {
      // another panel became active: keep this panel's regions until it is active again
      stash.set(panelIndex, { key: imageKey, regions: st.regions });
      const back = stash.get(now);
      st.regions = back && back.key === key ? back.regions : [];
      st.selected = null; st.undo = []; st.stats.clear(); afterChange();
      panelIndex = now;
    } else if (imageKey && imageKey !== key) { st.regions = []; st.selected = null; st.undo = []; st.stats.clear(); afterChange(); }
    imageKey = key;
    if (restoring) {
      const value = restoring;
      try {
        const text = value.inline ? await decodeFromUrl(value.inline) : (await ctx.api.get(`/api/regions/links/${encodeURIComponent(value.id)}`)).regions;
        restoring = null;
        await importText(text, 'view link');
      } catch (e) {
        restoring = null;
        ctx.ui.notify(`regions in the link could not be read: ${e.detail || e.message || e}`, 'error');
      }
    } else {
      st.stats.clear();
      scheduleStats();
    }
    redraw();
  }));
  offs.push(ctx.bus.on('plane:changed', () => { st.stats.clear(); scheduleStats(); panel.render(); }));
  offs.push(ctx.bus.on('catalog:loaded', ({ name }) => { if (name) { st.catalogs.add(name); panel.render(); } }));
  offs.push(ctx.bus.on('overlay:show', ({ name }) => { if (name) { st.catalogs.add(String(name)); panel.render(); } }));
  offs.push(ctx.bus.on('catalog:rows-selected', ({ name, rows }) => {
    if (ownSelection || !name) return;
    st.catalogs.add(name);
    st.selection = { name, rows: rows || [] };
    panel.render();
  }));
  const menu = [
    ctx.ui.addMenuItem('Analysis', { label: 'Regions…', id: 'menu-regions', onClick: () => panel.show() }),
  ];
  panel.render();

  return function unmount() {
    offs.forEach((off) => off());
    menu.forEach((off) => off());
    editor.detach();
    clearTimeout(statsTimer);
    clearTimeout(urlTimer);
    cancelAnimationFrame(frame);
    layer.remove();
    panel.remove();
  };
}
