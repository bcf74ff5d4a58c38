// Cube tools helper of features/cubes.js: the Moments panel (moment 0/1/2, peak, width over a
// spectral range, sigma-clip or threshold mask; a server job; the map opens in the viewer when
// done), and the Analysis menu's channel maps, spectral smoothing/rebinning and convolution to a
// common beam (jobs writing a new cube under files/results/). Not a registered feature.

import { jobPanel } from '../lib/form.js';

const fmt = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '' : Number(v.toPrecision(6)).toString());

export function mountTools(ctx, { axis }) {
  const { bus, api, ui, viewer, escape: { el } } = ctx;
  const panel = ui.addPanel({ id: 'cubes-moment-panel', title: 'Moment maps', order: 32, open: false });
  const form = el('form', { class: 'det-form', id: 'cubes-moment-form' });
  const order = el('select', { name: 'order', id: 'cubes-order' },
    [['0', 'moment 0 (integrated)'], ['1', 'moment 1 (velocity)'], ['2', 'moment 2 (variance)'], ['peak', 'peak'], ['width', 'width (σ)']]
      .map(([v, t]) => el('option', { value: v }, t)));
  const lo = el('input', { type: 'number', step: 'any', id: 'cubes-lo', 'aria-label': 'range from' });
  const hi = el('input', { type: 'number', step: 'any', id: 'cubes-hi', 'aria-label': 'range to' });
  const mask = el('select', { id: 'cubes-mask' }, [['none', 'no mask'], ['sigma', 'σ clip'], ['threshold', 'threshold']].map(([v, t]) => el('option', { value: v }, t)));
  const maskValue = el('input', { type: 'number', step: 'any', id: 'cubes-mask-value', value: '3', 'aria-label': 'mask value' });
  const mixBeams = el('input', { type: 'checkbox', id: 'cubes-mix-beams' });
  const mixRow = el('label', { class: 'det-check', hidden: true }, mixBeams, ' accept varying per-plane beams');
  const unitNote = el('small', { class: 'det-help', id: 'cubes-range-unit' });
  const field = (label, ...inputs) => el('label', { class: 'det-field cubes-field' }, el('span', { class: 'det-label' }, label), ...inputs);
  form.append(field('Map', order), field('From', lo), field('To', hi), unitNote, field('Mask', mask), field('Mask value', maskValue), mixRow);
  const job = jobPanel(ctx, form, { prefix: 'cubes-moment', runLabel: 'Compute', url: '/api/cubes/moment', body, onEnd: finished });
  panel.element.append(form, job.bar, job.status, job.results);
  panel.hide();

  function body() {
    const a = axis();
    const out = { order: /\d/.test(order.value) ? Number(order.value) : order.value };
    if (a && a.spectral_kind !== 'pixel') {
      out.spectral_unit = a.spectral_unit;
      if (a.spectral_kind === 'velocity' && a.convention) out.convention = a.convention;
      if (lo.value !== '' && hi.value !== '') out.spectral_range = [Number(lo.value), Number(hi.value)];
    }
    if (mask.value === 'sigma') out.clip_sigma = Number(maskValue.value);
    if (mask.value === 'threshold') out.threshold = Number(maskValue.value);
    if (mixBeams.checked) out.beam_threshold = 10;
    return out;
  }

  const fileUrl = (id, name) => api.url(`/api/jobs/${encodeURIComponent(id)}/files/${encodeURIComponent(name)}`);
  function finished(state) {
    if (state.state !== 'done') {
      job.status.textContent = state.state === 'failed' ? `failed: ${state.error || state.message}` : state.state;
      return;
    }
    const r = state.result;
    job.status.textContent = `${r.image} (${r.bunit}; ${r.mask})`;
    const links = el('div', { class: 'det-links' }, 'Download: ', ...r.files.map((n) => el('a', { href: fileUrl(state.id, n), download: n }, n)));
    const back = el('button', { type: 'button', class: 'btn small', id: 'cubes-back' }, 'Back to the cube');
    const source = { path: viewer.image.path, hdu: viewer.image.hdu, plane: viewer.image.plane };
    back.addEventListener('click', () => bus.emit('image:open', source));
    job.results.replaceChildren(links, back);
    bus.emit('image:open', { path: r.image, hdu: 0 });
  }

  // ---- menus: channel maps, smoothing, convolution ------------------------------------
  function channelMaps() {
    const a = axis();
    if (!viewer.image || !a) { ui.notify('Open a cube first.', 'warning'); return; }
    const modal = ui.openModal({ title: 'Channel maps', wide: true, id: 'cubes-channels' });
    const mid = a.spectral[Math.floor(a.spectral.length / 2)];
    const centre = el('input', { type: 'number', step: 'any', id: 'cubes-ch-center', value: fmt(a.spectral[viewer.image.plane] ?? mid) });
    const count = el('input', { type: 'number', min: '1', max: '64', id: 'cubes-ch-count', value: '9' });
    const step = el('input', { type: 'number', min: '1', id: 'cubes-ch-step', value: '2' });
    const cmap = el('input', { type: 'text', id: 'cubes-ch-cmap', value: 'inferno', size: '10' });
    const go = el('button', { type: 'button', class: 'det-run', id: 'cubes-ch-draw' }, 'Draw');
    const img = el('img', { class: 'cubes-channels-img', id: 'cubes-ch-img', alt: 'channel maps' });
    const links = el('div', { class: 'det-links' });
    const params = () => {
      const p = { path: viewer.image.path, hdu: viewer.image.hdu, count: count.value, step: step.value, cmap: cmap.value };
      if (a.spectral_kind !== 'pixel') { p.unit = a.spectral_unit; if (a.convention) p.convention = a.convention; p.center = centre.value; }
      return p;
    };
    const draw = () => {
      img.src = api.url('/api/cubes/channels', params());
      links.replaceChildren('Download: ', ...['png', 'pdf', 'svg'].map((f) => el('a', { href: api.url('/api/cubes/channels', { ...params(), format: f }), download: `channels.${f}` }, f.toUpperCase())));
    };
    img.addEventListener('error', () => ui.notify('channel maps: the server refused these parameters', 'error'));
    go.addEventListener('click', draw);
    modal.body.append(el('div', { class: 'row cubes-ch-row' }, `centre (${a.spectral_unit || 'plane'})`, centre, 'panels', count, 'step', step, 'colormap', cmap, go), links, img);
    draw();
  }

  function cubeJob(title, id, fields, url, extra) {
    if (!viewer.image || !axis()) { ui.notify('Open a cube first.', 'warning'); return; }
    const modal = ui.openModal({ title, id });
    const f = el('form', { class: 'det-form' }, ...fields.map(([label, input]) => el('label', { class: 'det-field' }, el('span', { class: 'det-label' }, label), input)));
    const panelJob = jobPanel(ctx, f, { prefix: id, runLabel: 'Run', url, body: extra, onEnd: (state) => {
      if (state.state !== 'done') { panelJob.status.textContent = `${state.state}: ${state.error || state.message}`; return; }
      panelJob.status.textContent = `written: ${state.result.image}`;
      bus.emit('image:open', { path: state.result.image, hdu: 0 });
    } });
    modal.body.append(f, panelJob.bar, panelJob.status, panelJob.results);
    modal.onClose = () => panelJob.dispose();
  }

  function smooth() {
    const kernel = el('select', { id: 'cubes-kernel' }, ['gaussian', 'boxcar', 'rebin'].map((k) => el('option', { value: k }, k)));
    const width = el('input', { type: 'number', min: '1', step: 'any', value: '3', id: 'cubes-width' });
    cubeJob('Spectral smoothing / rebinning', 'cubes-smooth', [['Kernel', kernel], ['Width / factor (channels)', width]], '/api/cubes/smooth',
      () => ({ kernel: kernel.value, width_channels: Number(width.value) }));
  }

  function convolve() {
    const b = axis()?.beam;
    const inputs = ['major', 'minor', 'PA'].map((n) => el('input', { type: 'number', step: 'any', id: `cubes-beam-${n.toLowerCase()}`,
      placeholder: b?.per_plane ? 'common beam' : '' }));
    cubeJob('Convolve to one beam', 'cubes-convolve', [['Major (arcsec)', inputs[0]], ['Minor (arcsec)', inputs[1]], ['PA (deg)', inputs[2]]],
      '/api/cubes/convolve', () => (inputs.every((i) => i.value !== '') ? { beam: inputs.map((i) => Number(i.value)) } : {}));
  }

  const menus = [
    ui.addMenuItem('Analysis', { label: 'Cube: moment map…', id: 'menu-cubes-moment', onClick: () => panel.show() }),
    ui.addMenuItem('Analysis', { label: 'Cube: channel maps…', id: 'menu-cubes-channels', onClick: channelMaps }),
    ui.addMenuItem('Analysis', { label: 'Cube: spectral smoothing / rebin…', id: 'menu-cubes-smooth', onClick: smooth }),
    ui.addMenuItem('Analysis', { label: 'Cube: convolve to one beam…', id: 'menu-cubes-convolve', onClick: convolve }),
  ];

  const off = bus.on('cubes:axis', (a) => {
    unitNote.textContent = a.kind === 'pixel' ? 'no spectral WCS: moments need one' : `range in ${a.unit}${a.kind === 'velocity' ? ` (${a.convention})` : ''}; empty = all planes`;
    const values = a.values.filter(Number.isFinite);
    lo.placeholder = fmt(Math.min(...values));
    hi.placeholder = fmt(Math.max(...values));
    mixRow.hidden = !a.beam?.per_plane;
  });

  return {
    show() { panel.panel.hidden = false; },
    hide() { if (!job.results.childElementCount) panel.hide(); }, // a finished map keeps its panel (Back to the cube)
    remove() { off(); job.dispose(); menus.forEach((m) => m()); panel.remove(); },
  };
}
