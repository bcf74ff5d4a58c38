// Catalog table helper (not a feature: not in main.js FEATURES): cell formatting and the per-column
// statistics view (facts list, histogram of a numeric column drawn on a canvas, top values otherwise).
// Values reach the page as text only (el() / canvas fillText).

/** A table cell's text: integers as they are, other numbers to 8 significant digits. */
export function fmtCell(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(8)));
  if (Array.isArray(value)) return `[${value.map(fmtCell).join(', ')}]`;
  return String(value);
}

/**
 * Show the statistics of `column` in `box`: fetch(column) resolves to the /api/catalogs/stats body
 * (the caller adds the catalog, filter and computed columns); errors are shown in the box.
 */
export async function showStats(el, box, column, fetch) {
  box.hidden = false;
  box.replaceChildren(el('div', { class: 'muted' }, `statistics of ${column}…`));
  try {
    const s = await fetch(column);
    const facts = s.kind === 'num'
      ? [['count', s.count], ['nulls', s.nulls], ['min', s.min], ['max', s.max], ['mean', s.mean], ['std', s.std], ['median', s.median]]
      : [['count', s.count], ['nulls', s.nulls], ['distinct', s.distinct]];
    const list = el('dl', { class: 'cat-facts' }, ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, fmtCell(v))]));
    const chart = s.kind === 'num' ? histogram(el, s.histogram) : topValues(el, s.top);
    box.replaceChildren(el('div', { class: 'cat-stats-head' }, el('strong', {}, column),
      el('button', { class: 'btn small', onclick: () => { box.hidden = true; } }, '×')), list, chart);
  } catch (err) {
    box.replaceChildren(el('div', { class: 'cat-error' }, err.detail || String(err)));
  }
}

function histogram(el, { edges, counts }) {
  const canvas = el('canvas', { class: 'cat-hist', width: '360', height: '110' });
  const g = canvas.getContext('2d');
  const peak = Math.max(1, ...counts);
  const w = canvas.width / Math.max(1, counts.length);
  g.fillStyle = getComputedStyle(document.body).getPropertyValue('--accent') || '#4da3ff';
  counts.forEach((n, i) => { const h = (n / peak) * (canvas.height - 14); g.fillRect(i * w, canvas.height - 12 - h, Math.max(1, w - 1), h); });
  g.fillStyle = '#aab';
  g.font = '10px monospace';
  if (edges.length) {
    g.fillText(fmtCell(edges[0]), 0, canvas.height - 1);
    const last = fmtCell(edges[edges.length - 1]);
    g.fillText(last, canvas.width - g.measureText(last).width, canvas.height - 1);
  }
  return canvas;
}

function topValues(el, top) {
  return el('table', { class: 'cat-top' }, ...(top || []).map(([v, n]) => el('tr', {}, el('td', {}, v), el('td', {}, String(n)))));
}
