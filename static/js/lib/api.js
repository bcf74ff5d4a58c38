// The only module that talks HTTP. JSON in, JSON out; errors become ApiError{status, detail}.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function url(path, params) {
  return new URL(path + query(params), window.location.origin).toString();
}

async function detailOf(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === 'string') return body.detail;
    return JSON.stringify(body.detail ?? body);
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

// Off loopback, admin endpoints need X-Admin-Token; the admin types it once per browser session.
const TOKEN_KEY = 'neloura-admin-token';

// The session: an HttpOnly cookie the server hands out on the first request (the page never
// sees it; fetch, XHR and the /ws handshake send it). The page's jobs and runs belong to it.

function headersFor(path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = window.sessionStorage.getItem(TOKEN_KEY);
  if (token && (path.startsWith('/admin/') || path.startsWith('/local-coding/'))) headers['X-Admin-Token'] = token;
  return headers;
}

async function request(method, path, { params, body, signal } = {}) {
  let response;
  try {
    response = await fetch(url(path, params), {
      method,
      signal,
      headers: headersFor(path, body),
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, `network error: ${err.message || err}`);
  }
  if (!response.ok) throw new ApiError(response.status, await detailOf(response));
  const type = response.headers.get('content-type') || '';
  if (type.includes('application/json')) return response.json();
  return response.blob();
}

export const api = {
  url,
  setAdminToken(token) {
    if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
    else window.sessionStorage.removeItem(TOKEN_KEY);
  },
  hasAdminToken: () => !!window.sessionStorage.getItem(TOKEN_KEY),
  get: (path, params, opts = {}) => request('GET', path, { params, ...opts }),
  post: (path, body, opts = {}) => request('POST', path, { body, ...opts }),
  del: (path, params, opts = {}) => request('DELETE', path, { params, ...opts }),
  /** Multipart upload with progress (XHR: fetch has no upload progress). */
  upload(path, file, { folder = '', onProgress } = {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url(path));
      xhr.responseType = 'json';
      xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        const body = xhr.response || {};
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(new ApiError(xhr.status, typeof body.detail === 'string' ? body.detail : `upload failed (${xhr.status})`));
      };
      xhr.onerror = () => reject(new ApiError(0, 'network error during upload'));
      const form = new FormData();
      form.append('file', file, file.name);
      if (folder) form.append('folder', folder);
      xhr.send(form);
    });
  },
  /** Open the /ws event socket; onMessage(json), onOpen(send), onDown(). Reconnects with backoff. */
  socket(onMessage, onOpen, onDown) {
    let ws = null;
    let closed = false;
    let delay = 500;
    const connect = () => {
      const proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
      ws = new WebSocket(`${proto}://${window.location.host}/ws`);
      ws.onopen = () => { delay = 500; if (onOpen) onOpen(send); };
      ws.onmessage = (e) => { try { onMessage(JSON.parse(e.data)); } catch { /* ignore non-JSON */ } };
      ws.onclose = () => {
        if (closed) return;
        if (onDown) onDown();
        setTimeout(connect, (delay = Math.min(delay * 2, 10000)));
      };
    };
    const send = (obj) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj)); };
    connect();
    return { send, close() { closed = true; if (ws) ws.close(); } };
  },
};
