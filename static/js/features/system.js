// Admin only: the System panel (server CPU, memory, disk via /admin/system) and the settings
// dialog with "Erase uploads". Absent when the server is not in admin mode.

import { formatBytes } from '../lib/format.js';
import { keptFor } from '../lib/form.js';

export function mount(ctx) {
  const { bus, api, ui, config, escape: { el } } = ctx;
  if (!config.admin) return () => {};
  const panel = ui.addPanel({ id: 'system-panel', title: 'System', order: 90, open: false });
  const meters = {};
  for (const key of ['cpu', 'memory', 'disk']) {
    const fill = el('div');
    const text = el('span', { class: 'mono', id: `system-${key}` }, '—');
    meters[key] = { fill, text };
    panel.element.append(el('div', { class: 'stat' }, el('span', { class: 'muted' }, key), el('div', { class: 'meter' }, fill), text));
  }
  const detail = el('div', { class: 'muted mono', id: 'system-detail' });
  panel.element.append(detail);
  let timer = 0;

  async function refresh() {
    if (!panel.panel.classList.contains('open') || document.hidden) return;
    try {
      const s = await api.get('/admin/system');
      const put = (k, pct, label) => { meters[k].fill.style.width = `${Math.min(100, pct)}%`; meters[k].text.textContent = label; };
      put('cpu', s.cpu_percent, `${s.cpu_percent.toFixed(0)}%`);
      put('memory', s.memory.percent, `${s.memory.percent.toFixed(0)}%`);
      put('disk', s.disk.percent, `${s.disk.percent.toFixed(0)}%`);
      detail.textContent = `${s.cpu_count} CPUs · load ${s.load_average.map((v) => v.toFixed(2)).join(' ')} · RAM ${formatBytes(s.memory.total)} · disk free ${formatBytes(s.disk.free)} · server RSS ${formatBytes(s.process.rss)}`;
    } catch (err) {
      detail.textContent = err.detail || String(err);
    }
  }
  timer = setInterval(refresh, 3000);
  panel.panel.querySelector('.panel-head').addEventListener('click', () => setTimeout(refresh, 0));

  function settings() {
    const modal = ui.openModal({ title: 'Settings (admin)', id: 'settings-modal' });
    const erase = el('button', { class: 'btn danger', type: 'button', id: 'erase-uploads' }, 'Erase all uploads now');
    if (config.admin_token_required) {
      const token = el('input', { type: 'password', id: 'admin-token', placeholder: api.hasAdminToken() ? 'token set for this session' : 'NELOURA_ADMIN_TOKEN', autocomplete: 'off' });
      token.addEventListener('change', () => { api.setAdminToken(token.value.trim()); token.value = ''; token.placeholder = 'token set for this session'; refresh(); });
      modal.body.append(el('p', {}, 'This server listens on a public address: admin actions need the admin token.'),
        el('div', { class: 'row' }, el('label', { for: 'admin-token' }, 'Token'), token));
    }
    modal.body.append(
      el('p', {}, `Uploads under files/uploads/ are temporary: the cleanup worker removes them ${config.cleanup_interval_minutes} minutes after upload (never a file open in a view).`),
      el('p', {}, `Job results (detections, photometry, completeness reports, cutouts, files/results/) are kept ${keptFor(config.results_keep_hours)}, then removed the same way.`),
      el('p', { class: 'muted' }, `Largest upload accepted: ${config.upload_max_mb} MB.`), erase);
    erase.addEventListener('click', async () => {
      if (!window.confirm('Delete every file in files/uploads/ now?')) return;
      try {
        const body = await api.post('/admin/erase-uploads', {});
        ui.notify(`Erased ${body.removed.length} upload entr${body.removed.length === 1 ? 'y' : 'ies'}`, 'success');
      } catch (err) {
        ui.notify(`erase failed: ${err.detail || err}`, 'error');
      }
    });
  }
  const removers = [
    ui.addMenuItem('Help', { separator: true }),
    ui.addMenuItem('Help', { label: 'Settings (admin)…', id: 'menu-settings', onClick: settings }),
    ui.addMenuItem('View', { label: 'System panel', id: 'menu-system', onClick: () => { panel.show(); refresh(); } }),
  ];
  const off = bus.on('settings:show', settings);
  return () => { clearInterval(timer); off(); removers.forEach((r) => r()); panel.remove(); };
}
