// Notifications: 'notify' events and image errors become readable messages; an image that
// cannot be opened also leaves a visible message over the viewer (never a blank page).

export function mount(ctx) {
  const { bus, ui, escape: { el } } = ctx;
  const message = document.getElementById('viewer-message');
  const title = document.getElementById('image-title');

  const showMessage = (text, isError, action) => {
    message.replaceChildren(el('div', {}, text));
    if (action) message.append(el('button', { class: 'btn primary', type: 'button', onclick: action.onClick }, action.label));
    message.classList.toggle('error', isError);
    message.hidden = false;
  };

  const offs = [
    bus.on('notify', ({ message: text, level }) => ui.notify(text, level)),
    bus.on('image:error', ({ path, hdu, message: text }) => {
      const where = `${path}${hdu !== undefined && hdu !== null ? ` [HDU ${hdu}]` : ''}`;
      ui.notify(`Cannot open ${where}: ${text}`, 'error');
      showMessage(`Cannot open ${where}: ${text}`, true, { label: 'Browse files…', onClick: () => bus.emit('files:browse', {}) });
      title.textContent = '';
    }),
    bus.on('image:opened', ({ path, hdu, width, height, info }) => {
      message.hidden = true;
      const name = info.name ? ` ${info.name}` : '';
      title.textContent = `${path} [${hdu}${name}] ${width}×${height}${info.plane_count > 1 ? `×${info.plane_count}` : ''}`;
      title.title = title.textContent;
    }),
  ];
  let requested = false;
  offs.push(bus.on('image:open', () => { requested = true; }));
  ctx.ready(() => {
    // After every ready callback (a deep link opens in one): say so only if nothing was asked for.
    setTimeout(() => {
      if (requested || ctx.viewer.image || !message.hidden) return;
      showMessage('No image open. Drop a FITS image or a catalog anywhere on the page, or browse the files.', false, { label: 'Browse files…', onClick: () => bus.emit('files:browse', {}) });
    }, 0);
  });
  return () => offs.forEach((off) => off());
}
