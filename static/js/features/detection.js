// Source detection panel: parameters (each explained), run as a server job, progress from the
// /ws job events (job:progress), results shown with the overlay feature (overlay:show on the
// saved catalog), a short table and download links; photometry on click (POST /api/photometry).
//
// Bus: listens to job:progress, viewer:click, image:opened; emits overlay:show, detection:done,
// segmentation:open {seg, catalog} when the job wrote a segmentation map.
// Server: POST /api/detection, GET /api/jobs/{id}, DELETE /api/jobs/{id}, POST /api/photometry.
// Everything shown goes through el()/textContent.

import { jobPanel, numberFields } from '../lib/form.js';

const PARAMS = [
  ['threshold_sigma', 'Threshold (σ)', 5, '0.1', 'Detection threshold in noise sigmas of the matched-filtered image. '
    + 'A star of peak S/N p reaches about 2.26 p for a 3 px FWHM.'],
  ['fwhm_px', 'FWHM (px)', 3, '0.1', 'Source FWHM in pixels: the size of the matched (Gaussian) filter.'],
  ['min_separation_px', 'Min. separation (px)', '', '0.1', 'Peaks closer than this merge (empty: 0.8 × FWHM).'],
  ['min_area_px', 'Min. area (px)', 1, '1', 'Pixels of the 5×5 box around a peak that must exceed the threshold.'],
  ['edge_px', 'Edge (px)', '', '1', 'Ignore peaks this close to the image border (empty: FWHM / 2).'],
  ['box_px', 'Background box (px)', 32, '1', 'Box of the local sigma-clipped background and noise mesh (32 px follows extended emission).'],
  ['min_snr', 'Min. aperture S/N', 3, 'any', 'Drop peaks whose aperture S/N (sky from a local annulus) is below this; 0 keeps every peak.'],
  ['aperture_radius_px', 'Aperture (px)', '', '0.1', 'Aperture radius (empty: 1 × FWHM); fluxes are aperture-corrected.'],
];
const SHOWN = [['id', 'id'], ['x_fits', 'x'], ['y_fits', 'y'], ['flux', 'flux'], ['snr', 'S/N']];
const fmt = (v, digits = 4) => (v === null || v === undefined || Number.isNaN(Number(v)) ? '–'
  : (typeof v === 'number' ? Number(v.toPrecision(digits)).toString() : String(v)));

