// Cutouts & SED of one source: a position (a click on the image, a catalog marker, or typed in
// any frame, degrees or sexagesimal) -> cutouts from every image covering it (a strip of panels
// labelled by instrument/filter, the viewer's stretch and colormap, FITS and PNG links) -> forced
// photometry in all of them (the SED, plotted log-log with errors, upper limits and cutout
// insets; PNG, PDF, CSV export). Filters missing from the bandpass table are asked for. Batch
// cutouts of a catalog selection run as a job (zip of FITS + multi-page PDF), cancellable.
//
// Bus: listens to viewer:click (clickMode 'sed'), catalog:row-clicked, job:progress; emits image:open.
// Server: GET /api/sky/resolve, POST /api/images/pixel-to-world, POST /api/cutouts, GET /api/cutouts/files/{f},
// POST /api/sed, POST /api/sed/plot, GET /api/catalogs, GET /api/catalogs/columns, POST /api/cutouts/batch.
// Everything shown goes through el()/textContent.

import { jobPanel } from '../lib/form.js';
import { chartPng, drawSed, purge } from './sed-chart.js';

const FRAMES = ['icrs', 'fk5', 'fk4', 'galactic', 'ecliptic'];
const num = (v, digits = 4) => (v === null || v === undefined ? '–' : Number(Number(v).toPrecision(digits)).toString());

function download(doc, blobOrUrl, name) {
  const href = typeof blobOrUrl === 'string' ? blobOrUrl : URL.createObjectURL(blobOrUrl);
  const a = doc.createElement('a');
  a.href = href;
  a.download = name;
  doc.body.append(a);
  a.click();
  a.remove();
  if (typeof blobOrUrl !== 'string') setTimeout(() => URL.revokeObjectURL(href), 10000);
}

