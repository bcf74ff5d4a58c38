// Toolbar: zoom buttons, menu entries for views and files, keyboard shortcuts.

const SHORTCUTS = { '+': 'in', '=': 'in', '-': 'out', f: 'fit', 1: 'one', o: 'open', h: 'header' };

export function mount(ctx) {
  const { bus, ui, viewer } = ctx;
  const actions = {
    in: () => viewer.zoomBy(1.5),
    out: () => viewer.zoomBy(1 / 1.5),
    fit: () => viewer.fit(),
    one: () => viewer.oneToOne(),
    open: () => bus.emit('files:browse', {}),
    header: () => bus.emit('header:show', {}),
  };
  const removers = [
    ui.addToolbarButton({ label: '−', title: 'Zoom out (-)', id: 'zoom-out', onClick: actions.out }),
    ui.addToolbarButton({ label: '+', title: 'Zoom in (+)', id: 'zoom-in', onClick: actions.in }),
    ui.addToolbarButton({ label: 'Fit', title: 'Fit the image (F)', id: 'zoom-fit', onClick: actions.fit }),
    ui.addToolbarButton({ label: '1:1', title: 'One screen pixel per image pixel (1)', id: 'zoom-1', onClick: actions.one }),
    ui.addMenuItem('File', { label: 'Open…', shortcut: 'O', id: 'menu-open', onClick: actions.open }),
    ui.addMenuItem('File', { label: 'Choose HDU…', id: 'menu-hdus', onClick: () => bus.emit('hdus:show', {}) }),
    ui.addMenuItem('File', { label: 'FITS header…', shortcut: 'H', id: 'menu-header', onClick: actions.header }),
    ui.addMenuItem('File', { separator: true }),
    ui.addMenuItem('File', { label: 'Export PNG…', id: 'menu-export', onClick: () => bus.emit('export:png', {}) }),
    ui.addMenuItem('File', { label: 'Copy link to this view', id: 'menu-copy-link', onClick: copyLink }),
    ui.addMenuItem('View', { label: 'Zoom in', shortcut: '+', onClick: actions.in }),
    ui.addMenuItem('View', { label: 'Zoom out', shortcut: '−', onClick: actions.out }),
    ui.addMenuItem('View', { label: 'Fit image', shortcut: 'F', onClick: actions.fit }),
    ui.addMenuItem('View', { label: 'Actual pixels (1:1)', shortcut: '1', onClick: actions.one }),
    ui.addMenuItem('View', { label: 'Toggle navigator', onClick: toggleNavigator }),
    ui.addMenuItem('Help', { label: 'Keyboard shortcuts', onClick: showShortcuts }),
    ui.addMenuItem('Help', { label: 'API documentation (/docs)', onClick: () => window.open('/docs', '_blank', 'noopener') }),
  ];

  function copyLink() {
    const link = window.location.href;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(link).then(() => ui.notify('Link copied', 'success'), () => ui.notify(link));
    } else {
      ui.notify(link, 'info', { timeout: 15000 });
    }
  }

  function toggleNavigator() {
    const nav = viewer.element.querySelector('.navigator');
    if (nav) nav.style.display = nav.style.display === 'none' ? '' : 'none';
  }

  function showShortcuts() {
    const { el } = ctx.escape;
    const modal = ui.openModal({ title: 'Keyboard and mouse shortcuts', id: 'shortcuts-dialog' });
    const rows = [['+ / −', 'zoom in / out'], ['F', 'fit the image'], ['1', 'actual pixels'], ['O', 'open a file'],
      ['H', 'FITS header'], ['← →', 'previous / next cube plane'], ['Wheel', 'zoom at the cursor'], ['Drag', 'pan'],
      ['Double-click', 'zoom in'], ...ui.shortcuts(), ['Esc', 'close dialogs and menus']];
    modal.body.append(el('table', { class: 'grid' }, el('tbody', {}, rows.map(([k, v]) => el('tr', {}, el('td', {}, el('kbd', {}, k)), el('td', {}, v))))));
  }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName))) return;
    if (document.querySelector('.modal-backdrop')) return;
    const action = SHORTCUTS[e.key];
    if (action) { e.preventDefault(); actions[action](); }
  }
  document.addEventListener('keydown', onKey);
  return () => { removers.forEach((r) => r()); document.removeEventListener('keydown', onKey); };
}
