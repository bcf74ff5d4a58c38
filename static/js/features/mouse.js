// DS9's mouse habits on the image: right-drag changes contrast and bias (left/right moves the
// bias, up/down the contrast; the limits follow live, the original ones are kept to start from),
// middle-click centres the view on the clicked point. The browser's context menu stays off the image.
//
// Bus: emits display:set {vmin, vmax}. Uses ctx.viewer (element, screenToImage, panTo, display).

const LIVE_MS = 150; // at most one new rendering this often while dragging

/** DS9-like contrast/bias: the new limits after a drag of (dx, dy) as fractions of the viewer. */
export function contrastBias({ vmin, vmax }, dxFrac, dyFrac) {
  const centre = (vmin + vmax) / 2;
  const width = vmax - vmin;
  const next = width * Math.exp(2.5 * dyFrac);       // up (negative dy): narrower range, more contrast
  const shifted = centre - dxFrac * width;           // right: lower bias, brighter image
  return { vmin: shifted - next / 2, vmax: shifted + next / 2 };
}

export function mount(ctx) {
  const { viewer, bus, ui } = ctx;
  const host = viewer.host || viewer.element; // every panel's events; the active panel's element
  let drag = null;
  let timer = 0;
  let last = 0;

  function apply(e, final) {
    if (!drag) return;
    const r = viewer.element.getBoundingClientRect();
    const limits = contrastBias(drag.start, (e.clientX - drag.x) / r.width, (e.clientY - drag.y) / r.height);
    if (!(Number.isFinite(limits.vmin) && Number.isFinite(limits.vmax) && limits.vmax > limits.vmin)) return;
    drag.pending = limits;
    const now = performance.now();
    clearTimeout(timer);
    if (final || now - last >= LIVE_MS) { last = now; bus.emit('display:set', limits); drag.pending = null; }
    else timer = setTimeout(() => { if (drag?.pending) { last = performance.now(); bus.emit('display:set', drag.pending); } }, LIVE_MS);
  }

  const onDown = (e) => {
    if (!viewer.image) return;
    if (e.button === 2) {
      const d = viewer.display;
      if (!(Number.isFinite(d.vmin) && Number.isFinite(d.vmax))) return;
      e.preventDefault();
      e.stopPropagation();  // OpenSeadragon must not start a pan
      drag = { x: e.clientX, y: e.clientY, start: { vmin: d.vmin, vmax: d.vmax }, id: e.pointerId };
      viewer.element.setPointerCapture?.(e.pointerId);
      viewer.element.dataset.contrastDrag = '1';
    } else if (e.button === 1) {
      e.preventDefault();  // no autoscroll
      e.stopPropagation();
      const r = viewer.element.getBoundingClientRect();
      const p = viewer.screenToImage(e.clientX - r.left, e.clientY - r.top);
      viewer.panTo(p.x, p.y);
    }
  };
  const onMove = (e) => { if (drag && e.pointerId === drag.id) { e.stopPropagation(); apply(e, false); } };
  const onUp = (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    e.stopPropagation();
    apply(e, true);
    viewer.element.releasePointerCapture?.(e.pointerId);
    drag = null;
    delete viewer.element.dataset.contrastDrag;
  };
  const noMenu = (e) => { if (viewer.image) e.preventDefault(); };
  const noAuto = (e) => { if (e.button === 1) e.preventDefault(); };
  host.addEventListener('pointerdown', onDown, true);
  host.addEventListener('pointermove', onMove, true);
  host.addEventListener('pointerup', onUp, true);
  host.addEventListener('pointercancel', onUp, true);
  host.addEventListener('contextmenu', noMenu);
  host.addEventListener('mousedown', noAuto, true);
  const removers = [
    ui.addShortcut('Right-drag', 'contrast (up/down) and bias (left/right), as in DS9'),
    ui.addShortcut('Middle-click', 'centre the view on the clicked point'),
  ];
  return () => {
    clearTimeout(timer);
    host.removeEventListener('pointerdown', onDown, true);
    host.removeEventListener('pointermove', onMove, true);
    host.removeEventListener('pointerup', onUp, true);
    host.removeEventListener('pointercancel', onUp, true);
    host.removeEventListener('contextmenu', noMenu);
    host.removeEventListener('mousedown', noAuto, true);
    removers.forEach((r) => r());
  };
}
