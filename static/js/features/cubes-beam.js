// Beam ellipse helper of features/cubes.js: the restoring beam (BMAJ/BMIN/BPA, or the plane's
// row of a CASA per-plane beam table) drawn to scale in the viewer's upper-left corner, PA east of
// north through the image WCS, with its size in arcsec. Not a registered feature.

const MIN_PX = 3;

export function mountBeam(ctx) {
  const { viewer } = ctx;
  let beam = null; // axis.beam of /api/cubes/axis
  let plane = 0;
  const layer = viewer.addCanvasLayer(draw);
  layer.canvas.id = 'cubes-beam';

  function draw(g, v) {
    if (!beam || !beam.pixel_scale_arcsec) return;
    const i = beam.per_plane ? Math.min(plane, beam.major_arcsec.length - 1) : 0;
    const major = beam.major_arcsec[i];
    const minor = beam.minor_arcsec[i];
    const scale = v.imageScale() / beam.pixel_scale_arcsec; // CSS px per arcsec
    const rx = Math.max(MIN_PX, (major * scale) / 2);
    const ry = Math.max(MIN_PX * (minor / major), (minor * scale) / 2);
    const theta = ((beam.north_angle_deg + beam.pa_deg[i]) * Math.PI) / 180; // from image +y towards -x
    const box = Math.max(64, 2 * rx + 12);
    const cx = 10 + box / 2; // top-left corner: the colorbar and the navigator hold the bottom ones
    const cy = 10 + box / 2;
    g.fillStyle = 'rgba(5, 7, 11, 0.65)';
    g.fillRect(cx - box / 2, cy - box / 2, box, box + 14);
    g.strokeStyle = '#f0b94a';
    g.fillStyle = 'rgba(240, 185, 74, 0.35)';
    g.lineWidth = 1.2;
    g.beginPath();
    g.ellipse(cx, cy, rx, ry, Math.atan2(-Math.cos(theta), -Math.sin(theta)), 0, 2 * Math.PI);
    g.fill();
    g.stroke();
    g.fillStyle = '#d7dde8';
    g.font = '10px sans-serif';
    g.textAlign = 'center';
    g.fillText(`${major.toPrecision(3)}″×${minor.toPrecision(3)}″`, cx, cy + box / 2 + 10);
    layer.canvas.dataset.beam = `${major},${minor},${beam.pa_deg[i]}`;
  }

  return {
    setAxis(axis) { beam = axis?.beam || null; if (!beam) delete layer.canvas.dataset.beam; layer.redraw(); },
    setPlane(p) { plane = p; if (beam?.per_plane) layer.redraw(); },
    remove() { layer.remove(); },
  };
}
