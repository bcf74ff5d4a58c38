// Segmentation map overlay: an integer label image (same grid, or any WCS reprojected on the
// server, nearest-neighbour) drawn over the open image in one canvas layer: a stable random colour
// per label, opacity, outlines only. The panel shows the label under the cursor; a click on a
// segment shows its photutils SourceCatalog properties, outlines it in white and selects the rows
// of the current catalog that lie on it (catalog:rows-selected: the table, overlay and plotter follow).
// The server renders the visible window at screen resolution (GET /api/segmentation/render.png);
// while the view moves the last rendering is moved with it, and it is fetched again when the view rests.
// Deep link: ?seg=<path under files/>[&seg_hdu=N] opens the map on the image.
// Bus: listens to image:opened, image:closed, viewer:pointer-move, viewer:click, catalog:loaded,
// segmentation:open {seg, seg_hdu?, catalog?, ra_col?, dec_col?} (the detection panel sends it);
// emits catalog:rows-selected {name, rows, source: 'segmentation'}, segmentation:segment {label, ...}.

const REST_MS = 150;
const fmt = (v, digits = 4) => (v === null || v === undefined ? '—' : typeof v === 'number' ? Number(v.toPrecision(digits)).toString() : String(v));

export function mount(ctx) {
  const { el } = ctx.escape;
  const offs = [];
  const st = { seg: '', segHdu: '', info: null, opacity: 0.5, outline: false, selected: 0, shot: null, timer: 0,
    seq: 0, catalog: null, hover: { wanted: null, busy: false } };

  // ---- panel ----
  const panel = ctx.ui.addPanel({ id: 'segmentation-panel', title: 'Segmentation map', order: 45 });
  panel.hide();
  const segInput = el('input', { type: 'text', class: 'seg-path', placeholder: 'map under files/, e.g. results/x_segm.fits', spellcheck: 'false', list: 'seg-files' });
  const files = el('datalist', { id: 'seg-files' });
  const hduInput = el('input', { type: 'number', class: 'seg-hdu', min: '0', placeholder: 'HDU', title: 'HDU (default: the recommended one)' });
  const opacity = el('input', { type: 'range', class: 'seg-opacity', min: '0', max: '1', step: '0.05', value: String(st.opacity), title: 'opacity' });
  const outline = el('input', { type: 'checkbox', class: 'seg-outline' });
  const status = el('div', { class: 'seg-status muted' });
  const hover = el('div', { class: 'seg-hover' }, 'label: —');
  const props = el('dl', { class: 'seg-props' });
  const form = el('form', { class: 'seg-form', onsubmit: (e) => { e.preventDefault(); open(segInput.value.trim(), hduInput.value); } },
    el('div', { class: 'row' }, segInput, hduInput, files),
    el('div', { class: 'row' }, el('button', { class: 'btn small primary seg-open', type: 'submit' }, 'Show'),
      el('button', { class: 'btn small seg-close', type: 'button', onclick: close }, 'Hide'),
      el('label', { class: 'seg-check' }, outline, 'outlines'), el('label', { class: 'seg-check' }, 'opacity', opacity)));
  panel.element.append(form, status, hover, props);

  const layer = ctx.viewer.addCanvasLayer(draw);
  layer.canvas.classList.add('segmentation-canvas');

  function params(extra = {}) {
    const image = ctx.viewer.image;
    return { path: image.path, hdu: image.hdu, plane: image.plane || 0, seg: st.seg, seg_hdu: st.segHdu === '' ? undefined : st.segHdu, ...extra };
  }

  async function open(seg, segHdu = '') {
    if (!seg || !ctx.viewer.image) { status.textContent = seg ? 'open an image first' : 'name a segmentation map'; return; }
    panel.show();
    st.seg = seg;
    st.segHdu = segHdu === null || segHdu === undefined ? '' : String(segHdu);
    segInput.value = seg;
    hduInput.value = st.segHdu;
    st.selected = 0;
    st.shot = null;
    props.replaceChildren();
    status.textContent = 'opening…';
    try {
      st.info = await ctx.api.get('/api/segmentation/info', params());
    } catch (err) {
      st.info = null;
      status.textContent = '';
      layer.redraw();
      ctx.ui.notify(err.detail || String(err), 'error');
      return;
    }
    status.textContent = `${st.info.n_labels.toLocaleString()} segments${st.info.reprojected ? ' (reprojected onto this image)' : ''}`;
    document.body.dataset.segmentation = String(st.info.n_labels);
    fetchView();
  }

  function close() {
    st.info = null;
    st.shot = null;
    st.selected = 0;
    props.replaceChildren();
    status.textContent = '';
    delete document.body.dataset.segmentation;
    layer.redraw();
  }

  // ---- rendering: the visible window at screen resolution ----
  function fetchView() {
    clearTimeout(st.timer);
    if (!st.info || !ctx.viewer.image) return;
    const { width, height } = ctx.viewer.image;
    const r = ctx.viewer.visibleImageRect();
    const x0 = Math.max(-0.5, Math.min(r.x0, r.x1)); const x1 = Math.min(width - 0.5, Math.max(r.x0, r.x1));
    const y0 = Math.max(-0.5, Math.min(r.y0, r.y1)); const y1 = Math.min(height - 0.5, Math.max(r.y0, r.y1));
    if (!(x1 > x0 && y1 > y0)) { st.shot = null; layer.redraw(); return; }
    const scale = Math.min(ctx.viewer.imageScale() * (window.devicePixelRatio || 1), 1);  // never finer than the map
    const w = Math.max(1, Math.min(4096, Math.round((x1 - x0) * scale)));
    const h = Math.max(1, Math.min(4096, Math.round((y1 - y0) * scale)));
    const seq = ++st.seq;
    ctx.api.get('/api/segmentation/render.png', params({ x0, y0, x1, y1, width: w, height: h, outline: st.outline || undefined, selected: st.selected || undefined }))
      .then((blob) => createImageBitmap(blob))
      .then((bitmap) => {
        if (seq !== st.seq) { bitmap.close(); return; }
        st.shot?.bitmap.close();
        st.shot = { bitmap, x0, y0, x1, y1 };
        layer.redraw();
        document.body.dataset.segmentationDrawn = String(seq);
      })
      .catch((err) => { if (seq === st.seq) ctx.ui.notify(err.detail || String(err), 'error'); });
  }

  function draw(g) {
    const shot = st.shot;
    if (!shot || !st.info) return;
    const a = ctx.viewer.imageToScreen(shot.x0, shot.y1); // top-left (y up)
    const b = ctx.viewer.imageToScreen(shot.x1, shot.y0);
    g.save();
    g.imageSmoothingEnabled = false;
    g.globalAlpha = st.opacity;
    g.drawImage(shot.bitmap, a.x, a.y, b.x - a.x, b.y - a.y);
    g.restore();
  }

  // ---- readout and clicks ----
  async function readLabel() {
    const hv = st.hover;
    if (hv.busy || !hv.wanted || !st.info) return;
    const { x, y } = hv.wanted;
    hv.wanted = null;
    hv.busy = true;
    try {
      const body = await ctx.api.get('/api/segmentation/label', params({ x, y }));
      hover.textContent = `label: ${body.label || '—'}`;
      hover.dataset.label = String(body.label);
    } catch { /* the image changed meanwhile */ } finally {
      hv.busy = false;
      if (hv.wanted) readLabel();
    }
  }

  async function onClick({ x, y }) {
    if (!st.info || (ctx.viewer.clickMode && ctx.viewer.clickMode !== 'segmentation')) return;
    try {
      const { label } = await ctx.api.get('/api/segmentation/label', params({ x, y }));
      if (!label) return;
      const cat = st.catalog;
      const body = await ctx.api.get('/api/segmentation/segment', params({ label,
        catalog: cat?.name, ra_col: cat?.ra_col || undefined, dec_col: cat?.dec_col || undefined }));
      st.selected = label;
      showProperties(body);
      fetchView();
      if (body.catalog) ctx.bus.emit('catalog:rows-selected', { name: body.catalog, rows: body.rows, source: 'segmentation' });
      ctx.bus.emit('segmentation:segment', body);
    } catch (err) {
      ctx.ui.notify(err.detail || String(err), 'error');
    }
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
  opacity.addEventListener('input', () => { st.opacity = Number(opacity.value); layer.redraw(); });
  outline.addEventListener('change', () => { st.outline = outline.checked; fetchView(); });
  offs.push(ctx.viewer.onViewportChange(() => { clearTimeout(st.timer); if (st.info) st.timer = setTimeout(fetchView, REST_MS); }));
  offs.push(ctx.bus.on('viewer:pointer-move', (p) => {
    if (!st.info) return;
    if (!p) { hover.textContent = 'label: —'; return; }
    st.hover.wanted = p;
    readLabel();
  }));
  offs.push(ctx.bus.on('viewer:click', onClick));
  offs.push(ctx.bus.on('catalog:loaded', (d) => { st.catalog = d; }));
  offs.push(ctx.bus.on('segmentation:open', (d) => {
    if (d.catalog) st.catalog = { name: d.catalog, ra_col: d.ra_col, dec_col: d.dec_col };
    open(d.seg, d.seg_hdu ?? '');
  }));
  offs.push(ctx.bus.on('image:opened', () => { if (st.seg) open(st.seg, st.segHdu); }));
  offs.push(ctx.bus.on('image:closed', close));
  const removeMenu = ctx.ui.addMenuItem('Analysis', { label: 'Segmentation map…', onClick: async () => {
    panel.show();
    try {
      const found = await ctx.api.get('/api/files/search', { q: 'seg' });
      files.replaceChildren(...found.entries.filter((e) => e.kind !== 'folder').map((e) => el('option', { value: e.path })));
    } catch { /* the list is a convenience */ }
    segInput.focus();
  } });
  const link = new URLSearchParams(window.location.search);
  if (link.get('seg')) {
    st.seg = link.get('seg');
    st.segHdu = link.get('seg_hdu') || '';
  }

  return function unmount() {
    for (const off of offs) off();
    clearTimeout(st.timer);
    st.shot?.bitmap.close();
    layer.remove();
    removeMenu();
    panel.remove();
  };
}
