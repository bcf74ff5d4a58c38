// Cube plane slider: plane index with its spectral world value and unit; step, play/pause.
// Shown only for images with more than one plane. Display limits per plane, over the whole
// cube (default) or kept as set; the second line shows the plane in the unit chosen in the
// spectrum panel (velocity by default when the header has RESTFRQ/RESTWAV), from 'cubes:axis'.

import { formatSpectral } from '../lib/format.js';

export function mount(ctx) {
  const { bus, api, ui, viewer, escape: { el } } = ctx;
  const panel = ui.addPanel({ id: 'cube-panel', title: 'Cube', order: 30 });
  const slider = el('input', { type: 'range', id: 'cube-slider', min: '0', max: '0', value: '0', step: '1', style: { width: '100%' }, 'aria-label': 'plane' });
  const label = el('div', { class: 'mono', id: 'cube-label' });
  const prev = el('button', { class: 'btn small', type: 'button', id: 'cube-prev', title: 'Previous plane (←)' }, '◀');
  const play = el('button', { class: 'btn small', type: 'button', id: 'cube-play', title: 'Play / pause' }, '▶ Play');
  const next = el('button', { class: 'btn small', type: 'button', id: 'cube-next', title: 'Next plane (→)' }, '▶');
  const fps = el('select', { id: 'cube-fps', 'aria-label': 'frames per second' }, ['1', '2', '5', '10'].map((v) => el('option', { value: v, selected: v === '2' }, `${v}/s`)));
  const velocity = el('div', { class: 'mono', id: 'cube-velocity' });
  const limitsSel = el('select', { id: 'cube-limits', 'aria-label': 'display limits' },
    [['cube', 'whole cube'], ['plane', 'per plane'], ['fixed', 'as set']].map(([v, t]) => el('option', { value: v }, t)));
  panel.element.append(slider, label, velocity, el('div', { class: 'row' }, prev, play, next, fps),
    el('div', { class: 'row' }, el('label', { for: 'cube-limits' }, 'Limits'), limitsSel));
  panel.hide();
  let axis = null; // the 'cubes:axis' detail (values in the chosen unit)

  async function applyLimits(mode, plane) {
    const image = viewer.image;
    if (!image || count <= 1 || mode === 'fixed') return;
    const base = { path: image.path, hdu: image.hdu };
    try {
      const lim = mode === 'cube' ? await api.get('/api/cubes/limits', base)
        : await api.get('/api/images/limits', { ...base, plane, mode: 'percentiles', low: 0.5, high: 99.5 });
      if (viewer.image?.path !== image.path || (mode === 'plane' && viewer.image.plane !== plane)) return;
      limitsSel.dataset.applied = `${mode}:${lim.vmin}:${lim.vmax}`;
      bus.emit('display:set', { vmin: lim.vmin, vmax: lim.vmax });
    } catch (err) {
      ui.notify(`cube limits: ${err.detail || err}`, 'warning');
    }
  }
  limitsSel.addEventListener('change', () => applyLimits(limitsSel.value, viewer.image?.plane ?? 0));
  function showVelocity(plane) {
    const v = axis?.values?.[plane];
    velocity.textContent = axis && axis.kind !== 'pixel' && Number.isFinite(v)
      ? `${axis.kind} ${axis.kind === 'velocity' ? `${v.toFixed(3)} ${axis.unit}` : formatSpectral(v, axis.unit)}${axis.kind === 'velocity' ? ` (${axis.convention})` : ''}${axis.frame ? ` ${axis.frame}` : ''}`
      : (axis?.note || '');
  }

  let count = 1;
  let timer = 0;
  const go = (plane) => bus.emit('plane:set', { plane: ((plane % count) + count) % count });
  const stop = () => { clearInterval(timer); timer = 0; play.textContent = '▶ Play'; };
  const start = () => {
    stop();
    play.textContent = '❚❚ Pause';
    timer = setInterval(() => go((viewer.image?.plane ?? 0) + 1), 1000 / Number(fps.value));
  };
  slider.addEventListener('input', () => go(Number(slider.value)));
  prev.addEventListener('click', () => go((viewer.image?.plane ?? 0) - 1));
  next.addEventListener('click', () => go((viewer.image?.plane ?? 0) + 1));
  play.addEventListener('click', () => (timer ? stop() : start()));
  fps.addEventListener('change', () => { if (timer) start(); });
  const onKey = (e) => {
    if (count <= 1 || e.ctrlKey || e.metaKey || e.altKey || document.querySelector('.modal-backdrop')) return;
    if (['INPUT', 'SELECT', 'TEXTAREA'].includes(e.target?.tagName) && e.target !== slider) return;
    if (e.key === 'ArrowRight') { e.preventDefault(); go((viewer.image?.plane ?? 0) + 1); }
    if (e.key === 'ArrowLeft') { e.preventDefault(); go((viewer.image?.plane ?? 0) - 1); }
  };
  document.addEventListener('keydown', onKey);

  const offs = [
    bus.on('image:opened', ({ info }) => {
      stop();
      count = info.plane_count || 1;
      slider.max = String(count - 1);
      axis = null;
      velocity.textContent = '';
      if (count > 1) panel.show(); else panel.hide();
      const d = viewer.display; // limits from the URL (not the defaults) are kept
      if (count > 1 && limitsSel.value === 'cube' && d.vmin === info.vmin && d.vmax === info.vmax) applyLimits('cube', info.plane);
    }),
    bus.on('cubes:axis', (a) => { axis = a; showVelocity(viewer.image?.plane ?? 0); }),
    bus.on('plane:changed', (p) => {
      slider.value = String(p.plane);
      const world = p.value !== null && p.value !== undefined ? `  ${formatSpectral(p.value, p.unit)}` : '';
      label.textContent = `plane ${p.plane + 1} / ${count}${world}`;
      label.dataset.plane = String(p.plane);
      showVelocity(p.plane);
      if (limitsSel.value === 'plane') applyLimits('plane', p.plane);
    }),
  ];
  return () => { stop(); offs.forEach((off) => off()); document.removeEventListener('keydown', onKey); panel.remove(); };
}
