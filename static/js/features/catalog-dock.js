// Catalog table helper (not a feature: not in main.js FEATURES): the dock's frame. The dock sits
// below the viewer, never over it: the viewer (with the marker popup, the navigator and the
// colorbar) ends where the dock begins (--dock-h on #viewer-wrap). Its top edge is a grip to
// resize it; the ▾ button folds it to its title row.

/**
 * Frame `dock` (a child of `wrap`): a resize grip (returned: the caller puts it first in the dock),
 * a fold button (put into `head` before its last child, the close button), and --dock-h on `wrap`
 * kept to the dock's height. Returns { grip, setFolded(folded), dispose() }.
 */
export function frameDock(el, dock, head, wrap) {
  const grip = el('div', { class: 'cat-grip', title: 'Drag to resize the table', role: 'separator', 'aria-orientation': 'horizontal' });
  const fold = el('button', { class: 'btn small cat-fold', title: 'Fold the table to its title row', 'aria-expanded': 'true',
    onclick: () => setFolded(!dock.classList.contains('folded')) }, '▾');
  head.insertBefore(fold, head.lastElementChild);
  function setFolded(folded) {
    dock.classList.toggle('folded', folded);
    fold.textContent = folded ? '▴' : '▾';
    fold.setAttribute('aria-expanded', String(!folded));
    fold.title = folded ? 'Unfold the table' : 'Fold the table to its title row';
  }
  const sizeObserver = new ResizeObserver(() => wrap?.style.setProperty('--dock-h', `${dock.hidden ? 0 : dock.offsetHeight}px`));
  sizeObserver.observe(dock);
  grip.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    grip.setPointerCapture(e.pointerId);
    setFolded(false);
    const total = wrap.getBoundingClientRect();
    const move = (ev) => {
      const h = Math.min(Math.max(total.bottom - ev.clientY, 120), total.height - 160);
      dock.style.height = `${Math.round(h)}px`;
    };
    const up = () => { grip.removeEventListener('pointermove', move); grip.removeEventListener('pointerup', up); };
    grip.addEventListener('pointermove', move);
    grip.addEventListener('pointerup', up);
  });
  return {
    grip,
    setFolded,
    dispose() {
      sizeObserver.disconnect();
      wrap?.style.removeProperty('--dock-h');
    },
  };
}
