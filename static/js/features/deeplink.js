// Deep links and the shareable URL: on start, open what the URL names (/open/<path>?hdu=...
// arrives here as /?path=...&hdu=...) or the file browser with ?search=; afterwards the
// address bar always reflects the current view (file, HDU, plane, display, centre, zoom).

import { readUrl, writeUrl } from '../lib/url-state.js';

export function mount(ctx) {
  const { bus, viewer } = ctx;
  let live = false; // do not overwrite the incoming URL before the requested image is open
  const sync = () => {
    if (!live) return;
    if (ctx.panels && ctx.panels.layout !== '1') return; // the panels feature writes the URL of every panel
    const image = viewer.image;
    if (!image) return;
    writeUrl({ path: image.path, hdu: image.hdu, plane: image.plane, display: viewer.display, view: viewer.viewState() });
  };
  const offs = [
    bus.on('image:opened', () => { live = true; }),
    bus.on('image:error', () => { live = false; }),
    bus.on('display:changed', sync),
    bus.on('plane:changed', sync),
    bus.on('viewport:changed', sync),
  ];
  ctx.ready(() => {
    const state = readUrl();
    if (state.path) {
      bus.emit('image:open', { path: state.path, hdu: state.hdu, plane: state.plane ?? 0, display: state.display, view: state.view });
    } else if (state.search !== null && state.search !== undefined) {
      bus.emit('files:browse', { search: state.search });
    }
  });
  return () => offs.forEach((off) => off());
}
