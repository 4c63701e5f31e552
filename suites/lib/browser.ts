// A real browser (Chromium through Playwright) aimed at the target: the domain resolves to the
// target's address, certificate validity is left to the tls suite (as for every other suite).
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Request, type Response } from 'playwright';
import type { CheckContext } from './check.ts';
import { basicHeader, type Target } from './target.ts';
import { REPORTS_DIR } from '../../stack/images.ts';

export const CHROMIUM_PATH = process.env.COMFY_VERIFY_CHROMIUM || '/usr/bin/chromium';
/** Quiet, offline-friendly Chromium: nothing but the target is contacted. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic', '--no-first-run'];

/** The domain resolves to the target's address (the local stack, or --resolve), like curl --resolve. */
export const resolverArgs = (t: Pick<Target, 'domain' | 'publicAddress'>): string[] =>
  t.publicAddress && t.publicAddress !== t.domain ? [`--host-resolver-rules=MAP ${t.domain} ${t.publicAddress}`] : [];

export const origin = (t: Pick<Target, 'domain' | 'httpsPort'>) => `https://${t.domain}${t.httpsPort === 443 ? '' : `:${t.httpsPort}`}`;

/** Chromium from the public vantage's network namespace when it has one (the local stack's probe
 *  container on the "internet" network): a participant's view of the host, and a namespace whose
 *  interfaces never change. In this machine's own, Chromium aborts what is in flight
 *  (ERR_NETWORK_CHANGED) each time Docker adds a container's interface, as it did to workspaces'
 *  requests right after a bring-up. Without the rights to enter it (nsenter: root), this machine's. */
export async function launch(t: Target): Promise<Browser> {
  // --ignore-certificate-errors besides the context's ignoreHTTPSErrors: the context setting alone was
  // seen not to take (playwright#32801; here a dashboard check red under an untrusted certificate).
  const args = [...CHROMIUM_ARGS, '--ignore-certificate-errors', ...resolverArgs(t)];
  const netns = await t.vantages.public?.netns?.().catch(() => undefined);
  if (netns && canEnter(netns)) {
    return chromium.launch({ executablePath: netnsWrapper(), args, env: { ...process.env, CV_NETNS: netns, CV_CHROMIUM: CHROMIUM_PATH } });
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args });
}

/** nsenter needs CAP_SYS_ADMIN and to see the namespace: root on a machine running the stack. */
function canEnter(netns: string): boolean {
  return process.getuid?.() === 0 && existsSync(netns) && existsSync('/usr/bin/nsenter');
}

/** A launcher Playwright can start like Chromium itself: it joins the namespace, then runs Chromium. */
function netnsWrapper(): string {
  const file = join(tmpdir(), `comfy-verify-chromium-netns-${process.getuid?.() ?? 0}.sh`);
  const text = '#!/bin/sh\nexec /usr/bin/nsenter --net="$CV_NETNS" -- "$CV_CHROMIUM" "$@"\n';
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text, { mode: 0o755 });
  return file;
}

/** The participant's own workspace credentials as a header (none configured: none). */
export function workspaceAuth(target: Target, user: string): Record<string, string> {
  const pass = target.userCredentials()?.[user];
  return pass === undefined ? {} : { authorization: basicHeader(user, pass) };
}

export function newContext(b: Browser, o: { httpCredentials?: { username: string; password: string } } = {}): Promise<BrowserContext> {
  return b.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, ...o });
}

/** Runs body with a fresh browser, closed afterwards whatever happens. A browser per check: one per
 *  run, a context per check, was tried twice and measured no faster over the fault catalogue (620 s
 *  against 589 s), and a shared one once failed a page here, before Chromium ran in the probe's namespace. */
export async function withBrowser<T>(ctx: CheckContext, body: (b: Browser) => Promise<T>): Promise<T> {
  let b: Browser;
  try {
    b = await launch(ctx.target);
  } catch (e) {
    return ctx.fail(`Chromium did not start (${CHROMIUM_PATH}): ${(e as Error).message.split('\n')[0]}`);
  }
  // A check given up on (its timeout, or blocked by a dark service) closes its browser: pages left
  // waiting would go on loading the machine under the checks after it.
  const giveUp = () => void b.close().catch(() => {});
  ctx.signal.addEventListener('abort', giveUp, { once: true });
  // Every page's requests count as what the check touched (root causes: a page waiting on a dead
  // service is blocked by it).
  const newContext = b.newContext.bind(b);
  b.newContext = async (opts) => {
    const c = await newContext(opts);
    if (ctx.target.touch) c.on('request', (r) => { try { ctx.target.touch!(r.url()); } catch { /* not a URL of the target */ } });
    return c;
  };
  try {
    return await body(b);
  } finally {
    ctx.signal.removeEventListener('abort', giveUp);
    await b.close().catch(() => {});
  }
}

