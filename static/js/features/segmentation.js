// Segmentation map overlay: an integer label image (same grid, or any WCS reprojected on the
// server, nearest-neighbour) drawn over the open image in one canvas layer: a stable random colour
// per label, opacity, outlines only. The panel shows the label under the cursor; a click on a
// segment shows its photutils SourceCatalog properties, outlines it in white and selects the rows
// of the current catalog that lie on it (catalog:rows-selected: the table, overlay and plotter follow).
// The server renders the visible window at screen resolution (GET /api/segmentation/render.png);
// while the view moves the last rendering is moved with it, and it is fetched again when the view rests.
// Panels: every panel keeps its own map (drawn on its own viewer, following its zoom, rotation and
// flip; kept when another panel becomes active; cleared when that panel opens another image), held in
// its part of the page URL (the page's keys for panel 1, inside p2..p4 for the others) as
// seg=<path under files/>[&seg_hdu=N][&seg_opacity=A][&seg_outline=1]: a link opens it again. The
// side panel, the label readout and clicks act on the ACTIVE panel's map.
// Bus: listens to image:opened, image:closed, viewer:pointer-move, viewer:click, catalog:loaded,
// segmentation:open {seg, seg_hdu?, catalog?, ra_col?, dec_col?} (the detection panel sends it);
// emits catalog:rows-selected {name, rows, source: 'segmentation'}, segmentation:segment {label, ...}.

import { editPanelQuery, panelQuery } from '../lib/url-state.js';

const REST_MS = 150;
const fmt = (v, digits = 4) => (v === null || v === undefined ? '—' : typeof v === 'number' ? Number(v.toPrecision(digits)).toString() : String(v));

