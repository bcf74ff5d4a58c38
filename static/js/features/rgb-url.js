// RGB composite helper: the page URL <-> a composite (files, HDUs, planes, reference, method, and
// every display parameter), so that the page URL reproduces the composite. Keys:
// ch<i>=<path>, ch<i>_hdu, ch<i>_plane, ch<i>_color (#rrggbb), ch<i>_vmin, ch<i>_vmax, ch<i>_stretch,
// ch<i>_weight, ch<i>_visible (0/1); rgb_reference, rgb_method, rgb_mode (add|lupton), rgb_q, rgb_lstretch.
// /open-rgb?r=&g=&b= redirects to these.

export const MAX_CHANNELS = 5;
const FIELDS = ['hdu', 'plane', 'color', 'vmin', 'vmax', 'stretch', 'weight', 'visible'];
const GLOBAL = ['rgb_reference', 'rgb_method', 'rgb_mode', 'rgb_q', 'rgb_lstretch'];

function num(text) {
  if (text === null || text === '') return null;
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

function isOwn(key) {
  return GLOBAL.includes(key) || /^ch\d+(_[a-z]+)?$/.test(key);
}

/** The composite a query string names, or null (fewer than one channel). */
export function readComposite(search = window.location.search) {
  const q = new URLSearchParams(search);
  const channels = [];
  for (let i = 0; i < 10 && channels.length < MAX_CHANNELS + 1; i += 1) {
    const path = q.get(`ch${i}`);
    if (!path) continue;
    const get = (k) => q.get(`ch${i}_${k}`);
    const color = get('color');
    channels.push({
      path,
      hdu: Number.isInteger(num(get('hdu'))) ? num(get('hdu')) : null,
      plane: Number.isInteger(num(get('plane'))) ? num(get('plane')) : 0,
      color: color && /^#?[0-9a-fA-F]{6}$/.test(color) ? `#${color.replace('#', '').toLowerCase()}` : null,
      vmin: num(get('vmin')),
      vmax: num(get('vmax')),
      stretch: get('stretch') || 'linear',
      weight: num(get('weight')) ?? 1,
      visible: get('visible') !== '0',
    });
  }
  if (!channels.length) return null;
  const reference = num(q.get('rgb_reference'));
  return {
    channels,
    reference: Number.isInteger(reference) ? reference : null,
    method: q.get('rgb_method') === 'exact' ? 'exact' : 'interp',
    mode: q.get('rgb_mode') === 'lupton' ? 'lupton' : 'add',
    q: num(q.get('rgb_q')) ?? 8,
    lstretch: num(q.get('rgb_lstretch')) ?? 0.5,
  };
}

function fmt(v) {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(7)));
}

/** Write (or with null, remove) the composite's keys; every other key of the URL is kept. */
export function writeComposite(comp) {
  const q = new URLSearchParams(window.location.search);
  for (const key of [...q.keys()]) if (isOwn(key)) q.delete(key);
  if (comp) {
    comp.channels.forEach((c, i) => {
      q.set(`ch${i}`, c.path);
      for (const k of FIELDS) {
        const v = c[k];
        if (v === null || v === undefined) continue;
        if (k === 'visible') { if (!v) q.set(`ch${i}_visible`, '0'); continue; }
        if (k === 'weight' && v === 1) continue;
        if (k === 'stretch' && v === 'linear') continue;
        if (k === 'plane' && !v) continue;
        q.set(`ch${i}_${k}`, typeof v === 'number' ? fmt(v) : String(v));
      }
    });
    if (comp.reference !== null && comp.reference !== undefined) q.set('rgb_reference', String(comp.reference));
    if (comp.method === 'exact') q.set('rgb_method', 'exact');
    if (comp.mode === 'lupton') {
      q.set('rgb_mode', 'lupton');
      q.set('rgb_q', fmt(comp.q));
      q.set('rgb_lstretch', fmt(comp.lstretch));
    }
  }
  const text = q.toString();
  const next = `/${text ? `?${text}` : ''}`;
  if (next !== window.location.pathname + window.location.search) window.history.replaceState(null, '', next);
}

/** Tile query parameters of a composite's display (one comma-separated entry per channel). */
export function tileParams(comp) {
  const list = (fn) => comp.channels.map(fn).join(',');
  const p = {
    color: list((c) => c.color.replace('#', '')),
    vmin: list((c) => (c.vmin === null ? '' : fmt(c.vmin))),
    vmax: list((c) => (c.vmax === null ? '' : fmt(c.vmax))),
    stretch: list((c) => c.stretch),
    visible: list((c) => (c.visible ? '1' : '0')),
    weight: list((c) => fmt(c.weight)),
    mode: comp.mode,
  };
  if (comp.mode === 'lupton') { p.q = comp.q; p.lupton_stretch = comp.lstretch; }
  return p;
}
