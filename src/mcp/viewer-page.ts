/**
 * The result viewer page (an MCP App, `ui://lipsync/viewer`): one self-contained HTML document, no
 * external scripts, styles or fetches. It speaks the MCP Apps protocol (ext-apps) to its host over
 * postMessage by hand — `ui/initialize`, then `ui/notifications/tool-result` — which keeps the page a
 * few kilobytes instead of bundling the ext-apps client (~340 kB). It shows the task's status and
 * progress, plays the result, and for a finished local task draws the mouth-cue timeline and shows the
 * original next to the result (both read through the host with `resources/read`:
 * `lipsync://tasks/{id}/mouth-cues.json`, `.../media/result`, `.../media/original`; a video over one
 * range is read range by range, see `readMedia`).
 */

/** The MCP Apps protocol version the page announces (ext-apps LATEST_PROTOCOL_VERSION). */
export const APP_PROTOCOL_VERSION = '2026-01-26';

const STYLE = `
:root { color-scheme: light dark; font: 14px/1.4 system-ui, sans-serif; }
body { margin: 0; padding: 12px; }
header { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
#status { font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
#status[data-status="success"] { color: #18794e; } #status[data-status="failed"] { color: #c62828; }
#task { opacity: .7; font-family: ui-monospace, monospace; font-size: 12px; }
progress { width: 100%; height: 6px; margin: 8px 0; } progress[hidden] { display: none; }
.videos { display: flex; gap: 8px; } .videos > * { flex: 1; } [hidden] { display: none !important; } video { width: 100%; max-height: 60vh; background: #000; border-radius: 6px; }
#timeline { position: relative; height: 28px; margin-top: 6px; background: rgba(127,127,127,.12); border-radius: 4px; overflow: hidden; }
#timeline[hidden] { display: none; }
.cue { position: absolute; top: 0; bottom: 0; border-right: 1px solid rgba(0,0,0,.15); font: 10px ui-monospace, monospace; text-align: center; line-height: 28px; overflow: hidden; }
.cue[data-shape="X"] { background: transparent; } .cue:not([data-shape="X"]) { background: rgba(33,150,243,.35); }
#cursor { position: absolute; top: 0; bottom: 0; width: 2px; background: #e91e63; left: 0; }
#note { margin-top: 6px; opacity: .8; }
`;