export function mount(ctx) {
  const { el } = ctx.escape;
  const panel = ctx.ui.addPanel({ id: 'detection-panel', title: 'Source detection', open: false, order: 60 });
  const form = el('form', { class: 'det-form', id: 'detection-form' });
  const inputs = numberFields(form, PARAMS);
  const deblend = el('input', { type: 'checkbox', name: 'deblend', checked: true });
  form.append(el('label', { class: 'det-check' }, deblend, ' Deblend close peaks (saddle test)'));
  const segmentation = el('input', { type: 'checkbox', name: 'segmentation', id: 'detection-segmentation' });
  form.append(el('label', { class: 'det-check', title: 'labels = catalog id; shown over the image when done' }, segmentation, ' Write a segmentation map'));
  const job = jobPanel(ctx, form, { prefix: 'detection', runLabel: 'Detect sources', url: '/api/detection', body: params,
    onEnd: (state) => finished(state) });
  const { bar, status, results } = job;
  const photoToggle = el('input', { type: 'checkbox', id: 'photometry-toggle' });
  const radius = el('input', { type: 'number', step: '0.5', min: '0.5', value: '4', id: 'photometry-radius' });
  const photo = el('div', { class: 'det-photometry', id: 'photometry-result' });
  panel.element.append(form, bar, status, results, el('h4', {}, 'Photometry on click'),
    el('label', { class: 'det-check' }, photoToggle, ' Measure where I click; radius (px) ', radius), photo);

  const offs = [];

  async function finished(state) {
    if (state.state !== 'done') {
      status.textContent = state.state === 'failed' ? `failed: ${state.error || state.message}` : state.state;
      if (state.state === 'failed') ctx.ui.notify(`detection failed: ${state.error || state.message}`, 'error');
      return;
    }
    const r = state.result;
    status.textContent = `${r.n_sources} sources (fluxes in ${r.flux_unit})`;
    renderResults(state.id, r);
    if (r.has_sky) {
      ctx.bus.emit('overlay:show', { name: r.catalog, ra_col: 'ra_deg', dec_col: 'dec_deg' });
      renderCrossmatch(r);
    }
    else ctx.ui.notify('This image has no celestial WCS: the catalog is saved but cannot be overlaid by RA/Dec.', 'warning');
    if (r.segmentation) ctx.bus.emit('segmentation:open', { seg: r.segmentation, catalog: r.catalog, ra_col: r.has_sky ? 'ra_deg' : undefined, dec_col: r.has_sky ? 'dec_deg' : undefined });
    ctx.bus.emit('detection:done', { job_id: state.id, catalog: r.catalog, n_sources: r.n_sources });
  }

  async function renderResults(id, r) {
    results.replaceChildren();
    const links = el('div', { class: 'det-links' }, 'Download: ');
    for (const name of r.files) {
      links.append(el('a', { href: ctx.api.url(`/api/jobs/${encodeURIComponent(id)}/files/${encodeURIComponent(name)}`),
        download: name, class: 'det-download' }, name.split('.').pop().toUpperCase()), ' ');
    }
    results.append(el('div', { class: 'det-catalog' }, 'Catalog: ', el('code', {}, r.catalog)), links);
    try {
      const page = await ctx.api.get('/api/catalogs/rows', { name: r.catalog, sort: '-snr', limit: 50 });
      const rows = page.rows || [];
      const table = el('table', { class: 'det-table' },
        el('thead', {}, el('tr', {}, ...SHOWN.map(([, h]) => el('th', {}, h)))));
      const body = el('tbody');
      for (const row of rows) {
        const values = Array.isArray(row) ? Object.fromEntries((page.columns || []).map((c, i) => [c.name ?? c, row[i]])) : row;
        const tr = el('tr', { title: 'Centre the view here' }, ...SHOWN.map(([k]) => el('td', {}, fmt(values[k]))));
        tr.addEventListener('click', () => ctx.viewer.panTo(Number(values.x_pix), Number(values.y_pix)));
        body.append(tr);
      }
      table.append(body);
      results.append(el('div', { class: 'det-note' }, `Brightest ${rows.length} by S/N:`), table);
    } catch (err) {
      results.append(el('div', { class: 'det-note' }, `table not available: ${err.detail || err}`));
    }
  }

  // Cross-match the detections with a catalog: matched detections are highlighted (the overlay's
  // selection colour), unmatched keep the detection colour; the catalog is drawn as squares.
  async function renderCrossmatch(r) {
    const select = el('select', { id: 'detection-xmatch-catalog' });
    const radiusInput = el('input', { type: 'number', step: '0.1', min: '0.01', value: '0.5', id: 'detection-xmatch-radius' });
    const go = el('button', { type: 'button', class: 'det-run', id: 'detection-xmatch-run' }, 'Cross-match');
    const out = el('div', { class: 'det-status', id: 'detection-xmatch-result' });
    results.append(el('h4', {}, 'Cross-match with a catalog'),
      el('label', { class: 'det-field' }, el('span', { class: 'det-label' }, 'Catalog'), select),
      el('label', { class: 'det-field' }, el('span', { class: 'det-label' }, 'Radius (arcsec)'), radiusInput), go, out);
    try {
      const { catalogs } = await ctx.api.get('/api/catalogs');
      for (const c of catalogs) if (!c.name.startsWith('detections/')) select.append(el('option', { value: c.name }, c.name));
    } catch (err) {
      out.textContent = `catalog list unavailable: ${err.detail || err}`;
    }
    go.addEventListener('click', async () => {
      if (!select.value) return;
      out.textContent = 'matching…';
      try {
        const res = await ctx.api.post('/api/catalogs/crossmatch', { a: r.catalog, b: select.value,
          radius_arcsec: Number(radiusInput.value) || 0.5, mode: 'best', limit: 100000 });
        const rows = res.pairs.map((p) => p[0]);
        ctx.bus.emit('overlay:show', { name: select.value, shape: 'square', color: '#ffaa00' });
        ctx.bus.emit('catalog:rows-selected', { name: r.catalog, rows });
        out.textContent = `${res.matched_a} of ${r.n_sources} detections matched (highlighted); `
          + `${r.n_sources - res.matched_a} unmatched; catalog sources shown as orange squares`;
      } catch (err) {
        out.textContent = `cross-match failed: ${err.detail || err}`;
      }
    });
  }

  function params() {
    const body = { deblend: deblend.checked, segmentation: segmentation.checked || undefined };
    for (const [key] of PARAMS) if (inputs[key].value !== '') body[key] = Number(inputs[key].value);
    return body;
  }

  photoToggle.addEventListener('change', () => {
    ctx.viewer.clickMode = photoToggle.checked ? 'photometry' : (ctx.viewer.clickMode === 'photometry' ? null : ctx.viewer.clickMode);
  });
  offs.push(ctx.bus.on('viewer:click', async ({ x, y }) => {
    if (ctx.viewer.clickMode !== 'photometry' || !ctx.viewer.image) return;
    const image = ctx.viewer.image;
    try {
      const res = await ctx.api.post('/api/photometry', { path: image.path, hdu: image.hdu, plane: image.plane || 0,
        x_pix: [x], y_pix: [y], radius_px: Number(radius.value) || 4 });
      const row = res.rows[0];
      const unit = res.flux_unit;
      photo.replaceChildren(el('dl', { class: 'det-dl' },
        el('dt', {}, 'position (1-based)'), el('dd', {}, `${fmt(row.x_pix + 1, 6)}, ${fmt(row.y_pix + 1, 6)}`),
        row.ra_deg !== undefined ? [el('dt', {}, 'RA, Dec (deg)'), el('dd', {}, `${fmt(row.ra_deg, 9)}, ${fmt(row.dec_deg, 8)}`)] : null,
        el('dt', {}, `flux (${unit})`), el('dd', { class: 'det-flux' }, `${fmt(row.flux)} ± ${fmt(row.flux_err, 2)}`),
        el('dt', {}, 'S/N'), el('dd', {}, fmt(row.snr, 3)),
        el('dt', {}, 'local sky'), el('dd', {}, `${fmt(row.sky)} ± ${fmt(row.sky_rms, 2)}`),
        el('dt', {}, 'FWHM (px)'), el('dd', {}, fmt(row.fwhm_px, 3))));
    } catch (err) {
      photo.textContent = `photometry failed: ${err.detail || err}`;
    }
  }));
  offs.push(ctx.bus.on('image:opened', () => { photo.replaceChildren(); }));

  const removeMenu = ctx.ui.addMenuItem('Analysis', { label: 'Detect sources…', id: 'menu-detection',
    onClick: () => { panel.show(); inputs.threshold_sigma.focus(); } });

  return () => {
    offs.forEach((off) => off());
    job.dispose();
    if (ctx.viewer.clickMode === 'photometry') ctx.viewer.clickMode = null;
    removeMenu();
    panel.remove();
  };
}
