// A histogram widget with two draggable limit lines (log counts; drawn on a canvas).
// createHistogram(el, { id, onDrag(vmin, vmax), onDrop(vmin, vmax) }) ->
//   { element, setData({ counts, lo, hi }), setLimits(vmin, vmax), hasData() }

export function createHistogram(el, { id, onDrag, onDrop }) {
  const canvas = el('canvas', {});
  const minLine = el('div', { class: 'limit min', title: 'drag: minimum' });
  const maxLine = el('div', { class: 'limit max', title: 'drag: maximum' });
  const element = el('div', { class: 'histogram', id }, canvas, minLine, maxLine);
  let data = null; // { counts, lo, hi }
  let limits = null; // [vmin, vmax]

  const xOf = (v) => (data ? (v - data.lo) / (data.hi - data.lo) : 0);

  function draw() {
    const r = element.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(r.width));
    canvas.height = Math.max(1, Math.round(r.height));
    const g = canvas.getContext('2d');
    g.clearRect(0, 0, canvas.width, canvas.height);
    if (!data || !limits) return;
    const logs = data.counts.map((c) => Math.log10(1 + c));
    const top = Math.max(...logs, 1);
    const w = canvas.width / logs.length;
    g.fillStyle = '#5a6d8f';
    logs.forEach((v, i) => { const h = (v / top) * (canvas.height - 4); g.fillRect(i * w, canvas.height - h, Math.max(1, w), h); });
    const [a, b] = limits.map((v) => xOf(v) * canvas.width);
    g.fillStyle = '#5aa9ff22';
    g.fillRect(a, 0, b - a, canvas.height);
    minLine.style.left = `${xOf(limits[0]) * 100}%`;
    maxLine.style.left = `${xOf(limits[1]) * 100}%`;
  }

  function drag(line, which) {
    line.addEventListener('pointerdown', (e) => {
      if (!data || !limits) return;
      e.preventDefault();
      line.setPointerCapture(e.pointerId);
      const r = element.getBoundingClientRect();
      const move = (ev) => {
        const f = Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width));
        const v = data.lo + f * (data.hi - data.lo);
        if ((which === 0 && v >= limits[1]) || (which === 1 && v <= limits[0])) return;
        limits = which === 0 ? [v, limits[1]] : [limits[0], v];
        draw();
        onDrag(...limits);
      };
      const up = () => {
        line.removeEventListener('pointermove', move);
        line.removeEventListener('pointerup', up);
        onDrop(...limits);
      };
      line.addEventListener('pointermove', move);
      line.addEventListener('pointerup', up);
    });
  }
  drag(minLine, 0);
  drag(maxLine, 1);

  return {
    element,
    setData(d) { data = d; draw(); element.dataset.loaded = '1'; },
    setLimits(vmin, vmax) { limits = [vmin, vmax]; draw(); },
    hasData: () => !!data,
  };
}
