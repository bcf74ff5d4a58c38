// Catalog table helper (not a feature: not in main.js FEATURES): the rows of one page (sortable
// headers with units and a statistics button, 1-based row numbers, selection classes) and the pager.
// Values reach the page as text only (el()).
import { fmtCell } from './catalog-stats.js';

export const PAGE_SIZES = [25, 50, 100, 250];

/**
 * Draw `page` (a /api/catalogs/rows body) into `table`. `columns` is the catalog's column list
 * (/api/catalogs/columns: dtype, unit, ucd, description); `sort` the current sort ("name" or
 * "-name"); rowClass(index) the classes of a row (0-based file-order index); onSort(name),
 * onStats(name) and onRow(index, event) answer the clicks.
 */
export function renderRows(el, table, { page, columns, sort, rowClass, onSort, onStats, onRow }) {
  const infos = new Map(columns.map((c) => [c.name, c]));
  const sortKey = sort.replace(/^-/, '');
  const headRow = el('tr', {}, el('th', { class: 'cat-rownum' }, '#'), ...page.columns.map((name) => {
    const info = infos.get(name);
    const arrow = sortKey === name ? (sort.startsWith('-') ? ' ▼' : ' ▲') : '';
    const title = info ? [info.dtype, info.unit, info.ucd, info.description].filter(Boolean).join(' · ') : 'computed';
    return el('th', { title },
      el('button', { class: 'cat-sort', dataset: { column: name }, onclick: () => onSort(name) }, name + arrow),
      info?.unit ? el('span', { class: 'cat-unit' }, info.unit) : null,
      el('button', { class: 'cat-stat-btn', title: `statistics of ${name}`, onclick: () => onStats(name) }, 'Σ'));
  }));
  const body = el('tbody');
  page.rows.forEach((row, i) => {
    const index = page.index[i];
    const tr = el('tr', { dataset: { row: String(index) }, class: rowClass(index) },
      el('td', { class: 'cat-rownum' }, String(index + 1)), ...row.map((v) => el('td', {}, fmtCell(v))));
    tr.addEventListener('click', (e) => onRow(index, e));
    body.append(tr);
  });
  table.replaceChildren(el('thead', {}, headRow), body);
}

/**
 * Draw the pager of `total` rows shown `limit` at a time from `offset`, with the count of selected
 * rows; onOffset(offset) and onLimit(limit) move or resize the page, onClearSelection() clears.
 */
export function renderPager(el, pager, { total, offset, limit, selected, onOffset, onLimit, onClearSelection }) {
  const pages = Math.max(1, Math.ceil(total / limit));
  const current = Math.floor(offset / limit) + 1;
  const go = (p) => onOffset((Math.min(Math.max(p, 1), pages) - 1) * limit);
  const size = el('select', { class: 'cat-page-size', onchange: (e) => onLimit(Number(e.target.value)) },
    PAGE_SIZES.map((n) => el('option', { value: String(n) }, `${n} rows`)));
  size.value = String(limit);
  const pageInput = el('input', { type: 'number', min: '1', max: String(pages), value: String(current), class: 'cat-page',
    onchange: (e) => go(Number(e.target.value)) });
  // replaceChildren() writes null as the text "null": only nodes go in
  pager.replaceChildren(...[
    el('button', { class: 'btn small', disabled: current <= 1, onclick: () => go(1) }, '«'),
    el('button', { class: 'btn small cat-prev', disabled: current <= 1, onclick: () => go(current - 1) }, '‹'),
    el('span', {}, 'page '), pageInput, el('span', {}, ` of ${pages.toLocaleString()}`),
    el('button', { class: 'btn small cat-next', disabled: current >= pages, onclick: () => go(current + 1) }, '›'),
    el('button', { class: 'btn small', disabled: current >= pages, onclick: () => go(pages) }, '»'),
    size,
    el('span', { class: 'muted cat-selected-count' }, selected ? `${selected} selected` : ''),
    selected ? el('button', { class: 'btn small', onclick: onClearSelection }, 'Clear selection') : null,
  ].filter(Boolean));
}
