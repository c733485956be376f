/**
 * The result viewer page (an MCP App, `ui://lipsync/viewer`): one self-contained HTML document, no
 * external scripts, styles or fetches. It speaks the MCP Apps protocol (ext-apps) to its host over
 * postMessage by hand — `ui/initialize`, then `ui/notifications/tool-result`, and it reports its height
 * with `ui/notifications/size-changed` — which keeps the page a few kilobytes instead of bundling the
 * ext-apps client (~340 kB). It shows the task's status and progress, plays the result, and says what
 * the job did (lip motion, alignment, warnings, and the cost, read from the task resource). For a
 * finished local task it shows the original next to the result (stacked when narrow) and draws the
 * mouth-cue timeline with a legend (read through the host with `resources/read`:
 * `lipsync://tasks/{id}/mouth-cues.json`, `.../media/result`, `.../media/original`). Opened outside a
 * host, it says what it is. A video over one range is read range by range (see `readMedia`).
 */

/** The MCP Apps protocol version the page announces (ext-apps LATEST_PROTOCOL_VERSION). */
export const APP_PROTOCOL_VERSION = '2026-01-26';

const STYLE = `
:root { color-scheme: light dark; font: 14px/1.45 system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; padding: 12px; max-width: 1400px; }
[hidden] { display: none !important; }
header { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
#status { font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
#status[data-status="success"] { color: #18794e; } #status[data-status="failed"] { color: #c62828; }
#task { opacity: .7; font-family: ui-monospace, monospace; font-size: 12px; overflow-wrap: anywhere; }
progress { width: 100%; height: 6px; margin: 8px 0; }
.videos { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr)); gap: 12px; margin-top: 8px; }
figure { margin: 0; min-width: 0; }
figure:has(> video[hidden]), figure:has(> video:not([src])) { display: none; }
figcaption { font-size: 12px; font-weight: 600; margin: 0 0 4px; opacity: .8; }
video { display: block; width: 100%; height: auto; max-height: 70vh; object-fit: contain; background: #000; border-radius: 6px; }
#cues { margin-top: 10px; }
#timeline { position: relative; height: 28px; background: rgba(127,127,127,.12); border-radius: 4px; overflow: hidden; }
.cue { position: absolute; top: 0; bottom: 0; border-right: 1px solid rgba(0,0,0,.15); font: 10px ui-monospace, monospace; text-align: center; line-height: 28px; overflow: hidden; }
.cue[data-shape="X"], #legend [data-shape="X"] b { background: transparent; }
.cue:not([data-shape="X"]), #legend b { background: rgba(33,150,243,.35); }
#cursor { position: absolute; top: 0; bottom: 0; width: 2px; background: #e91e63; left: 0; }
#legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0 0; padding: 0; list-style: none; font-size: 12px; }
#legend b { display: inline-block; min-width: 1.6em; text-align: center; border-radius: 3px; margin-right: 4px; font-family: ui-monospace, monospace; }
#facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 4px 12px; margin: 12px 0 0; }
#facts > div { display: contents; } #facts dt { font-weight: 600; } #facts dd { margin: 0; overflow-wrap: anywhere; }
#facts ul { margin: 0; padding-left: 1.1em; }
#note { margin-top: 8px; opacity: .8; overflow-wrap: anywhere; }
#standalone { max-width: 60ch; } #standalone h1 { font-size: 18px; margin: 0 0 8px; }
`;

/** Rhubarb's mouth shapes, as the legend of the mouth-cue timeline names them. */
const SHAPES: Record<string, string> = {
  A: 'closed (P, B, M)',
  B: 'slightly open, teeth together (K, S, T, EE)',
  C: 'open (EH, AE)',
  D: 'wide open (AA)',
  E: 'rounded (AO, ER)',
  F: 'puckered (UW, OW, W)',
  G: 'teeth on lower lip (F, V)',
  H: 'tongue up (long L)',
  X: 'rest (silence)',
};

