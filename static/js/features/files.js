// File browser: folders and files under files/, recursive case-insensitive search, thumbnails,
// open with HDU choice; upload by button or drag-and-drop with a progress bar. Uploads are
// validated by the server (non-FITS or truncated: a clear message, nothing kept) and temporary.

import { formatBytes } from '../lib/format.js';

function fileRow({ api, escape: { el } }, entry, showPath, onChoose) {
  const thumb = entry.kind === 'fits'
    ? el('img', { class: 'thumb', src: api.url('/api/files/thumbnail', { path: entry.path, size: 96 }), alt: '', loading: 'lazy' })
    : el('div', { class: 'thumb' }, entry.kind === 'folder' ? '📁' : '·');
  if (thumb.tagName === 'IMG') thumb.addEventListener('error', () => thumb.replaceWith(el('div', { class: 'thumb' }, '?')));
  const meta = entry.kind === 'folder' ? 'folder' : `${formatBytes(entry.size)} · ${new Date(entry.mtime * 1000).toLocaleString()}`;
  const row = el('button', { class: 'file-row', type: 'button', dataset: { path: entry.path, kind: entry.kind } }, thumb,
    el('span', { class: 'name' }, showPath ? entry.path : entry.name), el('span', { class: 'meta' }, meta));
  row.addEventListener('click', () => onChoose(entry));
  return row;
}

async function uploadFiles({ api, ui }, files, onUploaded) {
  for (const file of files) {
    const id = `upload-${file.name}`;
    ui.progress(id, 0, `uploading ${file.name}`);
    try {
      const body = await api.upload('/api/files/upload', file, { onProgress: (f) => ui.progress(id, Math.min(f, 0.99), `uploading ${file.name}`) });
      ui.notify(`Uploaded ${body.name} (temporary: removed after ~${body.temporary_minutes} min)`, 'success');
      onUploaded(body);
    } catch (err) {
      ui.notify(`Upload of ${file.name} refused: ${err.detail || err}`, 'error');
    } finally {
      ui.progress(id, null);
    }
  }
}

function wireDrop(zone, targets, onFiles) {
  for (const target of targets) {
    target.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
    target.addEventListener('dragleave', () => zone.classList.remove('over'));
    target.addEventListener('drop', (e) => { e.preventDefault(); zone.classList.remove('over'); onFiles([...e.dataTransfer.files]); });
  }
}

/** The browser dialog: returns the modal; `search` pre-fills the recursive search. */
function openBrowser(ctx, search) {
  const { bus, api, ui, config, escape: { el } } = ctx;
  const modal = ui.openModal({ title: 'Open a file', wide: true, id: 'file-browser' });
  let folder = '';
  let searchTimer = 0;
  const crumbs = el('div', { class: 'crumbs', id: 'file-crumbs' });
  const searchBox = el('input', { type: 'search', id: 'file-search', placeholder: 'Search all files (case-insensitive)…', value: search, style: { flex: '1' } });
  const list = el('div', { class: 'file-list', id: 'file-list' });
  const fileInput = el('input', { type: 'file', id: 'upload-input', accept: '.fits,.fit,.fts,.fz,.gz,.fits.gz,.fit.gz,.fts.gz', hidden: true, multiple: true });
  const uploadButton = el('button', { class: 'btn primary', type: 'button', id: 'upload-button' }, 'Upload FITS…');
  const drop = el('div', { class: 'dropzone', id: 'upload-dropzone' },
    `Drop FITS files here to upload. Uploads are temporary: they are removed about ${config.cleanup_interval_minutes} minutes after upload.`);
  modal.body.append(el('div', { class: 'row' }, searchBox, uploadButton, fileInput), crumbs, list, drop);

  const show = (entries, emptyText) => {
    list.replaceChildren(...entries.map((e) => fileRow(ctx, e, !!searchBox.value.trim(), choose)));
    if (!entries.length) list.append(el('div', { class: 'muted', style: { padding: '10px' } }, emptyText));
    list.dataset.loaded = '1';
  };
  const choose = (e) => {
    if (e.kind === 'folder') { searchBox.value = ''; browse(e.path); return; }
    if (e.kind !== 'fits') { ui.notify(`${e.name} is not a FITS file`, 'warning'); return; }
    modal.close();
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
    try { show((await api.get('/api/files', { folder })).entries, 'empty folder'); } catch (err) { show([], err.detail || String(err)); }
  }
  async function runSearch() {
    const q = searchBox.value.trim();
    if (!q) { browse(folder); return; }
    crumbs.replaceChildren(el('span', { class: 'muted' }, `Search results for “${q}”`));
    try {
      const body = await api.get('/api/files/search', { q });
      if (searchBox.value.trim() === q) show(body.entries, `nothing matches “${q}”`);
    } catch (err) { show([], err.detail || String(err)); }
  }
  const upload = (files) => uploadFiles(ctx, files, () => { if (modal.body.isConnected) { searchBox.value = ''; browse('uploads'); } });
  searchBox.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 200); });
  uploadButton.addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => { upload([...fileInput.files]); fileInput.value = ''; });
  wireDrop(drop, [drop, list], upload);
  if (search) runSearch(); else browse('');
  searchBox.focus();
  return modal;
}

export function mount(ctx) {
  const { bus, ui } = ctx;
  let modal = null;
  const open = ({ search = '' } = {}) => {
    if (modal) modal.close();
    modal = openBrowser(ctx, search);
    const mine = modal;
    modal.onClose = () => { if (modal === mine) modal = null; };
  };
  const removers = [
    ui.addMenuItem('File', { label: 'Upload FITS…', id: 'menu-upload', onClick: () => { open(); document.getElementById('upload-input')?.click(); } }),
  ];
  const off = bus.on('files:browse', (d) => open(d || {}));
  return () => { off(); removers.forEach((r) => r()); if (modal) modal.close(); };
}
