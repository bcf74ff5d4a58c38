// Colorbar over the viewer: the colormap (with invert) and tick labels in physical units at
// evenly spaced positions of the bar, from /api/images/colorbar (the stretch inverted on the
// server's own lookup grid, so ticks and tiles agree for every stretch). While an RGB composite
// is shown (rgb:shown), one row per channel instead: its colour ramp, band, limits and stretch.

import { formatValue } from '../lib/format.js';

export function mount(ctx) {
  const { bus, api, viewer, escape: { el } } = ctx;
  const root = document.getElementById('colorbar');
  const bar = el('img', { alt: '' });
  const ticks = el('div', { class: 'ticks', id: 'colorbar-ticks' });
  const unit = el('div', { class: 'unit', id: 'colorbar-unit' });
  root.replaceChildren(bar, ticks, unit);
  const rgbRows = el('div', { class: 'rgb-channels', id: 'colorbar-rgb' });
  let token = 0;
  let rgb = null; // the composite shown: { mode, channels: [{ path, color, vmin, vmax, stretch, visible, filter, bunit }] }

  function showRgb() {
    token += 1;
    const name = (c) => c.filter || c.path.split('/').pop();
    rgbRows.replaceChildren(...rgb.channels.map((c) => el('div', { class: `cb-channel${c.visible ? '' : ' off'}` },
      el('span', { class: 'ramp', style: { background: `linear-gradient(to right, #000, ${c.color})` } }),
      el('span', { class: 'band' }, name(c)),
      el('span', { class: 'lim' }, `${formatValue(c.vmin, 4)} … ${formatValue(c.vmax, 4)} ${c.bunit}`.trim()),
      el('span', { class: 'stretch' }, rgb.mode === 'lupton' ? '' : c.stretch))));
    root.replaceChildren(rgbRows, el('div', { class: 'unit' }, rgb.mode === 'lupton' ? `Lupton asinh · Q ${rgb.q} · stretch ${rgb.lupton_stretch}` : 'RGB composite · channels add in linear light'));
    root.dataset.rgb = String(rgb.channels.length);
    delete root.dataset.ticks;
    root.hidden = false;
  }

  async function update(d) {
    const image = viewer.image;
    if (!image) return;
    if (image.tiles === 'rgb' && rgb) { showRgb(); return; }
    if (root.dataset.rgb) { delete root.dataset.rgb; root.replaceChildren(bar, ticks, unit); }
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
    bus.on('rgb:shown', (detail) => { rgb = detail; if (rgb && viewer.image?.tiles === 'rgb') showRgb(); else if (viewer.image) update(viewer.display); }),
  ];
  return () => offs.forEach((off) => off());
}
