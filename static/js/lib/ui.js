// DOM scaffolding shared by features: toolbar menus and buttons, side panels, modals,
// notifications and progress bars. Text only (el() / textContent), never innerHTML.

import { el } from './escape.js';

export const MENUS = ['File', 'View', 'Scale', 'Colormap', 'Catalogs', 'Analysis', 'Help'];

function closeMenus(except) {
  for (const m of document.querySelectorAll('.menu.open')) if (m !== except) m.classList.remove('open');
}

function buildMenubar(root) {
  const menus = new Map();
  for (const name of MENUS) {
    const list = el('div', { class: 'menu-list', role: 'menu' });
    const button = el('button', { class: 'menu-button', type: 'button', 'aria-haspopup': 'true', dataset: { menu: name } }, name);
    const menu = el('div', { class: 'menu', dataset: { menu: name } }, button, list);
    button.addEventListener('click', (e) => {
      e.stopPropagation();
      const open = !menu.classList.contains('open');
      closeMenus(menu);
      menu.classList.toggle('open', open);
    });
    button.addEventListener('mouseenter', () => {
      if (document.querySelector('.menu.open') && !menu.classList.contains('open')) { closeMenus(menu); menu.classList.add('open'); }
    });
    menus.set(name, { menu, list });
    root.append(menu);
  }
  document.addEventListener('click', () => closeMenus(null));
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeMenus(null); });
  return menus;
}

