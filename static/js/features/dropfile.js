// Drop a file anywhere on the page: FITS images (.fits .fit .fts .fz, gzipped too) are uploaded
// and opened (recommended HDU); catalogs (.csv .tsv .ecsv .vot .xml .parquet .txt .dat) are
// uploaded and overlaid. Drop zones of their own (the file browser's, the catalog table's) keep
// their behaviour: a drop they handled (defaultPrevented) is left alone here.
//
// Bus: emits image:open and overlay:show. Server: POST /api/files/upload, POST /api/catalogs/upload.

const FITS = /\.(fits?|fts|fz)(\.gz)?$/i;
const CATALOG = /\.(csv|tsv|ecsv|vot|votable|xml|parquet|txt|dat)$/i;

/** 'image', 'catalog' or null for a file name. */
export function kindOf(name) {
  if (FITS.test(name)) return 'image';
  if (CATALOG.test(name)) return 'catalog';
  return null;
}

export function mount(ctx) {
  const { el } = ctx.escape;
  const veil = el('div', { id: 'drop-veil', hidden: true, 'aria-hidden': 'true' },
    el('div', { class: 'drop-veil-box' }, 'Drop FITS images or catalogs to open them'));
  document.body.append(veil);
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');

  async function uploadOne(file) {
    const kind = kindOf(file.name);
    if (!kind) { ctx.ui.notify(`${file.name}: not a FITS image or a catalog (by its name)`, 'warning'); return; }
    const id = `drop-${file.name}`;
    const label = `uploading ${file.name}`;
    ctx.ui.progress(id, 0, label);
    try {
      const url = kind === 'image' ? '/api/files/upload' : '/api/catalogs/upload';
      const body = await ctx.api.upload(url, file, { onProgress: (f) => ctx.ui.progress(id, Math.min(f, 0.99), label) });
      if (kind === 'image') {
        ctx.ui.notify(`Uploaded ${body.path} (temporary)`, 'success');
        ctx.bus.emit('image:open', { path: body.path, hdu: body.recommended ?? undefined });
      } else {
        ctx.ui.notify(`${body.name}: ${Number(body.rows).toLocaleString()} rows`, 'success');
        ctx.bus.emit('overlay:show', { name: body.name });
      }
    } catch (err) {
      ctx.ui.notify(`Upload of ${file.name} refused: ${err.detail || err}`, 'error');
    } finally {
      ctx.ui.progress(id, null);
    }
  }

  const handlers = {
    dragenter: (e) => { if (!hasFiles(e)) return; depth += 1; veil.hidden = false; },
    dragleave: () => { depth = Math.max(0, depth - 1); if (!depth) veil.hidden = true; },
    dragover: (e) => { if (hasFiles(e)) e.preventDefault(); },  // allows dropping anywhere
    drop: async (e) => {
      depth = 0;
      veil.hidden = true;
      if (!hasFiles(e) || e.defaultPrevented) return;  // a drop zone of its own took it
      e.preventDefault();
      const files = [...e.dataTransfer.files];
      // images first, one at a time (the last one opened stays), then catalogs
      files.sort((a, b) => (kindOf(a.name) === 'image' ? 0 : 1) - (kindOf(b.name) === 'image' ? 0 : 1));
      for (const file of files) await uploadOne(file);
    },
  };
  for (const [name, fn] of Object.entries(handlers)) document.addEventListener(name, fn);
  return () => {
    for (const [name, fn] of Object.entries(handlers)) document.removeEventListener(name, fn);
    veil.remove();
  };
}
