// File browser: folders and files under files/, recursive case-insensitive search, thumbnails,
// open with HDU choice; upload by button or drag-and-drop with a progress bar. Uploads are
// validated by the server (non-FITS or truncated: a clear message, nothing kept) and temporary.

import { formatBytes } from '../lib/format.js';

export function mount(ctx) {
  const { bus, api, ui, config, escape: { el } } = ctx;
  let modal = null;

  function open({ search = '' } = {}) {
    if (modal) modal.close();
    modal = ui.openModal({ title: 'Open a file', wide: true, id: 'file-browser' });
    modal.onClose = () => { modal = null; };
    const m = modal;
    let folder = '';
    const crumbs = el('div', { class: 'crumbs', id: 'file-crumbs' });
    const searchBox = el('input', { type: 'search', id: 'file-search', placeholder: 'Search all files (case-insensitive)…', value: search, style: { flex: '1' } });
    const list = el('div', { class: 'file-list', id: 'file-list' });
    const fileInput = el('input', { type: 'file', id: 'upload-input', accept: '.fits,.fit,.fts,.fz', hidden: true, multiple: true });
    const uploadButton = el('button', { class: 'btn primary', type: 'button', id: 'upload-button' }, 'Upload FITS…');
    const minutes = config.cleanup_interval_minutes;
    const drop = el('div', { class: 'dropzone', id: 'upload-dropzone' },
      `Drop FITS files here to upload. Uploads are temporary: they are removed about ${minutes} minutes after upload.`);
    m.body.append(el('div', { class: 'row' }, searchBox, uploadButton, fileInput), crumbs, list, drop);

    const showEntries = (entries, emptyText) => {
      list.replaceChildren(...entries.map(row));
      if (!entries.length) list.append(el('div', { class: 'muted', style: { padding: '10px' } }, emptyText));
      list.dataset.loaded = '1';
    };
    const row = (e) => {
      const thumb = e.kind === 'fits'
        ? el('img', { class: 'thumb', src: api.url('/api/files/thumbnail', { path: e.path, size: 96 }), alt: '', loading: 'lazy' })
        : el('div', { class: 'thumb' }, e.kind === 'folder' ? '📁' : '·');
      if (thumb.tagName === 'IMG') thumb.addEventListener('error', () => thumb.replaceWith(el('div', { class: 'thumb' }, '?')));
      const meta = e.kind === 'folder' ? 'folder' : `${formatBytes(e.size)} · ${new Date(e.mtime * 1000).toLocaleString()}`;
      const b = el('button', { class: 'file-row', type: 'button', dataset: { path: e.path, kind: e.kind } }, thumb,
        el('span', { class: 'name' }, searchBox.value ? e.path : e.name), el('span', { class: 'meta' }, meta));
      b.addEventListener('click', () => choose(e));
      return b;
    };
    const choose = (e) => {
      if (e.kind === 'folder') { searchBox.value = ''; browse(e.path); return; }
      if (e.kind !== 'fits') { ui.notify(`${e.name} is not a FITS file`, 'warning'); return; }
      m.close();
      bus.emit('hdus:show', { path: e.path, openIfSingle: true });
    };
    const setCrumbs = () => {
      const parts = folder ? folder.split('/') : [];
      const items = [el('button', { type: 'button', onclick: () => browse('') }, 'files')];
      parts.forEach((p, i) => items.push(el('span', { class: 'muted' }, '/'), el('button', { type: 'button', onclick: () => browse(parts.slice(0, i + 1).join('/')) }, p)));
      crumbs.replaceChildren(...items);
    };
    async function browse(next) {
      folder = next;
      setCrumbs();
      try {
        const body = await api.get('/api/files', { folder });
        showEntries(body.entries, 'empty folder');
      } catch (err) { showEntries([], err.detail || String(err)); }
    }
    let searchTimer = 0;
    async function runSearch() {
      const q = searchBox.value.trim();
      if (!q) { browse(folder); return; }
      crumbs.replaceChildren(el('span', { class: 'muted' }, `Search results for “${q}”`));
      try {
        const body = await api.get('/api/files/search', { q });
        if (searchBox.value.trim() === q) showEntries(body.entries, `nothing matches “${q}”`);
      } catch (err) { showEntries([], err.detail || String(err)); }
    }
    searchBox.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 200); });

    async function upload(files) {
      for (const file of files) {
        const id = `upload-${file.name}`;
        ui.progress(id, 0, `uploading ${file.name}`);
        try {
          const body = await api.upload('/api/files/upload', file, { onProgress: (f) => ui.progress(id, Math.min(f, 0.99), `uploading ${file.name}`) });
          ui.notify(`Uploaded ${body.name} (temporary: removed after ~${body.temporary_minutes} min)`, 'success');
          if (m === modal) { searchBox.value = ''; browse('uploads'); }
        } catch (err) {
          ui.notify(`Upload of ${file.name} refused: ${err.detail || err}`, 'error');
        } finally {
          ui.progress(id, null);
        }
      }
    }
    uploadButton.addEventListener('click', () => fileInput.click());
    fileInput.addEventListener('change', () => { upload([...fileInput.files]); fileInput.value = ''; });
    for (const target of [drop, list]) {
      target.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
      target.addEventListener('dragleave', () => drop.classList.remove('over'));
      target.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); upload([...e.dataTransfer.files]); });
    }
    if (search) runSearch(); else browse('');
    searchBox.focus();
  }

  const removers = [
    ui.addMenuItem('File', { label: 'Upload FITS…', id: 'menu-upload', onClick: () => { open(); document.getElementById('upload-input')?.click(); } }),
  ];
  const off = bus.on('files:browse', (d) => open(d || {}));
  return () => { off(); removers.forEach((r) => r()); if (modal) modal.close(); };
}
