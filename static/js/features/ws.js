// One WebSocket (/ws): server events and job progress in, the current view out (so that the
// cleanup worker never removes a file someone is looking at).

export function mount(ctx) {
  const { bus, api, ui } = ctx;
  const badge = document.getElementById('connection');
  let current = null;
  const socket = api.socket((msg) => {
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.type === 'hello') return;
    bus.emit('server:event', msg);
    if (msg.type === 'job') {
      // the job registry's event (README, WS /ws): {type: 'job', id, kind, state, progress (0..1), message, eta_s}
      const fraction = Number(msg.progress) || 0;
      bus.emit('job:progress', { ...msg, job_id: msg.id, fraction });
      const finished = ['done', 'failed', 'cancelled'].includes(msg.state);
      const eta = msg.eta_s ? ` · ~${Math.ceil(msg.eta_s)} s left` : '';
      ui.progress(`job-${msg.id}`, finished ? null : fraction, `${msg.kind || 'job'}: ${msg.message || msg.state || ''}${eta}`);
      if (msg.state === 'failed') ui.notify(`${msg.kind || 'job'} failed: ${msg.message || ''}`, 'error');
    }
    if (msg.type === 'catalog.error') ui.notify(`catalog ${msg.name}: ${msg.detail}`, 'error');
    if (msg.type === 'uploads:cleaned' && Array.isArray(msg.removed) && msg.removed.length) {
      ui.notify(`Temporary uploads removed: ${msg.removed.join(', ')}`, 'info');
    }
  }, (send) => {
    badge.classList.add('up');
    badge.textContent = 'live';
    badge.title = 'Live updates (/ws): connected';
    if (current) send({ type: 'view', path: current });
  }, () => {
    badge.classList.remove('up');
    badge.textContent = 'offline';
    badge.title = 'Live updates (/ws): reconnecting…';
  });
  const offs = [
    bus.on('image:opened', ({ path }) => { current = path; socket.send({ type: 'view', path }); }),
    bus.on('image:error', () => { current = null; socket.send({ type: 'view', path: null }); }),
  ];
  return () => { offs.forEach((off) => off()); socket.close(); };
}
