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
    if (msg.type === 'job:progress' || msg.type === 'job' || 'fraction' in msg) {
      bus.emit('job:progress', msg);
      const id = msg.job_id || msg.id || msg.type;
      const done = msg.state === 'done' || msg.state === 'failed' || msg.fraction >= 1;
      ui.progress(String(id), done ? null : Number(msg.fraction) || 0, msg.message || msg.kind || 'working…');
      if (msg.state === 'failed') ui.notify(`${msg.kind || 'job'} failed: ${msg.error || msg.message || ''}`, 'error');
    }
    if (msg.type === 'uploads:cleaned' && Array.isArray(msg.removed) && msg.removed.length) {
      ui.notify(`Temporary uploads removed: ${msg.removed.join(', ')}`, 'info');
    }
  }, (send) => {
    badge.classList.add('up');
    badge.textContent = 'live';
    if (current) send({ type: 'view', path: current });
  });
  const offs = [
    bus.on('image:opened', ({ path }) => { current = path; socket.send({ type: 'view', path }); }),
    bus.on('image:error', () => { current = null; socket.send({ type: 'view', path: null }); }),
  ];
  return () => { offs.forEach((off) => off()); socket.close(); };
}
