// Catalog overlay on the image: fetches the server's binary payload (sources inside the footprint,
// projected through the image's full WCS), draws them with WebGL (2-D canvas fallback), styles
// them (size, colour by column + colorbar, shape, fill, opacity, labels), pops up a row on click.
//
// Bus: listens to overlay:show {name, ...params/style}, overlay:hide {name}, catalog:filter-changed
// {name, filter, computed?}, catalog:rows-selected {name, rows}; emits catalog:row-clicked {name, row, values}.
// Deep link (per panel: see panels.js; more overlays as overlay=<the same keys, URL-encoded>):
//            ?catalog=NAME&ra_col=&dec_col=&size_col=<column or number>&size_unit=px|arcsec|arcmin|deg
//            &color_col=&cmap= (or marker_cmap=)&color_scale=linear|log&filter=&shape=&label_col=&color=#rrggbb
//            &renderer=webgl|canvas
// Panels: every panel keeps its own overlays (drawn on its own viewer, following its view; all of
// them in its part of the URL: the page's keys for panel 1, inside p2..p4 for the others);
// the side panel, the bus requests and clicks act on the ACTIVE panel's.
// Helpers (not features): overlay-data.js (payload, deep-link keys), overlay-gl.js (renderers),
// overlay-labels.js (marker labels), overlay-panel.js (side panel: parameters, style, colorbar),
// overlay-popup.js (click hit test, row popup).
import { createRenderer, drawForExport } from './overlay-gl.js';
import {
  DEFAULT_STYLE, SERVER_KEYS, colorRange, decodeOverlay, frameOf, loadLut, readDeepLinks, rescaleColors, withOverlayQuery,
} from './overlay-data.js';
import { createLabels } from './overlay-labels.js';
import { createOverlayPanel } from './overlay-panel.js';
import { createPopup, hitMarker } from './overlay-popup.js';
import { editPanelQuery, panelQuery } from '../lib/url-state.js';

const HEAVY_MARKERS = 150_000;   // above this, the view moves a snapshot and redraws when it rests
const REST_MS = 120;

