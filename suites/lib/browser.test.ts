// Where the browser checks leave their screenshots, and when they take none; a page load that
// outlasts this machine's network changing under it; Chromium in the public vantage's namespace.
import { describe, it, expect } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckContext } from './check.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Page } from 'playwright';
import { execa } from 'execa';
import { screenshotsDir, loadPage, pageProblems, launch, CHROMIUM_PATH, CHROMIUM_ARGS } from './browser.ts';
import type { Target } from './target.ts';

const target = { name: 't', domain: 'example.invalid', publicAddress: 'example.invalid', capabilities: new Set() } as unknown as Target;

describe('screenshots', () => {
  it('none where no report keeps them (fault runs); else the run\'s directory', () => {
    const ctx = new CheckContext(target, new AbortController().signal);
    ctx.artifactsDir = null;
    expect(screenshotsDir(ctx)).toBeUndefined();
    ctx.artifactsDir = join(tmpdir(), 'cv-artifacts-test');
    expect(screenshotsDir(ctx)).toBe(join(tmpdir(), 'cv-artifacts-test', 'screenshots'));
  });
});

describe('loadPage', () => {
  // A page whose script fails once, as Chromium fails what is in flight when Docker changes this
  // machine's interfaces (ERR_NETWORK_CHANGED; stood for here by a reset the test's predicate names).
  async function withPage(body: (page: Page, url: string) => Promise<void>, failing = '**/app.js') {
    const server = createServer((req, res) => {
      if (req.url === '/stats') return res.writeHead(200).end('{}');
      // Like ComfyUI's app: its own request once the page has loaded.
      if (req.url === '/app.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end('document.title = "ready"; addEventListener("load", () => fetch("/stats"));');
      res.writeHead(200, { 'content-type': 'text/html' }).end('<title>loading</title><script src="/app.js"></script>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const b = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    try {
      const page = await b.newPage();
      let failures = 1;
      await page.route(failing, (route) => (failures-- > 0 ? route.abort('connectionreset') : route.continue()));
      await body(page, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    } finally {
      await b.close();
      server.close();
    }
  }
  const reset = (t: string | undefined) => /ERR_CONNECTION_RESET/.test(t ?? '');

  it('loads once more when this machine\'s network changed under the load, and drops that load\'s problems', async () => {
    await withPage(async (page, url) => {
      const ctx = new CheckContext(target, new AbortController().signal);
      const problems = pageProblems(page);
      const r = await loadPage(ctx, page, url, problems, { changed: reset });
      expect(r?.status()).toBe(200);
      expect(await page.title()).toBe('ready');
      expect(problems).toEqual([]);
      expect(JSON.stringify(ctx.evidence)).toContain('loaded again');
    });
  });

  it('with settle, also when the change hits the app\'s own request after the load', async () => {
    await withPage(async (page, url) => {
      const ctx = new CheckContext(target, new AbortController().signal);
      const problems = pageProblems(page);
      await loadPage(ctx, page, url, problems, { settle: true, changed: reset });
      expect(problems).toEqual([]);
      expect(JSON.stringify(ctx.evidence)).toMatch(/loaded again.*stats/);
    }, '**/stats');
  });

  it('any other failure stands as the target\'s: no second load', async () => {
    await withPage(async (page, url) => {
      const ctx = new CheckContext(target, new AbortController().signal);
      const problems = pageProblems(page);
      await loadPage(ctx, page, url, problems);
      expect(await page.title()).toBe('loading');
      expect(problems.join()).toMatch(/request failed: GET .*app\.js \(net::ERR_CONNECTION_RESET\)/);
    });
  });
});

describe('launch', () => {
  // A namespace of its own with nothing in it: a page on this machine's loopback is out of its reach,
  // so a page that loads says Chromium ran here, and one that does not, that it ran in the namespace.
  const root = process.getuid?.() === 0;
  it.skipIf(!root)('runs Chromium in the public vantage\'s network namespace when it has one', async () => {
    const ns = `cv-test-${process.pid}`;
    await execa('ip', ['netns', 'add', ns]);
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<title>here</title>'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const open = async (netns: string | undefined) => {
      const vantage = { name: 'public', where: 'test', scan: async () => ({}), redis: async () => ({}), netns: async () => netns };
      const b = await launch({ ...target, vantages: { public: vantage } } as unknown as Target);
      try {
        return await (await b.newPage()).goto(url, { timeout: 5_000 }).then((r) => `HTTP ${r?.status()}`, (e: Error) => e.message.split('\n')[0]);
      } finally {
        await b.close();
      }
    };
    try {
      expect(await open(undefined)).toBe('HTTP 200');
      expect(await open(`/run/netns/${ns}`)).toMatch(/ERR_(CONNECTION_REFUSED|ADDRESS_UNREACHABLE|INTERNET_DISCONNECTED)/);
    } finally {
      server.close();
      await execa('ip', ['netns', 'delete', ns], { reject: false });
    }
  });
});
