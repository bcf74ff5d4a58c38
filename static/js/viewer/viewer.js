// The only module that touches OpenSeadragon. Owns the current image and display parameters,
// turns them into Deep Zoom tile URLs, converts FITS pixel <-> screen coordinates, and reports
// pointer, click and viewport changes on the bus. See static/js/README.md for the contract.

import { tileSource, tileParams, defaultDisplay, cleanDisplay } from './tiles.js';
import { drawerOption, createGLTiles } from './gl-tiles.js';

const OSD = window.OpenSeadragon;
const NEAREST_FROM_SCALE = 1.0; // CSS px per image px above which pixels are drawn as squares

export function createViewer(element, { bus, api }) {
  const osd = OSD({
    element,
    prefixUrl: '/vendor/openseadragon/build/openseadragon/images/',
    drawer: drawerOption(), // WebGL data tiles, else canvas + PNG tiles (gl-tiles.js)
    showNavigationControl: false,
    showNavigator: true,
    navigatorPosition: 'BOTTOM_RIGHT',
    navigatorSizeRatio: 0.16,
    navigatorAutoFade: false,
    maxZoomPixelRatio: 64,
    minZoomImageRatio: 0.5,
    visibilityRatio: 0.2,
    animationTime: 0.35,
    springStiffness: 9,
    zoomPerScroll: 1.4,
    imageLoaderLimit: 8,
    smoothTileEdgesMinZoom: Infinity, // no sketch-canvas upscaling: pixels stay exact squares at high zoom
    timeout: 60000,
    preserveImageSizeOnResize: true,
    gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
    gestureSettingsTouch: { clickToZoom: false },
    keyboardNavEnabled: false, // our own shortcuts (toolbar) work everywhere, not only on focus
  });

  // WebGL renderer: data tiles coloured on the GPU, so display changes need no tile request
  const gl = createGLTiles(osd, api);
  element.dataset.renderer = gl.active ? 'webgl' : 'png';
  let glApplied = 0;
  function applyGL() {
    gl.apply(image, display).then((done) => { if (done) glDrawn(); },
      (err) => bus.emit('notify', { message: `display: ${err.detail || err.message || err}`, level: 'error' }));
  }
  const glShows = () => gl.active && !custom; // a feature's own tiles (RGB) stay PNG
  gl.onFallback = () => { // the WebGL context was lost for good: the same view with PNG tiles
    element.dataset.renderer = 'png';
    if (image) showTiles();
  };
  function glDrawn() { // the shader shows `display`: say so as the PNG path does, by its tile query
    element.dataset.glDisplay = String(++glApplied);
    if (glShows() && element.dataset.imageReady === '1') element.dataset.tileQuery = tileSource(api, image, display).query;
  }

  const layers = new Set();
  const viewportListeners = new Set();
  let image = null; // { path, hdu, plane, width, height, info }
  let display = defaultDisplay();
  let custom = null; // tiles a feature supplies instead of the image's own: { kind, query, url(level, x, y) }
  let openToken = 0;
  let renderToken = 0;
  let frame = 0;
  let self = null; // the public object below, handed to canvas layers' draw(ctx2d, viewer)

  const current = () => osd.world.getItemAt(osd.world.getItemCount() - 1);

  // --- coordinates: FITS 0-based, y up, pixel centres at integers --------------------------
  // A flipped viewport is mirrored by the drawer about the container's vertical centre line;
  // OpenSeadragon's own pixel<->point conversions ignore the flip, so it is applied here.
  const flipped = () => osd.viewport.getFlip();
  const containerWidth = () => osd.viewport.getContainerSize().x;
  function imageToScreen(x, y) {
    if (!image) return { x: NaN, y: NaN };
    const w = image.width;
    const p = osd.viewport.pixelFromPoint(new OSD.Point((x + 0.5) / w, (image.height - y - 0.5) / w), true);
    return { x: flipped() ? containerWidth() - p.x : p.x, y: p.y };
  }
  function screenToImage(sx, sy) {
    if (!image) return { x: NaN, y: NaN };
    const p = osd.viewport.pointFromPixel(new OSD.Point(flipped() ? containerWidth() - sx : sx, sy), true);
    return { x: p.x * image.width - 0.5, y: image.height - p.y * image.width - 0.5 };
  }
  function imageScale() {
    if (!image) return 1;
    return osd.viewport.deltaPixelsFromPointsNoRotate(new OSD.Point(1 / image.width, 0), true).x;
  }
  function visibleImageRect() {
    const r = element.getBoundingClientRect();
    // the four corners: the view may be rotated or flipped
    const c = [[0, 0], [r.width, 0], [0, r.height], [r.width, r.height]].map(([sx, sy]) => screenToImage(sx, sy));
    const xs = c.map((p) => p.x);
    const ys = c.map((p) => p.y);
    return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
  }
  function panTo(x, y, scale, immediately = false) {
    if (!image) return;
    if (scale) osd.viewport.zoomTo((scale * image.width) / osd.viewport.getContainerSize().x, null, immediately);
    osd.viewport.panTo(new OSD.Point((x + 0.5) / image.width, (image.height - y - 0.5) / image.width), immediately);
  }
  function viewState() {
    if (!image) return null;
    const r = element.getBoundingClientRect();
    const c = screenToImage(r.width / 2, r.height / 2);
    return { cx: c.x, cy: c.y, zoom: imageScale() };
  }

  // --- layers and viewport notifications ------------------------------------------------
  function sizeCanvas(canvas) {
    const r = element.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(r.width * dpr) || canvas.height !== Math.round(r.height * dpr)) {
      canvas.width = Math.round(r.width * dpr);
      canvas.height = Math.round(r.height * dpr);
      canvas.style.width = `${r.width}px`;
      canvas.style.height = `${r.height}px`;
    }
  }
  function drawLayer(layer) {
    sizeCanvas(layer.canvas);
    const g = layer.canvas.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, layer.canvas.width, layer.canvas.height);
    if (image) layer.draw(g, self);
  }
  function onViewport() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      for (const layer of layers) if (layer.draw) drawLayer(layer);
      for (const fn of viewportListeners) fn();
      // the image moved under a still pointer (wheel zoom, keys): the readout follows it
      if (hover && image) { const p = screenToImage(hover.sx, hover.sy); bus.emit('viewer:pointer-move', { x: p.x, y: p.y }); }
      const scale = imageScale();
      osd.drawer.setImageSmoothingEnabled(!(scale > NEAREST_FROM_SCALE));
    });
  }
  osd.addHandler('viewport-change', onViewport);
  osd.addHandler('resize', onViewport);
  // A tile that fails (e.g. an unknown colormap typed into the URL): say why, once per rendering.
  let reportedToken = -1;
  osd.addHandler('tile-load-failed', (e) => {
    if (reportedToken === renderToken) return;
    reportedToken = renderToken;
    const url = e.tile && typeof e.tile.getUrl === 'function' ? e.tile.getUrl() : null;
    if (!url) return;
    api.get(url).then(() => {}, (err) => bus.emit('notify', { message: `tiles: ${err.detail || err}`, level: 'error' }));
  });
  osd.addHandler('animation-finish', () => {
    const v = viewState();
    if (v) bus.emit('viewport:changed', v);
  });

  function addLayer(node, draw) {
    node.classList.add('viewer-layer');
    element.querySelector('.openseadragon-canvas').append(node);
    const layer = { canvas: node, element: node, draw };
    layers.add(layer);
    return layer;
  }
  function removeLayer(layer) { layers.delete(layer); layer.element.remove(); }

  // --- pointer --------------------------------------------------------------------------
  let pending = null;
  let hover = null; // last pointer position over the viewer (CSS px), null when it left
  element.addEventListener('pointermove', (e) => {
    const r = element.getBoundingClientRect();
    pending = { sx: e.clientX - r.left, sy: e.clientY - r.top };
    hover = pending;
    requestAnimationFrame(() => {
      if (!pending || !image) return;
      const p = screenToImage(pending.sx, pending.sy);
      pending = null;
      bus.emit('viewer:pointer-move', { x: p.x, y: p.y });
    });
  });
  element.addEventListener('pointerleave', () => { pending = null; hover = null; bus.emit('viewer:pointer-move', null); });
  osd.addHandler('canvas-click', (e) => {
    if (!e.quick || !image) return;
    const p = screenToImage(e.position.x, e.position.y);
    const oe = e.originalEvent || {};
    bus.emit('viewer:click', { x: p.x, y: p.y, shiftKey: !!oe.shiftKey, altKey: !!oe.altKey });
  });

  // --- tiles ----------------------------------------------------------------------------
  function showTiles({ initial = false } = {}) {
    const own = glShows() ? gl.source(image) : tileSource(api, image, display);
    if (glShows() && !initial) applyGL(); // a plane's histequ table differs
    const source = custom ? { ...own, query: custom.query, getTileUrl: custom.url } : own;
    element.dataset.imageReady = '0';
    const token = ++renderToken;
    const done = (item) => {
      if (token !== renderToken) return;
      item.whenFullyLoaded(() => {
        if (token !== renderToken) return;
        for (let i = osd.world.getItemCount() - 1; i >= 0; i -= 1) {
          const other = osd.world.getItemAt(i);
          if (other !== item) osd.world.removeItem(other);
        }
        element.dataset.imageReady = '1';
        element.dataset.tileQuery = glShows() ? tileSource(api, image, display).query : source.query;
      });
    };
    if (initial) {
      osd.addOnceHandler('open', () => done(current()));
      osd.open(source);
    } else {
      // Double-buffer: the new rendering is drawn above the old until its visible tiles arrive.
      osd.addTiledImage({ tileSource: source, success: (e) => done(e.item) });
    }
  }

  async function open({ path, hdu, plane = 0, display: wanted = {}, view = null, tiles = null }) {
    const token = ++openToken;
    element.dataset.imageReady = '0';
    try {
      let index = hdu;
      if (index === undefined || index === null) {
        const listing = await api.get('/api/images/hdus', { path });
        if (listing.recommended === null || listing.recommended === undefined) throw new Error(`${path} holds no image`);
        index = listing.recommended;
      }
      const info = await api.get('/api/images/info', { path, hdu: index, plane });
      if (token !== openToken) return;
      custom = tiles;
      image = { path, hdu: index, plane: info.plane, width: info.width, height: info.height, info, tiles: tiles ? tiles.kind : null };
      element.classList.add('has-image');
      display = await checkedCmap(cleanDisplay({ ...defaultDisplay(), vmin: info.vmin, vmax: info.vmax, ...wanted }));
      if (token !== openToken) return;
      if (glShows() && await gl.apply(image, display)) glDrawn();
      if (token !== openToken) return;
      osd.addOnceHandler('open', () => {
        if (view?.rotation !== undefined || view?.flip) self.setOrientation({ rotation: view.rotation || 0, flip: !!view.flip }, true);
        if (view) panTo(view.cx, view.cy, view.zoom, true);
        else osd.viewport.goHome(true);
      });
      showTiles({ initial: true });
      bus.emit('image:opened', { ...image });
      bus.emit('display:changed', { ...display });
      bus.emit('plane:changed', planeDetail());
    } catch (err) {
      if (token !== openToken) return;
      image = null;
      element.classList.remove('has-image');
      if (osd.world.getItemCount()) osd.close();
      const message = err.detail || err.message || String(err);
      bus.emit('image:error', { path, hdu, message });
    }
  }

  // The colormap names the server knows, fetched once: a bad name (a typed URL) falls back to gray
  // with a message instead of failing every tile.
  let cmapNames = null;
  async function checkedCmap(d) {
    if (!cmapNames) {
      try { cmapNames = new Set((await api.get('/api/images/colormaps')).colormaps); } catch { return d; }
    }
    return cmapNames.has(d.cmap) ? d : rejectCmap(d);
  }
  function rejectCmap(d) {
    bus.emit('notify', { message: `unknown colormap '${d.cmap}'; showing gray`, level: 'error' });
    return { ...d, cmap: 'gray' };
  }

  function planeDetail() {
    const p = image?.info?.planes?.[image.plane] || {};
    return { plane: image?.plane ?? 0, value: p.value ?? null, unit: p.unit || '', kind: p.kind || '', count: image?.info?.plane_count ?? 1 };
  }

  const offs = [
    bus.on('image:open', (d) => open(d)),
    bus.on('display:set', (patch) => {
      if (!image) return;
      let next = cleanDisplay({ ...display, ...patch });
      if (cmapNames && !cmapNames.has(next.cmap)) next = rejectCmap(next);
      if (JSON.stringify(next) === JSON.stringify(display)) return;
      display = next;
      if (glShows()) applyGL(); // the shader recolours the loaded data tiles: no tile request
      else showTiles();
      bus.emit('display:changed', { ...display });
    }),
    // Overview tiles asked for before the plane's block-mean levels existed were strided
    // approximations (never cached): once the server says the levels exist, redraw them.
    bus.on('server:event', (msg) => {
      if (msg.type !== 'levels:ready' || !image) return;
      if (msg.path !== image.path || msg.hdu !== image.hdu || msg.plane !== image.plane) return;
      image = { ...image, lv: (image.lv || 0) + 1 };
      showTiles();
    }),
    bus.on('plane:set', ({ plane }) => {
      const count = image?.info?.plane_count ?? 1;
      if (!image || !(plane >= 0 && plane < count) || plane === image.plane) return;
      image = { ...image, plane };
      showTiles();
      bus.emit('plane:changed', planeDetail());
    }),
  ];

  self = {
    element,
    osd,
    get image() { return image ? { ...image } : null; },
    get display() { return { ...display }; },
    clickMode: null,
    imageToScreen,
    screenToImage,
    imageScale,
    visibleImageRect,
    viewState,
    panTo,
    /** The canvas the tiles are drawn on (device px; for read-only uses such as a magnifier). */
    tileCanvas() { return osd.drawer?.canvas || null; },
    /** URL of one tile of the current image and display (Deep Zoom level/col/row). */
    tileUrl(level, col, row) {
      if (!image) return null;
      return custom ? custom.url(level, col, row) : api.url(`/api/images/tiles/${level}/${col}_${row}.png`, tileParams(image, display));
    },
    /** Show other tiles of the same pixel grid (e.g. an RGB composite of this image): { kind, query,
     * url(level, x, y) }, or null for the image's own; double-buffered like a display change. */
    setTiles(tiles) {
      if (!image) return;
      custom = tiles;
      image = { ...image, tiles: tiles ? tiles.kind : null };
      showTiles();
    },
    fit() { osd.viewport.goHome(); },
    zoomBy(f) { osd.viewport.zoomBy(f); osd.viewport.applyConstraints(); },
    oneToOne() { const v = viewState(); if (v) panTo(v.cx, v.cy, 1); },
    onViewportChange(fn) { viewportListeners.add(fn); return () => viewportListeners.delete(fn); },
    addCanvasLayer(draw) {
      const layer = addLayer(document.createElement('canvas'), draw);
      drawLayer(layer);
      return { canvas: layer.canvas, redraw: () => drawLayer(layer), remove: () => removeLayer(layer) };
    },
    addDomLayer() {
      const layer = addLayer(document.createElement('div'), null);
      return { element: layer.element, remove: () => removeLayer(layer) };
    },
    /** Panels: move a layer node (canvas or div, with its draw or null) onto this viewer -> handle. */
    attachLayer(node, draw) { const layer = addLayer(node, draw); if (draw) drawLayer(layer); return layer; },
    detachLayer(layer) { removeLayer(layer); },
    redrawLayer(layer) { if (layers.has(layer)) drawLayer(layer); },
    /** View orientation: rotation in degrees (clockwise on screen) and a horizontal mirror. */
    orientation() { return { rotation: osd.viewport.getRotation(true), flip: osd.viewport.getFlip() }; },
    setOrientation({ rotation = 0, flip = false }, immediately = true) {
      if (osd.viewport.getFlip() !== !!flip) osd.viewport.setFlip(!!flip);
      if (Math.abs(osd.viewport.getRotation(true) - rotation) > 1e-9) osd.viewport.setRotation(rotation, immediately);
    },
    destroy() { offs.forEach((off) => off()); osd.destroy(); },
  };
  return self;
}