export function mount(ctx) {
  const { el } = ctx.escape;
  const sets = new Map();                // panel index -> that panel's overlays (createSet)
  const offs = [];

  function createSet(p) {
    const { index, viewer } = p;
    const layers = new Map();              // name -> layer
    const dom = viewer.addDomLayer();
    dom.element.classList.add('overlay-layer');
    dom.element.dataset.export = 'vector';  // the PNG export asks for the markers (export:collect), not this bitmap
    const labelCanvas = el('canvas', { class: 'overlay-labels' });
    dom.element.appendChild(labelCanvas);
    const popup = createPopup(el, viewer, dom.element);
    const labels = createLabels(ctx, labelCanvas, layers, redraw);
    let active = null;                     // name of the layer the panel edits

    // Full redraws of a few hundred thousand markers can cost more than a frame (software GL, slow
    // GPUs). Then, while the view moves, the last drawing is moved with a CSS transform (the exact
    // image -> screen change since it was drawn) and drawn anew once the view rests.
    let drawnFrame = null;
    let idleTimer = 0;

    function heavy() {
      let n = 0;
      for (const layer of layers.values()) if (layer.visible && layer.data) n += layer.data.count;
      return n > HEAVY_MARKERS;
    }

    function redraw() {
      if (!viewer.image) return;
      const frame = frameOf(viewer);
      clearTimeout(idleTimer);
      idleTimer = 0;
      for (const layer of layers.values()) {
        if (!layer.renderer) continue;
        // A hidden layer's canvas is hidden too: its last drawing must not stay frozen on the
        // screen while the view moves (it is drawn afresh, at the current view, when shown again).
        layer.renderer.canvas.hidden = !layer.visible;
        if (layer.visible) layer.renderer.draw(frame);
      }
      for (const canvas of dom.element.querySelectorAll('canvas')) canvas.style.transform = '';
      labels.draw(frame);
      drawnFrame = frame;
      popup.place();
    }

    function onViewport() {
      if (!heavy() || !drawnFrame) { redraw(); return; }
      const f = frameOf(viewer);
      const o = drawnFrame;
      if (f.width !== o.width || f.height !== o.height) { redraw(); return; }
      const det = o.a * o.d - o.b * o.c;
      // M = A_new * inverse(A_old); offset = t_new - M * t_old  (x' = a x + c y + e, y' = b x + d y + f)
      const a = (f.a * o.d - f.c * o.b) / det;
      const c = (f.c * o.a - f.a * o.c) / det;
      const b = (f.b * o.d - f.d * o.b) / det;
      const d = (f.d * o.a - f.b * o.c) / det;
      const e = f.e - (a * o.e + c * o.f);
      const g = f.f - (b * o.e + d * o.f);
      const css = `matrix(${a}, ${b}, ${c}, ${d}, ${e}, ${g})`;
      for (const canvas of dom.element.querySelectorAll('canvas')) canvas.style.transform = css;
      popup.place();
      clearTimeout(idleTimer);
      idleTimer = setTimeout(redraw, REST_MS);
    }

    // ---- loading ----
    async function load(layer) {
      const image = viewer.image;
      if (!image) return;
      if (image.info?.wcs && !image.info.wcs.has_celestial) {  // markers are placed by RA/Dec: nothing to ask for
        layer.abort?.abort();
        layer.data = null;
        layer.status = 'this image has no celestial WCS: no markers';
        render();
        return;
      }
      const params = { name: layer.name, path: image.path, hdu: image.hdu, plane: image.plane || 0 };
      for (const key of SERVER_KEYS) if (layer.params[key] !== undefined && layer.params[key] !== '') params[key] = layer.params[key];
      layer.abort?.abort();
      const abort = new AbortController();
      layer.abort = abort;
      layer.status = 'loading…';
      render();
      try {
        const blob = await ctx.api.get('/api/catalogs/overlay', params, { signal: abort.signal });
        const data = decodeOverlay(await blob.arrayBuffer());
        if (abort.signal.aborted || !layers.has(layer.name)) return;
        layer.data = data;
        layer.labels = new Map();
        if (!layer.renderer) layer.renderer = createRenderer(dom.element, { preferWebgl: layer.style.webgl !== false });
        dom.element.appendChild(labelCanvas);  // labels above markers
        uploadData(layer);
        await applyStyle(layer);
        layer.status = `${data.count.toLocaleString()} of ${data.matched.toLocaleString()} sources on the image`;
        document.body.dataset.overlayCount = String(data.count);
        viewer.element.dataset.overlayCount = String(data.count);
        document.body.dataset.overlayRenderer = layer.renderer.kind;
        syncUrl();
        redraw();
      } catch (e) {
        if (e.name === 'AbortError') return;
        layer.status = `error: ${e.detail || e.message || e}`;
        ctx.ui.notify(`overlay ${layer.name}: ${e.detail || e.message || e}`, 'error');
      }
      render();
    }

    // Markers to the renderer, with colour positions over the colour range in use.
    function uploadData(layer) {
      const d = layer.data;
      const [lo, hi] = colorRange(d, layer.style);
      const custom = d.hasColor && (lo !== d.colorMin || hi !== d.colorMax);
      layer.renderer.setData(custom ? { ...d, value: rescaleColors(d, lo, hi) } : d);
      applyHighlight(layer);
    }

    async function applyStyle(layer) {
      if (!layer.renderer) return;
      if (layer.data?.hasColor && layer.lutName !== layer.style.cmap) {
        try {
          layer.lut = await loadLut(ctx, layer.style.cmap);
          layer.lutName = layer.style.cmap;
        } catch {
          ctx.ui.notify(`unknown colormap ${layer.style.cmap}`, 'warning');
          layer.lut = null;
        }
      }
      layer.renderer.setStyle({ ...layer.style, lut: layer.data?.hasColor ? layer.lut : null });
    }

    function applyHighlight(layer) {
      if (!layer.renderer || !layer.data) return;
      const flags = new Uint8Array(layer.data.count);
      if (layer.selected.size) for (let i = 0; i < layer.data.count; i += 1) if (layer.selected.has(layer.data.rows[i])) flags[i] = 1;
      layer.renderer.setHighlight(flags);
    }

    function show(detail) {
      if (!detail || !detail.name) return;
      const name = String(detail.name);
      let layer = layers.get(name);
      if (!layer) {
        layer = { name, params: {}, style: { ...DEFAULT_STYLE }, data: null, renderer: null, visible: true, selected: new Set(), labels: new Map(), status: '' };
        layers.set(name, layer);
      }
      for (const key of SERVER_KEYS) if (detail[key] !== undefined) layer.params[key] = detail[key] === null ? '' : String(detail[key]);
      for (const key of ['shape', 'fill', 'outline', 'opacity', 'color', 'cmap', 'label_col', 'minPx', 'webgl']) if (detail[key] !== undefined) layer.style[key] = detail[key];
      for (const key of ['color_min', 'color_max']) if (detail[key] !== undefined && detail[key] !== '') layer.style[key] = Number(detail[key]);
      if (detail.renderer) layer.style.webgl = detail.renderer !== 'canvas';
      active = name;
      load(layer);
    }

    function hide({ name }) {
      const layer = layers.get(name);
      if (!layer) return;
      layer.abort?.abort();
      layer.renderer?.destroy();
      layers.delete(name);
      if (active === name) active = layers.size ? [...layers.keys()].pop() : null;
      popup.close();
      render();
      syncUrl();
      redraw();
    }

    // The overlay keeps its own keys of its panel in the address bar (the rest belongs to the view).
    // Panel 1's are the page's own keys, panel N's go inside the pN value (see panels.js).
    function syncUrl() {
      if (index >= ctx.panels.list().length) return;  // a panel the layout does not show is not in the URL
      const others = [...layers.values()].filter((layer) => layer.name !== active);
      editPanelQuery(index, (query) => withOverlayQuery(query, layers.get(active) || null, others));
    }

    // ---- click -> popup ----
    async function onClick({ x, y }) {
      if (ctx.viewer.clickMode && ctx.viewer.clickMode !== 'overlay') return;
      const found = hitMarker(layers.values(), frameOf(viewer), viewer.imageToScreen(x, y));
      if (!found) return;
      const { layer, i } = found;
      const row = layer.data.rows[i];
      try {
        const body = await ctx.api.post('/api/catalogs/overlay/rows', { name: layer.name, rows: [row] });
        const values = Object.fromEntries(body.columns.map((c, k) => [c, body.rows[0][k]]));
        popup.open(layer, i, row, body.columns, body.rows[0]);
        layer.selected = new Set([row]);
        applyHighlight(layer);
        redraw();
        ctx.bus.emit('catalog:row-clicked', { name: layer.name, row, values });
        keepInView(layer, i);
      } catch (e) {
        ctx.ui.notify(e.detail || String(e), 'error');
      }
    }

    // The click may open the table dock, which shortens the viewer: a marker now below its edge is
    // brought back into view (with its popup) once the viewer has its new size.
    function keepInView(layer, i) {
      setTimeout(() => {
        if (!layer.data || i >= layer.data.count) return;
        const x = layer.data.x[i];
        const y = layer.data.y[i];
        const p = viewer.imageToScreen(x, y);
        const box = viewer.element.getBoundingClientRect();
        if (p.x < 20 || p.y < 20 || p.x > box.width - 20 || p.y > box.height - 20) viewer.panTo(x, y);
      }, 250);
    }

    // ---- PNG export: the visible markers drawn again at the export's resolution ----
    function exportLayers({ layers: drawers }) {
      for (const layer of layers.values()) {
        if (layer.visible && layer.data && layer.renderer) drawers.push((g, frame) => drawForExport(layer, g, frame));
      }
    }

    // A new image (or none): markers of the previous one must not linger while the new payload loads.
    function clearAll() {
      const empty = { x: new Float32Array(0), y: new Float32Array(0), size: new Float32Array(0), value: new Float32Array(0), count: 0 };
      const blank = { a: 1, b: 0, c: 0, d: 1, e: 0, f: 0, width: 1, height: 1, dpr: 1, scale: 1 };
      for (const layer of layers.values()) {
        layer.abort?.abort();
        layer.data = null;
        if (layer.renderer) { layer.renderer.setData(empty); layer.renderer.draw(blank); }
      }
      labels.clear();
      drawnFrame = null;
      popup.close();
    }
    const own = [
      viewer.onViewportChange(onViewport),
      p.bus.on('image:opened', () => { clearAll(); for (const layer of layers.values()) load(layer); }),
      p.bus.on('image:closed', clearAll),
      p.bus.on('plane:changed', () => { for (const layer of layers.values()) load(layer); }),
    ];
    function destroy() {
      own.forEach((off) => off());
      for (const layer of layers.values()) { layer.abort?.abort(); layer.renderer?.destroy(); }
      layers.clear();
      clearTimeout(idleTimer);
      popup.close();
      dom.remove();
    }
    return {
      index, layers, show, hide, load, applyStyle, uploadData, applyHighlight, redraw, syncUrl, onClick, exportLayers, destroy,
      get active() { return active; },
      set active(name) { active = name; },
    };
  }

  /** The overlays of panel p ({ index, viewer, bus } of ctx.panels.list()), made on first use. */
  function setOf(p) {
    if (!sets.has(p.index)) sets.set(p.index, createSet(p));
    return sets.get(p.index);
  }
  const cur = () => setOf(ctx.panels.list().find((p) => p.index === ctx.panels.active) || ctx.panels.list()[0]);

  // ---- panel: edits the active panel's overlays ----
  const panel = createOverlayPanel(ctx, {
    get layers() { return cur().layers; },
    active: () => cur().active,
    setActive: (name) => { cur().active = name; },
    show: (detail) => { cur().show(detail); panel.show(); },
    hide: (detail) => cur().hide(detail),
    load: (layer) => cur().load(layer),
    applyStyle: (layer) => cur().applyStyle(layer),
    uploadData: (layer) => cur().uploadData(layer),
    redraw: () => cur().redraw(),
    syncUrl: () => cur().syncUrl(),
  });
  const render = panel.render;

  // ---- wiring ----
  offs.push(ctx.bus.on('overlay:show', (detail) => { cur().show(detail); panel.show(); }));
  offs.push(ctx.bus.on('overlay:hide', (detail) => cur().hide(detail)));
  offs.push(ctx.bus.on('export:collect', (detail) => cur().exportLayers(detail)));  // the export draws the active panel
  offs.push(ctx.bus.on('viewer:click', (detail) => cur().onClick(detail)));
  offs.push(ctx.bus.on('catalog:filter-changed', ({ name, filter, computed }) => {
    const layer = cur().layers.get(name);
    if (!layer) return;
    const same = (layer.params.filter || '') === (filter || '') && (layer.params.computed || '') === (computed || '');
    if (!same) { layer.params.filter = filter || ''; layer.params.computed = computed || ''; cur().load(layer); }
  }));
  // a row picked in the table is highlighted in every panel showing that catalog
  offs.push(ctx.bus.on('catalog:rows-selected', ({ name, rows }) => {
    for (const set of sets.values()) {
      const layer = set.layers.get(name);
      if (!layer) continue;
      layer.selected = new Set((rows || []).map(Number));
      set.applyHighlight(layer);
      set.redraw();
    }
  }));
  // another panel active: the side panel shows its overlays; a panel shown again by the layout
  // gets its overlays back in the URL
  let shown = ctx.panels.list().length;
  offs.push(ctx.panels.onChange(() => {
    const n = ctx.panels.list().length;
    if (n > shown) for (const set of sets.values()) if (set.index >= shown && set.index < n && set.layers.size) set.syncUrl();
    shown = n;
    render();
  }));
  const removeMenu = ctx.ui.addMenuItem('Catalogs', { label: 'Overlay on image…', onClick: () => { panel.refreshKnown(); panel.toggle(); } });
  render();
  // the page URL's overlays of panel 1 (the one named by catalog= last: it is the one the panel edits)
  const links = readDeepLinks();
  for (const link of [...links.slice(1), ...links.slice(0, 1)]) setOf(ctx.panels.list()[0]).show(link);
  if (links.length) panel.show();
  // panels 2-4 of the page URL: their overlays (each opens once its panel's image is open)
  ctx.ready(() => {
    for (const p of ctx.panels.list().slice(1)) {
      const more = readDeepLinks(`?${panelQuery(p.index)}`);
      for (const link of [...more.slice(1), ...more.slice(0, 1)]) setOf(p).show(link);
    }
    render();
  });

  return function unmount() {
    for (const off of offs) off();
    for (const set of sets.values()) set.destroy();
    sets.clear();
    removeMenu();
    panel.remove();
  };
}
