// FITS header modal: every card (HISTORY and COMMENT included), searchable. A header is
// untrusted data: cards reach the page only as text nodes.

export function mount(ctx) {
  const { bus, api, ui, viewer, escape: { el } } = ctx;

  async function show() {
    const image = viewer.image;
    if (!image) { ui.notify('Open an image first', 'warning'); return; }
    const modal = ui.openModal({ title: `Header: ${image.path} [HDU ${image.hdu}]`, wide: true, id: 'header-modal' });
    const search = el('input', { type: 'search', id: 'header-search', placeholder: 'Filter cards (keyword, value or comment)…', style: { width: '100%' } });
    const count = el('div', { class: 'muted', id: 'header-count' });
    const tbody = el('tbody', { id: 'header-rows' });
    modal.body.append(search, count, el('table', { class: 'grid' }, el('thead', {}, el('tr', {}, el('th', {}, 'Keyword'), el('th', {}, 'Value'), el('th', {}, 'Comment'))), tbody));
    let cards;
    try {
      cards = (await api.get('/api/images/header', { path: image.path, hdu: image.hdu })).cards;
    } catch (err) {
      count.textContent = `could not read the header: ${err.detail || err}`;
      return;
    }
    const text = (v) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
    const rows = cards.map((c) => {
      const tr = el('tr', {}, el('td', { class: 'mono' }, c.key), el('td', { class: 'mono' }, text(c.value)), el('td', { class: 'mono muted' }, c.comment || ''));
      return { tr, hay: `${c.key} ${text(c.value)} ${c.comment || ''}`.toLowerCase() };
    });
    const CHUNK = 2000; // very large headers: render the first rows, the rest on demand
    const render = () => {
      const q = search.value.trim().toLowerCase();
      const shown = q ? rows.filter((r) => r.hay.includes(q)) : rows;
      tbody.replaceChildren(...shown.slice(0, CHUNK).map((r) => r.tr));
      count.textContent = `${shown.length} of ${rows.length} cards${shown.length > CHUNK ? ` (first ${CHUNK} shown; filter to narrow)` : ''}`;
    };
    search.addEventListener('input', render);
    render();
    search.focus();
  }
  const off = bus.on('header:show', show);
  return off;
}
