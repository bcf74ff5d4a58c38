// Display parameters -> an OpenSeadragon tile source over /api/images/tiles (Deep Zoom levels,
// level 0 = 1x1, 256 px tiles, no overlap). The display parameters are in the URL so the browser
// and proxies cache tiles; a change of any of them re-requests only what becomes visible.

export const STRETCHES = ['linear', 'log', 'sqrt', 'squared', 'power', 'asinh', 'sinh', 'histequ'];

export function defaultDisplay() {
  return { stretch: 'linear', cmap: 'gray', vmin: null, vmax: null, invert: false, exponent: null, nan_color: '' };
}

/** Keep only known keys with valid values (URL and user input end up here). */
export function cleanDisplay(d) {
  const out = defaultDisplay();
  if (STRETCHES.includes(d.stretch)) out.stretch = d.stretch;
  if (typeof d.cmap === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(d.cmap)) out.cmap = d.cmap;
  for (const k of ['vmin', 'vmax']) if (Number.isFinite(d[k])) out[k] = d[k];
  if (Number.isFinite(out.vmin) && Number.isFinite(out.vmax) && out.vmin >= out.vmax) {
    out.vmax = out.vmin + Math.max(Math.abs(out.vmin) * 1e-6, 1e-12);
  }
  out.invert = !!d.invert;
  if (Number.isFinite(d.exponent) && d.exponent > 0) out.exponent = d.exponent;
  if (typeof d.nan_color === 'string' && /^(#?[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?|[a-z]{3,20})$/.test(d.nan_color)) out.nan_color = d.nan_color;
  return out;
}

/** What names an image plane's tiles whatever their kind (PNG or data): path, HDU, plane, and
 * the file's version and levels' generation, so that a replaced file or new levels get new URLs. */
export function planeParams(image) {
  const p = { path: image.path, hdu: image.hdu, plane: image.plane };
  if (image.info && image.info.version) p.v = image.info.version; // a replaced file gets new URLs
  if (image.lv) p.lv = image.lv; // bumped at levels:ready: provisional overview tiles are asked again
  return p;
}

/** The query every tile of this image + display shares. */
export function tileParams(image, d) {
  const p = { path: image.path, hdu: image.hdu, plane: image.plane, stretch: d.stretch, cmap: d.cmap, vmin: d.vmin, vmax: d.vmax };
  if (d.invert) p.invert = 'true';
  if (d.exponent !== null && (d.stretch === 'power' || d.stretch === 'log')) p.exponent = d.exponent;
  if (d.nan_color) p.nan_color = d.nan_color;
  const { v, lv } = planeParams(image);
  return { ...p, ...(v ? { v } : {}), ...(lv ? { lv } : {}) };
}

/** An OpenSeadragon Deep Zoom tile source over the image's pyramid (``query`` names its tiles). */
export function deepZoomSource(image, query, getTileUrl) {
  const info = image.info;
  return {
    width: image.width,
    height: image.height,
    tileSize: info.tile_size || 256,
    tileOverlap: 0,
    minLevel: 0,
    maxLevel: info.max_level,
    query,
    getTileUrl,
  };
}

export function tileSource(api, image, d) {
  const params = tileParams(image, d);
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined)).toString();
  return deepZoomSource(image, query, (level, x, y) => api.url(`/api/images/tiles/${level}/${x}_${y}.png`, params));
}
