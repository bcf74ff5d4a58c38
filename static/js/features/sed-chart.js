// SED chart helper of the sed feature (not a registered feature): plotly.js (npm
// plotly.js-dist-min, loaded on first use from /vendor), log-log flux density against
// wavelength, error bars, upper limits as downward triangles, cutout insets above the plot.

let loading = null;

// Load /vendor/plotly.js-dist-min/plotly.min.js once (3.5 MB: only when a chart is first shown).
export function loadPlotly(doc = document) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = doc.createElement('script');
      script.src = '/vendor/plotly.js-dist-min/plotly.min.js';
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { loading = null; reject(new Error('could not load the chart library')); };
      doc.head.append(script);
    });
  }
  return loading;
}

const usable = (p) => p.wavelength_um > 0 && p.flux_ujy > 0;

// points: POST /api/sed points; insets: [{ url, label }] in wavelength order.
export async function drawSed(element, points, insets = []) {
  const Plotly = await loadPlotly(element.ownerDocument);
  const shown = points.filter(usable);
  const detected = shown.filter((p) => !p.upper_limit);
  const limits = shown.filter((p) => p.upper_limit);
  const text = (p) => `${p.filter || p.column || ''}${p.source === 'catalog' ? ' (catalog)' : ''}`;
  const traces = [
    {
      name: 'detections', type: 'scatter', mode: 'markers+text', x: detected.map((p) => p.wavelength_um),
      y: detected.map((p) => p.flux_ujy), text: detected.map(text), textposition: 'top right',
      error_y: { type: 'data', array: detected.map((p) => p.flux_err_ujy || 0), visible: true },
      marker: { size: 9, color: '#4fc3f7' }, cliponaxis: false,
      hovertemplate: '%{text}<br>%{x:.4g} µm<br>%{y:.4g} µJy<extra></extra>',
    },
    {
      name: `upper limits`, type: 'scatter', mode: 'markers+text', x: limits.map((p) => p.wavelength_um),
      y: limits.map((p) => p.flux_ujy), text: limits.map(text), textposition: 'bottom right',
      marker: { size: 11, symbol: 'triangle-down', color: '#ff8a65' }, cliponaxis: false,
      hovertemplate: '%{text}<br>%{x:.4g} µm<br>< %{y:.4g} µJy<extra></extra>',
    },
  ];
  const n = insets.length;
  const images = insets.map((inset, i) => ({
    source: inset.url, xref: 'paper', yref: 'paper', x: (i + 0.5) / Math.max(n, 1), y: 1.02,
    sizex: Math.min(0.2, 0.9 / Math.max(n, 1)), sizey: 0.3, xanchor: 'center', yanchor: 'bottom', layer: 'above',
  }));
  const annotations = insets.map((inset, i) => ({
    text: inset.label, xref: 'paper', yref: 'paper', x: (i + 0.5) / Math.max(n, 1), y: 1.0, showarrow: false,
    yanchor: 'top', font: { size: 10, color: '#ddd' },
  }));
  const layout = {
    paper_bgcolor: '#1b1f24', plot_bgcolor: '#11151a', font: { color: '#ddd' },
    margin: { l: 70, r: 20, t: n ? 140 : 20, b: 55 }, showlegend: true, legend: { orientation: 'h', y: -0.2 },
    xaxis: { type: 'log', title: { text: 'wavelength (µm)' }, gridcolor: '#333' },
    yaxis: { type: 'log', title: { text: 'flux density (µJy)' }, gridcolor: '#333' },
    images, annotations,
  };
  await Plotly.react(element, traces, layout, { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud'] });
  return shown.length;
}

export async function chartPng(element) {
  const Plotly = await loadPlotly(element.ownerDocument);
  return Plotly.toImage(element, { format: 'png', width: 1200, height: 800 });
}

export function purge(element) {
  if (window.Plotly) window.Plotly.purge(element);
}
