// The one composition root: builds ctx (bus, api, viewer, ui) and mounts every feature.
// To add a feature: put its name in FEATURES (file js/features/<name>.js exporting mount(ctx)).

import { createBus } from './lib/bus.js';
import { api } from './lib/api.js';
import { el, escapeHtml } from './lib/escape.js';
import { createUi } from './lib/ui.js';
import { createPanels } from './viewer/panels.js';

const FEATURES = [
  'notify',
  'ws',
  'toolbar',
  'files',
  'hdus',
  'header',
  'coords',
  'display',
  'colormaps',
  'colorbar',
  'cube',
  'export',
  'system',
  'deeplink',
  'overlay',
  'crossmatch',
  'catalog-table',
  'detection', 'completeness',
  'plotter',
  'segmentation',
  'cubes',
  'welcome', 'dropfile',
  'mouse', 'crosshair', 'magnifier', 'pixel-table',
  'coding',
  'rgb', 'contours',
  'regions',
  'sed', 'figures',
  'panels',
];

async function start() {
  const bus = createBus();
  const ui = createUi(document);
  // One viewer per panel; ctx.viewer is the ACTIVE panel's (see viewer/panels.js).
  const panels = createPanels(document.getElementById('viewer-wrap'), document.getElementById('viewer'), {
    bus, api, layout: new URLSearchParams(window.location.search).get('layout') || '1',
  });
  const viewer = panels.facade;
  // Fetch the configuration and every feature module at once (no import waterfall).
  const modules = FEATURES.map((name) => import(`./features/${name}.js`).then((m) => ({ m }), (err) => ({ err })));
  let config = { admin: false, upload_max_mb: 0, cleanup_interval_minutes: 60, results_keep_hours: 168 };
  try {
    config = await api.get('/api/config');
  } catch (err) {
    ui.notify(`could not read the server configuration: ${err.detail || err}`, 'error');
  }
  const readyFns = [];
  const ctx = {
    bus,
    api,
    viewer,
    ui,
    config,
    escape: { el, escapeHtml },
    ready: (fn) => readyFns.push(fn), // called once every feature is mounted
    panels,
    state: () => ({
      ...(viewer.image || {}),
      display: viewer.display,
      view: viewer.viewState(),
      layout: panels.layout,
      active: panels.active,
      panels: panels.list().map(({ viewer: v, element }) => {
        const box = element.getBoundingClientRect(); // the panel's viewport: what its view spans on screen
        return { ...(v.image || { path: null }), display: v.display, view: v.viewState(), orientation: v.orientation(), viewport_px: [box.width, box.height] };
      }),
    }),
  };
  const unmounts = [];
  for (const [i, name] of FEATURES.entries()) {
    try {
      const { m: module, err: importError } = await modules[i];
      if (importError) throw importError;
      unmounts.push(module.mount(ctx) || (() => {}));
    } catch (err) {
      ui.notify(`feature "${name}" failed to start: ${err.message || err}`, 'error');
    }
  }
  window.neloura = { ctx, unmount: () => unmounts.reverse().forEach((u) => u()) }; // for tests and the console
  document.body.dataset.ready = '1';
  for (const fn of readyFns) fn();
}

start();
