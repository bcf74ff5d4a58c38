// Regions, mouse and keys: draw with the active tool, select, move, resize and rotate through
// handles, polygons by clicks (double-click ends), delete, undo, Escape. Pointer events are taken
// in the capture phase on the viewer element only when they concern a region or a drawing tool;
// everything else goes on to the viewer (pan, zoom, other features' clicks).

import { dragHandle, hits, makeRegion, moveBy } from './regions-model.js';
import { frameOf, hitHandle } from './regions-draw.js';

const MIN_DRAG_PX = 3;
const DEFAULT_PX = 24;

export function attachEditor(ctx, st, hooks) {
  const { viewer } = ctx;
  // events of every panel arrive at the host (a press first makes its panel active); the rect
  // and cursor are the active panel's
  const host = viewer.host || viewer.element;
  let drag = null;      // { mode: 'move'|'handle'|'create', region, handle?, start, last, before }
  let polygon = null;   // the polygon being drawn (a region of the model, not yet committed)

  const local = (e) => {
    const rect = viewer.element.getBoundingClientRect();
    const sx = e.clientX - rect.left;
    const sy = e.clientY - rect.top;
    const p = viewer.screenToImage(sx, sy);
    return { sx, sy, x: p.x, y: p.y };
  };
  const tolerance = () => 5 / Math.max(frameOf(viewer).scale, 1e-9);

  function regionAt(x, y) {
    const tol = tolerance();
    if (st.selected && hits(st.selected, x, y, tol)) return st.selected;
    for (let i = st.regions.length - 1; i >= 0; i -= 1) if (hits(st.regions[i], x, y, tol)) return st.regions[i];
    return null;
  }

  function newShape(tool, x, y) {
    const px = DEFAULT_PX / frameOf(viewer).scale;
    const base = { points: [[x, y]], angle: 0 };
    switch (tool) {
      case 'circle': return makeRegion({ ...base, shape: 'circle', sizes: [px] });
      case 'ellipse': return makeRegion({ ...base, shape: 'ellipse', sizes: [2 * px, px] });
      case 'box': return makeRegion({ ...base, shape: 'box', sizes: [2 * px, px] });
      case 'annulus': return makeRegion({ ...base, shape: 'annulus', sizes: [px / 2, px] });
      case 'line': return makeRegion({ ...base, shape: 'line', points: [[x, y], [x + 2 * px, y]] });
      case 'point': return makeRegion({ ...base, shape: 'point', point: 'cross' });
      case 'text': return makeRegion({ ...base, shape: 'text', text: 'text' });
      default: return null;
    }
  }

  function shapeFromDrag(r, start, p) {
    const dx = p.x - start.x;
    const dy = p.y - start.y;
    switch (r.shape) {
      case 'circle': r.sizes = [Math.max(0.5, Math.hypot(dx, dy))]; break;
      case 'annulus': { const R = Math.max(1, Math.hypot(dx, dy)); r.sizes = [R / 2, R]; break; }
      case 'ellipse': case 'box': r.sizes = [Math.max(1, 2 * Math.abs(dx)), Math.max(1, 2 * Math.abs(dy))]; break;
      case 'line': r.points[1] = [p.x, p.y]; break;
      default: break;
    }
  }

  function onDown(e) {
    if (e.button !== 0 || !viewer.image || (viewer.clickMode && viewer.clickMode !== 'regions')) return;
    const p = local(e);
    const handle = hitHandle(viewer, st.selected, p.sx, p.sy);
    let region = handle ? st.selected : null;
    if (!region && !polygon) region = regionAt(p.x, p.y);
    if (handle || region) {
      hooks.select(region);
      drag = { mode: handle ? 'handle' : 'move', region, handle, start: p, last: p, before: hooks.snapshot(), moved: false };
    } else if (st.tool === 'polygon') {
      if (!polygon) {
        polygon = makeRegion({ shape: 'polygon', points: [[p.x, p.y], [p.x, p.y]] });
        hooks.setDraft(polygon);
      } else {
        polygon.points.push([p.x, p.y]);
      }
    } else if (st.tool !== 'select') {
      const r = newShape(st.tool, p.x, p.y);
      drag = { mode: 'create', region: r, start: p, last: p, before: hooks.snapshot(), moved: false };
      hooks.setDraft(r);
    } else {
      if (st.selected) hooks.select(null);
      return; // the viewer pans
    }
    e.stopPropagation();
    e.preventDefault();
    window.addEventListener('pointermove', onMove, true);
    window.addEventListener('pointerup', onUp, true);
  }

  function onMove(e) {
    if (!drag) return;
    const p = local(e);
    if (Math.hypot(p.sx - drag.start.sx, p.sy - drag.start.sy) >= MIN_DRAG_PX) drag.moved = true;
    if (!drag.moved) return;
    const r = drag.region;
    if (drag.mode === 'move') moveBy(r, p.x - drag.last.x, p.y - drag.last.y);
    else if (drag.mode === 'handle') dragHandle(r, drag.handle, p.x, p.y);
    else shapeFromDrag(r, drag.start, p);
    drag.last = p;
    hooks.redraw();
    if (drag.mode !== 'create') hooks.live(r);
    e.stopPropagation();
  }

  function onUp(e) {
    window.removeEventListener('pointermove', onMove, true);
    window.removeEventListener('pointerup', onUp, true);
    const d = drag;
    drag = null;
    if (!d) return;
    e.stopPropagation();
    if (d.mode === 'create') {
      hooks.setDraft(null);
      hooks.add(d.region, d.before);
    } else if (d.moved) {
      hooks.changed(d.region, d.before);
    }
  }

  function finishPolygon() {
    if (!polygon) return;
    const r = polygon;
    polygon = null;
    hooks.setDraft(null);
    // the double-click's two presses added the last vertex twice
    const pts = r.points.filter((p, i) => i === 0 || Math.hypot(p[0] - r.points[i - 1][0], p[1] - r.points[i - 1][1]) > 1e-6);
    if (pts.length >= 3) { r.points = pts; hooks.add(r, hooks.snapshot()); }
  }

  function onDblClick(e) {
    if (!viewer.image) return;
    if (polygon) { finishPolygon(); e.stopPropagation(); e.preventDefault(); return; }
    const p = local(e);
    const r = regionAt(p.x, p.y);
    if (r) { hooks.select(r); hooks.openDialog(r); e.stopPropagation(); e.preventDefault(); }
  }

  function onHover(e) {
    if (drag) return;
    const p = local(e);
    if (polygon) { polygon.points[polygon.points.length - 1] = [p.x, p.y]; hooks.redraw(); }
    const over = hitHandle(viewer, st.selected, p.sx, p.sy) ? 'grab' : regionAt(p.x, p.y) ? 'move' : st.tool !== 'select' ? 'crosshair' : '';
    if (viewer.element.style.cursor !== over) viewer.element.style.cursor = over;
  }

  function onKey(e) {
    const tag = (document.activeElement?.tagName || '').toLowerCase();
    if (['input', 'textarea', 'select'].includes(tag) || document.querySelector('.modal-backdrop')) return;
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z') { hooks.undo(); e.preventDefault(); return; }
    if ((e.key === 'Delete' || e.key === 'Backspace') && st.selected) { hooks.remove(st.selected); e.preventDefault(); return; }
    if (e.key === 'Enter' && polygon) { finishPolygon(); return; }
    if (e.key === 'Escape') {
      if (polygon) { polygon = null; hooks.setDraft(null); } else if (st.selected) hooks.select(null); else if (st.tool !== 'select') hooks.setTool('select');
    }
  }

  host.addEventListener('pointerdown', onDown, true);
  host.addEventListener('dblclick', onDblClick, true);
  host.addEventListener('pointermove', onHover);
  document.addEventListener('keydown', onKey);
  return {
    cancel() { polygon = null; drag = null; hooks.setDraft(null); },
    detach() {
      host.removeEventListener('pointerdown', onDown, true);
      host.removeEventListener('dblclick', onDblClick, true);
      host.removeEventListener('pointermove', onHover);
      document.removeEventListener('keydown', onKey);
      window.removeEventListener('pointermove', onMove, true);
      window.removeEventListener('pointerup', onUp, true);
      viewer.element.style.cursor = '';
    },
  };
}
