// Contours (Analysis > Contours…): of the shown image or of another image (carried onto the shown
// one through both WCSs on the server), levels by list, by count between limits or in sigma units,
// optional smoothing; drawn as a canvas overlay that follows pan and zoom; exported as a DS9 region
// file of the contour polygons.
// Panels: every panel keeps its own contours (drawn on its own viewer, following its zoom, rotation
// and flip), held in its part of the page URL as `contours=<the request, URL-encoded>` (the page's
// keys for panel 1, inside p2..p4 for the others); the side panel draws and clears the ACTIVE panel's.

import { editPanelQuery, panelQuery } from '../lib/url-state.js';

const ARRAYS = ['sigma_levels', 'levels'];
const NUMBERS = ['n_levels', 'vmin', 'vmax', 'smooth_px', 'width', 'src_hdu'];
const STRINGS = ['spacing', 'color', 'src'];

/** The URL form of a contour request (without the image it is drawn on: that is the panel's). */
export function specOf(body, width) {
  const q = new URLSearchParams();
  for (const k of ARRAYS) if (body[k]) q.set(k, body[k].join(','));
  for (const k of ['n_levels', 'vmin', 'vmax', 'smooth_px']) if (Number.isFinite(body[k])) q.set(k, String(body[k]));
  if (body.n_levels) q.set('spacing', body.spacing || 'linear');
  if (body.color) q.set('color', body.color);
  q.set('width', String(width));
  if (body.on) { q.set('src', body.path); if (Number.isInteger(body.hdu)) q.set('src_hdu', String(body.hdu)); }
  return q.toString();
}

/** The request of a URL form, drawn on `image` ({ path, hdu, plane }); a URL is user input: unknown
 * keys are dropped, numbers checked (the server checks the rest). */
export function bodyOf(text, image) {
  const q = new URLSearchParams(text);
  const out = {};
  for (const k of ARRAYS) if (q.get(k)) out[k] = q.get(k).split(',').map(Number).filter(Number.isFinite);
  for (const k of NUMBERS) if (q.get(k) && Number.isFinite(Number(q.get(k)))) out[k] = Number(q.get(k));
  for (const k of STRINGS) if (q.get(k)) out[k] = q.get(k);
  const shown = { path: image.path, hdu: image.hdu, plane: image.plane };
  const { src, src_hdu: srcHdu, width, ...rest } = out;
  const body = src ? { ...rest, path: src, hdu: srcHdu, plane: 0, on: shown } : { ...rest, ...shown };
  return { body, width: width || 1.2 };
}

