// browser: what participants and the operator see in a real browser (Chromium): every workspace
// loads cleanly with its WebSocket, Queue Prompt goes through the queue, and the admin dashboard
// is live. Screenshots of every page go to the reports (screenshots/), with a contact sheet.
import { join } from 'node:path';
import type { Page, Request, Response } from 'playwright';
import { defineCheck, type CheckContext } from './lib/check.ts';
import { each } from './lib/http.ts';
import { withBrowser, newContext, workspaceAuth, origin, pageProblems, handshakes, screenshotsDir, contactSheet, textsUntil, loadPage, hostNetworkChanged } from './lib/browser.ts';
import { Jobs, outputFiles, removeOutputs, probeUser, sleep, FINISHED, type Job } from './lib/jobs.ts';
import { tagMetadata } from './lib/writes.ts';

/** "Within seconds": the dashboard refreshes on a /ws event within a moment (its poll is a fallback). */
const LIVE_MS = 4_000;
/** How long Queue Prompt's POST may take to be answered: the queue-manager answers at once, but a
 *  small machine busy with 20 workspaces (as in CI) can take seconds. */
const ANSWER_MS = 20_000;

/** Polls a text until it matches; returns every distinct value seen (the last one last). */

const count = async (page: Page, id: string) => Number((await page.locator(`#${id}`).textContent()) ?? NaN);
/** A stat once the page has filled it in (it shows a placeholder until its first update). */
async function countWhenShown(page: Page, id: string, timeoutMs: number): Promise<number> {
  let n = NaN;
  for (const deadline = Date.now() + timeoutMs; Number.isNaN(n) && Date.now() < deadline; await sleep(100)) n = await count(page, id);
  return n;
}

/** Clicks Queue Prompt and waits for the answer to its POST /api/jobs. The failure says which part
 *  did not happen: no POST at all (with what the page did wrong), the POST failing in the browser,
 *  or no answer in time. Clicked once more only when this machine's network changed under the POST. */
async function queuePrompt(ctx: CheckContext, page: Page, problems: string[]): Promise<Response> {
  const isPost = (r: { url(): string; method(): string }) => new URL(r.url()).pathname === '/api/jobs' && r.method() === 'POST';
  for (let attempt = 1; ; attempt++) {
    let posted = false;
    let resolve!: (v: Response | string) => void;
    const outcome = new Promise<Response | string>((r) => { resolve = r; });
    const onRequest = (r: Request) => { if (isPost(r)) posted = true; };
    const onResponse = (r: Response) => { if (isPost(r.request())) resolve(r); };
    const onFailed = (r: Request) => { if (isPost(r)) resolve(r.failure()?.errorText ?? 'failed'); };
    page.on('request', onRequest).on('response', onResponse).on('requestfailed', onFailed);
    const timer = setTimeout(() => resolve(''), ANSWER_MS);
    const got = await page.click('#queue-button', { timeout: 5_000 }).then(() => outcome).finally(() => {
      clearTimeout(timer);
      page.off('request', onRequest).off('response', onResponse).off('requestfailed', onFailed);
    });
    if (typeof got !== 'string') return got;
    if (attempt === 1 && hostNetworkChanged(got)) {
      ctx.record('clicked again: this machine\'s network changed under the POST (Chromium aborted it)', got);
      continue;
    }
    const page_ = problems.length ? `; the page: ${problems.slice(0, 3).join('; ')}` : '';
    if (!posted) return ctx.fail(`Queue Prompt sent no POST to the public /api/jobs within ${ANSWER_MS / 1000} s${page_}`);
    return ctx.fail(got ? `Queue Prompt's POST /api/jobs failed in the browser: ${got}${page_}`
      : `Queue Prompt's POST /api/jobs got no answer within ${ANSWER_MS / 1000} s${page_}`);
  }
}

