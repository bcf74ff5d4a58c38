// Crosshair mode (DS9's Edit > Crosshair): a click locks the readout on a pixel, drawn as a
// crosshair across the image; the arrow keys move it one image pixel (Shift: ten). While locked,
// the coordinate panel, the pixel table and the magnifier follow the crosshair, not the pointer.
// Toggle: key C or View > Crosshair mode; Esc leaves the mode.
//
// Bus: emits crosshair:changed {x, y} (0-based pixel centre) or null when the mode ends; listens
// to viewer:click (only while ctx.viewer.clickMode is 'crosshair') and image:opened.

export function mount(ctx) {
  const { viewer, bus, ui } = ctx;
  let on = false;
  let at = null; // { x, y } integer pixel
  const layer = viewer.addCanvasLayer((g, v) => {
    if (!on || !at) return;
    const p = v.imageToScreen(at.x, at.y);
    const r = v.element.getBoundingClientRect();
    const half = Math.max(0.5 * v.imageScale(), 3);
    g.strokeStyle = '#ffd34a';
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(0, p.y); g.lineTo(p.x - half, p.y); g.moveTo(p.x + half, p.y); g.lineTo(r.width, p.y);
    g.moveTo(p.x, 0); g.lineTo(p.x, p.y - half); g.moveTo(p.x, p.y + half); g.lineTo(p.x, r.height);
    g.stroke();
    g.strokeRect(p.x - half, p.y - half, 2 * half, 2 * half);
  });
  layer.canvas.classList.add('crosshair-layer');

  function emit() {
    viewer.element.dataset.crosshair = on && at ? `${at.x},${at.y}` : '';
    bus.emit('crosshair:changed', on && at ? { ...at } : null);
    layer.redraw();
  }

  function setMode(value) {
    on = value;
    if (on) viewer.clickMode = 'crosshair';
    else if (viewer.clickMode === 'crosshair') viewer.clickMode = null;
    viewer.element.classList.toggle('crosshair-mode', on);
    menuItem?.classList.toggle('checked', on);
    if (on && !at && viewer.image) {
      const v = viewer.viewState();
      if (v) at = { x: Math.round(v.cx), y: Math.round(v.cy) };
    }
    emit();
  }

  function moveBy(dx, dy) {
    const image = viewer.image;
    if (!image || !at) return;
    at = { x: Math.min(Math.max(at.x + dx, 0), image.width - 1), y: Math.min(Math.max(at.y + dy, 0), image.height - 1) };
    emit();
  }

  const KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
  function onKey(e) {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName))) return;
    if (document.querySelector('.modal-backdrop')) return;
    if ((e.key === 'c' || e.key === 'C') && viewer.image) { e.preventDefault(); setMode(!on); return; }
    if (!on) return;
    if (e.key === 'Escape') { setMode(false); return; }
    const step = KEYS[e.key];
    if (step) {
      e.preventDefault();
      e.stopImmediatePropagation();  // arrows move the crosshair, not the cube plane, in this mode
      const k = e.shiftKey ? 10 : 1;
      moveBy(step[0] * k, step[1] * k);
    }
  }
  document.addEventListener('keydown', onKey, true);

  const offs = [
    bus.on('viewer:click', ({ x, y }) => {
      if (!on || viewer.clickMode !== 'crosshair') return;
      const image = viewer.image;
      if (!image) return;
      at = { x: Math.min(Math.max(Math.round(x), 0), image.width - 1), y: Math.min(Math.max(Math.round(y), 0), image.height - 1) };
      emit();
    }),
    bus.on('image:opened', () => { at = null; if (on) setMode(true); }),
  ];
  const menuRemove = ui.addMenuItem('View', { label: 'Crosshair mode', shortcut: 'C', id: 'menu-crosshair', onClick: () => setMode(!on) });
  const menuItem = document.getElementById('menu-crosshair');
  const removers = [
    menuRemove,
    ui.addShortcut('C', 'crosshair mode: click locks the readout on a pixel'),
    ui.addShortcut('← → ↑ ↓', 'move the crosshair one pixel (Shift: ten); cube planes otherwise'),
  ];
  return () => {
    if (on) setMode(false);
    offs.forEach((off) => off());
    removers.forEach((r) => r());
    document.removeEventListener('keydown', onKey, true);
    layer.remove();
  };
}
