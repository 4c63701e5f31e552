// One Chromium per run of checks: every check's pages in it (a context each), closed when the run
// ends; a check run on its own launches and closes its own.
import { describe, it, expect } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright';
import { CheckContext, defineCheck, runCheck, runChecks } from './check.ts';
import { withBrowser, screenshotsDir } from './browser.ts';
import type { Target } from './target.ts';

const target = { name: 't', domain: 'example.invalid', publicAddress: 'example.invalid', capabilities: new Set() } as unknown as Target;

describe('Chromium for the checks', () => {
  it('one browser for a run, a context per check, closed with the run; a lone check gets its own', async () => {
    const seen: { id: string; browser: Browser; contexts: number }[] = [];
    const mk = (id: string) => defineCheck({ id, suite: 'browser', title: id, run: (ctx) => withBrowser(ctx, async (b) => {
      const page = await b.newPage();
      await page.setContent('<title>x</title>');
      const browser = page.context().browser()!;
      seen.push({ id, browser, contexts: browser.contexts().length });
    }) });
    const rs = await runChecks([mk('a.one'), mk('a.two'), mk('a.three')], target, { concurrency: 3 });
    expect(rs.map((r) => r.status)).toEqual(['pass', 'pass', 'pass']);
    expect(new Set(seen.map((s) => s.browser)).size).toBe(1);
    expect(seen[0].browser.isConnected()).toBe(false);
    // Its contexts were its own: closed with it, whatever the others still had open.
    seen.length = 0;
    const alone = await runCheck(mk('a.alone'), target);
    expect(alone.status).toBe('pass');
    expect(seen[0].contexts).toBe(1);
    expect(seen[0].browser.isConnected()).toBe(false);
  }, 60_000);

  it('a check given up on closes its own pages, and the next check still gets the run\'s browser', async () => {
    let kept: Browser | undefined;
    const hang = defineCheck({ id: 'a.hang', suite: 'browser', title: 'hang', timeoutMs: 2_000, run: (ctx) => withBrowser(ctx, async (b) => {
      const page = await b.newPage();
      kept = page.context().browser()!;
      await new Promise(() => {});
    }) });
    let contextsLeft = -1;
    const next = defineCheck({ id: 'a.next', suite: 'browser', title: 'next', exclusive: true, run: (ctx) => withBrowser(ctx, async (b) => {
      const page = await b.newPage();
      expect(page.context().browser()).toBe(kept);
      contextsLeft = kept!.contexts().length;
    }) });
    const [h, n] = await runChecks([hang, next], target);
    expect(h).toMatchObject({ status: 'fail', message: 'no answer within 2 s' });
    expect(n.status, n.message).toBe('pass');
    expect(contextsLeft).toBe(1);
  }, 60_000);

  it('no screenshots where no report keeps them (fault runs); else the run\'s directory', () => {
    const ctx = new CheckContext(target, new AbortController().signal);
    ctx.artifactsDir = null;
    expect(screenshotsDir(ctx)).toBeUndefined();
    ctx.artifactsDir = join(tmpdir(), 'cv-artifacts-test');
    expect(screenshotsDir(ctx)).toBe(join(tmpdir(), 'cv-artifacts-test', 'screenshots'));
  });
});
