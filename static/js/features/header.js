// FITS header modal: the cards of one HDU (HISTORY and COMMENT included), paged and searched on
// the server (GET /api/images/header?offset=&limit=&q=), so a 100,000-card header opens at once.
// A header is untrusted data: cards reach the page only as text nodes.

const PAGE = 500;

export function mount(ctx) {
  const { bus, api, ui, viewer, escape: { el } } = ctx;

  async function show() {
    const image = viewer.image;
    if (!image) { ui.notify('Open an image first', 'warning'); return; }
    const modal = ui.openModal({ title: `Header: ${image.path} [HDU ${image.hdu}]`, wide: true, id: 'header-modal' });
    const search = el('input', { type: 'search', id: 'header-search', placeholder: 'Filter cards (keyword, value or comment)…', style: { width: '100%' } });
    const count = el('div', { class: 'muted', id: 'header-count' });
    const tbody = el('tbody', { id: 'header-rows' });
    const more = el('button', { class: 'btn small', type: 'button', id: 'header-more', hidden: true }, 'Show more cards');
    modal.body.append(search, count, el('table', { class: 'grid' }, el('thead', {}, el('tr', {}, el('th', {}, 'Keyword'), el('th', {}, 'Value'), el('th', {}, 'Comment'))), tbody), more);
    const text = (v) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
    const row = (c) => el('tr', {}, el('td', { class: 'mono' }, c.key), el('td', { class: 'mono' }, text(c.value)), el('td', { class: 'mono muted' }, c.comment || ''));
    let query = '';
    let shown = 0;
    let request = 0; // answers of superseded searches are dropped

    async function load(append) {
      const mine = ++request;
      const offset = append ? shown : 0;
      let page;
      try {
        page = await api.get('/api/images/header', { path: image.path, hdu: image.hdu, offset, limit: PAGE, q: query || undefined });
      } catch (err) {
        if (mine === request) count.textContent = `could not read the header: ${err.detail || err}`;
        return;
      }
      if (mine !== request) return;
      const rows = page.cards.map(row);
      if (append) tbody.append(...rows); else tbody.replaceChildren(...rows);
      shown = offset + rows.length;
      count.textContent = `${page.total} of ${page.count} cards${shown < page.total ? ` (first ${shown} shown)` : ''}`;
      more.hidden = shown >= page.total;
    }

    let timer = null;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { query = search.value.trim(); load(false); }, 150);
    });
    more.addEventListener('click', () => load(true));
    await load(false);
    search.focus();
  }
  const off = bus.on('header:show', show);
  return off;
}
