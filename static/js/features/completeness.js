// Artificial-source (completeness) panel: injection settings, run as a server job, progress from
// the /ws job events, the completeness plot shown in the page, download links and a button that
// opens the image with its injected sources in the viewer.
//
// Bus: listens to job:progress; emits image:open, completeness:done.
// Server: GET /api/psf, POST /api/completeness, GET/DELETE /api/jobs/{id}, GET /api/jobs/{id}/files/{name}.
// Everything shown goes through el()/textContent.

import { jobPanel, numberFields } from '../lib/form.js';

const FIELDS = [
  ['n', 'Sources per iteration', 200, '1', 'Artificial sources injected in each iteration (kept apart from each other and from detected sources).'],
  ['iterations', 'Iterations', 10, '1', 'Independent injections; they run in parallel on the server cores (or a Dask cluster).'],
  ['flux_min', 'Lowest flux', 1, 'any', 'Injected fluxes are drawn log-uniformly between the lowest and highest flux: µJy for MJy/sr images, otherwise the pixel unit summed. '
    + 'Filled from the image: 0.5 to 20 × its 5σ point-source flux (noise and PSF).'],
  ['flux_max', 'Highest flux', 100, 'any', ''],
  ['seed', 'Seed', 1, '1', 'Random seed: the same seed gives the same positions and fluxes.'],
  ['fwhm_px', 'FWHM (px)', 3, '0.1', 'FWHM of the Gaussian injected (without a PSF file) and of the detection filter.'],
  ['threshold_sigma', 'Threshold (σ)', 5, '0.1', 'Detection threshold, as in the detection panel.'],
];
const fmt = (v) => (v === null || v === undefined ? '–' : Number(Number(v).toPrecision(4)).toString());

