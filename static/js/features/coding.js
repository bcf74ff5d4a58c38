// The Python code panel (admin only): a CodeMirror editor, Run / Stop, timeout, elapsed time, and
// an output area that streams the run's stdout/stderr over /ws, shows its matplotlib figures and
// opens the images / tables it sends back. Runs in the server's sandbox (/local-coding/*).
// Not mounted at all for a non-admin page (the server answers 403 to every /local-coding route).

import { SNIPPETS, draft, loadHistory, pathHint, remember } from './coding-snippets.js';

const VENDOR = '/vendor/codemirror';
const SCRIPTS = ['lib/codemirror.js', 'mode/python/python.js', 'addon/edit/matchbrackets.js', 'addon/hint/show-hint.js'];
const STYLES = ['lib/codemirror.css', 'addon/hint/show-hint.css', '/static/css/coding.css'];
const WELCOME = `# Python in Neloura's sandbox (Ctrl-Enter runs; Ctrl-Space completes paths inside quotes)
import numpy as np
import matplotlib.pyplot as plt
import neloura_session as ns

img = ns.image()
print(img)
plt.imshow(img.data, origin="lower", vmin=np.nanpercentile(img.data, 1), vmax=np.nanpercentile(img.data, 99))
plt.colorbar(label=img.unit)
plt.show()
`;

let loading = null;
function loadCodeMirror() {
  if (window.CodeMirror && loading) return loading;
  loading = (async () => {
    for (const href of STYLES) {
      if (document.querySelector(`link[href="${href.startsWith('/') ? href : `${VENDOR}/${href}`}"]`)) continue;
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = href.startsWith('/') ? href : `${VENDOR}/${href}`;
      document.head.append(link);
    }
    for (const src of SCRIPTS) {
      await new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = `${VENDOR}/${src}`;
        script.onload = resolve;
        script.onerror = () => reject(new Error(`could not load ${src}`));
        document.head.append(script);
      });
    }
    return window.CodeMirror;
  })();
  return loading;
}

