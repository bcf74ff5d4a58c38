// Magnifier (DS9's magnifier): a box beside the cursor showing the pixels around it enlarged 4x
// (tiles and overlay markers as drawn on the screen, without smoothing, a box on the centre pixel).
// Follows the crosshair when it holds the readout. Toggle: key M or View > Magnifier (remembered).
//
// Bus: listens to viewer:pointer-move, crosshair:changed, viewport:changed.

const ZOOM = 4;
const SIZE = 144; // CSS px
const KEY = 'neloura:magnifier';

export function mount(ctx) {
  const { viewer, bus, ui, escape: { el } } = ctx;
  const canvas = el('canvas', { class: 'magnifier', id: 'magnifier', width: String(SIZE), height: String(SIZE), hidden: true, 'aria-hidden': 'true' });
  viewer.element.parentElement.append(canvas);
  let on = false;
  try { on = window.localStorage.getItem(KEY) === '1'; } catch { /* not remembered */ }
  let at = null; // screen position (CSS px in the viewer) of the magnified point
  let locked = null;
  let frame = 0;

  function draw() {
    frame = 0;
    const source = viewer.tileCanvas();
    if (!on || !at || !viewer.image || !source) { canvas.hidden = true; return; }
    const dpr = window.devicePixelRatio || 1;
    canvas.width = SIZE * dpr;
    canvas.height = SIZE * dpr;
    canvas.style.width = `${SIZE}px`;
    canvas.style.height = `${SIZE}px`;
    const g = canvas.getContext('2d');
    g.imageSmoothingEnabled = false;
    g.fillStyle = '#000';
    g.fillRect(0, 0, canvas.width, canvas.height);
    const span = SIZE / ZOOM; // CSS px of the viewer shown
    const sx = (at.x - span / 2) * dpr;
    const sy = (at.y - span / 2) * dpr;
    g.drawImage(source, sx, sy, span * dpr, span * dpr, 0, 0, canvas.width, canvas.height);
    for (const c of viewer.element.querySelectorAll('.overlay-layer canvas, canvas.viewer-layer')) {
      if (c.hidden || !c.width || c === canvas) continue;
      const k = c.width / viewer.element.getBoundingClientRect().width;  // this layer's px per CSS px
      g.drawImage(c, (at.x - span / 2) * k, (at.y - span / 2) * k, span * k, span * k, 0, 0, canvas.width, canvas.height);
    }
    const px = Math.max(viewer.imageScale() * ZOOM * dpr, 3);
    g.strokeStyle = '#ffd34a';
    g.lineWidth = dpr;
    g.strokeRect(canvas.width / 2 - px / 2, canvas.height / 2 - px / 2, px, px);
    // beside the cursor, flipped towards the inside near the edges
    const box = viewer.element.getBoundingClientRect();
    const left = at.x + 24 + SIZE > box.width ? at.x - 24 - SIZE : at.x + 24;
    const top = at.y + 24 + SIZE > box.height ? at.y - 24 - SIZE : at.y + 24;
    // the magnifier sits in the element holding every panel: the active panel may not be at its origin
    const host = canvas.parentElement.getBoundingClientRect();
    canvas.style.left = `${box.left - host.left + Math.max(0, left)}px`;
    canvas.style.top = `${box.top - host.top + Math.max(0, top)}px`;
    canvas.hidden = false;
  }
  const schedule = () => { if (!frame) frame = requestAnimationFrame(draw); };

  function setOn(value) {
    on = value;
    try { window.localStorage.setItem(KEY, on ? '1' : '0'); } catch { /* not remembered */ }
    document.getElementById('menu-magnifier')?.classList.toggle('checked', on);
    schedule();
  }

  function onKey(e) {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName))) return;
    if (document.querySelector('.modal-backdrop')) return;
    if (e.key === 'm' || e.key === 'M') { e.preventDefault(); setOn(!on); }
  }
  document.addEventListener('keydown', onKey);
  const offs = [
    bus.on('viewer:pointer-move', (p) => {
      if (locked) return;
      at = p ? viewer.imageToScreen(p.x, p.y) : null;
      schedule();
    }),
    bus.on('crosshair:changed', (c) => { locked = c; if (c) at = viewer.imageToScreen(c.x, c.y); schedule(); }),
    viewer.onViewportChange(() => { if (locked) at = viewer.imageToScreen(locked.x, locked.y); schedule(); }),
  ];
  const removers = [
    ui.addMenuItem('View', { label: 'Magnifier', shortcut: 'M', id: 'menu-magnifier', onClick: () => setOn(!on) }),
    ui.addShortcut('M', 'magnifier beside the cursor (4×)'),
  ];
  document.getElementById('menu-magnifier')?.classList.toggle('checked', on);
  return () => {
    cancelAnimationFrame(frame);
    document.removeEventListener('keydown', onKey);
    offs.forEach((off) => off());
    removers.forEach((r) => r());
    canvas.remove();
  };
}
