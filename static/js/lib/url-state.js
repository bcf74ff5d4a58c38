// The page URL <-> the view: file, HDU, plane, display (stretch, limits, colormap...), centre, zoom
// (and a panel's rotation and flip).
// Reading tolerates anything (a URL is user input): unknown keys are ignored, numbers are checked.

const DISPLAY_KEYS = ['stretch', 'cmap', 'vmin', 'vmax', 'invert', 'exponent', 'nan_color'];

function num(text) {
  if (text === null || text === '') return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

function int(text) {
  const v = num(text);
  return v !== undefined && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** State described by a query string (default: the current page URL). */
export function readUrl(search = window.location.search) {
  const q = new URLSearchParams(search);
  const display = {};
  if (q.get('stretch')) display.stretch = q.get('stretch');
  if (q.get('cmap')) display.cmap = q.get('cmap');
  if (num(q.get('vmin')) !== undefined) display.vmin = num(q.get('vmin'));
  if (num(q.get('vmax')) !== undefined) display.vmax = num(q.get('vmax'));
  if (num(q.get('exponent')) !== undefined) display.exponent = num(q.get('exponent'));
  if (q.has('invert')) display.invert = ['1', 'true', 'yes'].includes(q.get('invert').toLowerCase());
  if (q.get('nan_color')) display.nan_color = q.get('nan_color');
  const view = {};
  for (const k of ['cx', 'cy', 'zoom']) if (num(q.get(k)) !== undefined) view[k] = num(q.get(k));
  // a panel turned by the lock (rotation in degrees clockwise on screen, mirrored left-right)
  if (num(q.get('rot')) !== undefined) view.rotation = ((num(q.get('rot')) % 360) + 360) % 360;
  if (q.get('flip') === '1') view.flip = true;
  return {
    path: q.get('path') || null,
    hdu: int(q.get('hdu')),
    plane: int(q.get('plane')),
    display,
    view: ['cx', 'cy', 'zoom'].every((k) => k in view) && view.zoom > 0 ? view : null,
    search: q.get('search'),
  };
}

function fmt(v) {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(7)));
}

/** Query string for a state (keys in a stable order). */
export function toQuery(state) {
  const q = new URLSearchParams();
  if (state.path) q.set('path', state.path);
  if (state.hdu !== undefined && state.hdu !== null) q.set('hdu', String(state.hdu));
  if (state.plane) q.set('plane', String(state.plane));
  const d = state.display || {};
  for (const k of DISPLAY_KEYS) {
    const v = d[k];
    if (v === undefined || v === null || v === '') continue;
    if (k === 'invert') { if (v) q.set('invert', '1'); continue; }
    if (k === 'exponent' && d.stretch !== 'power') continue;
    q.set(k, typeof v === 'number' ? fmt(v) : String(v));
  }
  if (state.view) {
    q.set('cx', state.view.cx.toFixed(2));
    q.set('cy', state.view.cy.toFixed(2));
    q.set('zoom', Number(state.view.zoom.toPrecision(4)).toString());
    const rot = ((state.view.rotation || 0) % 360 + 360) % 360;
    if (rot > 1e-6 && rot < 360 - 1e-6) q.set('rot', fmt(rot));
    if (state.view.flip) q.set('flip', '1');
  }
  if (state.search) q.set('search', state.search);
  return q.toString();
}

/** Keys of the view (and of the panels feature's layout: layout, lock, xlock, active, p2..p4). */
export const OWN_KEYS = ['path', 'hdu', 'plane', ...DISPLAY_KEYS, 'cx', 'cy', 'zoom', 'rot', 'flip', 'search', 'layout', 'lock', 'xlock', 'active', 'p2', 'p3', 'p4'];

/** Replace the address bar (no history entry per pan) with the state's URL. Keys this module
 * does not own (e.g. a catalog overlay's) are kept, after ours. */
export function writeUrl(state) {
  const q = new URLSearchParams(toQuery(state));
  for (const [k, v] of new URLSearchParams(window.location.search)) if (!OWN_KEYS.includes(k)) q.append(k, v);
  const query = q.toString();
  const next = `/${query ? `?${query}` : ''}`;
  if (next !== window.location.pathname + window.location.search) window.history.replaceState(null, '', next);
}

/** The query of panel `index` (0-based) in a page query string: panel 1's keys are the page's
 * own, panels 2-4 are the URL-encoded query strings p2..p4. */
export function panelQuery(index, search = window.location.search) {
  const q = new URLSearchParams(search);
  return index === 0 ? q : new URLSearchParams(q.get(`p${index + 1}`) || '');
}

/** Rewrite panel `index`'s query in the address bar with `edit(queryString) -> queryString` (a
 * feature replacing its own keys of that panel: catalog overlays, contours). */
export function editPanelQuery(index, edit) {
  const q = new URLSearchParams(window.location.search);
  if (index === 0) {
    const next = edit(q.toString());
    const url = `${window.location.pathname}${next ? `?${next}` : ''}`;
    if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, '', url);
    return;
  }
  const key = `p${index + 1}`;
  const next = edit(q.get(key) || '');
  if (next) q.set(key, next); else q.delete(key);
  const url = `${window.location.pathname}?${q}`;
  if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, '', url);
}

/** Whether two viewer images (`viewer.image` is a fresh copy each time) are the same file, HDU and plane. */
export const sameImage = (a, b) => !!a && !!b && a.path === b.path && a.hdu === b.hdu && (a.plane ?? 0) === (b.plane ?? 0);
