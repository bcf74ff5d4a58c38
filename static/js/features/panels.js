// Panels: 1, 1x2, 2x1 or 2x2 viewers in the page (viewer/panels.js), the lock (panels-lock.js),
// crosshair lock, blink and fade, and the page URL of every panel. Panel 1 keeps the single-panel
// URL keys (path, hdu, plane, display, cx, cy, zoom: old links are unchanged); the others are
// p2..p4, each the same query string URL-encoded; plus layout=, lock=wcs|pixel, xlock=1, active=.
//
// Bus: listens to viewer:click (crosshair lock). Uses ctx.panels (static/js/README.md).

import { OWN_KEYS, readUrl, toQuery, writeUrl } from '../lib/url-state.js';
import { createLock } from './panels-lock.js';

const LAYOUT_NAMES = ['1', '1x2', '2x1', '2x2'];
const PANEL_KEYS = ['layout', 'lock', 'xlock', 'active', 'p2', 'p3', 'p4'];

function stateOf(viewer) {
  const image = viewer.image;
  // the orientation too: a panel turned by the lock keeps it when it leads after the link is opened
  const view = viewer.viewState();
  return image ? { path: image.path, hdu: image.hdu, plane: image.plane, display: viewer.display, view: view && { ...view, ...viewer.orientation() } } : {};
}

