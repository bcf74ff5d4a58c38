// Cube plane slider: plane index with its spectral world value and unit; step, play/pause.
// Shown only for images with more than one plane.

import { formatSpectral } from '../lib/format.js';

export function mount(ctx) {
  const { bus, ui, viewer, escape: { el } } = ctx;
  const panel = ui.addPanel({ id: 'cube-panel', title: 'Cube', order: 30 });
  const slider = el('input', { type: 'range', id: 'cube-slider', min: '0', max: '0', value: '0', step: '1', style: { width: '100%' }, 'aria-label': 'plane' });
  const label = el('div', { class: 'mono', id: 'cube-label' });
  const prev = el('button', { class: 'btn small', type: 'button', id: 'cube-prev', title: 'Previous plane (←)' }, '◀');
  const play = el('button', { class: 'btn small', type: 'button', id: 'cube-play', title: 'Play / pause' }, '▶ Play');
  const next = el('button', { class: 'btn small', type: 'button', id: 'cube-next', title: 'Next plane (→)' }, '▶');
  const fps = el('select', { id: 'cube-fps', 'aria-label': 'frames per second' }, ['1', '2', '5', '10'].map((v) => el('option', { value: v, selected: v === '2' }, `${v}/s`)));
  panel.element.append(slider, label, el('div', { class: 'row' }, prev, play, next, fps));
  panel.hide();

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
      if (count > 1) panel.show(); else panel.hide();
    }),
    bus.on('plane:changed', (p) => {
      slider.value = String(p.plane);
      const world = p.value !== null && p.value !== undefined ? `  ${formatSpectral(p.value, p.unit)}` : '';
      label.textContent = `plane ${p.plane + 1} / ${count}${world}`;
      label.dataset.plane = String(p.plane);
    }),
  ];
  return () => { stop(); offs.forEach((off) => off()); document.removeEventListener('keydown', onKey); panel.remove(); };
}
