// The k6 shim against k6's documentation, one script per behaviour: every conformance/*.js is a plain
// k6 script whose header cites the page it follows and the outcome that page gives (grammar in
// conformance/expect.ts). Each runs against the fixture server (conformance/server.ts) and every
// expectation is checked. Nothing is skipped: what the runner does not implement is a refused script
// (exit 107 naming it), and so a failing test here until it is implemented.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript, type RunResult } from './run.ts';
import { jsonOutput } from './json-output.ts';
import { startFixtureServer, type Fixture } from './conformance/server.ts';
import { readScript, headerProblem, judge, type Outcome, type Script } from './conformance/expect.ts';

const DIR = fileURLToPath(new URL('./conformance', import.meta.url));
const scripts = readdirSync(DIR).filter((f) => f.endsWith('.js')).sort().map((f) => readScript(join(DIR, f)));
/** Longer than any script needs (each is well under 2 s): past it the run is stopped and judged as it stands. */
const STOP_AFTER_MS = 20_000;
/** Scripts run at once: the timing-sensitive ones (rates, durations) keep their margins on 2 cores. */
const LANES = 3;
let free = LANES;
const waiting: (() => void)[] = [];
const lane = async <T>(fn: () => Promise<T>): Promise<T> => {
  if (free > 0) free--; else await new Promise<void>((r) => waiting.push(r));
  try { return await fn(); } finally { const next = waiting.shift(); if (next) next(); else free++; }
};

let fixture: Fixture;
beforeAll(async () => { fixture = await startFixtureServer(); });
afterAll(() => fixture?.close());

describe.concurrent('k6 conformance', () => {
  for (const s of scripts) {
    it(`${s.title} (${s.name})`, () => lane(async () => {
      const problem = headerProblem(s);
      if (problem) throw new Error(`${s.name}: its header cannot be judged: ${problem}`);
      const cwd = mkdtempSync(join(tmpdir(), 'k6-conformance-'));
      try {
        const logs: string[] = [];
        let stdout = '';
        // every run also writes k6's JSON output (--out json), for `expect file: out.json ...`
        const json = jsonOutput(join(cwd, 'out.json'), () => run.live.registry);
        const run = runScript({
          script: s.file, cwd, includeSystemEnv: false, modules: s.modules,
          env: { BASE_URL: fixture.baseUrl, WS_URL: fixture.wsUrl, REFUSED_URL: fixture.refusedUrl },
          log: (level, msg) => logs.push(`${level}: ${msg}`),
          stdout: (text) => { stdout += text; },
          onSample: json.sample,
        });
        const timer = setTimeout(() => run.stop(`the conformance test stopped it after ${STOP_AFTER_MS} ms`), STOP_AFTER_MS);
        const result = await run.result.finally(() => clearTimeout(timer));
        await json.close();
        const failed = judge(s, { result, stdout, logs, cwd } satisfies Outcome);
        if (!failed.length) return;
        // What went wrong in the script often says why (an exception ends the iteration before its check).
        const errors = [...new Set(logs.filter((l) => !l.startsWith('info')))].slice(0, 5);
        throw new Error([`${s.name} does not do what k6's documentation says`, `  doc: ${s.docs.join('\n       ')}`, ...failed.map((f) => `  ${f}`),
          ...(errors.length ? ['  logged:', ...errors.map((l) => `    ${l.slice(0, 300)}`)] : [])].join('\n'));
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    }), 120_000); // waiting for a lane included
  }
});

// The judge itself: a line that does not hold must fail, or the suite above would pass on nothing.
describe('the conformance expectation grammar', () => {
  it('holds each kind of line to the outcome and reports what it found instead', () => {
    const check = (name: string, passes: number, fails: number) => ({ name, path: `::${name}`, id: name, passes, fails });
    const result = {
      exitCode: 99, error: 'boom', failedThresholds: [], outputs: {}, durationMs: 1,
      data: {
        root_group: { name: '', path: '', id: '', checks: [check('a', 2, 0)], groups: [{ name: 'g', checks: [check('b', 1, 1)], groups: [] }] },
        metrics: {
          iterations: { type: 'counter', contains: 'default', values: { count: 3, rate: 1 } },
          t: { type: 'trend', contains: 'time', values: { 'p(95)': 5 }, thresholds: { 'p(95)<1': { ok: false } } },
        },
      },
    } as unknown as RunResult;
    const lines = ['exit: 99', 'exit: 0', 'metric: iterations count == 3', 'metric: iterations count > 3', 'metric: t p(95) <= 5', 'metric: t avg < 1',
      'metric: nope absent', 'metric: iterations absent', 'metric: nope count == 0', 'check: "a" passes 2 fails 0', 'check: "b" passes 1 fails 1',
      'check: "b" passes 2 fails 0', 'threshold: t p(95)<1 crossed', 'threshold: t p(95)<1 ok', 'stdout: hello', 'log: nothing', 'error: boom', 'bogus'];
    const s: Script = { file: 'x.js', name: 'x.js', title: 'x', docs: [], expects: lines };
    const failed = judge(s, { result, stdout: 'hello world', logs: ['info: something'], cwd: tmpdir() }).map((f) => f.split('\n')[0]);
    expect(failed).toEqual(['expect exit: 0', 'expect metric: iterations count > 3', 'expect metric: t avg < 1', 'expect metric: iterations absent',
      'expect metric: nope count == 0', 'expect check: "b" passes 2 fails 0', 'expect threshold: t p(95)<1 ok', 'expect log: nothing', 'expect bogus']);
    expect(headerProblem({ ...s, expects: ['exit: 0', 'bogus'], docs: ['https://grafana.com/docs/k6/latest/x/'] })).toMatch(/"expect bogus" is not in the grammar/);
  });
});