export function mount(ctx) {
  const { bus, ui, panels, escape: { el } } = ctx;
  const host = ctx.viewer.host;
  const lock = createLock(ctx, panels);
  let live = false; // the URL is written only once the incoming one has been read
  let xlock = false;
  let blinkTimer = 0;
  const marks = new Map(); // panel index -> { layer, at: {x, y} | null }
  const watched = new Set();
  const offs = [];

  // --- the Panels side panel -------------------------------------------------------------
  const panel = ui.addPanel({ id: 'panels-panel', title: 'Panels', open: false, order: 15 });
  const layoutButtons = LAYOUT_NAMES.map((name) => {
    const b = el('button', { class: 'btn small', type: 'button', 'data-layout': name, title: `${name} panel${name === '1' ? '' : 's'}` }, name);
    b.addEventListener('click', () => setLayout(name));
    return b;
  });
  const lockSelect = el('select', { id: 'panels-lock', title: 'Match pan, zoom, rotation and parity of every panel to the active one' },
    el('option', { value: 'off' }, 'no lock'), el('option', { value: 'wcs' }, 'lock by WCS (sky)'), el('option', { value: 'pixel' }, 'lock by pixel'));
  lockSelect.addEventListener('change', () => { lock.setMode(lockSelect.value); writeSoon(); });
  const xlockBox = el('input', { type: 'checkbox', id: 'panels-xlock' });
  xlockBox.addEventListener('change', () => { xlock = xlockBox.checked; if (!xlock) clearMarks(); writeSoon(); });
  const blinkButton = el('button', { class: 'btn small', type: 'button', id: 'panels-blink' }, 'Blink');
  const rate = el('input', { type: 'number', id: 'panels-blink-rate', min: '0.1', max: '10', step: '0.1', value: '0.5', style: { width: '5em' } });
  blinkButton.addEventListener('click', () => (panels.mode?.kind === 'blink' ? stopMode() : startBlink()));
  rate.addEventListener('change', () => { if (panels.mode?.kind === 'blink') startBlink(); });
  const fadeBox = el('input', { type: 'checkbox', id: 'panels-fade' });
  const fade = el('input', { type: 'range', id: 'panels-fade-level', min: '0', max: '1', step: '0.01', value: '0.5' });
  fadeBox.addEventListener('change', () => (fadeBox.checked ? startFade() : stopMode()));
  fade.addEventListener('input', () => { if (panels.mode?.kind === 'fade') panels.setMode({ kind: 'fade', opacity: Number(fade.value) }); });
  const note = el('div', { class: 'muted panels-note' });
  panel.element.append(
    el('div', { class: 'panels-row' }, el('span', {}, 'Layout'), ...layoutButtons),
    el('div', { class: 'panels-row' }, lockSelect),
    el('label', { class: 'panels-row' }, xlockBox, 'Crosshair lock (a click marks the sky position in every panel)'),
    el('div', { class: 'panels-row' }, blinkButton, 'every', rate, 's'),
    el('div', { class: 'panels-row' }, el('label', {}, fadeBox, 'Fade 1 ↔ 2'), fade),
    note,
  );
  offs.push(ui.addMenuItem('View', { label: 'Panels…', id: 'menu-panels', onClick: () => panel.show() }));

  function render() {
    for (const b of layoutButtons) b.classList.toggle('active', b.dataset.layout === panels.layout);
    const many = panels.layout !== '1';
    for (const c of [lockSelect, xlockBox, blinkButton, rate, fadeBox]) c.disabled = !many;
    blinkButton.classList.toggle('active', panels.mode?.kind === 'blink');
    fadeBox.checked = panels.mode?.kind === 'fade';
    fade.disabled = !fadeBox.checked;
    note.textContent = many ? `Panel ${panels.active + 1} is active (highlighted): menus, display and overlays act on it. Click a panel to make it active.` : '';
  }

  function setLayout(name) {
    if (name === '1') stopMode();
    panels.setLayout(name);
    if (name === '1') { lock.setMode('off'); lockSelect.value = 'off'; xlock = false; xlockBox.checked = false; clearMarks(); }
    writeSoon();
  }

  // --- blink and fade ---------------------------------------------------------------------
  function ensureLock() { if (lock.mode === 'off') { lock.setMode('wcs'); lockSelect.value = 'wcs'; } }
  function startBlink() {
    clearInterval(blinkTimer);
    ensureLock();
    const seconds = Math.min(10, Math.max(0.1, Number(rate.value) || 0.5));
    const withImage = () => panels.list().filter((p) => p.viewer.image).map((p) => p.index);
    panels.setMode({ kind: 'blink', shown: withImage()[0] ?? 0 });
    blinkTimer = setInterval(() => {
      const order = withImage();
      if (!order.length || panels.mode?.kind !== 'blink') return;
      const at = order.indexOf(panels.mode.shown);
      panels.setMode({ kind: 'blink', shown: order[(at + 1) % order.length] });
    }, seconds * 1000);
  }
  function startFade() { clearInterval(blinkTimer); ensureLock(); panels.setMode({ kind: 'fade', opacity: Number(fade.value) }); }
  function stopMode() { clearInterval(blinkTimer); blinkTimer = 0; panels.setMode(null); }

  // --- crosshair lock ---------------------------------------------------------------------
  function markLayer(p) {
    if (marks.has(p.index)) return;
    const entry = { at: null };
    entry.layer = p.viewer.addCanvasLayer((g, v) => {
      if (!entry.at) return;
      const s = v.imageToScreen(entry.at.x, entry.at.y);
      g.strokeStyle = '#ff4fd8';
      g.lineWidth = 1.5;
      g.beginPath();
      g.moveTo(s.x - 14, s.y); g.lineTo(s.x - 4, s.y); g.moveTo(s.x + 4, s.y); g.lineTo(s.x + 14, s.y);
      g.moveTo(s.x, s.y - 14); g.lineTo(s.x, s.y - 4); g.moveTo(s.x, s.y + 4); g.lineTo(s.x, s.y + 14);
      g.stroke();
    });
    entry.layer.canvas.classList.add('panels-xlock-layer');
    marks.set(p.index, entry);
  }
  function clearMarks() {
    for (const [index, m] of marks) { m.at = null; m.layer.redraw(); delete panels.list()[index]?.element.dataset.xlock; }
  }
  offs.push(bus.on('viewer:click', async ({ x, y }) => {
    if (!xlock || panels.layout === '1' || (ctx.viewer.clickMode && ctx.viewer.clickMode !== 'crosshair')) return;
    try {
      const points = await lock.mapPoint(x, y);
      clearMarks();
      for (const pt of points) {
        const p = panels.list().find((q) => q.index === pt.index);
        if (!p) continue;
        markLayer(p);
        const m = marks.get(pt.index);
        m.at = { x: pt.x, y: pt.y };
        m.layer.redraw();
        p.element.dataset.xlock = `${pt.x.toFixed(3)},${pt.y.toFixed(3)}`;
      }
    } catch (e) {
      ui.notify(`crosshair lock: ${e.detail || e.message || e}`, 'error');
    }
  }));

  // --- following every panel: the lock and the URL ------------------------------------------
  function watch(p) {
    if (watched.has(p.index)) return;
    watched.add(p.index);
    // a follower moved by something other than the lock (its image opened, a resize): place it again
    p.viewer.onViewportChange(() => { if (p.index !== panels.active) lock.sync(); });
    for (const name of ['viewport:changed', 'display:changed', 'plane:changed', 'image:opened']) p.bus.on(name, writeSoon);
  }
  // the colorbar describes the active panel: it sits in that panel's lower-left corner
  function placeColorbar() {
    const bar = document.getElementById('colorbar');
    if (!bar) return;
    const a = panels.list().find((p) => p.index === panels.active)?.element;
    const multi = panels.layout !== '1' && !panels.mode && a;
    bar.style.left = multi ? `${a.offsetLeft + 12}px` : '';
    bar.style.bottom = multi ? `${host.clientHeight - a.offsetTop - a.offsetHeight + 10}px` : '';
    bar.style.width = multi ? `min(420px, ${Math.round(a.offsetWidth * 0.6)}px)` : '';
  }
  const onResize = () => placeColorbar();
  window.addEventListener('resize', onResize);
  offs.push(() => window.removeEventListener('resize', onResize));
  offs.push(panels.onChange(() => {
    for (const p of panels.list()) watch(p);
    placeColorbar();
    render();
    lock.sync();
    writeSoon();
  }));
  offs.push(ctx.viewer.onViewportChange(() => lock.sync()));

  let writeTimer = 0;
  function writeSoon() { clearTimeout(writeTimer); writeTimer = setTimeout(writeAll, 150); }
  function writeAll() {
    if (!live) return;
    const list = panels.list();
    if (panels.layout === '1') {
      // back to one panel: the single-panel URL (writeUrl drops the panel keys, they are OWN_KEYS)
      if (list[0].viewer.image) writeUrl(stateOf(list[0].viewer));
      return;
    }
    const q = new URLSearchParams(toQuery(stateOf(list[0].viewer)));
    q.set('layout', panels.layout);
    if (lock.mode !== 'off') q.set('lock', lock.mode);
    if (xlock) q.set('xlock', '1');
    if (panels.active) q.set('active', String(panels.active + 1));
    const now = new URLSearchParams(window.location.search);
    for (const p of list.slice(1)) {
      if (!p.viewer.image) continue;
      // keys of that panel the view does not own (its catalog overlay, contours) are kept, after ours
      const own = new URLSearchParams(toQuery(stateOf(p.viewer)));
      for (const [k, v] of new URLSearchParams(now.get(`p${p.index + 1}`) || '')) if (!OWN_KEYS.includes(k)) own.append(k, v);
      q.set(`p${p.index + 1}`, own.toString());
    }
    for (const [k, v] of now) if (!OWN_KEYS.includes(k)) q.append(k, v);
    const next = `/?${q}`;
    if (next !== window.location.pathname + window.location.search) window.history.replaceState(null, '', next);
  }

  // --- the incoming URL ---------------------------------------------------------------------
  // The layout first (at mount): panel 1's view in the URL is for its size in that layout.
  const q = new URLSearchParams(window.location.search);
  const layout = q.get('layout');
  if (LAYOUT_NAMES.includes(layout) && layout !== '1') panels.setLayout(layout);
  ctx.ready(() => {
    if (LAYOUT_NAMES.includes(layout) && layout !== '1') {
      for (const p of panels.list().slice(1)) {
        const text = q.get(`p${p.index + 1}`);
        if (!text) continue;
        const s = readUrl(`?${text}`);
        if (s.path) panels.open(p.index, { path: s.path, hdu: s.hdu, plane: s.plane ?? 0, display: s.display, view: s.view });
      }
      const active = Number(q.get('active'));
      if (Number.isInteger(active) && active >= 1 && active <= panels.list().length) panels.activate(active - 1);
      if (['wcs', 'pixel'].includes(q.get('lock'))) { lockSelect.value = q.get('lock'); lock.setMode(q.get('lock')); }
      if (q.get('xlock') === '1') { xlock = true; xlockBox.checked = true; }
    }
    live = true;
    render();
  });
  for (const p of panels.list()) watch(p);
  render();

  return () => {
    stopMode();
    clearTimeout(writeTimer);
    offs.forEach((off) => off());
    for (const m of marks.values()) m.layer.remove();
    panel.remove();
  };
}
