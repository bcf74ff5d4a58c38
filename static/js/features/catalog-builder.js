// Catalog table helper (not a feature: not in main.js FEATURES): the condition builder, which turns
// column / operator / value picks into filter-language text appended to the table's filter.

const OPERATORS = ['==', '!=', '<', '<=', '>', '>=', 'contains', 'is null', 'is not null'];

/** One condition of the builder as filter-language text (strings quoted and escaped). */
export function conditionText(column, op, value, kind) {
  const ref = /^[A-Za-z_][A-Za-z0-9_]*$/.test(column) ? column : `\`${column}\``;
  if (op === 'is null' || op === 'is not null') return `${ref} ${op}`;
  if (kind === 'str') return `${ref} ${op} "${String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  if (kind === 'bool') return op === '!=' ? `!${ref}` : ref;
  const number = Number(String(value).trim());
  if (String(value).trim() === '' || !Number.isFinite(number)) throw new Error(`"${value}" is not a number`);
  return `${ref} ${op} ${number}`;
}

/** Append a condition to a filter with && or ||, parenthesising what was there. */
export function combine(filter, condition, join) {
  const current = (filter || '').trim();
  if (!current) return condition;
  return `(${current}) ${join === 'OR' ? '||' : '&&'} ${condition}`;
}

/**
 * Fill `box` with the builder's controls for these catalog columns ({name, kind} each).
 * "Add condition" calls onAdd(conditionText, join) or onError(message) when the value is unusable.
 */
export function renderBuilder(el, box, columns, { onAdd, onError }) {
  const usable = columns.filter((c) => ['num', 'str', 'bool'].includes(c.kind));
  const column = el('select', { class: 'cb-column' }, usable.map((c) => el('option', { value: c.name }, c.name)));
  const op = el('select', { class: 'cb-op' }, OPERATORS.map((o) => el('option', { value: o }, o)));
  const value = el('input', { type: 'text', class: 'cb-value', placeholder: 'value' });
  const join = el('select', { class: 'cb-join' }, ['AND', 'OR'].map((j) => el('option', { value: j }, j)));
  const add = el('button', { class: 'btn small cb-add', type: 'button', onclick: () => {
    const info = usable.find((c) => c.name === column.value);
    let condition;
    try {
      condition = conditionText(column.value, op.value, value.value, info?.kind);
    } catch (err) {
      onError(err.message);
      return;
    }
    onAdd(condition, join.value);
  } }, 'Add condition');
  box.replaceChildren(el('span', { class: 'muted' }, 'Builder'), column, op, value, join, add);
}
