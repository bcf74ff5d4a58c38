// Colormap picker: the Colormap menu (common maps), and a searchable picker with swatches of
// every matplotlib colormap (reverses as name_r) served by /api/images/colormaps.

const COMMON = ['gray', 'viridis', 'magma', 'inferno', 'plasma', 'cividis', 'hot', 'afmhot', 'gist_heat', 'cubehelix', 'coolwarm', 'RdBu_r', 'Spectral_r', 'twilight', 'turbo'];

export function mount(ctx) {
  const { bus, api, ui, escape: { el } } = ctx;
  let names = null;
  let current = 'gray';
  const swatch = (name) => el('img', { src: api.url(`/api/images/colormaps/${encodeURIComponent(name)}.png`, { width: 160, height: 12 }), alt: '', loading: 'lazy' });

  const panel = ui.addPanel({ id: 'colormap-panel', title: 'Colormap', order: 25 });
  const currentSwatch = el('img', { id: 'colormap-current-swatch', alt: '', src: api.url('/api/images/colormaps/gray.png', { width: 288, height: 12 }), style: { width: '100%', height: '12px', display: 'block' } });
  const currentName = el('span', { class: 'mono', id: 'colormap-current' }, current);
  const chooseButton = el('button', { class: 'btn small', type: 'button', id: 'colormap-choose' }, 'Choose…');
  panel.element.append(currentSwatch, el('div', { class: 'row' }, currentName, el('span', { style: { flex: '1' } }), chooseButton));
  chooseButton.addEventListener('click', () => openPicker());

  async function loadNames() {
    if (!names) {
      const body = await api.get('/api/images/colormaps');
      names = body.colormaps;
    }
    return names;
  }

  async function openPicker() {
    const modal = ui.openModal({ title: 'Colormap', wide: true, id: 'colormap-picker' });
    const search = el('input', { type: 'search', id: 'colormap-search', placeholder: 'Search colormaps (e.g. viridis, _r for reversed)…', style: { width: '100%' } });
    const list = el('div', { class: 'cmap-list', id: 'colormap-list' });
    modal.body.append(search, list);
    search.focus();
    let all;
    try {
      all = await loadNames();
    } catch (err) {
      list.append(el('div', { class: 'muted' }, `could not list colormaps: ${err.detail || err}`));
      return;
    }
    const render = () => {
      const q = search.value.trim().toLowerCase();
      const shown = all.filter((n) => n.toLowerCase().includes(q)).slice(0, 300);
      list.replaceChildren(...shown.map((name) => {
        const item = el('button', { class: `cmap-item${name === current ? ' current' : ''}`, type: 'button', dataset: { cmap: name }, title: name }, swatch(name), el('span', {}, name));
        item.addEventListener('click', () => { bus.emit('display:set', { cmap: name }); modal.close(); });
        return item;
      }));
      if (!shown.length) list.append(el('div', { class: 'muted' }, 'no colormap matches'));
    };
    search.addEventListener('input', render);
    render();
  }

  const removers = [
    ...COMMON.map((name) => ui.addMenuItem('Colormap', { label: name, id: `menu-cmap-${name}`, onClick: () => bus.emit('display:set', { cmap: name }) })),
    ui.addMenuItem('Colormap', { separator: true }),
    ui.addMenuItem('Colormap', { label: 'Invert', id: 'menu-cmap-invert', onClick: () => bus.emit('display:set', { invert: !ctx.viewer.display.invert }) }),
    ui.addMenuItem('Colormap', { label: 'All colormaps…', id: 'menu-cmap-more', onClick: openPicker }),
  ];
  const off = bus.on('display:changed', (d) => {
    current = d.cmap;
    currentName.textContent = `${d.cmap}${d.invert ? ' (inverted)' : ''}`;
    currentSwatch.src = api.url(`/api/images/colormaps/${encodeURIComponent(d.cmap)}.png`, { width: 288, height: 12, invert: d.invert ? 'true' : undefined });
  });
  // a colormap does not apply to an RGB composite (each channel has its colour): the panel hides
  const offRgb = [
    bus.on('rgb:shown', (d) => { panel.panel.hidden = !!d && ctx.viewer.image?.tiles === 'rgb'; }),
    bus.on('image:opened', (d) => { if (d.tiles !== 'rgb') panel.panel.hidden = false; }),
  ];
  return () => { off(); offRgb.forEach((o) => o()); removers.forEach((r) => r()); panel.remove(); };
}
