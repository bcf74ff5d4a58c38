// Colorbar over the viewer: the colormap (with invert) and tick labels in physical units at
// evenly spaced positions of the bar, from /api/images/colorbar (the stretch inverted on the
// server's own lookup grid, so ticks and tiles agree for every stretch).

import { formatValue } from '../lib/format.js';

export function mount(ctx) {
  const { bus, api, viewer, escape: { el } } = ctx;
  const root = document.getElementById('colorbar');
  const bar = el('img', { alt: '' });
  const ticks = el('div', { class: 'ticks', id: 'colorbar-ticks' });
  const unit = el('div', { class: 'unit', id: 'colorbar-unit' });
  root.replaceChildren(bar, ticks, unit);
  let token = 0;

  async function update(d) {
    const image = viewer.image;
    if (!image) return;
    const mine = ++token;
    bar.src = api.url(`/api/images/colormaps/${encodeURIComponent(d.cmap)}.png`, { width: 512, height: 12, invert: d.invert ? 'true' : undefined });
    try {
      const cb = await api.get('/api/images/colorbar', {
        path: image.path, hdu: image.hdu, plane: image.plane, stretch: d.stretch, exponent: d.exponent, vmin: d.vmin, vmax: d.vmax, ticks: 5,
      });
      if (mine !== token) return;
      ticks.replaceChildren(...cb.ticks.map((t) => {
        const edge = t.position < 0.01 ? 'translateX(0)' : t.position > 0.99 ? 'translateX(-100%)' : undefined;
        return el('span', { class: 'tick', style: { left: `${t.position * 100}%`, transform: edge } }, formatValue(t.value, 4));
      }));
      unit.textContent = cb.unit ? `${cb.unit}  ·  ${d.stretch}` : d.stretch;
      root.hidden = false;
      root.dataset.ticks = JSON.stringify(cb.ticks.map((t) => t.value));
    } catch (err) {
      bus.emit('notify', { message: `colorbar: ${err.detail || err}`, level: 'warning' });
    }
  }
  const offs = [
    bus.on('display:changed', update),
    bus.on('plane:changed', () => update(viewer.display)),
    bus.on('image:error', () => { root.hidden = true; }),
  ];
  return () => offs.forEach((off) => off());
}
