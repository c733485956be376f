/**
 * A minimal MCP Apps host for the result viewer in headless Chromium: it frames the
 * `ui://lipsync/viewer` page, answers `ui/initialize`, sends one tool result and forwards the page's
 * `resources/read` to the MCP client. With `csp`, the page is served over HTTP with the
 * Content-Security-Policy header a host builds from the resource's `_meta.ui.csp` (MCP Apps spec).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Frame, Page } from 'playwright-core';
import { CHROMIUM, chromiumSkip } from './system-tools.js';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const skipWithoutChromium = chromiumSkip;

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM ?? 'chromium', args: FLAGS });
}

/** `_meta.ui.csp` of an MCP Apps resource (spec 2026-01-26, McpUiResourceCsp). */
export interface UiCsp {
  connectDomains?: string[];
  resourceDomains?: string[];
  frameDomains?: string[];
  baseUriDomains?: string[];
}

/**
 * The CSP a host builds from `_meta.ui.csp`, as the MCP Apps spec (2026-01-26, "Security
 * Implications", 4. Content Security Policy Enforcement) writes it: the declared lists joined into
 * the directives they map to, nothing else loosened.
 */
export function specCsp(csp: UiCsp | undefined): string {
  const join = (list: string[] | undefined) => list?.join(' ') || '';
  const res = join(csp?.resourceDomains);
  return [
    "default-src 'none'",
    `script-src 'self' 'unsafe-inline' ${res}`,
    `style-src 'self' 'unsafe-inline' ${res}`,
    `connect-src 'self' ${join(csp?.connectDomains)}`,
    `img-src 'self' data: ${res}`,
    `font-src 'self' ${res}`,
    `media-src 'self' data: ${res}`,
    `frame-src ${join(csp?.frameDomains) || "'none'"}`,
    "object-src 'none'",
    `base-uri ${join(csp?.baseUriDomains) || "'self'"}`,
  ]
    .map((d) => d.trim())
    .join('; ');
}

const HOST = `<!doctype html><html><head><style>body{margin:0} iframe{border:0;display:block}</style></head>
<body><iframe id="app" sandbox="allow-scripts"></iframe>
<script>
  const frame = document.getElementById('app');
  window.violations = [];
  window.sizes = [];
  window.start = (opts) => {
    frame.style.width = opts.width + 'px';
    frame.style.height = opts.height + 'px';
    window.addEventListener('message', async (ev) => {
      const m = ev.data;
      if (!m || ev.source !== frame.contentWindow) return;
      if (m.type === 'csp-violation') { window.violations.push(m.text); return; }
      if (m.jsonrpc !== '2.0') return;
      const reply = (msg) => frame.contentWindow.postMessage({ jsonrpc: '2.0', ...msg }, '*');
      if (m.method === 'ui/initialize') {
        if (opts.silent) return;
        reply({ id: m.id, result: { protocolVersion: m.params.protocolVersion, hostInfo: { name: 'test-host', version: '1' }, hostCapabilities: { serverResources: {} }, hostContext: {} } });
      } else if (m.method === 'ui/notifications/initialized') {
        reply({ method: 'ui/notifications/tool-result', params: opts.toolResult });
      } else if (m.method === 'ui/notifications/size-changed') {
        window.sizes.push(m.params);
      } else if (m.method === 'resources/read') {
        try { reply({ id: m.id, result: await window.mcpRead(m.params.uri) }); }
        catch (e) { reply({ id: m.id, error: { code: -32002, message: String(e) } }); }
      }
    });
    if (opts.src) frame.src = opts.src; else frame.srcdoc = opts.html;
  };
</script></body></html>`;

/** Reports the page's CSP violations to the host (injected first in <head>, like a host's own probe). */
const PROBE = `<script>document.addEventListener('securitypolicyviolation', (e) => parent.postMessage({ type: 'csp-violation', text: e.violatedDirective + ' ' + e.blockedURI }, '*'));</script>`;

export interface HostOptions {
  html: string;
  toolResult?: unknown;
  width: number;
  height?: number;
  /** Serve the page over HTTP with this CSP header (else srcdoc, no CSP). */
  csp?: string;
  /** Never answer ui/initialize (the page opened outside a host). */
  silent?: boolean;
  read?: (uri: string) => Promise<unknown>;
}

export interface Hosted {
  tab: Page;
  app: Frame;
  violations(): Promise<string[]>;
  /** The sizes the page reported (ui/notifications/size-changed), oldest first. */
  sizes(): Promise<{ width?: number; height?: number }[]>;
  close(): Promise<void>;
}

/** Opens the host in a new tab of `browser` and frames the viewer in it. */
export async function host(browser: Browser, o: HostOptions): Promise<Hosted> {
  let server: Server | undefined;
  let src: string | undefined;
  if (o.csp !== undefined) {
    const body = o.html.replace('<head>', `<head>${PROBE}`);
    const csp = o.csp;
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
      res.end(body);
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    src = `http://127.0.0.1:${(server.address() as AddressInfo).port}/viewer.html`;
  }
  const tab = await browser.newPage({ viewport: { width: o.width, height: o.height ?? 900 } });
  if (o.read) await tab.exposeFunction('mcpRead', o.read);
  await tab.setContent(HOST);
  const opts = {
    html: o.html,
    src,
    toolResult: o.toolResult,
    width: o.width,
    height: o.height ?? 900,
    silent: !!o.silent,
  };
  const app = tab.frames().find((f) => f !== tab.mainFrame());
  if (!app) throw new Error('the host page has no frame for the viewer');
  await tab.evaluate((x) => (globalThis as unknown as { start(o: unknown): void }).start(x), opts);
  // Locators wait across the frame's navigation from about:blank to the viewer.
  await app.locator('#status').waitFor({ state: 'attached' });
  return {
    tab,
    app,
    violations: () => tab.evaluate(() => (globalThis as unknown as { violations: string[] }).violations),
    sizes: () =>
      tab.evaluate(() => (globalThis as unknown as { sizes: { width?: number; height?: number }[] }).sizes),
    async close() {
      await tab.close();
      server?.close();
    },
  };
}
