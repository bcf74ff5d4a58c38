// Number and coordinate formatting (sexagesimal, degrees, physical values, byte sizes).

function pad(n, width) {
  const s = String(n);
  return s.length >= width ? s : '0'.repeat(width - s.length) + s;
}

/** RA in degrees -> "hh:mm:ss.sss". */
export function raToHms(raDeg, decimals = 3) {
  let ra = ((raDeg % 360) + 360) % 360;
  let totalS = Number(((ra / 15) * 3600).toFixed(decimals));
  if (totalS >= 86400) totalS -= 86400;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS - h * 3600) / 60);
  const s = totalS - h * 3600 - m * 60;
  return `${pad(h, 2)}:${pad(m, 2)}:${s.toFixed(decimals).padStart(decimals ? 3 + decimals : 2, '0')}`;
}

/** Dec (or any latitude) in degrees -> "+dd:mm:ss.ss". */
export function decToDms(decDeg, decimals = 2) {
  const sign = decDeg < 0 ? '-' : '+';
  const totalS = Number((Math.abs(decDeg) * 3600).toFixed(decimals));
  const d = Math.floor(totalS / 3600);
  const m = Math.floor((totalS - d * 3600) / 60);
  const s = totalS - d * 3600 - m * 60;
  return `${sign}${pad(d, 2)}:${pad(m, 2)}:${s.toFixed(decimals).padStart(decimals ? 3 + decimals : 2, '0')}`;
}

/** Longitude in degrees -> "ddd:mm:ss.ss" (Galactic l). */
export function lonToDms(lonDeg, decimals = 2) {
  const lon = ((lonDeg % 360) + 360) % 360;
  return decToDms(lon, decimals).slice(1).padStart(decimals ? 10 + decimals : 9, '0');
}

/** A physical value with sensible precision (``digits`` significant digits). */
export function formatValue(v, digits = 6) {
  if (v === null || v === undefined || Number.isNaN(v)) return 'NaN';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(digits - 2);
  return Number(v.toPrecision(digits)).toString();
}

export function formatBytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

// Rotation matrices from ICRS unit vectors, computed with astropy 8 (SkyCoord transforms of the
// unit vectors): FK5 J2000 (frame bias) and Galactic. Rotations are exact for fixed equinoxes.
const ICRS_TO = {
  fk5: [
    [0.9999999999999921, -1.1102233297408327e-07, -4.411804498096771e-08],
    [1.1102233723050035e-07, 0.9999999999999889, 9.647792246010129e-08],
    [4.411803426976326e-08, -9.647792751958126e-08, 0.9999999999999943],
  ],
  galactic: [
    [-0.05487565771259163, -0.8734370519556159, -0.48383507361671546],
    [0.4941094371927268, -0.4448297212232952, 0.7469821839866676],
    [-0.8676661375596576, -0.19807633727300053, 0.4559838136873016],
  ],
};

/** ICRS (deg) -> [lon, lat] (deg) in 'icrs' | 'fk5' | 'galactic'. */
export function fromIcrs(raDeg, decDeg, frame) {
  const m = ICRS_TO[frame];
  if (!m) return [raDeg, decDeg];
  const r = (raDeg * Math.PI) / 180;
  const d = (decDeg * Math.PI) / 180;
  const v = [Math.cos(d) * Math.cos(r), Math.cos(d) * Math.sin(r), Math.sin(d)];
  const w = m.map((row) => row[0] * v[0] + row[1] * v[1] + row[2] * v[2]);
  let lon = (Math.atan2(w[1], w[0]) * 180) / Math.PI;
  if (lon < 0) lon += 360;
  const lat = (Math.asin(Math.max(-1, Math.min(1, w[2]))) * 180) / Math.PI;
  return [lon, lat];
}

/** A spectral world value in a readable unit with enough digits to tell channels apart. */
export function formatSpectral(value, unit) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const a = Math.abs(value);
  if (unit === 'Hz') {
    if (a >= 1e9) return `${(value / 1e9).toFixed(7)} GHz`;
    if (a >= 1e6) return `${(value / 1e6).toFixed(5)} MHz`;
    return `${value.toFixed(3)} Hz`;
  }
  if (unit === 'm/s') return `${(value / 1e3).toFixed(4)} km/s`;
  if (unit === 'm') {
    if (a < 1e-6) return `${(value * 1e9).toFixed(4)} nm`;
    if (a < 1e-3) return `${(value * 1e6).toFixed(6)} um`;
    return `${value.toPrecision(10)} m`;
  }
  return `${Number(value.toPrecision(10))} ${unit || ''}`.trim();
}
