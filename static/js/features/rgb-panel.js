// RGB composite helper: the side panel of a shown composite. Per channel: colour, visibility,
// limits (percentile presets, zscale, min/max, user values), stretch, weight, and its physical value
// under the pointer; the composite mode (additive in linear light or Lupton asinh, Q and stretch),
// the sky position, and the exports (PNG at a chosen width, FITS cube of the reprojected channels).

const STRETCHES = ['linear', 'log', 'sqrt', 'squared', 'power', 'asinh', 'sinh', 'histequ'];
const LIMITS = [
  ['p99.5', '99.5 %'], ['p99', '99 %'], ['p98', '98 %'], ['p95', '95 %'], ['p90', '90 %'],
  ['zscale', 'zscale'], ['minmax', 'min/max'], ['user', 'user'],
];

function num(v) {
  return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : '';
}

export function createRgbPanel(ctx, comp, { onChange, onClose, downloads }) {
  const { el } = ctx.escape;
  const panel = ctx.ui.addPanel({ id: 'rgb-panel', title: 'RGB composite', order: 5 });
  const body = panel.element;
  body.classList.add('rgb-panel');
  const values = [];

  const label = (c, i) => {
    const band = comp.info?.channels?.[i] || {};
    const name = c.path.split('/').pop();
    return band.filter ? `${band.filter} · ${name}` : name;
  };

  async function applyLimits(i, key, vminInput, vmaxInput) {
    const c = comp.channels[i];
    if (key === 'user') return;
    const params = { channel: i };
    if (key.startsWith('p')) {
      const p = Number(key.slice(1));
      Object.assign(params, { mode: 'percentiles', low: 100 - p, high: p });
    } else params.mode = key;
    try {
      const lim = await ctx.api.get(`/api/rgb/${comp.id}/limits`, params);
      c.vmin = lim.vmin; c.vmax = lim.vmax;
      vminInput.value = num(c.vmin); vmaxInput.value = num(c.vmax);
      onChange();
    } catch (e) { ctx.ui.notify(e.detail || String(e), 'error'); }
  }

  comp.channels.forEach((c, i) => {
    const color = el('input', { type: 'color', value: c.color, title: 'channel colour', class: 'rgb-color' });
    const visible = el('input', { type: 'checkbox', title: 'show this channel', class: 'rgb-visible' });
    visible.checked = c.visible;
    const limits = el('select', { class: 'rgb-limits', title: 'limits' }, LIMITS.map(([k, t]) => el('option', { value: k }, t)));
    limits.value = c.limitsMode || 'p99.5';
    const vmin = el('input', { type: 'number', step: 'any', class: 'rgb-vmin', title: 'lower limit', value: num(c.vmin) });
    const vmax = el('input', { type: 'number', step: 'any', class: 'rgb-vmax', title: 'upper limit', value: num(c.vmax) });
    const stretch = el('select', { class: 'rgb-stretch', title: 'stretch' }, STRETCHES.map((s) => el('option', { value: s }, s)));
    stretch.value = c.stretch;
    const weight = el('input', { type: 'range', min: '0', max: '3', step: '0.05', value: String(c.weight), class: 'rgb-weight', title: 'weight' });
    const value = el('span', { class: 'rgb-value' }, '–');
    values.push(value);
    color.addEventListener('input', () => { c.color = color.value; onChange(); });
    visible.addEventListener('change', () => { c.visible = visible.checked; onChange(); });
    limits.addEventListener('change', () => { c.limitsMode = limits.value; applyLimits(i, limits.value, vmin, vmax); });
    const typed = () => {
      const lo = Number(vmin.value); const hi = Number(vmax.value);
      if (vmin.value === '' || vmax.value === '' || !(lo < hi)) return;
      c.vmin = lo; c.vmax = hi; c.limitsMode = 'user'; limits.value = 'user'; onChange();
    };
    vmin.addEventListener('change', typed);
    vmax.addEventListener('change', typed);
    stretch.addEventListener('change', () => { c.stretch = stretch.value; onChange(); });
    weight.addEventListener('input', () => { c.weight = Number(weight.value); onChange(); });
    body.append(el('div', { class: 'rgb-channel', dataset: { channel: String(i) } },
      el('div', { class: 'rgb-row' }, color, visible, el('span', { class: 'rgb-name', title: c.path }, label(c, i)), value),
      el('div', { class: 'rgb-row' }, limits, vmin, vmax),
      el('div', { class: 'rgb-row' }, stretch, el('span', { class: 'muted' }, 'weight'), weight)));
  });

  const mode = el('select', { class: 'rgb-mode', title: 'how channels combine' },
    el('option', { value: 'add' }, 'Additive (linear light)'), el('option', { value: 'lupton' }, 'Lupton asinh'));
  mode.value = comp.mode;
  const q = el('input', { type: 'number', step: 'any', min: '0.01', value: String(comp.q), class: 'rgb-q', title: 'Lupton Q' });
  const ls = el('input', { type: 'number', step: 'any', min: '0.001', value: String(comp.lstretch), class: 'rgb-lstretch', title: 'Lupton stretch' });
  const lupton = el('div', { class: 'rgb-row rgb-lupton' }, el('span', { class: 'muted' }, 'Q'), q, el('span', { class: 'muted' }, 'stretch'), ls);
  const showLupton = () => { lupton.hidden = comp.mode !== 'lupton'; };
  showLupton();
  mode.addEventListener('change', () => { comp.mode = mode.value; showLupton(); onChange(); });
  for (const [input, key] of [[q, 'q'], [ls, 'lstretch']]) {
    input.addEventListener('change', () => { const v = Number(input.value); if (v > 0) { comp[key] = v; onChange(); } });
  }
  const sky = el('div', { class: 'rgb-sky muted' }, '');
  const width = el('input', { type: 'number', min: '16', max: '16384', step: '1', value: String(Math.min(2048, comp.width || 2048)), class: 'rgb-export-width', title: 'PNG width (px)' });
  const png = el('a', { class: 'btn rgb-export-png', href: '#', download: '' }, 'PNG');
  const cube = el('a', { class: 'btn rgb-export-fits', href: downloads.fits(), download: '' }, 'FITS cube');
  png.addEventListener('click', () => { png.href = downloads.png(Number(width.value) || 2048); });
  const close = el('button', { type: 'button', class: 'btn rgb-close' }, 'Single image');
  close.addEventListener('click', onClose);
  body.append(el('div', { class: 'rgb-row' }, mode), lupton, sky,
    el('div', { class: 'rgb-row rgb-exports' }, el('span', { class: 'muted' }, 'export'), width, el('span', { class: 'muted' }, 'px'), png, cube),
    el('div', { class: 'rgb-row' }, close));

  return {
    setReadout(data) {
      values.forEach((span, i) => {
        const ch = data?.channels?.[i];
        span.textContent = ch && ch.value !== null ? `${Number(ch.value.toPrecision(5))} ${ch.unit || ''}`.trim() : '–';
      });
      sky.textContent = data && data.ra_deg !== null && data.ra_deg !== undefined
        ? `RA ${data.ra_deg.toFixed(6)}°  Dec ${data.dec_deg.toFixed(6)}°  (x ${data.x}, y ${data.y})`
        : (data ? `x ${data.x}, y ${data.y}` : '');
    },
    remove() { panel.remove(); },
  };
}
