// HDU chooser: every HDU of a file with thumbnails of the image HDUs and the recommended one
// marked; an HDU that cannot be shown (truncated file, refused WCS keywords...) says why and is
// not clickable. 'hdus:show' {path?, openIfSingle?} (default: the current file).

/** One line about an HDU: a table in rows and columns, an array by its length, an image by its axes. */
export function describe(h, shape) {
  const unit = `${h.bitpix ? ` BITPIX ${h.bitpix}` : ''}${h.bunit ? ` ${h.bunit}` : ''}`;
  if (h.kind === 'table') {
    const rows = h.shape.length ? h.shape[0] : 0;
    const cols = h.columns ?? null;
    return `table: ${rows.toLocaleString()} row${rows === 1 ? '' : 's'}${cols !== null ? ` × ${cols} column${cols === 1 ? '' : 's'}` : ''}`;
  }
  if (h.kind === 'array') {
    const n = h.shape.reduce((a, b) => a * b, 1);
    return `${h.shape.length}-D array, ${n.toLocaleString()} values (not an image)${unit}`;
  }
  if (h.kind === 'empty') return `no data${unit}`;
  return `image ${shape}${unit}`;
}

export function mount(ctx) {
  const { bus, api, ui, viewer, escape: { el } } = ctx;

  async function show({ path, openIfSingle = false } = {}) {
    const file = path || viewer.image?.path;
    if (!file) { bus.emit('files:browse', {}); return; }
    let listing;
    try {
      listing = await api.get('/api/images/hdus', { path: file });
    } catch (err) {
      bus.emit('image:error', { path: file, message: err.detail || String(err) });
      return;
    }
    const images = listing.hdus.filter((h) => h.kind === 'image' && !h.truncated && !h.problem);
    if (openIfSingle && images.length === 1) { bus.emit('image:open', { path: file, hdu: images[0].index }); return; }
    const modal = ui.openModal({ title: `HDUs of ${file}`, wide: true, id: 'hdu-chooser' });
    const current = viewer.image?.path === file ? viewer.image.hdu : null;
    const cards = listing.hdus.map((h) => {
      const isImage = h.kind === 'image' && !h.truncated && !h.problem;
      const why = h.truncated ? 'truncated: the file ends inside this HDU\'s data' : h.problem ? `cannot be shown: ${h.problem}` : '';
      const shape = h.shape.length ? [...h.shape].reverse().join('×') : '—';
      const card = el(isImage ? 'button' : 'div', { class: `hdu-card${h.index === current ? ' current' : ''}`, type: isImage ? 'button' : undefined, dataset: { hdu: String(h.index) } },
        isImage ? el('img', { src: api.url('/api/files/thumbnail', { path: file, hdu: h.index, size: 160 }), alt: '', loading: 'lazy' }) : el('div', { class: 'noimg' }, why ? 'unusable' : h.kind === 'empty' ? 'no data' : h.kind),
        el('div', {}, el('strong', {}, `${h.index}`), ` ${h.name || ''} `, h.index === listing.recommended ? el('span', { class: 'badge' }, 'recommended') : null),
        el('div', { class: 'muted mono hdu-desc' }, describe(h, shape)),
        why ? el('div', { class: 'hdu-problem' }, why) : el('div', { class: 'muted' }, h.has_celestial_wcs ? 'celestial WCS' : 'no celestial WCS'));
      if (isImage) card.addEventListener('click', () => { modal.close(); bus.emit('image:open', { path: file, hdu: h.index }); });
      return card;
    });
    modal.body.append(el('div', { class: 'hdu-grid' }, cards));
    if (!images.length) modal.body.append(el('p', { class: 'muted' }, 'This file holds no image HDU.'));
  }

  const off = bus.on('hdus:show', (d) => show(d || {}));
  return off;
}
