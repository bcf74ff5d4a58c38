// Panels feature, the lock: the active panel leads; every other panel shows the same sky at its
// centre, at the same angular scale, rotation and parity. The map leader pixel -> follower pixel
// is taken from the images' FULL WCS on the server (astropy, through the batch routes
// pixel-to-world / world-to-pixel) at the leader's centre: the follower's centre is the exact
// image of that sky point, and its scale, rotation and flip come from the local Jacobian of
// the map there (central differences over one leader pixel). While the leader moves, followers
// are placed with the last Jacobian (smooth), and an exact round trip refines them as soon as
// the previous one returned; at rest every follower is exact. Pixel lock (or an image without a
// celestial WCS) uses the identity map: same pixel, same zoom, same orientation.
// Crosshair lock: a click marks the same sky position in every panel.

const H_PIX = 1; // the Jacobian's step, in leader pixels

const keyOf = (image) => (image ? `${image.path}#${image.hdu}#${image.plane}#${image.info?.version ?? ''}` : '');
const hasWcs = (image) => !!image?.info?.wcs?.has_celestial;

/** Screen offset per image-pixel offset of a viewer at its centre: [[a, b], [c, d]] (columns = x, y). */
export function screenJacobian(viewer) {
  const v = viewer.viewState();
  const o = viewer.imageToScreen(v.cx, v.cy);
  const ex = viewer.imageToScreen(v.cx + 1, v.cy);
  const ey = viewer.imageToScreen(v.cx, v.cy + 1);
  return [[ex.x - o.x, ey.x - o.x], [ex.y - o.y, ey.y - o.y]];
}

const mul = (a, b) => [
  [a[0][0] * b[0][0] + a[0][1] * b[1][0], a[0][0] * b[0][1] + a[0][1] * b[1][1]],
  [a[1][0] * b[0][0] + a[1][1] * b[1][0], a[1][0] * b[0][1] + a[1][1] * b[1][1]],
];
function inv(m) {
  const det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  return [[m[1][1] / det, -m[0][1] / det], [-m[1][0] / det, m[0][0] / det]];
}

/** The view (zoom in CSS px per image px, rotation in degrees, flip) whose screen Jacobian is
 * closest to A = (leader's screen Jacobian) x (leader px -> follower px)^-1. The viewer draws
 * screen = zoom * Flip * Rot(rotation) * diag(1, -1) * pixel (FITS y up, screen y down). */
export function viewFromJacobian(leaderScreen, map) {
  const a = mul(leaderScreen, inv(map));
  const b = [[a[0][0], -a[0][1]], [a[1][0], -a[1][1]]]; // A * diag(1, -1)
  const det = b[0][0] * b[1][1] - b[0][1] * b[1][0];
  const flip = det < 0;
  const zoom = Math.sqrt(Math.abs(det));
  const r = flip ? [[-b[0][0], -b[0][1]], b[1]] : b; // un-mirror: Flip^-1 * B = zoom * Rot
  const rotation = (Math.atan2(r[1][0] - r[0][1], r[0][0] + r[1][1]) * 180) / Math.PI;
  return { zoom, rotation: ((rotation % 360) + 360) % 360, flip };
}