export function mount(ctx) {
  const { el } = ctx.escape;
  const doc = document;
  const offs = [];
  let modal = null;
  let parts = null;
  let last = null; // { ra, dec, points, cutouts }
  const wavelengths = {};

  function field(label, input) { return el('label', {}, label, input); }

  function build() {
    const position = el('input', { type: 'text', id: 'sed-position', placeholder: '150.1 2.2 or 10:00:24 +02:12:00' });
    const frame = el('select', { id: 'sed-frame' }, ...FRAMES.map((f) => el('option', { value: f }, f)));
    const size = el('input', { type: 'number', id: 'sed-size', value: '6', min: '0.1', step: 'any' });
    const radius = el('input', { type: 'number', id: 'sed-radius', value: '0.5', min: '0.01', step: 'any' });
    const northUp = el('input', { type: 'checkbox', id: 'sed-north-up' });
    const psfMatch = el('input', { type: 'checkbox', id: 'sed-psf-match' });
    const follow = el('input', { type: 'checkbox', id: 'sed-follow', checked: true });
    const go = el('button', { type: 'submit', class: 'det-run', id: 'sed-go' }, 'Cutouts & SED');
    const pick = el('button', { type: 'button', id: 'sed-pick', title: 'Click a source on the image' }, 'Pick on image');
    const form = el('form', { class: 'sed-form', id: 'sed-form' },
      field('Position', position), field('Frame', frame), field('Cutout size (″)', size), field('Aperture radius (″)', radius),
      el('label', { class: 'sed-check' }, northUp, 'North up, common scale'),
      el('label', { class: 'sed-check', title: 'Convolve every image to the broadest PSF (PSFs from psf/)' }, psfMatch, 'PSF matching'),
      el('label', { class: 'sed-check' }, follow, 'Follow catalog clicks'), go, pick);
    const status = el('div', { class: 'sed-status', id: 'sed-status', 'aria-live': 'polite' });
    const strip = el('div', { class: 'sed-strip', id: 'sed-strip' });
    const ask = el('div', { id: 'sed-ask' });
    const chart = el('div', { class: 'sed-chart', id: 'sed-chart' });
    const exportPng = el('button', { type: 'button', id: 'sed-export-png' }, 'PNG');
    const exportPdf = el('button', { type: 'button', id: 'sed-export-pdf' }, 'PDF');
    const exportCsv = el('button', { type: 'button', id: 'sed-export-csv' }, 'CSV');
    const actions = el('div', { class: 'sed-actions', hidden: true, id: 'sed-actions' }, 'Export the SED: ', exportPng, exportPdf, exportCsv);
    form.addEventListener('submit', (e) => { e.preventDefault(); fromText(); });
    pick.addEventListener('click', () => {
      if (!ctx.viewer.image) { ctx.ui.notify('Open an image first.', 'warning'); return; }
      ctx.viewer.clickMode = 'sed';
      status.textContent = 'Click a source on the image…';
      modal.box.closest('.modal-backdrop').hidden = true;
    });
    exportPng.addEventListener('click', async () => download(doc, await chartPng(chart), 'sed.png'));
    exportPdf.addEventListener('click', () => exportServer('pdf'));
    exportCsv.addEventListener('click', () => exportServer('csv'));
    const batch = buildBatch(size, northUp);
    return { position, frame, size, radius, northUp, psfMatch, follow, status, strip, ask, chart, actions,
      nodes: [form, status, strip, ask, chart, actions, batch] };
  }

  function buildBatch(size, northUp) {
    const catalog = el('select', { id: 'sed-batch-catalog' });
    const filter = el('input', { type: 'text', id: 'sed-batch-filter', placeholder: 'e.g. mag_ab < 24 (empty: all rows)' });
    const pdf = el('input', { type: 'checkbox', id: 'sed-batch-pdf', checked: true });
    const form = el('form', { class: 'sed-form', id: 'sed-batch-form' }, field('Catalog', catalog), field('Selection', filter),
      el('label', { class: 'sed-check' }, pdf, 'Multi-page PDF'));
    const job = jobPanel(ctx, form, { prefix: 'sed-batch', runLabel: 'Batch cutouts', url: '/api/cutouts/batch',
      body: () => ({ catalog: catalog.value, filter: filter.value.trim() || null, size_arcsec: Number(size.value),
        north_up: northUp.checked, pdf: pdf.checked }),
      onEnd: (state) => batchDone(state, job) });
    offs.push(job.dispose);
    ctx.api.get('/api/catalogs').then(({ catalogs }) => {
      for (const c of catalogs) catalog.append(el('option', { value: c.name }, c.name));
    }, () => {});
    return el('details', { class: 'sed-batch', id: 'sed-batch' }, el('summary', {}, 'Batch cutouts of a catalog selection (zip of FITS + PDF)'),
      form, job.bar, job.status, job.results);
  }

  function batchDone(state, job) {
    if (state.state !== 'done') { job.status.textContent = state.state === 'failed' ? `failed: ${state.error}` : state.state; return; }
    job.status.textContent = `${state.result.n_cutouts} cutouts of ${state.result.n_sources} sources`;
    const links = el('div', { class: 'det-links' }, 'Download: ');
    for (const name of state.result.files) {
      links.append(el('a', { href: ctx.api.url(`/api/jobs/${encodeURIComponent(state.id)}/files/${encodeURIComponent(name)}`),
        download: name, class: 'sed-batch-file' }, name), ' ');
    }
    job.results.replaceChildren(links);
  }

  function open() {
    if (modal && modal.box.isConnected) {
      modal.box.closest('.modal-backdrop').hidden = false;
      return;
    }
    modal = ctx.ui.openModal({ title: 'Cutouts & SED', wide: true, id: 'sed-modal' });
    parts = build();
    modal.body.append(...parts.nodes);
    modal.onClose = () => { purge(parts.chart); if (ctx.viewer.clickMode === 'sed') ctx.viewer.clickMode = null; modal = null; };
  }

  async function fromText() {
    const text = parts.position.value.trim();
    if (!text) return;
    try {
      const { ra_deg, dec_deg } = await ctx.api.get('/api/sky/resolve', { text, frame: parts.frame.value });
      await measure(ra_deg, dec_deg);
    } catch (e) { parts.status.textContent = e.detail || String(e); }
  }

  async function at(ra, dec) {
    open();
    parts.frame.value = 'icrs';
    parts.position.value = `${ra.toFixed(7)} ${dec.toFixed(7)}`;
    await measure(ra, dec);
  }

  async function measure(ra, dec) {
    const { status, strip, ask, actions } = parts;
    const display = ctx.viewer.display || {};
    status.textContent = `Cutouts at RA ${ra.toFixed(6)}, Dec ${dec.toFixed(6)}…`;
    strip.replaceChildren();
    ask.replaceChildren();
    actions.hidden = true;
    try {
      const cut = await ctx.api.post('/api/cutouts', { ra_deg: ra, dec_deg: dec, size_arcsec: Number(parts.size.value),
        north_up: parts.northUp.checked,
        display: { stretch: display.stretch || 'asinh', cmap: display.cmap || 'gray', invert: !!display.invert,
          exponent: display.exponent || null } });
      if (!cut.cutouts.length) { status.textContent = 'No image under files/ covers this position.'; purge(parts.chart); return; }
      for (const c of cut.cutouts) strip.append(panel(c));
      status.textContent = `${cut.cutouts.length} images cover the position; measuring…`;
      const sed = await ctx.api.post('/api/sed', { ra_deg: ra, dec_deg: dec, radius_arcsec: Number(parts.radius.value),
        psf_match: parts.psfMatch.checked, wavelengths_um: wavelengths });
      last = { ra, dec, points: sed.points, cutouts: cut.cutouts, size: Number(parts.size.value) };
      if (sed.missing_wavelengths.length) askWavelengths(sed.missing_wavelengths, ra, dec);
      const insets = [...cut.cutouts]
        .sort((a, b) => (a.pivot_um ?? 1e9) - (b.pivot_um ?? 1e9))
        .map((c) => ({ url: ctx.api.url(`/api/cutouts/files/${encodeURIComponent(c.png)}`), label: c.filter || c.label }));
      const n = await drawSed(parts.chart, sed.points, insets);
      const limits = sed.points.filter((p) => p.upper_limit).length;
      const notes = [...new Set(sed.points.flatMap((p) => p.notes || []))];
      status.textContent = `${sed.points.length} points (${limits} upper limits), ${n} plotted`
        + `${sed.target_psf ? `; PSF-matched to ${sed.target_psf.source}` : ''}${notes.length ? `. ${notes.join('; ')}` : ''}`;
      actions.hidden = false;
    } catch (e) {
      status.textContent = e.detail || String(e);
      ctx.ui.notify(e.detail || String(e), 'error');
    }
  }

  function panel(c) {
    const src = ctx.api.url(`/api/cutouts/files/${encodeURIComponent(c.png)}`);
    const img = el('img', { src, alt: `${c.label} cutout`, title: `${c.path} [${c.hdu}] — click to open in the viewer` });
    img.addEventListener('click', () => ctx.bus.emit('image:open', { path: c.path, hdu: c.hdu }));
    return el('figure', { class: 'sed-panel', dataset: { path: c.path, hdu: String(c.hdu) } }, img,
      el('figcaption', { title: c.label }, c.label),
      el('div', {}, el('a', { href: ctx.api.url(`/api/cutouts/files/${encodeURIComponent(c.file)}`), download: c.file }, 'FITS'),
        el('a', { href: src, download: c.png }, 'PNG'), `${num(c.scale_arcsec, 3)}″/px`));
  }

  function askWavelengths(filters, ra, dec) {
    const inputs = filters.map((f) => [f, el('input', { type: 'number', min: '0', step: 'any', 'aria-label': `${f} wavelength (µm)` })]);
    const apply = el('button', { type: 'button', id: 'sed-ask-apply' }, 'Use these wavelengths');
    apply.addEventListener('click', () => {
      for (const [f, input] of inputs) if (Number(input.value) > 0) wavelengths[f] = Number(input.value);
      measure(ra, dec);
    });
    parts.ask.replaceChildren(el('div', { class: 'sed-ask' }, 'Not in the bandpass table — give the pivot wavelength (µm) of: ',
      ...inputs.flatMap(([f, input]) => [f, input]), apply));
  }

  async function exportServer(format) {
    if (!last) return;
    const title = `RA ${last.ra.toFixed(5)} Dec ${last.dec.toFixed(5)}`;
    try {
      const insets = format === 'csv' ? null : { ra_deg: last.ra, dec_deg: last.dec, size_arcsec: last.size || 5 };
      const blob = await ctx.api.post('/api/sed/plot', { points: last.points, format, title, insets });
      download(doc, blob, `sed.${format}`);
    } catch (e) { ctx.ui.notify(e.detail || String(e), 'error'); }
  }

  offs.push(ctx.bus.on('viewer:click', async ({ x, y }) => {
    if (ctx.viewer.clickMode !== 'sed' || !ctx.viewer.image) return;
    ctx.viewer.clickMode = null;
    const image = ctx.viewer.image;
    try {
      const w = await ctx.api.post('/api/images/pixel-to-world', { path: image.path, hdu: image.hdu, plane: image.plane || 0, x: [x], y: [y] });
      if (w.ra_deg[0] === null) throw new Error('this position has no sky coordinates');
      await at(w.ra_deg[0], w.dec_deg[0]);
    } catch (e) { ctx.ui.notify(e.detail || e.message || String(e), 'error'); }
  }));

  offs.push(ctx.bus.on('catalog:row-clicked', async ({ name, values }) => {
    if (!modal || !modal.box.isConnected || !parts.follow.checked || !values) return;
    try {
      const columns = await ctx.api.get('/api/catalogs/columns', { name });
      const ra = values[columns.ra_col];
      const dec = values[columns.dec_col];
      if (ra === undefined || dec === undefined || ra === null || dec === null) return;
      const resolved = await ctx.api.get('/api/sky/resolve', { text: `${ra} ${dec}`, frame: 'icrs' });
      await at(resolved.ra_deg, resolved.dec_deg);
    } catch (e) { ctx.ui.notify(e.detail || String(e), 'error'); }
  }));

  const removeMenu = ctx.ui.addMenuItem('Analysis', { label: 'Cutouts & SED…', id: 'menu-sed', onClick: open });
  const removePick = ctx.ui.addMenuItem('Analysis', { label: 'Cutouts & SED of a clicked source', id: 'menu-sed-pick',
    onClick: () => { if (!ctx.viewer.image) { ctx.ui.notify('Open an image first.', 'warning'); return; } ctx.viewer.clickMode = 'sed';
      ctx.ui.notify('Click a source on the image.', 'info'); } });

  return () => {
    offs.forEach((off) => off());
    removeMenu();
    removePick();
    if (modal) modal.close();
  };
}
