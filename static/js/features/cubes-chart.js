// Spectrum chart helper of features/cubes.js: plotly.js (loaded once from /vendor on first use)
// with the spectrum as a line and the current plane as a vertical marker the user drags (or
// clicks the chart) to step planes. Not a registered feature.

const PLOTLY_URL = '/vendor/plotly.js-dist-min/plotly.min.js';
let loading = null;

/** window.Plotly, loading the vendored bundle with a <script> tag the first time. */
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = PLOTLY_URL;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { loading = null; reject(new Error('could not load plotly.js')); };
      document.head.append(script);
    });
  }
  return loading;
}

const LAYOUT = {
  margin: { l: 52, r: 8, t: 6, b: 36 },
  paper_bgcolor: 'rgba(0,0,0,0)',
  plot_bgcolor: '#0b0e14',
  font: { color: '#d7dde8', size: 10 },
  xaxis: { gridcolor: '#262e40', zeroline: false, title: { text: '' }, exponentformat: 'power' },
  yaxis: { gridcolor: '#262e40', zeroline: true, zerolinecolor: '#3a4560', title: { text: '' }, exponentformat: 'power' },
  showlegend: false,
  dragmode: 'zoom',
};

// onPlane(index) is called when the marker is dropped (or the chart clicked) near a plane.
export function createChart(element, { onPlane }) {
  let Plotly = null;
  let xs = [];
  let plane = 0;
  let drawn = false;

  const marker = () => ({
    type: 'line', xref: 'x', yref: 'paper', x0: xs[plane] ?? 0, x1: xs[plane] ?? 0, y0: 0, y1: 1,
    line: { color: '#f0b94a', width: 2 }, editable: true,
  });

  function nearest(x) {
    let best = 0;
    for (let i = 1; i < xs.length; i += 1) if (Math.abs(xs[i] - x) < Math.abs(xs[best] - x)) best = i;
    return best;
  }

  async function draw({ x, y, xTitle, yTitle, name }) {
    Plotly = Plotly || (await loadPlotly());
    xs = x;
    const trace = { x, y, type: 'scatter', mode: 'lines', line: { color: '#5aa9ff', width: 1.4, shape: 'hvh' }, name,
      hovertemplate: '%{x:.6g}<br>%{y:.4g}<extra></extra>', connectgaps: false };
    const layout = { ...LAYOUT, xaxis: { ...LAYOUT.xaxis, title: { text: xTitle } }, yaxis: { ...LAYOUT.yaxis, title: { text: yTitle } },
      shapes: [marker()] };
    if (!drawn) {
      await Plotly.newPlot(element, [trace], layout, { displaylogo: false, responsive: true, edits: { shapePosition: true },
        modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d'] });
      element.on('plotly_relayout', (e) => {
        const key = Object.keys(e).find((k) => /^shapes\[0\]\.x0$/.test(k));
        if (key === undefined) return;
        onPlane(nearest(Number(e[key])));
      });
      element.on('plotly_click', (e) => { if (e.points?.length) onPlane(e.points[0].pointIndex); });
      drawn = true;
    } else {
      await Plotly.react(element, [trace], { ...layout, xaxis: { ...layout.xaxis, autorange: true }, yaxis: { ...layout.yaxis, autorange: true } });
    }
    element.dataset.points = String(x.length);
    element.dataset.updated = String(Number(element.dataset.updated || 0) + 1);
  }

  function setPlane(index) {
    plane = index;
    element.dataset.plane = String(index);
    if (drawn && Plotly) Plotly.relayout(element, { shapes: [marker()] });
  }

  return {
    draw,
    setPlane,
    /** The data x of a plane (for tests and the readout). */
    x: (index) => xs[index],
    resize() { if (drawn && Plotly) Plotly.Plots.resize(element); },
    destroy() { if (drawn && Plotly) Plotly.purge(element); drawn = false; },
  };
}
