// Shared pieces of the analysis panels (detection, completeness): a form of labelled number
// fields with their help text, and the controls and run/cancel/progress cycle of a server job.
// Text only (el() / textContent), never innerHTML.

import { el } from './escape.js';

// fields: [name, label, value, step, help] rows. Appends one <label class="det-field"> per row to
// form and returns { name: <input> }. min(name) gives the field's minimum (undefined: none).
export function numberFields(form, fields, min = () => '0') {
  const inputs = {};
  for (const [key, label, value, step, help] of fields) {
    const input = el('input', { type: 'number', name: key, step, value: value === '' ? undefined : value, min: min(key) });
    inputs[key] = input;
    form.append(el('label', { class: 'det-field' }, el('span', { class: 'det-label' }, label), input,
      help ? el('small', { class: 'det-help' }, help) : null));
  }
  return inputs;
}

const ENDED = ['done', 'failed', 'cancelled'];

// "7 days" / "12 hours": how long the server keeps job results (NELOURA_RESULTS_KEEP_HOURS).
export function keptFor(hours) {
  return hours >= 48 ? `${Math.round((hours / 24) * 10) / 10} days` : `${hours} hours`;
}

// A panel's server job: run and cancel buttons (appended to form), a progress bar, a status line
// and a results box (ids `${prefix}-run`, -progress, -status, -results; the caller places the
// last three). Submitting the form POSTs { path, hdu, plane of the open image, ...body() } to url;
// progress comes from the /ws job events (bus job:progress) with GET /api/jobs/{id} polling as
// the safety net; cancel is DELETE /api/jobs/{id}; onEnd(state) runs once the job is done, failed
// or cancelled. Returns { bar, status, results, dispose }.
export function jobPanel(ctx, form, { prefix, runLabel, url, body, onEnd }) {
  const run = el('button', { type: 'submit', class: 'det-run', id: `${prefix}-run` }, runLabel);
  const cancel = el('button', { type: 'button', class: 'det-cancel', hidden: true }, 'Cancel');
  form.append(el('div', { class: 'det-actions' }, run, cancel));
  const keep = ctx.config && ctx.config.results_keep_hours;
  if (keep) form.append(el('small', { class: 'det-help det-keep' }, `Results stay on the server ${keptFor(keep)} (then they are removed), visible only to this browser.`));
  const bar = el('progress', { class: 'det-progress', max: '1', value: '0', hidden: true, id: `${prefix}-progress` });
  const status = el('div', { class: 'det-status', id: `${prefix}-status`, 'aria-live': 'polite' });
  const results = el('div', { class: 'det-results', id: `${prefix}-results` });
  let job = null;
  let poll = null;

  function setRunning(running) {
    run.disabled = running;
    cancel.hidden = !running;
    bar.hidden = !running;
  }

  function showProgress(p) {
    bar.value = String(p.progress ?? p.fraction ?? 0);
    const eta = p.eta_s ? ` (~${Math.ceil(p.eta_s)} s left)` : '';
    status.textContent = `${p.state}: ${p.message || ''}${eta}`;
  }

  async function refresh() {
    if (!job) return;
    try {
      const state = await ctx.api.get(`/api/jobs/${encodeURIComponent(job)}`);
      if (ENDED.includes(state.state)) {
        job = null;
        clearInterval(poll);
        poll = null;
        setRunning(false);
        await onEnd(state);
      } else showProgress(state);
    } catch (err) {
      status.textContent = `job status unavailable: ${err.detail || err}`;
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const image = ctx.viewer.image;
    if (!image) { ctx.ui.notify('Open an image first.', 'warning'); return; }
    results.replaceChildren();
    try {
      const started = await ctx.api.post(url, { path: image.path, hdu: image.hdu, plane: image.plane || 0, ...body() });
      job = started.id;
      setRunning(true);
      showProgress(started);
      clearInterval(poll);
      poll = setInterval(refresh, 1000);
    } catch (err) {
      status.textContent = `not started: ${err.detail || err}`;
      ctx.ui.notify(err.detail || String(err), 'error');
    }
  });

  cancel.addEventListener('click', async () => {
    if (!job) return;
    try { await ctx.api.del(`/api/jobs/${encodeURIComponent(job)}`); } catch (err) { ctx.ui.notify(err.detail || String(err), 'error'); }
    refresh();
  });

  const off = ctx.bus.on('job:progress', (p) => {
    if (!job || p.job_id !== job) return;
    if (ENDED.includes(p.state)) refresh();
    else showProgress(p);
  });

  return {
    bar,
    status,
    results,
    dispose() {
      off();
      clearInterval(poll);
    },
  };
}