/** The page script (plain ES2020, runs in the host's sandboxed iframe). */
const SCRIPT = `
(() => {
  const $ = (id) => document.getElementById(id);
  let nextId = 1;
  const pending = new Map();
  const post = (msg) => window.parent.postMessage({ jsonrpc: '2.0', ...msg }, '*');
  const request = (method, params) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    post({ id, method, params });
  });
  const notify = (method, params) => post({ method, ...(params ? { params } : {}) });
  let duration = 0;
  let cuesFor = '';

  function show(view) {
    if (!view || typeof view !== 'object') return;
    const status = String(view.status || '');
    $('status').textContent = status === 'saved' ? 'saved' : status || 'unknown';
    $('status').dataset.status = status;
    $('task').textContent = view.task_id ? 'task ' + view.task_id + (view.provider ? ' · ' + view.provider : '') : '';
    const p = $('progress');
    if (typeof view.progress === 'number' && !view.completed) { p.hidden = false; p.value = view.progress; }
    else p.hidden = true;
    const url = view.result_url || view.url;
    if (url && /^(https?:|data:|blob:)/.test(url) && $('player').dataset.src !== url) {
      $('player').dataset.src = url;
      $('player').src = url;
    }
    const note = view.error ? view.error.message : view.path ? 'Saved to ' + view.path : view.message || '';
    $('note').textContent = note;
    if (view.provider === 'local' && view.status === 'success' && view.task_id && cuesFor !== view.task_id) {
      cuesFor = view.task_id;
      const base = 'lipsync://tasks/' + encodeURIComponent(view.task_id) + '/media/';
      // Local files cannot be loaded by URL inside the host's frame: read them through the host.
      if (url && url.startsWith('file:')) playBlob($('player'), base + 'result');
      playBlob($('original'), base + 'original', true);
      request('resources/read', { uri: 'lipsync://tasks/' + encodeURIComponent(view.task_id) + '/mouth-cues.json' })
        .then((r) => drawCues(JSON.parse(r.contents[0].text)))
        .catch(() => undefined);
    }
    if (view.status === 'saved' && view.task_id && !url) {
      request('resources/read', { uri: 'lipsync://tasks/' + encodeURIComponent(view.task_id) })
        .then((r) => show({ ...JSON.parse(r.contents[0].text), path: view.path }))
        .catch(() => undefined);
    }
  }

  function playBlob(video, uri, reveal) {
    readMedia(uri)
      .then((src) => {
        video.src = src;
        if (reveal) { video.hidden = false; $('labels').hidden = false; }
      })
      .catch(() => undefined);
  }

  // Reads a media resource through the host and returns an object URL. A file over one range (4 MiB)
  // answers JSON that lists its ranges; each range answers a blob whose _meta names the next one.
  async function readMedia(uri) {
    const read = (u) => request('resources/read', { uri: u }).then((r) => r.contents[0]);
    const bytes = (b64) => {
      const bin = atob(b64);
      const out = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out;
    };
    const first = await read(uri);
    if (first.blob !== undefined) return URL.createObjectURL(new Blob([bytes(first.blob)], { type: first.mimeType }));
    const info = JSON.parse(first.text);
    const parts = [];
    let got = 0;
    let next = info.ranges && info.ranges[0];
    while (next && got < info.size) {
      const c = await read(next);
      parts.push(bytes(c.blob));
      got += parts[parts.length - 1].length;
      const meta = c._meta && c._meta['lipsync/media'];
      next = meta && meta.next;
    }
    return URL.createObjectURL(new Blob(parts, { type: info.mime_type }));
  }

  function drawCues(doc) {
    const cues = (doc && doc.mouthCues) || [];
    const total = (doc && doc.metadata && doc.metadata.duration) || (cues.length ? cues[cues.length - 1].end : 0);
    if (!total) return;
    duration = total;
    const tl = $('timeline');
    for (const c of cues) {
      const el = document.createElement('div');
      el.className = 'cue';
      el.dataset.shape = c.value;
      el.style.left = (100 * c.start / total) + '%';
      el.style.width = (100 * (c.end - c.start) / total) + '%';
      el.textContent = c.value;
      tl.insertBefore(el, $('cursor'));
    }
    tl.hidden = false;
  }

  $('player').addEventListener('timeupdate', () => {
    const d = duration || $('player').duration || 0;
    if (d) $('cursor').style.left = Math.min(100, (100 * $('player').currentTime) / d) + '%';
  });

  window.addEventListener('message', (ev) => {
    if (ev.source !== window.parent) return;
    const m = ev.data;
    if (!m || m.jsonrpc !== '2.0') return;
    if (m.id !== undefined && pending.has(m.id) && !m.method) {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p.reject(m.error); else p.resolve(m.result);
      return;
    }
    if (m.method === 'ui/notifications/tool-result') {
      const r = m.params || {};
      let view = r.structuredContent;
      if (!view && r.content) {
        const t = r.content.find((c) => c.type === 'text');
        try { view = JSON.parse(t.text); } catch { view = undefined; }
      }
      if (r.isError && view && view.error) view = { status: 'failed', error: view.error };
      show(view);
    } else if (m.method === 'ping' && m.id !== undefined) {
      post({ id: m.id, result: {} });
    } else if (m.id !== undefined && m.method) {
      post({ id: m.id, result: {} });
    }
  });

  request('ui/initialize', {
    appInfo: { name: 'lipsync-viewer', version: '1' },
    appCapabilities: {},
    protocolVersion: '${APP_PROTOCOL_VERSION}',
  }).then(() => notify('ui/notifications/initialized'), () => undefined);
})();
`;

export const VIEWER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lip-sync result</title><style>${STYLE}</style></head>
<body>
<header><span id="status" data-status="">waiting</span><span id="task"></span></header>
<progress id="progress" max="1" hidden></progress>
<div id="labels" class="videos" hidden><span>original</span><span>result</span></div>
<div class="videos"><video id="original" controls playsinline muted preload="auto" hidden></video><video id="player" controls playsinline muted preload="auto"></video></div>
<div id="timeline" hidden><div id="cursor"></div></div>
<div id="note"></div>
<script>${SCRIPT}</script>
</body></html>
`;
