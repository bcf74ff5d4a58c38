// First visit: a page opened with no file in its URL shows the demo galaxy with its source catalog
// overlaid (what `make run` serves), instead of an empty viewer. Only once per browser (the next
// empty URL shows the "No image open" message and the file browser button), only when the demo
// set exists on the server, and never over a URL that names a file, a search or a catalog.
//
// Bus: emits image:open and overlay:show. Storage: localStorage 'neloura:welcomed'.

import { readUrl } from '../lib/url-state.js';

const KEY = 'neloura:welcomed';
export const DEMO = { path: 'demo/galaxy.fits', hdu: 1, catalog: 'demo_sources.csv' };

function seen() {
  try { return window.localStorage.getItem(KEY) === '1'; } catch { return true; }
}

function remember() {
  try { window.localStorage.setItem(KEY, '1'); } catch { /* private mode: every visit is a first one */ }
}

export function mount(ctx) {
  let cancelled = false;
  // someone opened a file, or went looking for one, first: the demo must not arrive over it
  const offs = ['image:open', 'files:browse', 'hdus:show'].map((name) => ctx.bus.on(name, () => { cancelled = true; }));
  ctx.ready(async () => {
    const state = readUrl();
    const query = new URLSearchParams(window.location.search);
    if (state.path || state.search !== null || query.get('catalog') || seen()) return;
    try {
      const folder = await ctx.api.get('/api/files', { folder: 'demo' });
      if (cancelled || !folder.entries.some((e) => e.path === DEMO.path)) return;
      const catalogs = (await ctx.api.get('/api/catalogs')).catalogs || [];
      if (cancelled) return;
      remember();
      ctx.bus.emit('image:open', { path: DEMO.path, hdu: DEMO.hdu });
      if (catalogs.some((c) => c.name === DEMO.catalog)) ctx.bus.emit('overlay:show', { name: DEMO.catalog, size_col: '5', size_unit: 'px' });
    } catch { /* no demo folder (NELOURA_DEMO=false or a real data root): the empty page says what to do */ }
  });
  return () => offs.forEach((off) => off());
}