export function createUi(doc = document) {
  const menus = buildMenubar(doc.getElementById('menubar'));
  const buttons = doc.getElementById('toolbar-buttons');
  const sidebar = doc.getElementById('sidebar');
  const notices = doc.getElementById('notifications');
  const progressArea = doc.getElementById('progress-area');
  const modalRoot = doc.getElementById('modal-root');
  const bars = new Map();
  // Narrow windows (see app.css): the side panels become a drawer over the viewer, opened by this
  // toolbar button (hidden on wide screens), by a panel shown from a user's click, closed by Esc.
  const drawerButton = el('button', { class: 'tool drawer-toggle', type: 'button', id: 'drawer-toggle', title: 'Show or hide the side panels',
    'aria-controls': 'sidebar', 'aria-expanded': 'false' }, '☰ Panels');
  const setDrawer = (open) => { doc.body.classList.toggle('drawer-open', open); drawerButton.setAttribute('aria-expanded', String(open)); };
  drawerButton.addEventListener('click', (e) => { e.stopPropagation(); setDrawer(!doc.body.classList.contains('drawer-open')); });
  doc.getElementById('toolbar').append(drawerButton);
  doc.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !doc.querySelector('.modal-backdrop')) setDrawer(false); });
  // a panel shown within a few seconds of a click or key press was asked for by the user (a menu
  // item, or a result the user started, such as an RGB build): it opens the drawer; panels shown
  // by start-up code (deep links, the first visit's demo) leave it closed
  let lastInput = -1e9;
  for (const type of ['pointerdown', 'keydown']) doc.addEventListener(type, () => { lastInput = performance.now(); }, true);
  const byUser = () => performance.now() - lastInput < 10000;

  const shortcuts = [];
  const ui = {
    /** List a keyboard or mouse shortcut in Help > Keyboard shortcuts: -> remove(). */
    addShortcut(keys, action) {
      const entry = [keys, action];
      shortcuts.push(entry);
      return () => { const i = shortcuts.indexOf(entry); if (i >= 0) shortcuts.splice(i, 1); };
    },
    /** The shortcuts features listed, as [keys, action] pairs. */
    shortcuts: () => shortcuts.map((e) => [...e]),
    /** Open or close the side-panel drawer (narrow windows only; wide ones always show the panels). */
    setDrawer,
    addMenuItem(menuName, { label, onClick, id, shortcut, separator } = {}) {
      const entry = menus.get(menuName);
      if (!entry) throw new Error(`unknown menu ${menuName} (menus: ${MENUS.join(', ')})`);
      const item = separator
        ? el('div', { class: 'menu-sep', role: 'separator' })
        : el('button', { class: 'menu-item', type: 'button', role: 'menuitem', id }, el('span', {}, label), shortcut ? el('kbd', {}, shortcut) : null);
      if (!separator) item.addEventListener('click', (e) => { e.stopPropagation(); closeMenus(null); onClick(e); });
      entry.list.append(item);
      return () => item.remove();
    },
    addToolbarButton({ label, title, onClick, id }) {
      const b = el('button', { class: 'tool', type: 'button', title, id, 'aria-label': title || label }, label);
      b.addEventListener('click', onClick);
      buttons.append(b);
      return () => b.remove();
    },
    addPanel({ id, title, open = true, order = 50 }) {
      const body = el('div', { class: 'panel-body' });
      const head = el('button', { class: 'panel-head', type: 'button', 'aria-expanded': String(open) }, el('span', { class: 'chev' }), title);
      const panel = el('section', { class: `panel${open ? ' open' : ''}`, id, style: { order: String(order) } }, head, body);
      const setOpen = (v) => { panel.classList.toggle('open', v); head.setAttribute('aria-expanded', String(v)); };
      head.addEventListener('click', () => setOpen(!panel.classList.contains('open')));
      sidebar.append(panel);
      if (open && byUser()) setDrawer(true);  // a panel a user's action brings (e.g. an RGB result) is shown
      return {
        element: body,
        panel,
        show() { panel.hidden = false; setOpen(true); if (byUser()) { setDrawer(true); panel.scrollIntoView({ block: 'nearest' }); } },
        hide() { panel.hidden = true; },
        toggle() { setOpen(!panel.classList.contains('open')); },
        remove() { panel.remove(); },
      };
    },
    openModal({ title, wide = false, id } = {}) {
      const body = el('div', { class: 'modal-body' });
      const closeButton = el('button', { class: 'modal-close', type: 'button', title: 'Close', 'aria-label': 'Close' }, '×');
      const box = el('div', { class: `modal${wide ? ' wide' : ''}`, role: 'dialog', 'aria-modal': 'true', id },
        el('header', { class: 'modal-head' }, el('h2', {}, title || ''), closeButton), body);
      const backdrop = el('div', { class: 'modal-backdrop' }, box);
      let onClose = null;
      const close = () => {
        if (!backdrop.isConnected) return;
        backdrop.remove();
        doc.removeEventListener('keydown', onKey);
        if (onClose) onClose();
      };
      const onKey = (e) => { if (e.key === 'Escape') close(); };
      closeButton.addEventListener('click', close);
      backdrop.addEventListener('mousedown', (e) => { if (e.target === backdrop) close(); });
      doc.addEventListener('keydown', onKey);
      modalRoot.append(backdrop);
      return { body, box, close, set onClose(fn) { onClose = fn; } };
    },
    notify(message, level = 'info', { timeout } = {}) {
      const note = el('div', { class: `notice ${level}`, role: level === 'error' ? 'alert' : 'status' },
        el('span', { class: 'notice-text' }, String(message)),
        el('button', { class: 'notice-close', type: 'button', 'aria-label': 'Dismiss' }, '×'));
      note.querySelector('.notice-close').addEventListener('click', () => note.remove());
      notices.append(note);
      const ms = timeout ?? (level === 'error' ? 12000 : 5000);
      if (ms > 0) setTimeout(() => note.remove(), ms);
      while (notices.children.length > 6) notices.firstElementChild.remove();
      return () => note.remove();
    },
    progress(id, fraction, label = '') {
      let bar = bars.get(id);
      if (fraction === null || fraction === undefined || fraction >= 1) {
        if (bar) { bar.root.remove(); bars.delete(id); }
        return;
      }
      if (!bar) {
        const fill = el('div', { class: 'progress-fill' });
        const text = el('span', { class: 'progress-label' });
        bar = { root: el('div', { class: 'progress', dataset: { id } }, text, el('div', { class: 'progress-track' }, fill)), fill, text };
        bars.set(id, bar);
        progressArea.append(bar.root);
      }
      bar.fill.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
      bar.text.textContent = label;
    },
  };
  return ui;
}
