// Cone search and cross-match dialogs (Catalogs menu). Results are shown as tables (text only);
// a cross-match shows the joined table (both catalogs' columns, clashing names suffixed, unmatched
// rows on request, TOPCAT-style) and exports it (GET /api/catalogs/crossmatch/export)
// and can be shown on the image: the overlay draws the catalog and highlights the rows found
// (overlay:show + catalog:rows-selected, which the table view also follows).

const SHOWN_ROWS = 100;

function fmt(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(8)));
  return String(v);
}

export function mount(ctx) {
  const { el } = ctx.escape;
  let catalogs = [];

  async function listCatalogs() {
    try {
      const body = await ctx.api.get('/api/catalogs');
      catalogs = (body.catalogs || []).map((c) => c.name);
    } catch (e) {
      ctx.ui.notify(e.detail || String(e), 'error');
    }
    return catalogs;
  }

  function select(names, value) {
    const node = el('select', {}, names.map((n) => el('option', { value: n }, n)));
    if (value && names.includes(value)) node.value = value;
    return node;
  }

  function resultTable(columns, rows) {
    return el('div', { class: 'xm-table-wrap' }, el('table', { class: 'xm-table' },
      el('thead', {}, el('tr', {}, columns.map((c) => el('th', { text: c })))),
      el('tbody', {}, rows.map((r) => el('tr', {}, r.map((v) => el('td', { text: fmt(v) })))))));
  }

  function showOnImage(name, rows) {
    ctx.bus.emit('overlay:show', { name });
    ctx.bus.emit('catalog:rows-selected', { name, rows });
  }

  async function viewCentre() {
    const image = ctx.viewer.image;
    const view = ctx.state().view;
    if (!image || !view) return null;
    const px = await ctx.api.get('/api/images/pixel', { path: image.path, hdu: image.hdu, plane: image.plane || 0,
      x: Math.round(view.cx), y: Math.round(view.cy) });
    return px.ra_deg === null || px.ra_deg === undefined ? null : { ra: px.ra_deg, dec: px.dec_deg };
  }

  async function openCone() {
    const names = await listCatalogs();
    const modal = ctx.ui.openModal({ title: 'Cone search', wide: true, id: 'cone-dialog' });
    const name = select(names);
    const ra = el('input', { type: 'text', placeholder: 'RA: degrees or hh:mm:ss', name: 'ra' });
    const dec = el('input', { type: 'text', placeholder: 'Dec: degrees or ±dd:mm:ss', name: 'dec' });
    const radius = el('input', { type: 'number', value: '60', min: '0', step: 'any', name: 'radius' });
    const filter = el('input', { type: 'text', placeholder: 'optional filter, e.g. flux > 10', name: 'filter' });
    const out = el('div', { class: 'xm-out' });
    const centre = el('button', { type: 'button', onclick: async () => {
      try {
        const c = await viewCentre();
        if (!c) { ctx.ui.notify('the open image has no sky position here', 'warning'); return; }
        ra.value = c.ra.toFixed(6);
        dec.value = c.dec.toFixed(6);
      } catch (e) { ctx.ui.notify(e.detail || String(e), 'error'); }
    } }, 'View centre');
    const run = el('button', { type: 'button', class: 'primary', onclick: async () => {
      out.replaceChildren(el('div', { text: 'searching…' }));
      try {
        const body = await ctx.api.get('/api/catalogs/cone', { name: name.value, ra: ra.value, dec: dec.value,
          radius_arcsec: radius.value, filter: filter.value, limit: SHOWN_ROWS });
        const show = el('button', { type: 'button', onclick: async () => {
          const all = await ctx.api.get('/api/catalogs/cone', { name: name.value, ra: ra.value, dec: dec.value,
            radius_arcsec: radius.value, filter: filter.value, columns: body.columns[0], limit: 10000 });
          showOnImage(name.value, all.index);
        } }, 'Show on image');
        out.replaceChildren(el('div', { class: 'xm-summary', text: `${body.total} rows within ${radius.value}″ (nearest first)` }),
          show, resultTable(['row', ...body.columns], body.rows.map((r, k) => [body.index[k], ...r])));
      } catch (e) {
        out.replaceChildren(el('div', { class: 'xm-error', text: e.detail || String(e) }));
      }
    } }, 'Search');
    modal.body.append(el('div', { class: 'xm-form' }, el('label', {}, 'Catalog ', name), el('label', {}, 'RA ', ra),
      el('label', {}, 'Dec ', dec), centre, el('label', {}, 'Radius (arcsec) ', radius), el('label', {}, 'Filter ', filter), run), out);
  }

  async function openMatch() {
    const names = await listCatalogs();
    const modal = ctx.ui.openModal({ title: 'Cross-match', wide: true, id: 'crossmatch-dialog' });
    const a = select(names);
    const b = select(names, names[1]);
    const radius = el('input', { type: 'number', value: '1', min: '0', step: 'any', name: 'radius' });
    const mode = el('select', {}, el('option', { value: 'best' }, 'best match per A row'), el('option', { value: 'all' }, 'all pairs'));
    // TOPCAT's joins: 1 and 2 / all from 1 / 1 or 2; "pairs" is the bare (row A, row B, separation) list
    const join = el('select', { name: 'join', id: 'crossmatch-join' },
      el('option', { value: 'matched' }, 'joined: matched rows'), el('option', { value: 'left' }, 'joined: every A row'),
      el('option', { value: 'full' }, 'joined: every row of A or B'), el('option', { value: 'none' }, 'pairs only (row numbers)'));
    const suffixA = el('input', { type: 'text', value: '_1', name: 'suffix_a', class: 'xm-suffix', title: 'suffix of A columns whose names clash' });
    const suffixB = el('input', { type: 'text', value: '_2', name: 'suffix_b', class: 'xm-suffix', title: 'suffix of B columns whose names clash' });
    const out = el('div', { class: 'xm-out' });
    const run = el('button', { type: 'button', class: 'primary', id: 'crossmatch-run', onclick: async () => {
      out.replaceChildren(el('div', { text: 'matching… (indexes are built on first use)' }));
      const body = { a: a.value, b: b.value, radius_arcsec: Number(radius.value), mode: mode.value };
      const joined = { ...body, join: join.value, suffix_a: suffixA.value, suffix_b: suffixB.value };
      try {
        const res = await ctx.api.post('/api/catalogs/crossmatch', { ...joined, limit: SHOWN_ROWS });
        const show = el('button', { type: 'button', onclick: async () => {
          const all = await ctx.api.post('/api/catalogs/crossmatch', { ...body, limit: 100000 });
          showOnImage(a.value, [...new Set(all.pairs.map((p) => p[0]))]);
        } }, 'Show matched A rows on image');
        const summary = `${res.total} pairs; ${res.matched_a} rows of ${a.value} matched`;
        if (join.value === 'none') {
          out.replaceChildren(el('div', { class: 'xm-summary', text: summary }),
            show, resultTable([`row of ${a.value}`, `row of ${b.value}`, 'separation (arcsec)'], res.pairs));
          return;
        }
        const format = el('select', { class: 'xm-export-format' }, ['csv', 'fits', 'votable', 'parquet'].map((f) => el('option', { value: f }, f.toUpperCase())));
        const link = el('a', { class: 'btn xm-export', id: 'crossmatch-export', download: '' }, 'Export joined table');
        const setLink = () => { link.href = ctx.api.url('/api/catalogs/crossmatch/export', { ...joined, format: format.value }); };
        format.addEventListener('change', setLink);
        setLink();
        const shown = res.rows.length < res.joined_total ? ` (first ${res.rows.length} shown; the export holds all)` : '';
        out.replaceChildren(el('div', { class: 'xm-summary', text: `${summary}; joined table: ${res.joined_total} rows × ${res.columns.length} columns${shown}` }),
          el('div', { class: 'xm-actions' }, show, format, link),
          resultTable(['A row', 'B row', ...res.columns], res.rows.map((r, k) => [res.rows_a[k], res.rows_b[k], ...r])));
      } catch (e) {
        out.replaceChildren(el('div', { class: 'xm-error', text: e.detail || String(e) }));
      }
    } }, 'Match');
    modal.body.append(el('div', { class: 'xm-form' }, el('label', {}, 'A ', a), el('label', {}, 'B ', b),
      el('label', {}, 'Radius (arcsec) ', radius), el('label', {}, 'Mode ', mode), el('label', {}, 'Result ', join),
      el('label', {}, 'Suffixes ', suffixA, suffixB), run), out);
  }

  const removers = [
    ctx.ui.addMenuItem('Catalogs', { label: 'Cone search…', onClick: openCone, id: 'menu-cone' }),
    ctx.ui.addMenuItem('Catalogs', { label: 'Cross-match…', onClick: openMatch, id: 'menu-crossmatch' }),
  ];
  return () => removers.forEach((remove) => remove());
}
