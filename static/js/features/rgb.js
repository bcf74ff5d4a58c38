// RGB composites: the builder (File > RGB composite…: 2-5 images, presets ordered by pivot
// wavelength from header keywords, reference and method), the build (a server job, progress over
// /ws), the composite in the viewer (its tiles over the reference image's pixel grid), its panel
// (rgb-panel.js) and the page URL that reproduces it (rgb-url.js).

import { createRgbPanel } from './rgb-panel.js';
import { MAX_CHANNELS, readComposite, tileParams, writeComposite } from './rgb-url.js';

const FITS_NAME = /\.(fits?|fts)(\.gz|\.fz)?$|\.fz$/i;

export function mount(ctx) {
  const { bus, api, ui, viewer } = ctx;
  const { el } = ctx.escape;
  let comp = null; // the composite shown (or being opened): { id, info, channels, reference, method, mode, q, lstretch }
  let showing = false;
  let panel = null;
  let poll = null;
  let readout = { busy: false, next: null };
  let redraw = 0;

  const tiles = () => {
    const params = tileParams(comp);
    const id = comp.id;
    return {
      kind: 'rgb',
      query: new URLSearchParams({ rgb: id, ...params }).toString(),
      url: (level, x, y) => api.url(`/api/rgb/${id}/tiles/${level}/${x}_${y}.png`, params),
    };
  };

  // What the colorbar and the Display panel describe while the composite is shown (null: the image).
  const announce = () => bus.emit('rgb:shown', showing && comp ? {
    id: comp.id, mode: comp.mode, q: comp.q, lupton_stretch: comp.lstretch,
    channels: comp.channels.map((c, i) => ({ ...c, filter: comp.info?.channels?.[i]?.filter || '', bunit: comp.info?.channels?.[i]?.bunit || '' })),
  } : null);

  function changed() {
    cancelAnimationFrame(redraw);
    redraw = requestAnimationFrame(() => {
      if (!showing || !comp) return;
      viewer.setTiles(tiles());
      writeComposite(comp);
      announce();
    });
  }

  function leave() {
    showing = false;
    announce();
    if (panel) { panel.remove(); panel = null; }
    writeComposite(null);
  }

  // --- building -----------------------------------------------------------------------
  async function build(spec, { view = null } = {}) {
    const body = {
      channels: spec.channels.map((c) => ({ path: c.path, hdu: c.hdu ?? undefined, plane: c.plane || 0, color: c.color || undefined })),
      method: spec.method || 'interp',
    };
    if (spec.reference !== null && spec.reference !== undefined) body.reference = spec.reference;
    const state = await api.post('/api/rgb', body);
    comp = {
      id: state.id,
      info: state,
      width: state.width,
      reference: spec.reference ?? null,
      method: spec.method || 'interp',
      mode: spec.mode || 'add',
      q: spec.q ?? 8,
      lstretch: spec.lstretch ?? 0.5,
      channels: spec.channels.map((c, i) => ({
        path: c.path, hdu: state.channels[i].hdu, plane: c.plane || 0, color: state.display[i].color,
        vmin: c.vmin ?? null, vmax: c.vmax ?? null, stretch: c.stretch || 'linear', weight: c.weight ?? 1, visible: c.visible !== false,
      })),
    };
    await waitReady(comp.id);
    show(view);
  }

  function waitReady(id) {
    clearInterval(poll);
    return new Promise((resolve, reject) => {
      const check = async () => {
        let state;
        try { state = await api.get(`/api/rgb/${id}`); } catch (e) { clearInterval(poll); reject(e); return; }
        if (state.state === 'building') { ui.progress(`rgb-${id}`, state.progress, `RGB composite: ${state.message}`); return; }
        clearInterval(poll);
        ui.progress(`rgb-${id}`, null);
        if (state.state === 'ready') { if (comp && comp.id === id) comp.info = state; resolve(state); } else reject(new Error(state.error || 'the build failed'));
      };
      poll = setInterval(check, 500);
      check();
    });
  }

  function show(view) {
    const info = comp.info;
    comp.channels.forEach((c, i) => {
      const lim = info.channels[i].limits?.percentiles;
      if (c.vmin === null && lim) c.vmin = lim[0];
      if (c.vmax === null && lim) c.vmax = lim[1];
    });
    const ref = info.channels[info.reference];
    bus.emit('image:open', { path: ref.path, hdu: ref.hdu, plane: ref.plane, view, tiles: tiles() });
  }

  const downloads = {
    png: (width) => api.url(`/api/rgb/${comp.id}/png`, { ...tileParams(comp), width }),
    fits: () => api.url(`/api/rgb/${comp.id}/fits`),
  };

  // --- the builder ----------------------------------------------------------------------
  async function openBuilder() {
    const modal = ui.openModal({ title: 'RGB composite', wide: true, id: 'rgb-builder' });
    const list = el('datalist', { id: 'rgb-files' });
    api.get('/api/files/search', { q: 'fit' }).then((r) => {
      for (const e of r.entries) if (e.kind !== 'folder' && FITS_NAME.test(e.name)) list.append(el('option', { value: e.path }));
    }, () => {});
    const rows = el('div', { class: 'rgb-rows' });
    const status = el('div', { class: 'rgb-status', role: 'status' });
    const reference = el('select', { class: 'rgb-reference' });
    const method = el('select', { class: 'rgb-method' },
      el('option', { value: 'interp' }, 'bilinear (reproject_interp)'), el('option', { value: 'exact' }, 'flux-conserving (reproject_exact)'));
    const refresh = () => {
      const keep = reference.value;
      reference.replaceChildren(el('option', { value: '' }, 'finest pixel scale'),
        ...[...rows.children].map((_, i) => el('option', { value: String(i) }, `channel ${i + 1}`)));
      reference.value = [...reference.options].some((o) => o.value === keep) ? keep : '';
      addButton.disabled = rows.children.length >= MAX_CHANNELS;
    };
    const addRow = (c = {}) => {
      const path = el('input', { type: 'text', class: 'rgb-path', list: 'rgb-files', placeholder: 'path under files/', value: c.path || '', spellcheck: 'false' });
      const hdu = el('input', { type: 'number', class: 'rgb-hdu', min: '0', placeholder: 'auto', value: c.hdu ?? '' });
      const plane = el('input', { type: 'number', class: 'rgb-plane', min: '0', value: String(c.plane || 0) });
      const color = el('input', { type: 'color', class: 'rgb-color', value: c.color || ['#ff0000', '#00ff00', '#0000ff', '#ffff00', '#00ffff'][rows.children.length] });
      const band = el('span', { class: 'rgb-band muted' }, c.band || '');
      const remove = el('button', { type: 'button', class: 'btn rgb-remove', title: 'remove this channel' }, '×');
      const row = el('div', { class: 'rgb-builder-row' }, path, hdu, plane, color, band, remove);
      remove.addEventListener('click', () => { row.remove(); refresh(); });
      rows.append(row);
      refresh();
    };
    const read = () => [...rows.children].map((row) => ({
      path: row.querySelector('.rgb-path').value.trim(),
      hdu: row.querySelector('.rgb-hdu').value === '' ? null : Number(row.querySelector('.rgb-hdu').value),
      plane: Number(row.querySelector('.rgb-plane').value) || 0,
      color: row.querySelector('.rgb-color').value,
    })).filter((c) => c.path);
    const addButton = el('button', { type: 'button', class: 'btn rgb-add' }, '+ Channel');
    addButton.addEventListener('click', () => addRow());
    const current = el('button', { type: 'button', class: 'btn rgb-current' }, '+ Current image');
    current.addEventListener('click', () => { const im = viewer.image; if (im && rows.children.length < MAX_CHANNELS) addRow({ path: im.path, hdu: im.hdu, plane: im.plane }); });
    const order = el('button', { type: 'button', class: 'btn rgb-order', title: 'order by pivot wavelength from TELESCOP/INSTRUME/FILTER/PUPIL (longest red)' }, 'Order by wavelength');
    order.addEventListener('click', async () => {
      const channels = read();
      if (!channels.length) return;
      try {
        const answer = await api.post('/api/rgb/presets', { channels: channels.map((c) => ({ path: c.path, hdu: c.hdu ?? undefined, plane: c.plane })) });
        rows.replaceChildren();
        for (const c of answer.channels) {
          const band = [c.telescope, c.instrument, c.filter].filter(Boolean).join(' ') + (c.pivot_um ? ` · ${c.pivot_um} µm` : ' · wavelength unknown');
          addRow({ ...c, band });
        }
        status.textContent = answer.complete ? 'Ordered by pivot wavelength, longest red.' : 'Some bands are unknown: they keep their place after the known ones.';
      } catch (e) { status.textContent = e.detail || String(e); }
    });
    const start = el('button', { type: 'button', class: 'btn primary rgb-build' }, 'Build composite');
    start.addEventListener('click', async () => {
      const channels = read();
      if (channels.length < 2 || channels.length > MAX_CHANNELS) { status.textContent = `Give 2 to ${MAX_CHANNELS} images.`; return; }
      start.disabled = true;
      status.textContent = 'Building… (reprojection runs on the server; the composite opens when ready)';
      try {
        const spec = { channels, method: method.value, reference: reference.value === '' ? null : Number(reference.value) };
        const pending = build(spec);
        modal.close();
        await pending;
      } catch (e) {
        start.disabled = false;
        const message = e.detail || e.message || String(e);
        if (modal.box.isConnected) status.textContent = message;
        ui.notify(`RGB composite: ${message}`, 'error');
      }
    });
    modal.body.append(list,
      el('p', { class: 'muted' }, 'Images are reprojected onto the reference grid with their full WCS (once; cached on the server). Colours add in linear light.'),
      el('div', { class: 'rgb-builder-row rgb-builder-head muted' }, el('span', {}, 'file'), el('span', {}, 'HDU'), el('span', {}, 'plane'), el('span', {}, 'colour'), el('span', {}, 'band'), el('span', {})),
      rows,
      el('div', { class: 'rgb-actions' }, addButton, current, order),
      el('div', { class: 'rgb-actions' }, el('label', {}, 'Reference ', reference), el('label', {}, 'Method ', method)),
      el('div', { class: 'rgb-actions' }, start), status);
    const im = viewer.image;
    addRow(im ? { path: im.path, hdu: im.hdu, plane: im.plane } : {});
    addRow();
    addRow();
  }

  // --- readout ----------------------------------------------------------------------------
  async function readAt(p) {
    if (readout.busy) { readout.next = p; return; }
    readout.busy = true;
    try {
      const id = comp.id;
      const data = await api.get(`/api/rgb/${id}/pixel`, { x: p.x, y: p.y });
      if (panel && comp && comp.id === id) panel.setReadout(data);
    } catch { if (panel) panel.setReadout(null); }
    readout.busy = false;
    if (readout.next) { const n = readout.next; readout.next = null; readAt(n); }
  }

  const offs = [
    ui.addMenuItem('File', { label: 'RGB composite…', id: 'menu-rgb', onClick: openBuilder }),
    bus.on('image:opened', (d) => {
      if (d.tiles === 'rgb' && comp) {
        if (panel) panel.remove();
        showing = true;
        panel = createRgbPanel(ctx, comp, { onChange: changed, onClose: () => bus.emit('image:open', { path: d.path, hdu: d.hdu, plane: d.plane }), downloads });
        writeComposite(comp);
        document.body.dataset.rgb = comp.id;
        announce();
      } else if (showing) {
        leave();
        delete document.body.dataset.rgb;
      }
    }),
    bus.on('viewer:pointer-move', (p) => {
      if (!showing || !p || !comp) return;
      const x = Math.round(p.x); const y = Math.round(p.y);
      if (x < 0 || y < 0 || x >= comp.info.width || y >= comp.info.height) return;
      readAt({ x, y });
    }),
  ];
  ctx.ready(() => {
    const spec = readComposite();
    if (!spec) return;
    const q = new URLSearchParams(window.location.search);
    const view = ['cx', 'cy', 'zoom'].every((k) => Number.isFinite(Number(q.get(k))) && q.get(k) !== null) && Number(q.get('zoom')) > 0
      ? { cx: Number(q.get('cx')), cy: Number(q.get('cy')), zoom: Number(q.get('zoom')) } : null;
    build(spec, { view }).catch((e) => ui.notify(`RGB composite: ${e.detail || e.message || e}`, 'error'));
  });
  return () => {
    clearInterval(poll);
    offs.forEach((off) => off());
    if (panel) panel.remove();
  };
}