export function mount(ctx) {
  const { api, ui, viewer, panels } = ctx;
  const { el } = ctx.escape;
  let panel = null;
  let style = { color: '#39ff14', width: 1.2 };
  // panel index -> { result: { contours: [{level, paths}], on: {path, hdu, plane} } | null, spec, style, layer, info }
  const states = new Map();
  const watched = new Set();
  const watchOffs = [];
  let showInfo = () => {};

  function stateOf(p) {
    if (!states.has(p.index)) {
      const st = { result: null, spec: '', style: { ...style }, layer: null, info: '', p };
      st.layer = p.viewer.addCanvasLayer((g, v) => draw(st, g, v));
      st.layer.canvas.classList.add('contours-layer');
      states.set(p.index, st);
    }
    return states.get(p.index);
  }
  const activePanel = () => panels.list().find((p) => p.index === panels.active) || panels.list()[0];

  function draw(st, g, v) {
    const image = v.image;
    const result = st.result;
    if (!result || !image || result.on.path !== image.path || result.on.hdu !== image.hdu) return;
    // image -> screen is affine at any instant: three points give it (no per-vertex calls)
    const o = v.imageToScreen(0, 0); const ex = v.imageToScreen(1, 0); const ey = v.imageToScreen(0, 1);
    const ax = ex.x - o.x; const bx = ey.x - o.x; const ay = ex.y - o.y; const by = ey.y - o.y;
    g.strokeStyle = st.style.color;
    g.lineWidth = st.style.width;
    g.beginPath();
    for (const c of result.contours) {
      for (const p of c.paths) {
        let pen = false;
        for (let i = 0; i < p.length; i += 2) {
          const x = p[i]; const y = p[i + 1];
          if (x === null || y === null) { pen = false; continue; }
          const sx = o.x + ax * x + bx * y; const sy = o.y + ay * x + by * y;
          if (pen) g.lineTo(sx, sy); else { g.moveTo(sx, sy); pen = true; }
        }
      }
    }
    g.stroke();
  }

  /** Trace `body` and draw it in panel p; the panel's URL keeps the request. */
  async function trace(p, body, width) {
    const st = stateOf(p);
    st.info = 'tracing…';
    showInfo();
    try {
      st.result = await api.post('/api/contours', body);
      st.style = { color: body.color || style.color, width };
      st.spec = specOf(body, width);
      const lv = st.result.levels.map((v) => Number(v.toPrecision(4))).join(', ');
      st.info = `${st.result.n_points} points · levels ${lv} ${st.result.unit || ''}${st.result.truncated ? ' (truncated: smooth more)' : ''}`;
      p.element.dataset.contours = String(st.result.n_points);
    } catch (e) {
      st.result = null;
      st.spec = '';
      st.info = e.detail || e.message || String(e);
      delete p.element.dataset.contours;
    }
    st.layer.redraw();
    writeUrl(st);
    showInfo();
  }

  function clearPanel(st) {
    st.result = null;
    st.spec = '';
    st.info = '';
    st.layer.redraw();
    delete st.p.element.dataset.contours;
    writeUrl(st);
    showInfo();
  }

  function writeUrl(st) {
    if (st.p.index >= panels.list().length) return;
    editPanelQuery(st.p.index, (query) => {
      const q = new URLSearchParams(query);
      if (st.spec) q.set('contours', st.spec); else q.delete('contours');
      return q.toString();
    });
  }

  // a panel's image changed: its contours belong to the image they were traced on (they come back
  // with the URL's request once a panel opens from a link)
  function watch(p) {
    if (watched.has(p.index)) return;
    watched.add(p.index);
    watchOffs.push(p.bus.on('image:opened', (image) => {
      const st = states.get(p.index);
      if (st?.pending) { st.pending = false; const { body, width } = bodyOf(st.pendingSpec, image); trace(p, body, width); return; }
      if (st?.result && (st.result.on.path !== image.path || st.result.on.hdu !== image.hdu)) clearPanel(st);
    }));
  }

  function buildPanel() {
    panel = ui.addPanel({ id: 'contours-panel', title: 'Contours', order: 6 });
    const body = panel.element;
    body.classList.add('contours-panel');
    const source = el('select', { class: 'ct-source' }, el('option', { value: 'shown' }, 'shown image'), el('option', { value: 'other' }, 'another image'));
    const other = el('input', { type: 'text', class: 'ct-path', placeholder: 'path under files/', spellcheck: 'false' });
    const otherHdu = el('input', { type: 'number', class: 'ct-hdu', min: '0', placeholder: 'HDU' });
    const otherRow = el('div', { class: 'rgb-row' }, other, otherHdu);
    otherRow.hidden = true;
    source.addEventListener('change', () => { otherRow.hidden = source.value !== 'other'; });
    const mode = el('select', { class: 'ct-mode' },
      el('option', { value: 'sigma' }, 'sigma units'), el('option', { value: 'count' }, 'count between limits'), el('option', { value: 'list' }, 'list of levels'));
    const sigmas = el('input', { type: 'text', class: 'ct-sigmas', value: '3, 5, 10, 20, 50' });
    const count = el('input', { type: 'number', class: 'ct-count', min: '1', max: '50', value: '5' });
    const lo = el('input', { type: 'number', step: 'any', class: 'ct-min', placeholder: 'min (display)' });
    const hi = el('input', { type: 'number', step: 'any', class: 'ct-max', placeholder: 'max (display)' });
    const spacing = el('select', { class: 'ct-spacing' }, ['linear', 'log', 'sqrt'].map((s) => el('option', { value: s }, s)));
    const levels = el('input', { type: 'text', class: 'ct-levels', placeholder: 'e.g. 0.1, 0.5, 2' });
    const rows = {
      sigma: el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'k ='), sigmas),
      count: el('div', { class: 'rgb-row' }, count, lo, hi, spacing),
      list: el('div', { class: 'rgb-row' }, levels),
    };
    const showMode = () => { for (const [k, row] of Object.entries(rows)) row.hidden = k !== mode.value; };
    mode.addEventListener('change', showMode);
    showMode();
    const smoothing = el('input', { type: 'number', class: 'ct-smooth', min: '0', max: '100', step: 'any', value: '1' });
    const color = el('input', { type: 'color', class: 'ct-color', value: style.color });
    const width = el('input', { type: 'number', class: 'ct-width', min: '0.5', max: '6', step: '0.5', value: String(style.width) });
    const restyle = () => {
      style = { color: color.value, width: Number(width.value) || 1 };
      const st = states.get(activePanel().index);
      if (!st?.result) return;
      st.style = { ...style };
      st.spec = specOf({ ...bodyOf(st.spec, st.result.on).body, color: style.color }, style.width);
      st.layer.redraw();
      writeUrl(st);
    };
    color.addEventListener('input', restyle);
    width.addEventListener('change', restyle);
    const info = el('div', { class: 'ct-info muted', role: 'status' });
    // the form shows the active panel's contours (what Draw, the colour and Clear act on)
    const fill = (spec) => {
      const q = new URLSearchParams(spec);
      const has = (k) => q.get(k) !== null;
      mode.value = has('levels') ? 'list' : has('n_levels') ? 'count' : 'sigma';
      showMode();
      if (has('sigma_levels')) sigmas.value = q.get('sigma_levels').split(',').join(', ');
      if (has('levels')) levels.value = q.get('levels').split(',').join(', ');
      if (has('n_levels')) { count.value = q.get('n_levels'); lo.value = q.get('vmin') ?? ''; hi.value = q.get('vmax') ?? ''; spacing.value = q.get('spacing') || 'linear'; }
      smoothing.value = q.get('smooth_px') ?? '0';
      source.value = has('src') ? 'other' : 'shown';
      other.value = q.get('src') || '';
      otherHdu.value = q.get('src_hdu') ?? '';
      otherRow.hidden = source.value !== 'other';
      if (has('color')) color.value = q.get('color');
      if (has('width')) width.value = q.get('width');
    };
    showInfo = () => {
      const st = states.get(activePanel().index);
      info.textContent = st?.info || '';
      if (st?.spec) fill(st.spec);
    };
    const drawButton = el('button', { type: 'button', class: 'btn primary ct-draw' }, 'Draw');
    const exportButton = el('button', { type: 'button', class: 'btn ct-export' }, 'DS9 regions');
    const clear = el('button', { type: 'button', class: 'btn ct-clear' }, 'Clear');

    const numbers = (text) => text.split(/[\s,;]+/).filter(Boolean).map(Number);
    const request = () => {
      const image = viewer.image;
      if (!image) throw new Error('open an image first');
      const shown = { path: image.path, hdu: image.hdu, plane: image.plane };
      const src = source.value === 'other'
        ? { path: other.value.trim(), hdu: otherHdu.value === '' ? undefined : Number(otherHdu.value), plane: 0 }
        : shown;
      const body = { ...src, smooth_px: Number(smoothing.value) || 0, color: color.value };
      if (source.value === 'other') body.on = shown;
      if (mode.value === 'sigma') body.sigma_levels = numbers(sigmas.value);
      else if (mode.value === 'list') body.levels = numbers(levels.value);
      else {
        body.n_levels = Number(count.value) || 5;
        body.spacing = spacing.value;
        const d = viewer.display;
        body.vmin = lo.value !== '' ? Number(lo.value) : d.vmin ?? undefined;
        body.vmax = hi.value !== '' ? Number(hi.value) : d.vmax ?? undefined;
      }
      return body;
    };
    drawButton.addEventListener('click', () => {
      let body;
      try { body = request(); } catch (e) { info.textContent = e.message; return; }
      trace(activePanel(), body, Number(width.value) || 1);
    });
    exportButton.addEventListener('click', async () => {
      try {
        const blob = await api.post('/api/contours/ds9', request());
        const a = el('a', { href: URL.createObjectURL(blob), download: 'contours.reg' });
        document.body.append(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      } catch (e) { info.textContent = e.detail || e.message || String(e); }
    });
    clear.addEventListener('click', () => clearPanel(stateOf(activePanel())));
    body.append(
      el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'of'), source), otherRow,
      el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'levels'), mode), rows.sigma, rows.count, rows.list,
      el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'smooth σ px'), smoothing),
      el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'line'), color, width),
      el('div', { class: 'rgb-row' }, drawButton, exportButton, clear), info);
    showInfo();
  }

  let shown = panels.list().length;
  const offs = [
    ui.addMenuItem('Analysis', { label: 'Contours…', id: 'menu-contours', onClick: () => { if (!panel) buildPanel(); else panel.show(); } }),
    panels.onChange(() => {
      const n = panels.list().length;
      for (const p of panels.list()) watch(p);
      // panels shown again by a larger layout: their contours back in the URL
      if (n > shown) for (const st of states.values()) if (st.p.index >= shown && st.p.index < n && st.spec) writeUrl(st);
      shown = n;
      showInfo();
    }),
  ];
  for (const p of panels.list()) watch(p);
  // the page URL's contours, per panel: traced once that panel's image is open
  ctx.ready(() => {
    for (const p of panels.list()) {
      const spec = panelQuery(p.index).get('contours');
      if (!spec) continue;
      if (p.viewer.image) { const { body, width } = bodyOf(spec, p.viewer.image); trace(p, body, width); continue; }
      Object.assign(stateOf(p), { pending: true, pendingSpec: spec });
    }
  });
  return () => {
    [...offs, ...watchOffs].forEach((off) => off());
    for (const st of states.values()) st.layer.remove();
    if (panel) panel.remove();
  };
}