export function mount(ctx) {
  if (!ctx.config.admin) return () => {};
  const { el } = ctx.escape;
  const st = { run: null, starting: false, pending: [], timer: null, started: 0, cursor: null, catalog: null, regions: '', selection: null, editor: null };

  const snippets = el('select', { class: 'code-snippets', title: 'Insert a snippet' },
    el('option', { value: '' }, 'Snippets…'), ...SNIPPETS.map((s, i) => el('option', { value: String(i) }, s.label)));
  const history = el('select', { class: 'code-history', title: 'Your last scripts (kept in this browser)' });
  const timeout = el('input', { type: 'number', class: 'code-timeout', min: '1', max: '600', step: '1', value: '30', title: 'Time limit (s)' });
  const runBtn = el('button', { class: 'btn primary code-run', title: 'Run (Ctrl-Enter)' }, 'Run');
  const stopBtn = el('button', { class: 'btn code-stop', disabled: true, title: 'Stop the run' }, 'Stop');
  const elapsed = el('span', { class: 'code-elapsed muted' }, '');
  const closeBtn = el('button', { class: 'btn small code-close', title: 'Close the panel' }, '×');
  const editorBox = el('div', { class: 'code-editor' });
  const output = el('div', { class: 'code-output', 'aria-live': 'polite' });
  const grip = el('div', { class: 'code-grip', title: 'Drag to resize' });
  const panel = el('section', { class: 'code-panel', hidden: true, 'aria-label': 'Python code' },
    grip,
    el('div', { class: 'code-head' }, el('strong', {}, 'Python'), el('span', { class: 'muted' }, 'sandboxed'),
      snippets, history, el('label', { class: 'muted' }, 'timeout ', timeout, ' s'), runBtn, stopBtn, elapsed, closeBtn),
    editorBox, output);
  document.getElementById('viewer-wrap')?.append(panel);

  const code = () => (st.editor ? st.editor.getValue() : '');
  const fillHistory = () => {
    history.replaceChildren(el('option', { value: '' }, 'Last scripts…'),
      ...loadHistory().map((h, i) => el('option', { value: String(i) },
        `${new Date(h.time).toLocaleString()} · ${h.code.split('\n').find((l) => l.trim() && !l.startsWith('#')) || ''}`.slice(0, 80))));
  };

  const line = (text, cls) => {
    let last = output.lastElementChild;
    if (!last || last.tagName !== 'PRE' || last.dataset.stream !== cls) {
      last = el('pre', { class: `code-${cls}`, 'data-stream': cls });
      output.append(last);
    }
    last.append(document.createTextNode(text));
    output.scrollTop = output.scrollHeight;
  };
  const note = (text, cls = 'note') => { output.append(el('div', { class: `code-${cls}` }, text)); output.scrollTop = output.scrollHeight; };

  const tick = () => { elapsed.textContent = `${((Date.now() - st.started) / 1000).toFixed(1)} s`; };
  const setRunning = (running) => {
    runBtn.disabled = running;
    stopBtn.disabled = !running;
    panel.dataset.state = running ? 'running' : 'idle';
    clearInterval(st.timer);
    if (running) { st.started = Date.now(); st.timer = setInterval(tick, 100); }
  };

  async function showFigure(runId, index) {
    try {
      const blob = await ctx.api.get(`/local-coding/runs/${runId}/figures/${index}`);
      const img = el('img', { class: 'code-figure', alt: `figure ${index + 1}` });
      img.src = URL.createObjectURL(blob);
      output.append(img);
      output.scrollTop = output.scrollHeight;
    } catch (e) {
      note(`figure ${index + 1}: ${e.detail || e}`, 'error');
    }
  }

  function finished(msg) {
    setRunning(false);
    if (msg.elapsed_s != null) elapsed.textContent = `${msg.elapsed_s.toFixed(2)} s`;
    if (msg.state === 'done') note(`done (exit code 0)`, 'ok');
    else note(`${msg.state}: ${msg.reason || ''}${msg.exit_code != null ? ` (exit code ${msg.exit_code})` : ''}`, 'error');
    st.run = null;
  }

  function onEvent(msg) {
    if (!msg || typeof msg.type !== 'string' || !msg.type.startsWith('coding:')) return;
    if (st.starting && !st.run) { st.pending.push(msg); return; } // before POST answered: kept for replay
    if (msg.run_id !== st.run) return;
    if (msg.type === 'coding:output') line(msg.text, msg.stream === 'stderr' ? 'stderr' : 'stdout');
    else if (msg.type === 'coding:figure') showFigure(msg.run_id, msg.index);
    else if (msg.type === 'coding:image') { note(`image sent back: ${msg.path}`); ctx.bus.emit('image:open', { path: msg.path }); }
    else if (msg.type === 'coding:table') { note(`table sent back: catalogs/${msg.name}`); ctx.bus.emit('overlay:show', { name: msg.name }); }
    else if (msg.type === 'coding:state' && ['done', 'failed', 'stopped'].includes(msg.state)) finished(msg);
  }

  async function run() {
    if (st.run) return;
    const text = code();
    if (!text.trim()) return;
    remember(text);
    fillHistory();
    output.replaceChildren();
    const image = ctx.viewer.image;
    const body = {
      code: text,
      timeout_s: Number(timeout.value) || undefined,
      image: image ? { path: image.path, hdu: image.hdu, plane: image.plane || 0 } : undefined,
      catalog: st.catalog || undefined,
      cursor: st.cursor || undefined,
      view: ctx.viewer.viewState() || undefined,
      regions: st.regions || undefined, // DS9 text of the page's regions (neloura_session.regions())
      selection: st.selection || undefined, // selected catalog rows (neloura_session.selection())
    };
    setRunning(true);
    st.starting = true;
    st.pending = [];
    try {
      const { run_id: runId } = await ctx.api.post('/local-coding/run', body);
      st.run = runId;
      panel.dataset.run = runId;
      st.starting = false;
      const early = st.pending;
      st.pending = [];
      early.forEach(onEvent); // output that raced ahead of the POST answer, in order
    } catch (e) {
      st.starting = false;
      setRunning(false);
      st.run = null;
      note(e.detail || String(e), 'error');
    }
  }

  async function stop() {
    if (!st.run) return;
    try { await ctx.api.del(`/local-coding/runs/${st.run}`); } catch (e) { ctx.ui.notify(e.detail || String(e), 'error'); }
  }

  async function open() {
    panel.hidden = false;
    if (st.editor) { st.editor.refresh(); st.editor.focus(); return; }
    try {
      const CodeMirror = await loadCodeMirror();
      st.editor = CodeMirror(editorBox, {
        value: draft.load() || WELCOME,
        mode: 'python',
        lineNumbers: true,
        matchBrackets: true,
        indentUnit: 4,
        extraKeys: {
          'Ctrl-Enter': run,
          'Cmd-Enter': run,
          'Ctrl-Space': (cm) => cm.showHint({ hint: pathHint(ctx.api), completeSingle: false }),
          Tab: (cm) => (cm.somethingSelected() ? cm.indentSelection('add') : cm.replaceSelection('    ')),
        },
      });
      st.editor.on('change', () => draft.save(code()));
      st.editor.focus();
    } catch (e) {
      note(`the editor could not load: ${e.message || e}`, 'error');
    }
  }

  snippets.addEventListener('change', () => {
    const s = SNIPPETS[Number(snippets.value)];
    if (s && st.editor) st.editor.setValue(s.code);
    snippets.value = '';
  });
  history.addEventListener('change', () => {
    const h = loadHistory()[Number(history.value)];
    if (h && st.editor) st.editor.setValue(h.code);
    history.value = '';
  });
  runBtn.addEventListener('click', run);
  stopBtn.addEventListener('click', stop);
  closeBtn.addEventListener('click', () => { panel.hidden = true; });
  grip.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    grip.setPointerCapture(e.pointerId);
    const wrap = panel.parentElement.getBoundingClientRect();
    const move = (ev) => { panel.style.width = `${Math.min(Math.max(wrap.right - ev.clientX, 320), wrap.width - 40)}px`; };
    const up = () => { grip.removeEventListener('pointermove', move); grip.removeEventListener('pointerup', up); st.editor?.refresh(); };
    grip.addEventListener('pointermove', move);
    grip.addEventListener('pointerup', up);
  });
  fillHistory();

  const offs = [
    ctx.bus.on('server:event', onEvent),
    ctx.bus.on('viewer:pointer-move', (p) => { if (p) st.cursor = { x: p.x, y: p.y }; }),
    ctx.bus.on('viewer:click', (p) => { st.cursor = { x: p.x, y: p.y }; }),
    ctx.bus.on('catalog:loaded', ({ name }) => { st.catalog = { name, filter: st.catalog?.name === name ? st.catalog.filter : null }; }),
    ctx.bus.on('catalog:filter-changed', ({ name, filter }) => { st.catalog = { name, filter: filter || null }; }),
    ctx.bus.on('regions:changed', ({ count, ds9 }) => { st.regions = count ? ds9 || '' : ''; }),
    ctx.bus.on('catalog:rows-selected', ({ name, rows }) => { st.selection = name && rows?.length ? { catalog: name, rows: [...rows] } : null; }),
    ctx.ui.addMenuItem('Analysis', { label: 'Python code…', id: 'menu-coding', onClick: () => (panel.hidden ? open() : (panel.hidden = true)) }),
  ];
  return () => {
    offs.forEach((off) => off());
    clearInterval(st.timer);
    panel.remove();
  };
}