/** How long the page waits for a host to answer ui/initialize before it explains itself. */
const STANDALONE_AFTER_MS = 1500;

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
  const SHAPES = ${JSON.stringify(SHAPES)};
  let duration = 0;
  let cuesFor = '';
  let costFor = '';
  let connected = false;

  function show(view) {
    if (!view || typeof view !== 'object') return;
    $('standalone').hidden = true;
    $('main').hidden = false;
    const status = String(view.status || '');
    $('status').textContent = status || 'unknown';
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
    showFacts(view);
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
    } else if (view.task_id && view.status !== 'saved') {
      // The task resource adds what the task cost (tool results do not carry it).
      const key = view.task_id + ' ' + status;
      if (view.cost) showCost(view.cost, view.provider);
      else if (costFor !== key) {
        costFor = key;
        request('resources/read', { uri: 'lipsync://tasks/' + encodeURIComponent(view.task_id) })
          .then((r) => showCost(JSON.parse(r.contents[0].text).cost, view.provider))
          .catch(() => undefined);
      }
    }
  }

  /** What the job did: lip motion, alignment, warnings (the cost comes from showCost). */
  function showFacts(view) {
    const extra = view.extra || {};
    const lips = extra.lip_motion === 'unchanged'
      ? 'unchanged. ' + (extra.engine_note || 'the soundtrack was replaced, the mouth was not re-animated.')
      : '';
    fact('lips', lips);
    fact('align', typeof extra.align_note === 'string' ? extra.align_note : '');
    const list = $('warnings');
    list.replaceChildren(...(view.warnings || []).map((w) => {
      const li = document.createElement('li');
      li.textContent = String(w);
      return li;
    }));
    list.closest('div').hidden = !list.children.length;
    factsShown();
  }

  function fact(id, text) {
    $(id).textContent = text;
    $(id).closest('div').hidden = !text;
  }

  function factsShown() {
    $('facts').hidden = ![...$('facts').children].some((d) => !d.hidden);
  }

  const SOURCES = {
    provider: "the provider's figure",
    balance: 'read from the balance before and after',
    estimate: 'estimate',
    reused: 'reused: nothing paid',
  };

  function showCost(cost, provider) {
    if (!cost || typeof cost !== 'object') return;
    const text = cost.unit === 'free'
      ? 'free' + (provider === 'local' ? ' (runs on this machine)' : '')
      : (typeof cost.amount === 'number' ? cost.amount + ' ' : 'unknown ') + cost.unit +
        (SOURCES[cost.source] ? ' (' + SOURCES[cost.source] + ')' : '');
    fact('cost', text);
    factsShown();
  }

  function playBlob(video, uri, reveal) {
    readMedia(uri)
      .then((src) => {
        video.src = src;
        if (reveal) video.hidden = false;
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
    tl.replaceChildren($('cursor'));
    $('legend').replaceChildren();
    for (const c of cues) {
      const el = document.createElement('div');
      el.className = 'cue';
      el.dataset.shape = c.value;
      el.style.left = (100 * c.start / total) + '%';
      el.style.width = (100 * (c.end - c.start) / total) + '%';
      el.textContent = c.value;
      tl.insertBefore(el, $('cursor'));
    }
    const legend = $('legend');
    for (const shape of Object.keys(SHAPES).filter((k) => cues.some((c) => c.value === k))) {
      const li = document.createElement('li');
      li.dataset.shape = shape;
      const b = document.createElement('b');
      b.textContent = shape;
      li.append(b, SHAPES[shape]);
      legend.append(li);
    }
    $('cues').hidden = false;
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
  }).then(() => { connected = true; notify('ui/notifications/initialized'); reportSize(); }, () => { connected = true; });

  // The host sizes its frame from ui/notifications/size-changed (as ext-apps' App does it): the
  // content's height, measured at max-content, whenever the page or the window changes size.
  let sent = '';
  let queued = false;
  function reportSize() {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      const root = document.documentElement;
      const before = root.style.height;
      root.style.height = 'max-content';
      const size = { width: Math.ceil(window.innerWidth), height: Math.ceil(root.getBoundingClientRect().height) };
      root.style.height = before;
      const key = size.width + 'x' + size.height;
      if (key !== sent) { sent = key; notify('ui/notifications/size-changed', size); }
    });
  }
  const resized = new ResizeObserver(() => { if (connected) reportSize(); });
  resized.observe(document.documentElement);
  resized.observe(document.body);
  // No host answered: this page was opened on its own. Say what it is instead of waiting forever.
  setTimeout(() => {
    if (connected) return;
    $('main').hidden = true;
    $('standalone').hidden = false;
  }, ${STANDALONE_AFTER_MS});
})();
`;

export const VIEWER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lip-sync result viewer</title><style>${STYLE}</style></head>
<body>
<main id="main">
<header><span id="status" data-status="">connecting</span><span id="task"></span></header>
<progress id="progress" max="1" hidden></progress>
<div class="videos">
<figure><figcaption>Original</figcaption><video id="original" controls playsinline muted preload="auto" hidden></video></figure>
<figure><figcaption>Result</figcaption><video id="player" controls playsinline muted preload="auto"></video></figure>
</div>
<section id="cues" hidden><div id="timeline"><div id="cursor"></div></div>
<ul id="legend" aria-label="Mouth shapes (Rhubarb)"></ul></section>
<dl id="facts" hidden>
<div hidden><dt>Lip motion</dt><dd id="lips"></dd></div>
<div hidden><dt>Alignment</dt><dd id="align"></dd></div>
<div hidden><dt>Warnings</dt><dd><ul id="warnings"></ul></dd></div>
<div hidden><dt>Cost</dt><dd id="cost"></dd></div>
</dl>
<div id="note"></div>
</main>
<section id="standalone" hidden>
<h1>Lip-sync result viewer</h1>
<p>This is the result viewer of lipsync-mcp, an MCP App (<code>ui://lipsync/viewer</code>). An AI client that supports MCP Apps shows it with the answers of <code>get_task_status</code> and <code>download_result</code>: it plays the result and shows the task's status, what the job did, its warnings and its cost, and for the local engine the original beside the result and the mouth cues.</p>
<p>Opened on its own, outside such a client, it has nothing to show. Ask your agent for the task's status in a client with MCP Apps, or save the video with <code>download_result</code> and open the file.</p>
</section>
<script>${SCRIPT}</script>
</body></html>
`;
