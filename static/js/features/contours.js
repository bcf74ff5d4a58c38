// Contours (Analysis > Contours…): of the shown image or of another image (carried onto the shown
// one through both WCSs on the server), levels by list, by count between limits or in sigma units,
// optional smoothing; drawn as a canvas overlay that follows pan and zoom; exported as a DS9 region
// file of the contour polygons.

export function mount(ctx) {
  const { api, ui, viewer, bus } = ctx;
  const { el } = ctx.escape;
  let panel = null;
  let layer = null;
  let result = null; // { contours: [{level, paths: [[x, y, ...]]}], on: {path, hdu, plane} }
  let style = { color: '#39ff14', width: 1.2 };

  function draw(g) {
    const image = viewer.image;
    if (!result || !image || result.on.path !== image.path || result.on.hdu !== image.hdu) return;
    // image -> screen is affine at any instant: three points give it (no per-vertex calls)
    const o = viewer.imageToScreen(0, 0); const ex = viewer.imageToScreen(1, 0); const ey = viewer.imageToScreen(0, 1);
    const ax = ex.x - o.x; const bx = ey.x - o.x; const ay = ex.y - o.y; const by = ey.y - o.y;
    g.strokeStyle = style.color;
    g.lineWidth = style.width;
    g.beginPath();
    for (const c of result.contours) {
      for (const p of c.paths) {
        let pen = false;
        for (let i = 0; i < p.length; i += 2) {
          const x = p[i]; const y = p[i + 1];
          if (x === null || y === null) { pen = false; continue; }
          const sx = o.x + ax * x + bx * y; const sy = o.y + ay * x + by * y;
          if (pen) g.lineTo(sx, sy); else { g.moveTo(sx, sy); pen = true; }
        }
      }
    }
    g.stroke();
  }

  function ensureLayer() {
    if (!layer) layer = viewer.addCanvasLayer(draw);
    return layer;
  }

  function buildPanel() {
    panel = ui.addPanel({ id: 'contours-panel', title: 'Contours', order: 6 });
    const body = panel.element;
    body.classList.add('contours-panel');
    const source = el('select', { class: 'ct-source' }, el('option', { value: 'shown' }, 'shown image'), el('option', { value: 'other' }, 'another image'));
    const other = el('input', { type: 'text', class: 'ct-path', placeholder: 'path under files/', spellcheck: 'false' });
    const otherHdu = el('input', { type: 'number', class: 'ct-hdu', min: '0', placeholder: 'HDU' });
    const otherRow = el('div', { class: 'rgb-row' }, other, otherHdu);
    otherRow.hidden = true;
    source.addEventListener('change', () => { otherRow.hidden = source.value !== 'other'; });
    const mode = el('select', { class: 'ct-mode' },
      el('option', { value: 'sigma' }, 'sigma units'), el('option', { value: 'count' }, 'count between limits'), el('option', { value: 'list' }, 'list of levels'));
    const sigmas = el('input', { type: 'text', class: 'ct-sigmas', value: '3, 5, 10, 20, 50' });
    const count = el('input', { type: 'number', class: 'ct-count', min: '1', max: '50', value: '5' });
    const lo = el('input', { type: 'number', step: 'any', class: 'ct-min', placeholder: 'min (display)' });
    const hi = el('input', { type: 'number', step: 'any', class: 'ct-max', placeholder: 'max (display)' });
    const spacing = el('select', { class: 'ct-spacing' }, ['linear', 'log', 'sqrt'].map((s) => el('option', { value: s }, s)));
    const levels = el('input', { type: 'text', class: 'ct-levels', placeholder: 'e.g. 0.1, 0.5, 2' });
    const rows = {
      sigma: el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'k ='), sigmas),
      count: el('div', { class: 'rgb-row' }, count, lo, hi, spacing),
      list: el('div', { class: 'rgb-row' }, levels),
    };
    const showMode = () => { for (const [k, row] of Object.entries(rows)) row.hidden = k !== mode.value; };
    mode.addEventListener('change', showMode);
    showMode();
    const smoothing = el('input', { type: 'number', class: 'ct-smooth', min: '0', max: '100', step: 'any', value: '1' });
    const color = el('input', { type: 'color', class: 'ct-color', value: style.color });
    const width = el('input', { type: 'number', class: 'ct-width', min: '0.5', max: '6', step: '0.5', value: String(style.width) });
    color.addEventListener('input', () => { style.color = color.value; if (layer) layer.redraw(); });
    width.addEventListener('change', () => { style.width = Number(width.value) || 1; if (layer) layer.redraw(); });
    const info = el('div', { class: 'ct-info muted', role: 'status' });
    const drawButton = el('button', { type: 'button', class: 'btn primary ct-draw' }, 'Draw');
    const exportButton = el('button', { type: 'button', class: 'btn ct-export' }, 'DS9 regions');
    const clear = el('button', { type: 'button', class: 'btn ct-clear' }, 'Clear');

    const numbers = (text) => text.split(/[\s,;]+/).filter(Boolean).map(Number);
    const request = () => {
      const image = viewer.image;
      if (!image) throw new Error('open an image first');
      const shown = { path: image.path, hdu: image.hdu, plane: image.plane };
      const src = source.value === 'other'
        ? { path: other.value.trim(), hdu: otherHdu.value === '' ? undefined : Number(otherHdu.value), plane: 0 }
        : shown;
      const body = { ...src, smooth_px: Number(smoothing.value) || 0, color: color.value };
      if (source.value === 'other') body.on = shown;
      if (mode.value === 'sigma') body.sigma_levels = numbers(sigmas.value);
      else if (mode.value === 'list') body.levels = numbers(levels.value);
      else {
        body.n_levels = Number(count.value) || 5;
        body.spacing = spacing.value;
        const d = viewer.display;
        body.vmin = lo.value !== '' ? Number(lo.value) : d.vmin ?? undefined;
        body.vmax = hi.value !== '' ? Number(hi.value) : d.vmax ?? undefined;
      }
      return body;
    };
    drawButton.addEventListener('click', async () => {
      try {
        const body = request();
        info.textContent = 'tracing…';
        result = await api.post('/api/contours', body);
        ensureLayer().redraw();
        const lv = result.levels.map((v) => Number(v.toPrecision(4))).join(', ');
        info.textContent = `${result.n_points} points · levels ${lv} ${result.unit || ''}${result.truncated ? ' (truncated: smooth more)' : ''}`;
        viewer.element.dataset.contours = String(result.n_points);
      } catch (e) { info.textContent = e.detail || e.message || String(e); }
    });
    exportButton.addEventListener('click', async () => {
      try {
        const blob = await api.post('/api/contours/ds9', request());
        const a = el('a', { href: URL.createObjectURL(blob), download: 'contours.reg' });
        document.body.append(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      } catch (e) { info.textContent = e.detail || e.message || String(e); }
    });
    clear.addEventListener('click', () => { result = null; if (layer) layer.redraw(); info.textContent = ''; delete viewer.element.dataset.contours; });
    body.append(
      el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'of'), source), otherRow,
      el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'levels'), mode), rows.sigma, rows.count, rows.list,
      el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'smooth σ px'), smoothing),
      el('div', { class: 'rgb-row' }, el('span', { class: 'muted' }, 'line'), color, width),
      el('div', { class: 'rgb-row' }, drawButton, exportButton, clear), info);
  }

  const offs = [
    ui.addMenuItem('Analysis', { label: 'Contours…', id: 'menu-contours', onClick: () => { if (!panel) buildPanel(); else panel.show(); } }),
    bus.on('image:opened', () => { if (layer) layer.redraw(); }),
  ];
  return () => {
    offs.forEach((off) => off());
    if (layer) layer.remove();
    if (panel) panel.remove();
  };
}
