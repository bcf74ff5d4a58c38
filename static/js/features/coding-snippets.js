// Code panel helpers (features/coding.js): snippets, the per-browser script history, and path
// completion inside the data folders (files/ through /api/files, catalogs/ through /api/catalogs).

export const SNIPPETS = [
  {
    label: 'Open image: statistics',
    code: `import numpy as np
import neloura_session as ns

img = ns.image()          # the image open in the viewer (physical values, NaN = blank)
print(img)
data = img.data
print("median", np.nanmedian(data), img.unit, " std", np.nanstd(data))
ra, dec = img.pixel_to_world(img.shape[1] / 2, img.shape[0] / 2)
print(f"centre: RA {ra[0]:.6f}  Dec {dec[0]:.6f} (ICRS deg)")
`,
  },
  {
    label: 'Photometry at the cursor',
    code: `import numpy as np
import neloura_session as ns
from photutils.aperture import CircularAnnulus, CircularAperture, ApertureStats, aperture_photometry

img = ns.image()
x, y = ns.cursor() or (img.shape[1] / 2, img.shape[0] / 2)   # 0-based pixel under the pointer
aperture = CircularAperture((x, y), r=4)
annulus = CircularAnnulus((x, y), r_in=8, r_out=12)
sky = ApertureStats(img.data, annulus).median
phot = aperture_photometry(img.data - sky, aperture)
print(f"x={x:.1f} y={y:.1f}  sky={sky:.4g}  flux={phot['aperture_sum'][0]:.4g} {img.unit} * pix")
`,
  },
  {
    label: 'Regions and selected rows',
    code: `import numpy as np
import neloura_session as ns

img = ns.image()
for region in ns.regions():          # the page's regions (astropy-regions, 0-based pixels)
    mask = region.to_mask(mode="center")
    values = mask.get_values(img.data)
    print(f"{type(region).__name__}: {np.count_nonzero(np.isfinite(values))} px, sum {np.nansum(values):.4g} {img.unit}")
chosen = ns.selection()              # rows selected in the table, plot or by a region
print(chosen["catalog"], len(chosen["rows"]), "rows selected:", chosen["rows"][:10])
`,
  },
  {
    label: 'Plot a catalog column',
    code: `import numpy as np
import matplotlib.pyplot as plt
import neloura_session as ns

cat = ns.catalog()        # the catalog of the table view, with its current filter
print(len(cat), "rows;", cat.colnames)
column = [c for c in cat.colnames if cat[c].dtype.kind == "f"][0]
plt.hist(np.asarray(cat[column], dtype=float), bins=40)
plt.xlabel(column)
plt.ylabel("rows")
plt.show()
`,
  },
  {
    label: 'Plot the image histogram',
    code: `import numpy as np
import matplotlib.pyplot as plt
import neloura_session as ns

img = ns.image()
values = img.data[np.isfinite(img.data)]
plt.hist(values, bins=200, log=True)
plt.xlabel(img.unit or "value")
plt.show()
`,
  },
  {
    label: 'Send back a smoothed image',
    code: `import numpy as np
from scipy.ndimage import gaussian_filter
import neloura_session as ns

img = ns.image()
smoothed = gaussian_filter(np.nan_to_num(img.data), sigma=3)
ns.show_image(smoothed, wcs=img.celestial_wcs, name="smoothed")   # opens in the viewer
`,
  },
  {
    label: 'Send back a table',
    code: `import numpy as np
from astropy.table import Table
import neloura_session as ns

img = ns.image()
y, x = np.unravel_index(np.argsort(np.nan_to_num(img.data, nan=-np.inf), axis=None)[-20:], img.shape)
ra, dec = img.pixel_to_world(x, y)
ns.show_table(Table({"x_pix": x, "y_pix": y, "ra": ra, "dec": dec}), name="brightest")  # overlaid as a catalog
`,
  },
];

const HISTORY_KEY = 'neloura-coding-history';
const DRAFT_KEY = 'neloura-coding-draft';
const HISTORY_MAX = 20;

export function loadHistory() {
  try {
    const list = JSON.parse(window.localStorage.getItem(HISTORY_KEY) || '[]');
    return Array.isArray(list) ? list.filter((h) => h && typeof h.code === 'string') : [];
  } catch {
    return [];
  }
}

export function remember(code) {
  const list = loadHistory().filter((h) => h.code !== code);
  list.unshift({ code, time: Date.now() });
  window.localStorage.setItem(HISTORY_KEY, JSON.stringify(list.slice(0, HISTORY_MAX)));
}

export const draft = {
  load: () => window.localStorage.getItem(DRAFT_KEY),
  save: (code) => window.localStorage.setItem(DRAFT_KEY, code),
};

/** The text of the string literal the cursor is in (or null): [start, end, text before the cursor]. */
function stringAtCursor(cm) {
  const cur = cm.getCursor();
  const token = cm.getTokenAt(cur);
  if (!token || token.type !== 'string') return null;
  const quote = token.string.match(/^[rbuRBU]*(['"])/);
  if (!quote) return null;
  const open = token.start + quote[0].length;
  const typed = cm.getLine(cur.line).slice(open, cur.ch);
  return { from: { line: cur.line, ch: open }, to: cur, typed };
}

/** CodeMirror show-hint source: file paths under files/ (absolute server paths are given to
 * scripts as files/...) and catalog names, completed inside a string literal (Ctrl-Space). */
export function pathHint(api) {
  const hint = (cm, callback) => {
    const where = stringAtCursor(cm);
    if (!where) { callback(null); return; }
    const slash = where.typed.lastIndexOf('/');
    const folder = slash >= 0 ? where.typed.slice(0, slash) : '';
    const prefix = where.typed.slice(slash + 1).toLowerCase();
    const files = api.get('/api/files', { folder }).then((r) => r.entries || [], () => []);
    const catalogs = folder ? Promise.resolve([]) : api.get('/api/catalogs').then((r) => r.catalogs || [], () => []);
    Promise.all([files, catalogs]).then(([entries, cats]) => {
      const list = [
        ...entries.filter((e) => e.name.toLowerCase().startsWith(prefix))
          .map((e) => ({ text: e.kind === 'folder' ? `${e.path}/` : e.path, displayText: `${e.path}${e.kind === 'folder' ? '/' : ''}  (${e.kind})` })),
        ...cats.filter((c) => c.name.toLowerCase().startsWith(prefix))
          .map((c) => ({ text: c.name, displayText: `${c.name}  (catalog)` })),
      ];
      callback(list.length ? { list, from: where.from, to: where.to } : null);
    });
  };
  hint.async = true;
  return hint;
}