/** What a page did wrong while loading: console errors, uncaught exceptions, failed or 4xx/5xx requests. */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text().slice(0, 160)}`); });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message.slice(0, 160)}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`); });
  return problems;
}

/** Chromium aborts what is in flight with ERR_NETWORK_CHANGED when this machine's interfaces change
 *  (Docker adds one for each container it starts). That says nothing about the target. */
export const hostNetworkChanged = (errorText: string | undefined): boolean => /ERR_NETWORK_CHANGED/.test(errorText ?? '');

/** page.goto(url) until 'load' (with `settle`, also until the page's own requests are done: no
 *  request for 500 ms, at most 10 s), done once more when this machine's network changed under it
 *  (see above): the first load's problems are then dropped from `problems` (pageProblems), and the
 *  repeat is recorded. Anything else, a failed request included, stands as the target's. */
export async function loadPage(ctx: Pick<CheckContext, 'record'>, page: Page, url: string, problems: string[] = [],
  o: { settle?: boolean; changed?: (errorText: string | undefined) => boolean } = {}): Promise<Response | null> {
  const changed = o.changed ?? hostNetworkChanged;
  let hit: string | undefined;
  const onFail = (r: Request) => { if (changed(r.failure()?.errorText)) hit ??= `${r.method()} ${r.url()} (${r.failure()?.errorText})`; };
  const load = async () => {
    const r = await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
    if (o.settle) await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => problems.push('the page never settled (network busy for 10 s)'));
    return r;
  };
  page.on('requestfailed', onFail);
  try {
    const first = await load().catch((e: Error) => {
      if (!changed(e.message)) throw e;
      hit ??= `${url} (${e.message.split('\n')[0]})`;
      return null;
    });
    if (hit === undefined) return first;
    ctx.record('loaded again: this machine\'s network changed during the first load (Chromium aborted a request)', hit);
    problems.length = 0;
    return await load();
  } finally {
    page.off('requestfailed', onFail);
  }
}

/** WebSocket handshakes the page made, with the status the server answered (Chromium's DevTools protocol). */
export async function handshakes(page: Page): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const urls = new Map<string, string>();
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.webSocketCreated', (e: { requestId: string; url: string }) => urls.set(e.requestId, e.url));
  cdp.on('Network.webSocketHandshakeResponseReceived', (e: { requestId: string; response: { status: number } }) => {
    seen.set(urls.get(e.requestId) ?? e.requestId, e.response.status);
  });
  await cdp.send('Network.enable');
  return seen;
}

/** Where screenshots go: the run's artifacts dir when the runner gives one, else reports/screenshots;
 *  undefined when no report keeps them (fault runs): then none are taken (3 CPU-seconds a run). */
export function screenshotsDir(ctx: CheckContext): string | undefined {
  if (ctx.artifactsDir === null) return undefined;
  const dir = ctx.artifactsDir ? join(ctx.artifactsDir, 'screenshots') : join(REPORTS_DIR, 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** One picture of many: the images in a grid with captions, rendered by the browser itself. */
export async function contactSheet(b: Browser, images: { caption: string; file: string }[], out: string): Promise<void> {
  const cells = images.map((i) => `<figure><img src="data:image/png;base64,${readFileSync(i.file).toString('base64')}"><figcaption>${i.caption.replace(/[<&]/g, '')}</figcaption></figure>`).join('');
  const html = `<!DOCTYPE html><html><head><style>
    body { margin: 0; padding: 12px; background: #111; font: 13px system-ui, sans-serif; color: #ddd; display: grid; grid-template-columns: repeat(5, 320px); gap: 10px; }
    figure { margin: 0; } img { width: 320px; height: 200px; object-fit: cover; border: 1px solid #444; display: block; } figcaption { padding: 3px 0; }
  </style></head><body>${cells}</body></html>`;
  const page = await b.newPage({ viewport: { width: 5 * 330 + 14, height: 400 } });
  try {
    await page.setContent(html, { waitUntil: 'load' });
    writeFileSync(out, await page.screenshot({ fullPage: true }));
  } finally {
    await page.close();
  }
}

/** The texts an element shows until done(text) or the time is up (each change once). */
export async function textsUntil(page: Page, selector: string, done: (t: string) => boolean, timeoutMs: number): Promise<string[]> {
  const seen: string[] = [];
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 150))) {
    const t = ((await page.locator(selector).first().textContent({ timeout: 1_000 }).catch(() => null)) ?? '').trim();
    if (t !== seen.at(-1)) seen.push(t);
    if (done(t)) break;
  }
  return seen;
}
