// Beam ellipse helper of features/cubes.js: the restoring beam (BMAJ/BMIN/BPA, or the plane's
// row of a CASA per-plane beam table) drawn to scale in the viewer's upper-left corner, PA east of
// north through the image WCS, with its size in arcsec. Not a registered feature.
// Panels: every panel showing a cube draws its own beam (of its own cube and plane) on its own
// viewer, whatever panel is active (panel 1's layer is #cubes-beam, the others' #cubes-beam-<n>).

const MIN_PX = 3;

export function mountBeam(ctx) {
  const { api, panels } = ctx;
  const states = new Map(); // panel index -> { beam, plane, layer, seq }
  const offs = [];

  function draw(st, g, v) {
    const { beam, plane, layer } = st;
    if (!beam || !beam.pixel_scale_arcsec || !v.image) return;
    const i = beam.per_plane ? Math.min(plane, beam.major_arcsec.length - 1) : 0;
    const major = beam.major_arcsec[i];
    const minor = beam.minor_arcsec[i];
    const scale = v.imageScale() / beam.pixel_scale_arcsec; // CSS px per arcsec
    const rx = Math.max(MIN_PX, (major * scale) / 2);
    const ry = Math.max(MIN_PX * (minor / major), (minor * scale) / 2);
    // the major axis from image +y towards -x, on screen through the panel's view (its rotation, flip)
    const theta = ((beam.north_angle_deg + beam.pa_deg[i]) * Math.PI) / 180;
    const s0 = v.imageToScreen(0, 0);
    const s1 = v.imageToScreen(-Math.sin(theta), Math.cos(theta));
    const box = Math.max(64, 2 * rx + 12);
    const cx = 10 + box / 2; // top-left corner: the colorbar and the navigator hold the bottom ones
    const cy = (panels.list().length > 1 ? 30 : 10) + box / 2; // below the panel's name tag
    g.fillStyle = 'rgba(5, 7, 11, 0.65)';
    g.fillRect(cx - box / 2, cy - box / 2, box, box + 14);
    g.strokeStyle = '#f0b94a';
    g.fillStyle = 'rgba(240, 185, 74, 0.35)';
    g.lineWidth = 1.2;
    g.beginPath();
    g.ellipse(cx, cy, rx, ry, Math.atan2(s1.y - s0.y, s1.x - s0.x), 0, 2 * Math.PI);
    g.fill();
    g.stroke();
    g.fillStyle = '#d7dde8';
    g.font = '10px sans-serif';
    g.textAlign = 'center';
    g.fillText(`${major.toPrecision(3)}″×${minor.toPrecision(3)}″`, cx, cy + box / 2 + 10);
    layer.canvas.dataset.beam = `${major},${minor},${beam.pa_deg[i]}`;
  }

  function stateOf(p) {
    if (!states.has(p.index)) {
      const st = { beam: null, plane: 0, seq: 0 };
      st.layer = p.viewer.addCanvasLayer((g, v) => draw(st, g, v));
      st.layer.canvas.id = p.index === 0 ? 'cubes-beam' : `cubes-beam-${p.index + 1}`;
      st.layer.canvas.classList.add('cubes-beam');
      states.set(p.index, st);
    }
    return states.get(p.index);
  }

  function setAxis(st, axis) {
    st.beam = axis?.beam || null;
    if (!st.beam) delete st.layer.canvas.dataset.beam;
    st.layer.redraw();
  }

  // a panel's cube: its beam (the axis answer's beam does not depend on the spectral unit)
  async function load(p, image) {
    const st = stateOf(p);
    const seq = ++st.seq;
    st.plane = image?.plane || 0;
    if (!image || (image.info?.plane_count || 1) < 2) { setAxis(st, null); return; }
    try {
      const axis = await api.get('/api/cubes/axis', { path: image.path, hdu: image.hdu });
      if (seq === st.seq) setAxis(st, axis);
    } catch {
      if (seq === st.seq) setAxis(st, null); // cubes.js tells the user about a bad axis
    }
  }

  const watched = new Set();
  function watch(p) {
    if (watched.has(p.index)) return;
    watched.add(p.index);
    offs.push(p.bus.on('image:opened', () => load(p, p.viewer.image)));
    offs.push(p.bus.on('image:closed', () => load(p, null)));
    offs.push(p.bus.on('plane:changed', ({ plane }) => {
      const st = stateOf(p);
      st.plane = plane;
      if (st.beam?.per_plane) st.layer.redraw();
    }));
    if (p.viewer.image) load(p, p.viewer.image);
  }
  for (const p of panels.list()) watch(p);
  offs.push(panels.onChange(() => { for (const p of panels.list()) watch(p); }));

  return {
    remove() {
      offs.forEach((off) => off());
      for (const st of states.values()) st.layer.remove();
    },
  };
}
