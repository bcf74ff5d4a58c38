// The WebGL tile renderer's side of the viewer: which drawer OpenSeadragon gets, the data-tile
// source (one URL per tile whatever the display: values, not colours), and display changes
// applied as new shader tables plus a redraw, with no tile request.
//
// Off with ?gl=0 in the page URL or localStorage 'neloura-gl' = '0'; without WebGL2 OpenSeadragon
// falls back to its canvas drawer by itself and the viewer keeps the PNG tiles.

import { DataTileDrawer, DATA_TYPE, DRAWER_TYPE, decodeDataTile, setDrawerDisplay } from './gl-drawer.js';
import { createDisplayTables } from './gl-display.js';
import { deepZoomSource, planeParams } from './tiles.js';

export function glWanted() {
  if (new URLSearchParams(window.location.search).get('gl') === '0') return false;
  try { return window.localStorage.getItem('neloura-gl') !== '0'; } catch { return true; }
}

/** OpenSeadragon's `drawer` option: the WebGL data-tile drawer first, the canvas drawer next. */
export function drawerOption() {
  return glWanted() ? [DataTileDrawer, 'canvas'] : 'canvas';
}

function dataSource(api, image) {
  const params = planeParams(image);
  const query = new URLSearchParams(Object.entries(params)).toString();
  const url = (level, x, y) => api.url(`/api/images/data-tiles/${level}/${x}_${y}.u16`, params);
  return {
    ...deepZoomSource(image, `data&${query}`, url),
    hasTransparency() { return true; }, // NaN may be transparent, as in the PNG tiles
    downloadTileStart(context) {
      context.userData.request = window.OpenSeadragon.makeAjaxRequest({
        url: context.src,
        responseType: 'arraybuffer',
        success(request) {
          try {
            context.finish(decodeDataTile(request.response), request, DATA_TYPE);
          } catch (err) {
            context.fail(`data tile: ${err.message || err}`, request);
          }
        },
        error(request) { context.fail(`data tile: HTTP ${request.status}`, request); },
      });
    },
    downloadTileAbort(context) {
      if (context.userData.request) context.userData.request.abort();
    },
  };
}

/** The renderer of one viewer: `active` while OpenSeadragon draws with the WebGL drawer. When a
 * lost WebGL context is not restored (gl-drawer.js), the viewer falls back to the canvas drawer
 * and `onFallback` (the viewer's) shows the image again with PNG tiles. */
export function createGLTiles(osd, api) {
  const tables = createDisplayTables(api);
  let token = 0;
  const renderer = {
    active: !!osd.drawer && osd.drawer.getType() === DRAWER_TYPE,
    onFallback: null,
    source: (image) => dataSource(api, image),
    /** Make the shader show `display` (fetches a palette or histequ table the first time only);
     * false when a later call overtook this one. */
    async apply(image, display) {
      if (!renderer.active) return false;
      const mine = ++token;
      const state = await tables.resolve(image, display);
      if (mine !== token || !renderer.active) return false;
      setDrawerDisplay(osd, state);
      osd.forceRedraw();
      if (osd.navigator) osd.navigator.forceRedraw();
      return true;
    },
    /** The main drawer's last draw: { draws, ms, lost, restored } (for the benchmark and tests). */
    stats: () => (renderer.active ? { ...osd.drawer.stats } : null),
  };
  const viewers = [osd, osd.navigator].filter((v) => v && v.drawer && v.drawer.getType() === DRAWER_TYPE);
  function fallBack() {
    if (!renderer.active) return;
    renderer.active = false;
    // the first image added to an emptied world sends the view home: the PNG tiles keep the view
    const preserved = osd.preserveViewport;
    osd.preserveViewport = true;
    osd.world.addOnceHandler('add-item', () => setTimeout(() => { osd.preserveViewport = preserved; }, 0));
    osd.world.removeAll(); // the canvas drawer cannot draw data tiles: the viewer adds PNG tiles
    for (const v of viewers) v.requestDrawer('canvas', { mainDrawer: true, redrawImmediately: false });
    if (renderer.onFallback) renderer.onFallback();
  }
  for (const v of viewers) v.drawer.onContextFailed = fallBack;
  return renderer;
}
