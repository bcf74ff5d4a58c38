// Several viewers in one page: 1, 1x2, 2x1 or 2x2 panels, each its own OpenSeadragon viewer
// (createViewer) with its own image, HDU, plane, display and view. One panel is ACTIVE: the
// `active` facade below is `ctx.viewer`, so every feature acts on the active panel without knowing
// that there are several. Each panel's viewer talks on a private bus; the active one's events are
// forwarded to the page bus, and the page's requests (image:open, display:set, plane:set) go to it.
// Layers added through the facade (catalog markers, regions, contours...) move to the panel that
// becomes active. See static/js/README.md ("Panels").

import { createBus } from '../lib/bus.js';
import { createViewer } from './viewer.js';

/** Layout name -> [rows, columns]. "1x2" is one row of two panels side by side. */
export const LAYOUTS = Object.freeze({ 1: [1, 1], '1x2': [1, 2], '2x1': [2, 1], '2x2': [2, 2] });
export const MAX_PANELS = 4;
const OUT = ['image:opened', 'image:closed', 'image:error', 'plane:changed', 'display:changed',
  'viewport:changed', 'viewer:pointer-move', 'viewer:click'];
const IN = ['image:open', 'display:set', 'plane:set'];
const GAP_PX = 4;

export function createPanels(host, first, { bus, api, layout: initial = '1' }) {
  const panels = [];
  // the initial layout (from the page URL) is placed before the viewers exist: a viewer created
  // full-size then shrunk before its first image would open that image's view at the wrong scale
  let layout = LAYOUTS[initial] ? initial : '1';
  let active = 0;
  let mode = null; // null | { kind: 'blink', shown } | { kind: 'fade', opacity }
  const changeListeners = new Set();
  const viewportFns = new Set();
  const movable = new Set(); // layers added through the facade: { node, draw, owner, handle }
  let clickMode = null;

  function makePanel(index) {
    let element = first;
    if (index > 0) {
      element = document.createElement('div');
      element.id = `viewer-${index + 1}`;
      element.dataset.imageReady = '0';
      (panels[index - 1]?.element || first).after(element);
    }
    element.classList.add('viewer-panel');
    element.dataset.panel = String(index + 1);
    placeOne({ index, element });
    const own = createBus();
    const viewer = createViewer(element, { bus: own, api });
    const label = document.createElement('div');
    label.className = 'panel-label';
    element.append(label);
    const panel = { index, element, bus: own, viewer, label };
    for (const name of OUT) own.on(name, (detail) => { if (active === panel.index) bus.emit(name, detail); });
    own.on('notify', (detail) => bus.emit('notify', detail));
    own.on('image:opened', () => { setLabel(panel); notify(); });
    own.on('image:closed', () => { setLabel(panel); notify(); });
    own.on('image:error', () => { setLabel(panel); notify(); });
    viewer.onViewportChange(() => { if (active === panel.index) for (const fn of viewportFns) fn(); });
    setLabel(panel);
    return panel;
  }

  function setLabel(panel) {
    const image = panel.viewer.image;
    const name = image ? image.path.split('/').pop() : 'empty: click here, then File > Open';
    panel.label.textContent = `${panel.index + 1}  ${name}`;
  }

  function notify() { for (const fn of changeListeners) fn(); }
  const count = () => LAYOUTS[layout][0] * LAYOUTS[layout][1];

  function place() {
    host.classList.toggle('multi-panel', count() > 1);
    host.dataset.layout = layout;
    host.dataset.panelMode = mode ? mode.kind : '';
    for (const panel of panels) placeOne(panel);
  }

  function placeOne(panel) {
    const [rows, cols] = LAYOUTS[layout];
    const stacked = mode && count() > 1;
    const s = panel.element.style;
    const shown = panel.index < count();
    panel.element.hidden = !shown;
    panel.element.classList.toggle('active', shown && count() > 1 && panel.index === active);
    if (!shown) return;
    if (count() === 1) {
      for (const k of ['left', 'top', 'width', 'height', 'opacity', 'visibility', 'zIndex']) s[k] = '';
      return;
    }
    const r = Math.floor(panel.index / cols);
    const c = panel.index % cols;
    const cell = stacked ? { r: 0, c: 0, rows: 1, cols: 1 } : { r, c, rows, cols };
    const g = cell.cols > 1 || cell.rows > 1 ? GAP_PX / 2 : 0;
    s.left = `calc(${(100 * cell.c) / cell.cols}% + ${cell.c ? g : 0}px)`;
    s.top = `calc(${(100 * cell.r) / cell.rows}% + ${cell.r ? g : 0}px)`;
    s.width = `calc(${100 / cell.cols}% - ${cell.cols > 1 ? g : 0}px)`;
    s.height = `calc(${100 / cell.rows}% - ${cell.rows > 1 ? g : 0}px)`;
    const hidden = (mode?.kind === 'blink' && panel.index !== mode.shown) || (mode?.kind === 'fade' && panel.index > 1);
    s.visibility = hidden ? 'hidden' : '';
    s.opacity = mode?.kind === 'fade' && panel.index === 1 ? String(mode.opacity) : '';
    s.zIndex = mode ? String(panel.index + 1) : '';
  }

  function setLayout(name) {
    if (!LAYOUTS[name]) throw new Error(`unknown panel layout "${name}" (1, 1x2, 2x1 or 2x2)`);
    while (panels.length < LAYOUTS[name][0] * LAYOUTS[name][1]) panels.push(makePanel(panels.length));
    layout = name;
    if (count() < 2) mode = null;
    place();
    if (active >= count()) activate(0);
    notify();
  }

  /** Make panel i the one features act on: layers move to it and features hear its state. */
  function activate(index) {
    if (index === active || index < 0 || index >= count()) return;
    const next = panels[index];
    for (const layer of movable) {
      layer.owner.detachLayer(layer.handle);
      layer.owner = next.viewer;
      layer.handle = next.viewer.attachLayer(layer.node, layer.draw);
    }
    active = index;
    place();
    const image = next.viewer.image;
    if (image) {
      bus.emit('image:opened', image);
      bus.emit('display:changed', next.viewer.display);
      bus.emit('plane:changed', planeDetail(image));
      const view = next.viewer.viewState();
      if (view) bus.emit('viewport:changed', view);
    } else {
      bus.emit('image:closed', {});
    }
    for (const fn of viewportFns) fn();
    notify();
  }

  function planeDetail(image) {
    const p = image.info?.planes?.[image.plane] || {};
    return { plane: image.plane ?? 0, value: p.value ?? null, unit: p.unit || '', kind: p.kind || '', count: image.info?.plane_count ?? 1 };
  }

  while (panels.length < count()) panels.push(makePanel(panels.length));
  place();
  for (const name of IN) bus.on(name, (detail) => panels[active].bus.emit(name, detail));
  bus.on('server:event', (msg) => { for (const p of panels) p.bus.emit('server:event', msg); });
  // A press or wheel anywhere in a panel makes it active BEFORE other features see the event
  // (capture phase on the host, registered before any feature mounts).
  const pick = (e) => {
    const el = e.target.closest?.('.viewer-panel');
    if (el && el.dataset.panel) activate(Number(el.dataset.panel) - 1);
  };
  host.addEventListener('pointerdown', pick, true);
  host.addEventListener('wheel', pick, { capture: true, passive: true });

  const cur = () => panels[active].viewer;
  const facade = {
    host,
    get element() { return cur().element; },
    get osd() { return cur().osd; },
    get image() { return cur().image; },
    get display() { return cur().display; },
    get clickMode() { return clickMode; },
    set clickMode(v) { clickMode = v; },
    imageToScreen: (x, y) => cur().imageToScreen(x, y),
    screenToImage: (sx, sy) => cur().screenToImage(sx, sy),
    imageScale: () => cur().imageScale(),
    visibleImageRect: () => cur().visibleImageRect(),
    viewState: () => cur().viewState(),
    panTo: (x, y, scale, immediately) => cur().panTo(x, y, scale, immediately),
    tileCanvas: () => cur().tileCanvas(),
    tileUrl: (level, col, row) => cur().tileUrl(level, col, row),
    setTiles: (tiles) => cur().setTiles(tiles),
    orientation: () => cur().orientation(),
    setOrientation: (o, immediately) => cur().setOrientation(o, immediately),
    fit: () => cur().fit(),
    zoomBy: (f) => cur().zoomBy(f),
    oneToOne: () => cur().oneToOne(),
    onViewportChange(fn) { viewportFns.add(fn); return () => viewportFns.delete(fn); },
    addCanvasLayer(draw) {
      const node = document.createElement('canvas');
      const layer = { node, draw, owner: cur() };
      layer.handle = layer.owner.attachLayer(node, draw);
      movable.add(layer);
      return { canvas: node, redraw: () => layer.owner.redrawLayer(layer.handle), remove: () => { movable.delete(layer); layer.owner.detachLayer(layer.handle); } };
    },
    addDomLayer() {
      const node = document.createElement('div');
      const layer = { node, draw: null, owner: cur() };
      layer.handle = layer.owner.attachLayer(node, null);
      movable.add(layer);
      return { element: node, remove: () => { movable.delete(layer); layer.owner.detachLayer(layer.handle); } };
    },
    destroy() { for (const p of panels) p.viewer.destroy(); },
  };

  return {
    facade,
    get layout() { return layout; },
    get active() { return active; },
    get mode() { return mode ? { ...mode } : null; },
    /** The shown panels, in reading order: [{ index, element, viewer, bus }]. */
    list: () => panels.slice(0, count()).map(({ index, element, viewer, bus: own }) => ({ index, element, viewer, bus: own })),
    setLayout,
    activate,
    /** Open an image in panel i (same detail as image:open). */
    open(index, detail) { if (panels[index]) panels[index].bus.emit('image:open', detail); },
    /** Blink (show one panel at a time: { kind: 'blink', shown }) or fade (panel 2 over panel 1 at
     * { kind: 'fade', opacity }), all panels stacked in the full area; null for the grid. */
    setMode(next) { mode = next && count() > 1 ? { ...next } : null; place(); notify(); },
    onChange(fn) { changeListeners.add(fn); return () => changeListeners.delete(fn); },
  };
}
