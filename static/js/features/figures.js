// Publication figure of the current view (or of the RGB composite on screen, or of every panel
// when the page shows several: ctx.state().panels + layout): matplotlib WCSAxes on the server (a job), with the
// viewer's stretch, limits and colormap and the view (exactly its screen); sky grid and labels in a chosen
// frame, colorbar in physical units, scale bar (arcsec, kpc at a distance), compass, catalog
// markers, contours, title; PDF, SVG or PNG at a chosen size and DPI. Defaults: 10 x 10 inch.
//
// Bus: listens to job:progress (through lib/form.js jobPanel).
// Server: POST /api/figures, GET /api/catalogs, GET/DELETE /api/jobs/{id}, GET /api/jobs/{id}/files/{name}.
// Everything shown goes through el()/textContent.

import { jobPanel } from '../lib/form.js';
import { readComposite } from './rgb-url.js';

const FRAMES = ['icrs', 'fk5', 'fk4', 'galactic', 'ecliptic'];

export function mount(ctx) {
  const { el } = ctx.escape;
  let modal = null;
  let job = null;

  function input(attrs) { return el('input', attrs); }
  function field(label, node, help) { return el('label', { title: help || '' }, label, node); }

  function build() {
    const v = {
      format: el('select', { id: 'fig-format' }, ...['pdf', 'png', 'svg'].map((f) => el('option', { value: f }, f.toUpperCase()))),
      width: input({ type: 'number', id: 'fig-width', value: '10', min: '2', max: '40', step: 'any' }),
      height: input({ type: 'number', id: 'fig-height', value: '10', min: '2', max: '40', step: 'any' }),
      dpi: input({ type: 'number', id: 'fig-dpi', value: '150', min: '30', max: '1200', step: 'any' }),
      frame: el('select', { id: 'fig-frame' }, ...FRAMES.map((f) => el('option', { value: f }, f))),
      title: input({ type: 'text', id: 'fig-title', placeholder: 'title' }),
      distance: input({ type: 'number', id: 'fig-distance', min: '0', step: 'any', placeholder: 'Mpc' }),
      scalebar: input({ type: 'number', id: 'fig-scalebar', min: '0', step: 'any', placeholder: 'auto' }),
      catalog: el('select', { id: 'fig-catalog' }, el('option', { value: '' }, 'none')),
      contours: input({ type: 'text', id: 'fig-contours', placeholder: 'e.g. 1, 5, 20' }),
      grid: input({ type: 'checkbox', id: 'fig-grid', checked: true }),
      colorbar: input({ type: 'checkbox', id: 'fig-colorbar', checked: true }),
      compass: input({ type: 'checkbox', id: 'fig-compass', checked: true }),
      whole: input({ type: 'checkbox', id: 'fig-whole' }),
    };
    const form = el('form', { class: 'fig-form', id: 'fig-form' },
      field('Format', v.format), field('Width (inch)', v.width), field('Height (inch)', v.height), field('DPI', v.dpi),
      field('Sky frame', v.frame), field('Title', v.title),
      field('Distance (Mpc)', v.distance, 'adds kpc to the scale bar'), field('Scale bar (″)', v.scalebar, 'empty: a round length; 0: none'),
      field('Catalog markers', v.catalog), field('Contour levels', v.contours, 'physical values of this image, comma-separated'),
      el('label', { class: 'sed-check' }, v.grid, 'Sky grid'), el('label', { class: 'sed-check' }, v.colorbar, 'Colorbar'),
      el('label', { class: 'sed-check' }, v.compass, 'Compass'), el('label', { class: 'sed-check' }, v.whole, 'Whole image (not just the view)'));
    ctx.api.get('/api/catalogs').then(({ catalogs }) => {
      for (const c of catalogs) v.catalog.append(el('option', { value: c.name }, c.name));
    }, () => {});
    job = jobPanel(ctx, form, { prefix: 'figure', runLabel: 'Render figure', url: '/api/figures', body: () => body(v),
      onEnd: (state) => finished(state) });
    return [el('p', { class: 'det-help' }, 'The figure uses the current stretch, limits, colormap and view.'), form, job.bar, job.status, job.results];
  }

  function body(v) {
    const d = ctx.viewer.display || {};
    const out = {
      format: v.format.value, width_in: Number(v.width.value), height_in: Number(v.height.value), dpi: Number(v.dpi.value),
      frame: v.frame.value, title: v.title.value, stretch: d.stretch || 'linear', cmap: d.cmap || 'gray', invert: !!d.invert,
      grid: v.grid.checked, colorbar: v.colorbar.checked, compass: v.compass.checked,
    };
    if (d.exponent) out.exponent = d.exponent;
    if (Number.isFinite(d.vmin) && Number.isFinite(d.vmax)) { out.vmin = d.vmin; out.vmax = d.vmax; }
    if (Number(v.distance.value) > 0) out.distance_mpc = Number(v.distance.value);
    if (v.scalebar.value !== '') out.scalebar_arcsec = Number(v.scalebar.value);
    if (v.catalog.value) out.catalog = { name: v.catalog.value };
    const levels = v.contours.value.split(/[,\s]+/).filter(Boolean).map(Number).filter(Number.isFinite);
    if (levels.length) out.contours = { levels };
    if (!v.whole.checked) {  // the view exactly: centre, zoom, rotation, flip and the viewport's size
      const view = ctx.viewer.viewState();
      const box = ctx.viewer.element?.getBoundingClientRect();
      if (view && view.zoom > 0 && box && box.width >= 1 && box.height >= 1) {
        const o = ctx.viewer.orientation();
        out.view = { cx: view.cx, cy: view.cy, zoom: view.zoom, rotation: Number(o.rotation) || 0, flip: !!o.flip };
        out.view_px = [box.width, box.height];
      }
    }
    return Object.assign(out, composite() || layout(v.whole.checked) || {});
  }

  /** An RGB composite on screen: its channels (the same body as POST /api/rgb), colours and limits. */
  function composite() {
    if (ctx.viewer.image?.tiles !== 'rgb') return null;
    const comp = readComposite();
    if (!comp) return null;
    const { channels, reference, method, mode, q, lstretch } = comp;
    return { path: undefined, rgb: { channels, reference, method, mode, q, lupton_stretch: lstretch } };
  }

  /** More than one panel on the page (ctx.state().panels, when the page has them): every panel
   * with its display and its exact view (centre, zoom, rotation, flip, viewport px), in the page's layout. */
  function layout(whole) {
    const state = ctx.state();
    const panels = Array.isArray(state.panels) ? state.panels : [];
    if (panels.length < 2) return null;
    const grid = { '1x2': [1, 2], '2x1': [2, 1], '2x2': [2, 2] }[state.layout] || (panels.length === 2 ? [1, 2] : [2, 2]);
    const box = document.getElementById('viewer-wrap')?.getBoundingClientRect();
    const cell = box ? [box.width / grid[1], box.height / grid[0]] : [800, 800];
    const keys = ['stretch', 'vmin', 'vmax', 'cmap', 'invert', 'exponent'];
    return {
      path: undefined,
      view: undefined,  // each panel carries its own
      view_px: undefined,
      layout: `${grid[0]}x${grid[1]}`,
      panels: panels.slice(0, grid[0] * grid[1]).map((p) => {
        const display = {};
        for (const k of keys) if (p.display && p.display[k] !== undefined && p.display[k] !== null) display[k] = p.display[k];
        const size = Array.isArray(p.viewport_px) && p.viewport_px[0] >= 1 && p.viewport_px[1] >= 1 ? p.viewport_px : cell;
        const one = { path: p.path, hdu: p.hdu ?? null, plane: p.plane || 0, display, view_px: size };
        if (!whole && p.view && p.view.zoom > 0) {
          const o = p.orientation || {};
          one.view = { cx: p.view.cx, cy: p.view.cy, zoom: p.view.zoom, rotation: Number(o.rotation) || 0, flip: !!o.flip };
        }
        return one;
      }),
    };
  }

  function finished(state) {
    if (state.state !== 'done') {
      job.status.textContent = state.state === 'failed' ? `failed: ${state.error || state.message}` : state.state;
      return;
    }
    const name = state.result.figure;
    const href = ctx.api.url(`/api/jobs/${encodeURIComponent(state.id)}/files/${encodeURIComponent(name)}`);
    job.status.textContent = `${state.result.format.toUpperCase()} ready (${Math.round(state.result.bytes / 1024)} kB)`;
    const link = el('a', { href, download: name, id: 'figure-download', class: 'det-run' }, `Download ${name}`);
    const nodes = [link];
    if (state.result.format !== 'pdf') nodes.push(el('img', { src: href, alt: 'figure preview', class: 'fig-preview', id: 'figure-preview' }));
    job.results.replaceChildren(...nodes);
  }

  function open() {
    if (!ctx.viewer.image) { ctx.ui.notify('Open an image first.', 'warning'); return; }
    if (modal && modal.box.isConnected) return;
    modal = ctx.ui.openModal({ title: 'Publication figure', wide: true, id: 'figure-modal' });
    modal.body.append(...build());
    modal.onClose = () => { if (job) job.dispose(); job = null; modal = null; };
  }

  const removeMenu = ctx.ui.addMenuItem('File', { label: 'Publication figure…', id: 'menu-figure', onClick: open });
  return () => {
    removeMenu();
    if (modal) modal.close();
  };
}
