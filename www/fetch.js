// Downloads of model and image files by URL, with progress, and errors that say what went wrong:
// an HTTP error status, a server that refuses cross-origin reading (CORS), an unreachable server,
// an HTML page instead of a file, a Git LFS pointer instead of the file it stands for, or a download cut short.

export class DownloadError extends Error {
  constructor(kind, url, message) {
    super(message);
    this.name = 'DownloadError';
    this.kind = kind; // 'http' | 'cors' | 'network' | 'html' | 'lfs' | 'truncated'
    this.url = url;
  }
}

export function bytesText(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n;
  let u = -1;
  do { v /= 1024; u++; } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 100 ? 1 : 0)} ${units[u]}`;
}

// The last path segment of a URL, decoded, as a file name.
export function fileNameOf(url) {
  const u = new URL(url, location.href);
  const last = u.pathname.split('/').filter(Boolean).at(-1) ?? '';
  let name = last;
  try { name = decodeURIComponent(last); } catch { /* keep it encoded */ }
  // eslint-disable-next-line no-control-regex
  name = name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').slice(0, 200);
  return name || u.hostname || 'download';
}

const REASONS = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 410: 'Gone',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const ascii = (bytes) => String.fromCharCode(...bytes);

// An HTML page: what a web server sends for a missing file or a login wall, or a repository's file view.
function looksLikeHtml(head) {
  let text = ascii(head.subarray(0, 512));
  if (text.startsWith('\u00ef\u00bb\u00bf')) text = text.slice(3); // UTF-8 byte order mark
  text = text.trimStart().toLowerCase();
  return text.startsWith('<!doctype html') || text.startsWith('<html');
}

// What a Git LFS repository stores in place of a large file; hosts serve it from the raw-file address.
const isLfsPointer = (head) => ascii(head.subarray(0, 64)).startsWith('version https://git-lfs.github.com/spec/');

// The first `n` bytes of a list of chunks.
function headOf(chunks, n = 512) {
  const out = new Uint8Array(n);
  let k = 0;
  for (const c of chunks) {
    const take = Math.min(c.length, n - k);
    out.set(c.subarray(0, take), k);
    k += take;
    if (k === n) break;
  }
  return out.subarray(0, k);
}

// Tells a refused cross-origin read from an unreachable server: a no-cors request succeeds (with an opaque
// response) only when the server answered.
async function whyUnreadable(href, signal) {
  try {
    await fetch(href, { mode: 'no-cors', credentials: 'omit', signal });
    return new DownloadError('cors', href, `${href} answered, but its server does not let other sites read it `
      + '(CORS: it sent no Access-Control-Allow-Origin header for this page). Use a host that allows it, '
      + 'such as raw.githubusercontent.com or media.githubusercontent.com, or download the file and choose it here.');
  } catch (e) {
    if (signal?.aborted) throw e;
    const mixed = location.protocol === 'https:' && href.startsWith('http:')
      ? ' This page is served over https, and browsers block downloads over plain http from it.' : '';
    return new DownloadError('network', href, `${href} could not be reached: the network or the server failed.${mixed}`);
  }
}

// Downloads `url` (absolute, or relative to the page) as a File named after its last path segment.
// onProgress(received, total) runs as bytes arrive; total is null when the server sent no Content-Length.
export async function download(url, { onProgress = () => {}, signal } = {}) {
  const href = new URL(url, location.href).href;
  let res;
  try {
    res = await fetch(href, { mode: 'cors', credentials: 'omit', signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw await whyUnreadable(href, signal);
  }
  if (!res.ok) {
    res.body?.cancel().catch(() => {});
    const reason = res.statusText || REASONS[res.status] || '';
    throw new DownloadError('http', href, `${href} answered HTTP ${res.status}${reason ? ` ${reason}` : ''}: `
      + (res.status === 404 || res.status === 410 ? 'there is no file at that address.' : 'the server did not send the file.'));
  }
  const type = (res.headers.get('content-type') ?? '').toLowerCase();
  const html = () => new DownloadError('html', href, `${href} is a web page (HTML), not a model or image file. `
    + 'If it is a repository\'s page for the file, use the raw file\'s address instead.');
  if (/^\s*(text\/html|application\/xhtml\+xml)/.test(type)) {
    res.body?.cancel().catch(() => {});
    throw html();
  }
  const length = Number.parseInt(res.headers.get('content-length') ?? '', 10);
  const total = Number.isFinite(length) && length >= 0 ? length : null;
  const chunks = [];
  let received = 0;
  onProgress(received, total);
  const truncated = (detail) => new DownloadError('truncated', href, `${href} broke off after `
    + `${bytesText(received)}${total !== null ? ` of ${bytesText(total)}` : ''}: the file is truncated${detail}.`);
  if (res.body) {
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.length;
        onProgress(received, total);
      }
    } catch (e) {
      if (signal?.aborted) throw e;
      throw truncated(` (${e.message || 'the connection closed'})`);
    }
  }
  if (total !== null && received < total) throw truncated('');
  const head = headOf(chunks);
  if (looksLikeHtml(head)) throw html();
  if (isLfsPointer(head)) {
    throw new DownloadError('lfs', href, `${href} is a Git LFS pointer, not the file itself. `
      + 'For a file on GitHub use its media.githubusercontent.com/media/… address.');
  }
  return new File(chunks, fileNameOf(href), { type: type.startsWith('image/') ? type.split(';')[0] : '' });
}