export function mount(ctx) {
  const { el } = ctx.escape;
  const panel = ctx.ui.addPanel({ id: 'completeness-panel', title: 'Artificial sources', open: false, order: 61 });
  const form = el('form', { class: 'det-form', id: 'completeness-form' });
  const inputs = numberFields(form, FIELDS, (key) => (key === 'seed' ? undefined : '0'));
  const psf = el('select', { name: 'psf', id: 'completeness-psf' }, el('option', { value: '' }, 'Gaussian (FWHM above)'));
  form.append(el('label', { class: 'det-field' }, el('span', { class: 'det-label' }, 'PSF'), psf,
    el('small', { class: 'det-help' }, 'A PSF file from psf/ is resampled to the image pixel scale with its flux conserved.')));
  const job = jobPanel(ctx, form, { prefix: 'completeness', runLabel: 'Run test', url: '/api/completeness', body: params,
    onEnd: (state) => finished(state) });
  const { bar, status, results } = job;
  const rangeNote = el('small', { class: 'det-help', id: 'completeness-range-note' });
  inputs.flux_max.closest('label').after(rangeNote);
  panel.element.append(form, bar, status, results);
  let typed = false; // the user's own flux range is never replaced
  for (const key of ['flux_min', 'flux_max']) inputs[key].addEventListener('input', () => { typed = true; });

  // The default range comes from the open image (noise, pixel area) and the PSF chosen.
  let rangeToken = 0;
  async function suggestRange() {
    const image = ctx.viewer.image;
    if (!image || typed) return;
    const mine = ++rangeToken;
    try {
      const d = await ctx.api.get('/api/completeness/defaults', { path: image.path, hdu: image.hdu, plane: image.plane || 0,
        fwhm_px: Number(inputs.fwhm_px.value) || 3, psf: psf.value || undefined });
      if (mine !== rangeToken || typed) return;
      inputs.flux_min.value = fmt(d.flux_min);
      inputs.flux_max.value = fmt(d.flux_max);
      rangeNote.textContent = `5σ point source ≈ ${fmt(d.flux_5sigma)} ${d.unit} (noise ${fmt(d.noise)} per pixel, FWHM ${fmt(d.fwhm_px)} px)`;
      form.dataset.rangeFrom = 'image';
    } catch (err) {
      if (mine === rangeToken) rangeNote.textContent = `no default range: ${err.detail || err}`;
    }
  }


  async function loadPsfs() {
    try {
      const { psfs } = await ctx.api.get('/api/psf');
      for (const name of psfs) psf.append(el('option', { value: name }, name));
    } catch { /* no PSF folder listing: the Gaussian stays available */ }
  }

  function fileUrl(id, name) {
    return ctx.api.url(`/api/jobs/${encodeURIComponent(id)}/files/${encodeURIComponent(name)}`);
  }

  function finished(state) {
    if (state.state !== 'done') {
      status.textContent = state.state === 'failed' ? `failed: ${state.error || state.message}` : state.state;
      return;
    }
    const r = state.result;
    status.textContent = `${r.n_recovered} of ${r.n_injected} recovered`;
    const hint = rangeHint(r);
    const figure = el('img', { class: 'ast-plot', id: 'completeness-plot', alt: 'completeness versus injected flux',
      src: fileUrl(state.id, 'completeness.png') });
    const summary = el('dl', { class: 'det-dl' },
      el('dt', {}, `50 % flux (${r.flux_unit})`), el('dd', { id: 'completeness-f50' }, fmt(r.flux_50)),
      el('dt', {}, `90 % flux (${r.flux_unit})`), el('dd', {}, fmt(r.flux_90)),
      el('dt', {}, 'flux bias'), el('dd', {}, fmt(r.summary?.flux_bias)),
      el('dt', {}, 'false positives / iteration'), el('dd', {}, fmt(r.summary?.false_positives_per_iteration)));
    const links = el('div', { class: 'det-links' }, 'Download: ');
    for (const name of r.files) links.append(el('a', { href: fileUrl(state.id, name), download: name, class: 'det-download' }, name), ' ');
    const open = el('button', { type: 'button', class: 'det-run', id: 'completeness-open-injected' }, 'Open the image with injected sources');
    open.addEventListener('click', () => ctx.bus.emit('image:open', { path: r.injected_image, hdu: 0 }));
    results.replaceChildren(...(hint ? [hint] : []), figure, summary, links, open);
    ctx.bus.emit('completeness:done', { job_id: state.id, flux_50: r.flux_50, flux_90: r.flux_90 });
  }

  // The 50 % / 90 % fluxes are only measured when the curve crosses them inside the range.
  function rangeHint(r) {
    const bins = (r.summary?.bins || []).filter((b) => b.injected > 0);
    if (!bins.length) return null;
    const lo = Number(inputs.flux_min.value);
    const hi = Number(inputs.flux_max.value);
    let text = '';
    if (bins.every((b) => b.completeness > 0.5)) {
      text = `The curve never falls below 50 %: every bin down to ${fmt(lo)} ${r.flux_unit} is found. Lower the lowest flux (try ${fmt(lo / 10)}) and run again.`;
    } else if (bins.every((b) => b.completeness < 0.5)) {
      text = `The curve never reaches 50 %: raise the highest flux (try ${fmt(hi * 10)}) and run again.`;
    } else if (r.flux_90 === null || r.flux_90 === undefined) {
      text = `The curve never reaches 90 % below ${fmt(hi)} ${r.flux_unit}: raise the highest flux for the 90 % flux.`;
    }
    return text ? el('div', { class: 'det-hint', id: 'completeness-hint', role: 'status' }, text) : null;
  }

  function params() {
    const v = (k) => Number(inputs[k].value);
    const body = { n: v('n'), iterations: v('iterations'), flux_min: v('flux_min'), flux_max: v('flux_max'), seed: v('seed'),
      detection: { fwhm_px: v('fwhm_px'), threshold_sigma: v('threshold_sigma') } };
    if (psf.value) body.psf = psf.value;
    return body;
  }

  loadPsfs();
  psf.addEventListener('change', () => { typed = false; suggestRange(); });
  inputs.fwhm_px.addEventListener('change', () => { if (!psf.value) suggestRange(); });
  const offOpened = ctx.bus.on('image:opened', () => { typed = false; suggestRange(); });
  if (ctx.viewer.image) suggestRange();
  const removeMenu = ctx.ui.addMenuItem('Analysis', { label: 'Artificial-source test…', id: 'menu-completeness',
    onClick: () => { panel.show(); inputs.n.focus(); } });

  return () => {
    offOpened();
    job.dispose();
    removeMenu();
    panel.remove();
  };
}