export const browserChecks = [
  defineCheck({
    id: 'browser.workspaces', suite: 'browser', timeoutMs: 120_000,
    title: 'every /userNNN/ loads in Chromium with no console error or failed request, and its WebSocket connects (101)',
    async run(ctx) {
      const dir = screenshotsDir(ctx);
      return withBrowser(ctx, async (b) => {
        const context = await newContext(b);
        const bad: string[] = [];
        const shots: { caption: string; file: string }[] = [];
        // One screenshot at a time: concurrent captures in one headless Chromium can mix up tiles.
        let camera = Promise.resolve();
        await each(ctx.target.users, async (u) => {
          const page = await context.newPage();
          await page.setExtraHTTPHeaders(workspaceAuth(ctx.target, u)); // the participant's own credentials, when configured
          const problems = pageProblems(page);
          const ws = await handshakes(page);
          const wsPath = `/${u}/ws`;
          try {
            // Loaded, with the app's own requests (system_stats) and its socket, and settled.
            const r = await loadPage(ctx, page, `${origin(ctx.target)}/${u}/`, problems, { settle: true });
            const title = await page.title();
            if (r?.status() !== 200 || !/ComfyUI/.test(title)) problems.push(`HTTP ${r?.status()}, title "${title}"`);
            for (const deadline = Date.now() + 5_000; ![...ws.keys()].some((k) => new URL(k).pathname === wsPath) && Date.now() < deadline;) await sleep(100);
            const status = [...ws].find(([k]) => new URL(k).pathname === wsPath)?.[1];
            if (status !== 101) problems.push(`WebSocket ${wsPath}: ${status === undefined ? 'no handshake answer' : `HTTP ${status}`}`);
            if (dir) {
              const file = join(dir, `${u}.png`);
              const shot = camera.then(() => page.screenshot({ path: file }));
              camera = shot.then(() => {}, () => {});
              await shot;
              shots.push({ caption: u, file });
            }
            ctx.record(u, { status: r?.status(), title, websocket: status, problems: [...problems] });
          } catch (e) {
            problems.push((e as Error).message.split('\n')[0]);
            ctx.record(u, { problems: [...problems] });
          } finally {
            await page.close();
          }
          if (problems.length) bad.push(`${u}: ${problems.slice(0, 3).join('; ')}`);
        }, 5);
        if (dir) {
          shots.sort((x, y) => x.caption.localeCompare(y.caption));
          const sheet = join(dir, 'contact-sheet.png');
          await contactSheet(b, shots, sheet);
          ctx.record('screenshots', { dir, files: shots.map((s) => s.file), contactSheet: sheet });
        }
        ctx.expect(bad.length === 0, `all ${ctx.target.users.length} workspaces load cleanly with their WebSocket`, bad.join(' | '));
        return `${ctx.target.users.length} workspaces clean${dir ? `; screenshots in ${dir}` : ''}`;
      });
    },
  }),

  defineCheck({
    id: 'browser.queue-prompt', suite: 'browser', needs: ['write'], jobEvents: true, timeoutMs: 60_000,
    title: 'Queue Prompt in a workspace submits to the queue (POST /api/jobs as that user) and its status box reaches "completed"',
    async run(ctx) {
      const user = ctx.target.users[0];
      const jobs = new Jobs(ctx, 'queue-prompt');
      let jobId: string | undefined;
      try {
        return await withBrowser(ctx, async (b) => {
          const page = await (await newContext(b)).newPage();
          await page.setExtraHTTPHeaders(workspaceAuth(ctx.target, user));
          // What the extension sends is checked as sent; the job is then tagged on its way, so it is
          // recognisable as ours in the queue's history like every job the harness makes.
          let sent: { user_id?: unknown; priority?: unknown; metadata?: Record<string, unknown> } | undefined;
          await page.route('**/api/jobs', async (route) => {
            if (route.request().method() !== 'POST') return route.continue();
            sent = route.request().postDataJSON();
            await route.continue({ postData: JSON.stringify({ ...sent, metadata: { ...sent?.metadata, ...tagMetadata('browser.queue-prompt') } }) });
          });
          const problems = pageProblems(page);
          await loadPage(ctx, page, `${origin(ctx.target)}/${user}/`, problems);
          const res = await queuePrompt(ctx, page, problems);
          const job = (await res.json().catch(() => null)) as Job | null;
          jobId = job?.id;
          if (jobId) jobs.created.add(jobId);
          ctx.record('Queue Prompt → POST /api/jobs', { status: res.status(), url: res.url(), job: job?.id }, { user_id: sent?.user_id, priority: sent?.priority, metadata: sent?.metadata });
          ctx.expect(sent?.user_id === user, `the job is submitted as ${user}`, sent?.user_id);
          ctx.expect(res.status() === 201, 'the queue accepts it (201)', `HTTP ${res.status()}`);
          const texts = await textsUntil(page, '#job-status-text', (t) => /completed|failed|cancelled/i.test(t), 40_000);
          ctx.record('#job-status-text as it changed', texts);
          const shots = screenshotsDir(ctx);
          if (shots) await page.screenshot({ path: join(shots, `${user}-queue-prompt.png`) });
          ctx.expect(await page.locator('#queue-redirect-status').isVisible(), 'the status box #queue-redirect-status is shown');
          ctx.expect(/completed/i.test(texts.at(-1) ?? ''), 'the status box reaches "completed"', texts.at(-1) || 'empty');
          return texts.join(' → ');
        });
      } finally {
        // The image is a participant's (user001's): remove it; the job stays in the history, tagged.
        const done = jobId ? await jobs.get(jobId).catch(() => null) : null;
        await removeOutputs(ctx, outputFiles(done?.result));
        await jobs.cleanup();
      }
    },
  }),

  defineCheck({
    id: 'browser.dashboard', suite: 'browser', needs: ['admin', 'write'], jobEvents: true, timeoutMs: 60_000,
    // Alone: it times the page's live updates, which 20 workspaces loading at once on a small machine would skew.
    exclusive: true,
    title: 'the admin dashboard (through nginx, logged in) is "● Live": counts and job list follow a job within seconds, Cancel works',
    async run(ctx) {
      const { adminUsername: username, adminPassword: password } = ctx.target.secrets;
      const jobs = new Jobs(ctx, 'dashboard');
      try {
        return await withBrowser(ctx, async (b) => {
          const page = await (await newContext(b, { httpCredentials: { username, password: password! } })).newPage();
          const problems = pageProblems(page);
          const r = await loadPage(ctx, page, `${origin(ctx.target)}/admin`, problems);
          ctx.record('GET /admin (logged in)', { status: r?.status(), title: await page.title() });
          ctx.expect(r?.status() === 200 && (await page.title()) === 'ComfyUI Admin Dashboard', 'the dashboard page (title "ComfyUI Admin Dashboard")', `HTTP ${r?.status()}, "${await page.title()}"`);
          const live = await textsUntil(page, '#refresh-indicator', (t) => t.includes('● Live'), 8_000);
          ctx.record('#refresh-indicator', live);
          ctx.expect(live.at(-1)?.includes('● Live') ?? false, 'the live indicator shows "● Live" (its /ws is connected)', live.at(-1));
          const item = (id: string) => page.locator('#job-list .job-item', { hasText: id.slice(0, 8) });
          const before = await countWhenShown(page, 'stat-completed', LIVE_MS);
          ctx.expect(!Number.isNaN(before), `#stat-completed shows a number within ${LIVE_MS / 1000} s`, await page.locator('#stat-completed').textContent());

          // A job appears within seconds, and its completion too.
          const job = await jobs.submit({ user_id: probeUser('dashboard'), priority: 1 });
          const t0 = Date.now();
          const shown = await item(job.id).first().waitFor({ timeout: LIVE_MS }).then(() => Date.now() - t0, () => undefined);
          ctx.expect(shown !== undefined, `the new job is listed within ${LIVE_MS / 1000} s`, 'not listed');
          const { job: done } = await jobs.follow(job.id, (j) => FINISHED.includes(j.status), 30_000);
          ctx.expect(done?.status === 'completed', 'the job completes', done?.status);
          const t1 = Date.now();
          const completedShown = await item(job.id).and(page.locator('.completed')).first().waitFor({ timeout: LIVE_MS }).then(() => Date.now() - t1, () => undefined);
          const after = await count(page, 'stat-completed');
          ctx.record('the job on the dashboard', { listedAfterMs: shown, completedShownAfterMs: completedShown, completedCount: { before, after } });
          ctx.expect(completedShown !== undefined, `its completion shows within ${LIVE_MS / 1000} s`, await item(job.id).first().getAttribute('class').catch(() => 'gone'));
          ctx.expect(after > before, '#stat-completed counts it', `${before} → ${after}`);
          const shots = screenshotsDir(ctx);
          if (shots) await page.screenshot({ path: join(shots, 'admin.png'), fullPage: true });

          // Cancel: a job that is still pending or running, cancelled from its item. The worker may
          // finish it before the click lands; then again with a new one (as jobs.cancel does).
          let cancelledOn = 0;
          const races: string[] = [];
          for (let attempt = 1; attempt <= 3 && !cancelledOn; attempt++) {
            const mark = problems.length;
            const victim = await jobs.submit({ user_id: probeUser('dashboard'), priority: 3, label: 'submit a job to cancel from the dashboard' });
            const button = item(victim.id).locator('button', { hasText: 'Cancel' });
            const clicked = await button.click({ timeout: LIVE_MS }).then(() => true, () => false);
            const gone = await jobs.follow(victim.id, (j) => FINISHED.includes(j.status), 3_000, 100);
            ctx.record(`after Cancel (attempt ${attempt})`, { clicked, status: gone.job ? gone.job.status : 'removed (404)' });
            if (gone.job && ['completed', 'failed'].includes(gone.job.status)) { // the worker finished it first: a race
              races.push(`${clicked ? 'Cancel clicked, yet the job' : 'no Cancel button before the job'} ${gone.job.status}`);
              problems.splice(mark); // a late click's refusal (400: it is finished) is the race, not a page problem
              continue;
            }
            if (!clicked) ctx.fail(`no Cancel button for the new job within ${LIVE_MS / 1000} s (the job is ${gone.job?.status ?? 'gone'})`);
            ctx.expect(!gone.job || gone.job.status === 'cancelled', 'Cancel removes the pending job or marks the running one cancelled', gone.job?.status);
            const active = item(victim.id).and(page.locator('.pending, .running'));
            let stale = true;
            for (const deadline = Date.now() + LIVE_MS; stale && Date.now() < deadline; await sleep(150)) stale = (await active.count()) > 0;
            ctx.expect(!stale, `the list stops showing it as pending or running within ${LIVE_MS / 1000} s`, 'still shown as active');
            cancelledOn = attempt;
          }
          ctx.expect(cancelledOn > 0, 'a job could be cancelled from the dashboard', races.join('; '));
          ctx.expect(problems.length === 0, 'no console error or failed request on the dashboard', problems.slice(0, 3).join('; '));
          return `live; job listed after ${shown} ms, completion after ${completedShown} ms; Cancel works${cancelledOn > 1 ? ` (attempt ${cancelledOn})` : ''}`;
        });
      } finally {
        await jobs.cleanup();
      }
    },
  }),
];