export function mount(ctx) {
  const { el } = ctx.escape;
  const { panels } = ctx;
  const offs = [];
  // panel index -> { p, seg, segHdu, on: {path, hdu}, info, opacity, outline, selected, segment, shot, timer, seq, layer, pending }
  const states = new Map();
  const watched = new Set();
  const shared = { catalog: null, hover: { wanted: null, busy: false }, drawn: 0 };

  function stateOf(p) {
    if (!states.has(p.index)) {
      const st = { p, seg: '', segHdu: '', on: null, info: null, opacity: 0.5, outline: false, selected: 0, segment: null,
        shot: null, timer: 0, seq: 0, pending: false };
      st.layer = p.viewer.addCanvasLayer((g, v) => draw(st, g, v));
      st.layer.canvas.classList.add('segmentation-canvas');
      st.offView = p.viewer.onViewportChange(() => { clearTimeout(st.timer); if (st.info) st.timer = setTimeout(() => fetchView(st), REST_MS); });
      states.set(p.index, st);
    }
    return states.get(p.index);
  }
  const activePanel = () => panels.list().find((p) => p.index === panels.active) || panels.list()[0];
  const active = () => states.get(activePanel().index);

  // ---- panel ----
  const panel = ctx.ui.addPanel({ id: 'segmentation-panel', title: 'Segmentation map', order: 45 });
  panel.hide();
  const segInput = el('input', { type: 'text', class: 'seg-path', placeholder: 'map under files/, e.g. results/x_segm.fits', spellcheck: 'false', list: 'seg-files' });
  const files = el('datalist', { id: 'seg-files' });
  const hduInput = el('input', { type: 'number', class: 'seg-hdu', min: '0', placeholder: 'HDU', title: 'HDU (default: the recommended one)' });
  const opacity = el('input', { type: 'range', class: 'seg-opacity', min: '0', max: '1', step: '0.05', value: '0.5', title: 'opacity' });
  const outline = el('input', { type: 'checkbox', class: 'seg-outline' });
  const status = el('div', { class: 'seg-status muted' });
  const hover = el('div', { class: 'seg-hover' }, 'label: —');
  const props = el('dl', { class: 'seg-props' });
  const form = el('form', { class: 'seg-form', onsubmit: (e) => { e.preventDefault(); open(stateOf(activePanel()), segInput.value.trim(), hduInput.value); } },
    el('div', { class: 'row' }, segInput, hduInput, files),
    el('div', { class: 'row' }, el('button', { class: 'btn small primary seg-open', type: 'submit' }, 'Show'),
      el('button', { class: 'btn small seg-close', type: 'button', onclick: () => { const st = active(); if (st) close(st, true); } }, 'Hide'),
      el('label', { class: 'seg-check' }, outline, 'outlines'), el('label', { class: 'seg-check' }, 'opacity', opacity)));
  panel.element.append(form, status, hover, props);

  function params(st, extra = {}) {
    const image = st.p.viewer.image;
    return { path: image.path, hdu: image.hdu, plane: image.plane || 0, seg: st.seg, seg_hdu: st.segHdu === '' ? undefined : st.segHdu, ...extra };
  }

  /** The side panel shows the active panel's map (what Show, Hide, opacity and outlines act on). */
  function showActive() {
    const st = active();
    segInput.value = st?.seg || '';
    hduInput.value = st?.segHdu || '';
    opacity.value = String(st?.opacity ?? 0.5);
    outline.checked = Boolean(st?.outline);
    status.textContent = st?.info ? `${st.info.n_labels.toLocaleString()} segments${st.info.reprojected ? ' (reprojected onto this image)' : ''}` : '';
    hover.textContent = 'label: —';
    if (st?.segment) showProperties(st.segment); else { props.replaceChildren(); delete props.dataset.label; }
    if (st?.info) document.body.dataset.segmentation = String(st.info.n_labels); else delete document.body.dataset.segmentation;
  }

  function writeUrl(st) {
    if (st.p.index >= panels.list().length) return;
    editPanelQuery(st.p.index, (query) => {
      const q = new URLSearchParams(query);
      for (const k of ['seg', 'seg_hdu', 'seg_opacity', 'seg_outline', 'seg_label']) q.delete(k);
      if (st.info) {
        q.set('seg', st.seg);
        if (st.segHdu !== '') q.set('seg_hdu', st.segHdu);
        if (st.opacity !== 0.5) q.set('seg_opacity', String(st.opacity));
        if (st.outline) q.set('seg_outline', '1');
        if (st.selected) q.set('seg_label', String(st.selected));
      }
      return q.toString();
    });
  }

  /** Open map `seg` on panel st's image; `label`: the segment to select once it is open (a link's). */
  async function open(st, seg, segHdu = '', label = 0) {
    const image = st.p.viewer.image;
    if (!seg || !image) { status.textContent = seg ? 'open an image first' : 'name a segmentation map'; return; }
    panel.show();
    Object.assign(st, { seg, segHdu: segHdu === null || segHdu === undefined ? '' : String(segHdu), selected: 0, segment: null, shot: null, pending: false, pendingLabel: 0 });
    if (active() === st) { showActive(); status.textContent = 'opening…'; }
    try {
      st.info = await ctx.api.get('/api/segmentation/info', params(st));
      st.on = { path: image.path, hdu: image.hdu };
      st.p.element.dataset.segmentation = String(st.info.n_labels);
    } catch (err) {
      st.info = null;
      delete st.p.element.dataset.segmentation;
      st.layer.redraw();
      if (active() === st) showActive();
      ctx.ui.notify(err.detail || String(err), 'error');
      return;
    }
    if (active() === st) showActive();
    writeUrl(st);
    if (label > 0) await select(st, label); else fetchView(st);
  }

  /** Hide panel st's map; `forget`: also its path (the panel opened another image, or Hide). */
  function close(st, forget) {
    clearTimeout(st.timer);
    st.seq += 1;
    st.info = null;
    st.shot?.bitmap.close();
    st.shot = null;
    st.selected = 0;
    st.segment = null;
    if (forget) { st.seg = ''; st.segHdu = ''; }
    delete st.p.element.dataset.segmentation;
    st.layer.redraw();
    writeUrl(st);
    if (active() === st) showActive();
  }

  // ---- rendering: the visible window at screen resolution ----
  function fetchView(st) {
    clearTimeout(st.timer);
    const v = st.p.viewer;
    if (!st.info || !v.image) return;
    const { width, height } = v.image;
    const r = v.visibleImageRect();
    const x0 = Math.max(-0.5, Math.min(r.x0, r.x1)); const x1 = Math.min(width - 0.5, Math.max(r.x0, r.x1));
    const y0 = Math.max(-0.5, Math.min(r.y0, r.y1)); const y1 = Math.min(height - 0.5, Math.max(r.y0, r.y1));
    if (!(x1 > x0 && y1 > y0)) { st.shot = null; st.layer.redraw(); return; }
    const scale = Math.min(v.imageScale() * (window.devicePixelRatio || 1), 1);  // never finer than the map
    const w = Math.max(1, Math.min(4096, Math.round((x1 - x0) * scale)));
    const h = Math.max(1, Math.min(4096, Math.round((y1 - y0) * scale)));
    const seq = ++st.seq;
    ctx.api.get('/api/segmentation/render.png', params(st, { x0, y0, x1, y1, width: w, height: h, outline: st.outline || undefined, selected: st.selected || undefined }))
      .then((blob) => createImageBitmap(blob))
      .then((bitmap) => {
        if (seq !== st.seq) { bitmap.close(); return; }
        st.shot?.bitmap.close();
        st.shot = { bitmap, x0, y0, x1, y1 };
        st.layer.redraw();
        shared.drawn += 1;
        document.body.dataset.segmentationDrawn = String(shared.drawn);
        st.p.element.dataset.segmentationDrawn = String(seq);
      })
      .catch((err) => { if (seq === st.seq) ctx.ui.notify(err.detail || String(err), 'error'); });
  }

  function draw(st, g, v) {
    const shot = st.shot;
    if (!shot || !st.info) return;
    // the window's corners through the view's image -> screen map (rotation and flip included)
    const o = v.imageToScreen(shot.x0, shot.y1); // top-left of the bitmap (y up)
    const ex = v.imageToScreen(shot.x1, shot.y1);
    const ey = v.imageToScreen(shot.x0, shot.y0);
    const { width, height } = shot.bitmap;
    g.save();
    g.imageSmoothingEnabled = false;
    g.globalAlpha = st.opacity;
    g.setTransform(g.getTransform().multiply(new DOMMatrix([(ex.x - o.x) / width, (ex.y - o.y) / width, (ey.x - o.x) / height, (ey.y - o.y) / height, o.x, o.y])));
    g.drawImage(shot.bitmap, 0, 0);
    g.restore();
  }

  // ---- readout and clicks (the active panel's map) ----
  async function readLabel() {
    const hv = shared.hover;
    const st = active();
    if (hv.busy || !hv.wanted || !st?.info) return;
    const { x, y } = hv.wanted;
    hv.wanted = null;
    hv.busy = true;
    try {
      const body = await ctx.api.get('/api/segmentation/label', params(st, { x, y }));
      if (active() === st) {
        hover.textContent = `label: ${body.label || '—'}`;
        hover.dataset.label = String(body.label);
      }
    } catch { /* the image changed meanwhile */ } finally {
      hv.busy = false;
      if (hv.wanted) readLabel();
    }
  }

  async function onClick({ x, y }) {
    const st = active();
    if (!st?.info || (ctx.viewer.clickMode && ctx.viewer.clickMode !== 'segmentation')) return;
    try {
      const { label } = await ctx.api.get('/api/segmentation/label', params(st, { x, y }));
      if (label) await select(st, label);
    } catch (err) {
      ctx.ui.notify(err.detail || String(err), 'error');
    }
  }

  /** Select segment `label` of panel st's map: its properties, its outline, the catalog rows on
   * it, and the page URL (`seg_label`). An unknown label (a stale link) is reported, not kept. */
  async function select(st, label) {
    const cat = shared.catalog;
    try {
      const body = await ctx.api.get('/api/segmentation/segment', params(st, { label,
        catalog: cat?.name, ra_col: cat?.ra_col || undefined, dec_col: cat?.dec_col || undefined }));
      if (shared.catalog !== cat) return select(st, label);  // a catalog loaded meanwhile: its rows
      st.selected = label;
      st.segment = body;
      if (active() === st) showProperties(body);
      if (body.catalog) ctx.bus.emit('catalog:rows-selected', { name: body.catalog, rows: body.rows, source: 'segmentation' });
      ctx.bus.emit('segmentation:segment', body);
    } catch (err) {
      ctx.ui.notify(err.detail || String(err), 'error');
    }
    writeUrl(st);
    fetchView(st);
  }

  function showProperties(p) {
    const unit = p.flux_unit ? ` ${p.flux_unit}` : '';
    const rows = [
      ['label', String(p.label)],
      ['area', `${fmt(p.area_px, 6)} px${p.area_arcsec2 !== null ? ` · ${fmt(p.area_arcsec2)} arcsec²` : ''}`],
      ['centroid', `x ${fmt(p.x_centroid + 1, 7)}, y ${fmt(p.y_centroid + 1, 7)} (FITS)`],
      ['RA, Dec', p.ra_deg === null ? '—' : `${p.ra_deg.toFixed(6)}°, ${p.dec_deg.toFixed(6)}°`],
      ['flux', `${fmt(p.segment_flux, 6)}${unit}`],
      ['ellipse', `a ${fmt(p.semimajor_axis_px)} px, b ${fmt(p.semiminor_axis_px)} px, θ ${fmt(p.orientation_deg)}°`],
      ['ellipticity', fmt(p.ellipticity)],
      ['min / max', `${fmt(p.min_value)} / ${fmt(p.max_value)}`],
      ['catalog rows', p.catalog ? (p.rows.length ? `${p.rows.slice(0, 8).map((r) => r + 1).join(', ')}${p.rows.length > 8 ? '…' : ''} in ${p.catalog}` : `none in ${p.catalog}`) : 'no catalog loaded'],
    ];
    props.replaceChildren(el('span', { class: 'seg-swatch', style: { background: p.color }, title: p.color }),
      ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { dataset: { key: k } }, v)]));
    props.dataset.label = String(p.label);
  }

  // ---- wiring ----
  opacity.addEventListener('input', () => {
    const st = active();
    if (!st) return;
    st.opacity = Number(opacity.value);
    st.layer.redraw();
    writeUrl(st);
  });
  outline.addEventListener('change', () => {
    const st = stateOf(activePanel());
    st.outline = outline.checked;
    writeUrl(st);
    fetchView(st);
  });
  offs.push(ctx.bus.on('viewer:pointer-move', (p) => {
    if (!active()?.info) return;
    if (!p) { hover.textContent = 'label: —'; return; }
    shared.hover.wanted = p;
    readLabel();
  }));
  offs.push(ctx.bus.on('viewer:click', onClick));
  // a catalog loaded after a segment was selected (a link opens both at once): its rows on the segment
  offs.push(ctx.bus.on('catalog:loaded', (d) => {
    shared.catalog = d;
    for (const st of states.values()) if (st.info && st.selected && st.segment?.catalog !== d.name) select(st, st.selected);
  }));
  offs.push(ctx.bus.on('segmentation:open', (d) => {
    if (d.catalog) shared.catalog = { name: d.catalog, ra_col: d.ra_col, dec_col: d.dec_col };
    open(stateOf(activePanel()), d.seg, d.seg_hdu ?? '');
  }));

  // a panel's map belongs to the image it was opened on: the same image opened again (another
  // plane) reopens it, another image clears it; a map pending from the URL opens with its image
  function watch(p) {
    if (watched.has(p.index)) return;
    watched.add(p.index);
    offs.push(p.bus.on('image:opened', (image) => {
      const st = states.get(p.index);
      if (!st) return;
      if (st.pending) { open(st, st.seg, st.segHdu, st.pendingLabel); return; }
      if (!st.info) return;
      if (st.on && (st.on.path !== image.path || st.on.hdu !== image.hdu)) close(st, true);
      else open(st, st.seg, st.segHdu);
    }));
    offs.push(p.bus.on('image:closed', () => { const st = states.get(p.index); if (st) close(st, true); }));
  }
  let shown = panels.list().length;
  offs.push(panels.onChange(() => {
    const n = panels.list().length;
    for (const p of panels.list()) watch(p);
    // panels shown again by a larger layout: their maps back in the URL
    if (n > shown) for (const st of states.values()) if (st.p.index >= shown && st.p.index < n && st.info) writeUrl(st);
    shown = n;
    showActive();
  }));
  for (const p of panels.list()) watch(p);
  const removeMenu = ctx.ui.addMenuItem('Analysis', { label: 'Segmentation map…', onClick: async () => {
    panel.show();
    try {
      const found = await ctx.api.get('/api/files/search', { q: 'seg' });
      files.replaceChildren(...found.entries.filter((e) => e.kind !== 'folder').map((e) => el('option', { value: e.path })));
    } catch { /* the list is a convenience */ }
    segInput.focus();
  } });
  // the page URL's maps, per panel (a URL is user input: the server checks the path)
  ctx.ready(() => {
    for (const p of panels.list()) {
      const q = panelQuery(p.index);
      if (!q.get('seg')) continue;
      const st = stateOf(p);
      const a = Number(q.get('seg_opacity'));
      const label = Number(q.get('seg_label'));
      Object.assign(st, { seg: q.get('seg'), segHdu: q.get('seg_hdu') || '', outline: q.get('seg_outline') === '1',
        opacity: q.get('seg_opacity') !== null && a >= 0 && a <= 1 ? a : 0.5,
        pendingLabel: Number.isInteger(label) && label > 0 ? label : 0 });
      if (p.viewer.image) open(st, st.seg, st.segHdu, st.pendingLabel); else st.pending = true;
    }
  });

  return function unmount() {
    for (const off of offs) off();
    for (const st of states.values()) {
      clearTimeout(st.timer);
      st.offView();
      st.shot?.bitmap.close();
      st.layer.remove();
    }
    removeMenu();
    panel.remove();
  };
}
