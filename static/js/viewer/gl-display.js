// Display parameters -> the tables the WebGL tile renderer samples, exactly as the server's PNG
// tiles map values (neloura/core/stretch.py, colormaps.py):
//   x = clip((v - vmin) / (vmax - vmin)) quantised to 65,536 steps -> stretch table -> palette
//   index 0..254 (255 = NaN) -> colormap palette (invert flips 0..254; the NaN colour is index 255).
// The seven analytic stretches are computed here (no request); histequ depends on the plane's
// sample, so its table comes from GET /api/images/stretch-table; palettes come from the colormap
// swatch (one 255-px PNG per colormap, cached by the browser and here).

export const LUT_SIZE = 65536;
const DATA_LEVELS = 255;
const DEFAULT_EXPONENT = { log: 1000, power: 2 };

const FORMULAS = {
  linear: (x) => x,
  log: (x, a) => Math.log10(a * x + 1) / Math.log10(a + 1),
  sqrt: (x) => Math.sqrt(x),
  squared: (x) => x * x,
  power: (x, p) => x ** p,
  asinh: (x) => Math.asinh(10 * x) / Math.asinh(10),
  sinh: (x) => Math.sinh(3 * x) / Math.sinh(3),
};

/** numpy's rint: halves go to the even neighbour. */
function rint(v) {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The stretch table of an analytic stretch: LUT_SIZE palette indices 0..254 (null for histequ). */
export function analyticTable(stretch, exponent) {
  const formula = FORMULAS[stretch];
  if (!formula) return null;
  const a = exponent ?? DEFAULT_EXPONENT[stretch] ?? 1;
  const table = new Uint8Array(LUT_SIZE);
  const step = 1 / (LUT_SIZE - 1);
  for (let i = 0; i < LUT_SIZE; i += 1) {
    const x = i === LUT_SIZE - 1 ? 1 : i * step;
    const y = Math.min(1, Math.max(0, formula(x, a)));
    table[i] = rint(y * (DATA_LEVELS - 1));
  }
  return table;
}

let colorContext = null;
/** RGBA 0..255 of '' / 'transparent', #rrggbb[aa] (# optional) or a CSS colour name. */
export function parseColor(text) {
  const t = (text || '').trim();
  if (!t || t.toLowerCase() === 'transparent') return [0, 0, 0, 0];
  const hex = /^#?([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(t);
  if (hex) {
    const n = parseInt(hex[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255, hex[2] ? parseInt(hex[2], 16) : 255];
  }
  colorContext = colorContext || document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  colorContext.clearRect(0, 0, 1, 1);
  colorContext.fillStyle = '#000';
  colorContext.fillStyle = t;
  colorContext.fillRect(0, 0, 1, 1);
  return Array.from(colorContext.getImageData(0, 0, 1, 1).data);
}

/** A cache of the server's tables: colormap palettes and histequ tables. */
export function createDisplayTables(api) {
  const palettes = new Map(); // cmap -> Promise<Uint8Array(256 * 4)>
  const histequ = new Map(); // query -> Promise<Uint8Array(LUT_SIZE)>
  const analytic = new Map();

  function palette(cmap) {
    if (!palettes.has(cmap)) {
      const promise = api.get(`/api/images/colormaps/${encodeURIComponent(cmap)}.png`, { width: DATA_LEVELS, height: 1 })
        .then((blob) => createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' }))
        .then((bitmap) => {
          const canvas = document.createElement('canvas');
          canvas.width = DATA_LEVELS;
          canvas.height = 1;
          const g = canvas.getContext('2d', { willReadFrequently: true });
          g.drawImage(bitmap, 0, 0);
          const rgba = new Uint8Array(256 * 4);
          rgba.set(g.getImageData(0, 0, DATA_LEVELS, 1).data);
          return rgba;
        });
      promise.catch(() => palettes.delete(cmap));
      palettes.set(cmap, promise);
    }
    return palettes.get(cmap);
  }

  function stretchTable(image, d) {
    const key = `${d.stretch}|${d.exponent}`;
    if (d.stretch !== 'histequ') {
      if (!analytic.has(key)) analytic.set(key, analyticTable(d.stretch, d.exponent));
      return Promise.resolve(analytic.get(key));
    }
    const params = { path: image.path, hdu: image.hdu, plane: image.plane, stretch: 'histequ', vmin: d.vmin, vmax: d.vmax };
    if (image.info && image.info.version) params.v = image.info.version;
    const q = JSON.stringify(params);
    if (!histequ.has(q)) {
      const promise = api.get('/api/images/stretch-table', params).then((blob) => blob.arrayBuffer()).then((b) => new Uint8Array(b));
      promise.catch(() => histequ.delete(q));
      histequ.set(q, promise);
      if (histequ.size > 32) histequ.delete(histequ.keys().next().value);
    }
    return histequ.get(q);
  }

  /** Everything the shader needs for this image + display (resolves once the tables are here). */
  async function resolve(image, d) {
    const [table, rgba] = await Promise.all([stretchTable(image, d), palette(d.cmap)]);
    return { vmin: d.vmin, vmax: d.vmax, table, palette: rgba, invert: !!d.invert, nan: parseColor(d.nan_color) };
  }

  return { resolve, palette, stretchTable };
}