export function createLock(ctx, panels) {
  const { api } = ctx;
  let mode = 'off'; // 'off' | 'wcs' | 'pixel'
  const cache = new Map(); // follower index -> { key, c0: {x, y}, p0: {x, y}, m }
  let inflight = false;
  let again = false;
  let seq = 0;
  const host = ctx.viewer.host;

  const leader = () => panels.list().find((p) => p.index === panels.active);
  const followers = () => panels.list().filter((p) => p.index !== panels.active && p.viewer.image);
  const pairKey = (lead, f) => `${mode}|${lead.index}|${keyOf(lead.viewer.image)}|${keyOf(f.viewer.image)}`;
  const skyPair = (lead, f) => mode === 'wcs' && hasWcs(lead.viewer.image) && hasWcs(f.viewer.image);

  /** Place every follower from its cached map at the leader's current view. */
  function apply() {
    const lead = leader();
    if (mode === 'off' || !lead?.viewer.image) return;
    const v = lead.viewer.viewState();
    const screen = screenJacobian(lead.viewer);
    for (const f of followers()) {
      const c = cache.get(f.index);
      if (!c || c.key !== pairKey(lead, f)) continue;
      const dx = v.cx - c.c0.x;
      const dy = v.cy - c.c0.y;
      const x = c.p0.x + c.m[0][0] * dx + c.m[0][1] * dy;
      const y = c.p0.y + c.m[1][0] * dx + c.m[1][1] * dy;
      const view = viewFromJacobian(screen, c.m);
      if (!(Number.isFinite(x) && Number.isFinite(y) && view.zoom > 0)) continue;
      // only when it differs: a follower moved by the lock reports a viewport change too
      const now = f.viewer.viewState();
      const o = f.viewer.orientation();
      const same = now && Math.abs(now.cx - x) < 1e-6 && Math.abs(now.cy - y) < 1e-6
        && Math.abs(now.zoom / view.zoom - 1) < 1e-9 && o.flip === view.flip
        && Math.abs(((o.rotation - view.rotation + 540) % 360) - 180) < 1e-9;
      if (same) continue;
      f.viewer.setOrientation(view, true);
      f.viewer.panTo(x, y, view.zoom, true);
    }
  }

  /** Whether some follower has no exact map at the leader's current centre. */
  function stale() {
    const lead = leader();
    const v = lead?.viewer.viewState();
    if (!v) return false;
    return followers().some((f) => {
      const c = cache.get(f.index);
      return !c || c.key !== pairKey(lead, f) || c.c0.x !== v.cx || c.c0.y !== v.cy;
    });
  }

  /** Exact maps at the leader's centre from the server (one pixel-to-world, one world-to-pixel per follower). */
  async function exact() {
    const lead = leader();
    if (!lead?.viewer.image) return;
    const image = lead.viewer.image;
    const v = lead.viewer.viewState();
    const xs = [v.cx, v.cx + H_PIX, v.cx - H_PIX, v.cx, v.cx];
    const ys = [v.cy, v.cy, v.cy, v.cy + H_PIX, v.cy - H_PIX];
    const all = followers();
    let sky = null;
    if (all.some((f) => skyPair(lead, f))) {
      sky = await api.post('/api/images/pixel-to-world', { path: image.path, hdu: image.hdu, plane: image.plane, x: xs, y: ys });
    }
    await Promise.all(all.map(async (f) => {
      const key = pairKey(lead, f);
      if (!skyPair(lead, f)) {
        cache.set(f.index, { key, c0: { x: v.cx, y: v.cy }, p0: { x: v.cx, y: v.cy }, m: [[1, 0], [0, 1]] });
        return;
      }
      if (!sky || sky.ra_deg.some((r) => r === null)) return;
      const fi = f.viewer.image;
      const px = await api.post('/api/images/world-to-pixel', { path: fi.path, hdu: fi.hdu, plane: fi.plane, ra_deg: sky.ra_deg, dec_deg: sky.dec_deg });
      if (px.x_pix.some((x) => x === null) || px.y_pix.some((y) => y === null)) return;
      const m = [
        [(px.x_pix[1] - px.x_pix[2]) / (2 * H_PIX), (px.x_pix[3] - px.x_pix[4]) / (2 * H_PIX)],
        [(px.y_pix[1] - px.y_pix[2]) / (2 * H_PIX), (px.y_pix[3] - px.y_pix[4]) / (2 * H_PIX)],
      ];
      cache.set(f.index, { key, c0: { x: v.cx, y: v.cy }, p0: { x: px.x_pix[0], y: px.y_pix[0] }, m });
    }));
    apply();
  }

  async function refine() {
    if (inflight) { again = true; return; }
    inflight = true;
    host.dataset.lock = 'pending';
    try {
      do { again = false; await exact(); } while (again); // eslint-disable-line no-await-in-loop
    } catch (e) {
      ctx.ui.notify(`panel lock: ${e.detail || e.message || e}`, 'error');
    } finally {
      inflight = false;
      seq += 1;
      host.dataset.lock = mode === 'off' ? 'off' : 'synced';
      host.dataset.lockSeq = String(seq);
    }
  }

  function sync() {
    if (mode === 'off' || panels.list().length < 2) return;
    apply();
    if (stale()) refine();
    else if (!inflight) host.dataset.lock = 'synced';
  }

  return {
    get mode() { return mode; },
    setMode(next) {
      mode = ['wcs', 'pixel'].includes(next) ? next : 'off';
      cache.clear();
      host.dataset.lock = mode === 'off' ? 'off' : 'pending';
      if (mode === 'off') for (const p of panels.list()) p.viewer.setOrientation({ rotation: 0, flip: false }, true);
      sync();
    },
    sync,
    /** Map a leader pixel to every panel: [{ index, x, y }] (0-based; the leader's own included). */
    async mapPoint(x, y) {
      const lead = leader();
      const out = [{ index: lead.index, x, y }];
      const image = lead.viewer.image;
      const useSky = mode !== 'pixel' && hasWcs(image);
      const sky = useSky ? await api.post('/api/images/pixel-to-world', { path: image.path, hdu: image.hdu, plane: image.plane, x: [x], y: [y] }) : null;
      for (const f of followers()) {
        const fi = f.viewer.image;
        if (sky && hasWcs(fi) && sky.ra_deg[0] !== null) {
          const px = await api.post('/api/images/world-to-pixel', { path: fi.path, hdu: fi.hdu, plane: fi.plane, ra_deg: sky.ra_deg, dec_deg: sky.dec_deg }); // eslint-disable-line no-await-in-loop
          if (px.x_pix[0] !== null) out.push({ index: f.index, x: px.x_pix[0], y: px.y_pix[0] });
        } else if (!useSky || !hasWcs(fi)) {
          out.push({ index: f.index, x, y });
        }
      }
      return out;
    },
  };
}
