// The load engines without Docker: the same small script against a local HTTP server, once on the
// shim and once on "the operator's k6", a fake `k6` (the shim's own command line, which writes k6's
// JSON output) in a directory of its own. Both must give the Observer the same kind of samples and
// hand back the script's summary; secrets travel in the environment, never on the command line.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from '../k6-shim/metrics.ts';
import { spawn } from 'node:child_process';
import { chooseEngine, startEngine, procUsage, raiseUsage, type Engine, type EngineResult } from './engine.ts';
import { fakeK6 } from './fake-k6.ts';

const dir = mkdtempSync(join(tmpdir(), 'cv-engine-'));
const bin = join(dir, 'bin');
const script = join(dir, 'script.js');
let server: Server;
let url: string;

beforeAll(async () => {
  mkdirSync(bin);
  fakeK6(bin);
  writeFileSync(script, `
    import http from 'k6/http';
    import { check } from 'k6';
    import { setTimeout } from 'k6/timers';
    import { Counter } from 'k6/metrics';
    import { SharedArray } from 'k6/data';
    const secret = new Counter('secret_seen');
    // the participants, as the workshop script reads them: made once, VU n is participant n
    const participants = new SharedArray('participants', () => [{ user: 'user001' }, { user: 'user002' }]);
    export const options = {
      scenarios: { a: __ENV.LONG ? { executor: 'constant-vus', vus: 2, duration: '60s' } : { executor: 'per-vu-iterations', vus: 2, iterations: 3 } },
      thresholds: { http_req_failed: ['rate==0'], secret_seen: ['count>=' + (__ENV.WANT || 0)] },
    };
    export default async function () {
      const r = await http.asyncRequest('GET', __ENV.URL, null, { tags: { kind: 'api', user: participants[(__VU - 1) % participants.length].user } });
      check(r, { 'status 200': (x) => x.status === 200 });
      secret.add(__ENV.SECRET === 'hunter2' ? 1 : 0);
      await new Promise((res) => setTimeout(res, 100));
    }
    export function handleSummary(d) {
      return { stdout: 'the summary\\n', [__ENV.SUMMARY_JSON]: JSON.stringify({ reqs: d.metrics.http_reqs.values.count, secret: d.metrics.secret_seen.values.count, think: __ENV.THINK ?? null }) };
    }
  `);
  server = createServer((_q, s) => s.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function run(e: Engine, env: Record<string, string> = {}, stopAfterFirstSample = false) {
  const samples: Sample[] = [];
  const logs: string[] = [];
  let out = '';
  const summaryFile = join(dir, `summary-${e.kind}.json`);
  writeFileSync(summaryFile, '{"stale": true}'); // an earlier run's file must not pass for this run's
  const r = startEngine(e, {
    script, cwd: dir, env: { URL: url, SUMMARY_JSON: summaryFile, ...env }, secretEnv: { SECRET: 'hunter2' }, summaryFile,
    onSample: (s) => { samples.push(s); if (stopAfterFirstSample && s.metric === 'http_req_duration') r.stop('interrupted (test)'); },
    log: (level, msg) => logs.push(`${level} ${msg}`), stdout: (t) => { out += t; },
  });
  const res: EngineResult = await r.result;
  return { res, samples, logs, out, live: r.live, usage: r.usage() };
}

describe('load engines', () => {
  it('--engine: shim by name; k6 from PATH with its version; auto falls back to the shim; a missing k6 is one line', () => {
    expect(chooseEngine('shim')).toEqual({ kind: 'shim', version: expect.stringMatching(/^comfy-verify k6 shim v\d/) });
    expect(chooseEngine('auto', undefined, join(dir, 'nothing-here'))).toMatchObject({ kind: 'shim' });
    expect(chooseEngine('auto', undefined, `/nonexistent:${bin}`)).toEqual({ kind: 'k6', path: join(bin, 'k6'), version: expect.stringMatching(/^comfy-verify k6 shim v\d/) });
    expect(chooseEngine('shim', undefined, bin)).toMatchObject({ kind: 'shim' });
    expect(() => chooseEngine('k6', undefined, dir)).toThrow(/^--engine k6: no k6 executable on PATH; install k6, give its path with --k6 PATH, or use --engine shim/);
    expect(() => chooseEngine('k6', join(dir, 'nope'))).toThrow(/--k6 .*nope: no executable file there/);
    expect(() => chooseEngine('k7')).toThrow(/--engine must be shim, k6 or auto/);
    expect(() => chooseEngine('shim', join(bin, 'k6'))).toThrow(/--k6 PATH is for --engine k6 or auto/);
  });

  it('the same script on the shim and on "k6": the same samples, the summary from disk, secrets only in the environment', async () => {
    process.env.THINK = '1s'; // left in the operator's shell: must not reach either run's __ENV
    try {
      const shim = await run(chooseEngine('shim'));
      const t0 = Date.now();
      const k6 = await run(chooseEngine('k6', join(bin, 'k6')));
      for (const x of [shim, k6]) {
        expect(x.res.exitCode, x.logs.join('\n')).toBe(0);
        expect(JSON.parse(x.res.summary!)).toEqual({ reqs: 6, secret: 6, think: null });
        expect(x.out).toContain('the summary');
        expect(x.live).toMatchObject({ phase: 'done', iterations: 6 });
      }
      // what the Observer sees: the same metrics, types and tag names (vus is sampled each second: timing)
      const exceptVus = (s: Sample[]) => s.filter((x) => !x.metric.startsWith('vus'));
      const shape = (s: Sample[]) => Object.fromEntries(exceptVus(s).map((x) => [x.metric, `${x.type} {${Object.keys(x.tags).sort().join(',')}}`]));
      expect(shape(k6.samples)).toEqual(shape(shim.samples));
      expect(exceptVus(k6.samples).length).toBe(exceptVus(shim.samples).length);
      const req = k6.samples.find((s) => s.metric === 'http_req_duration')!;
      expect(req.tags).toMatchObject({ kind: 'api', status: '200', method: 'GET' });
      // each VU its own participant from the SharedArray, on both engines
      for (const x of [shim, k6]) expect(new Set(x.samples.filter((s) => s.metric === 'http_reqs').map((s) => s.tags.user))).toEqual(new Set(['user001', 'user002']));
      expect(req.time).toBeGreaterThanOrEqual(t0 - 1000);
      expect(req.time).toBeLessThanOrEqual(Date.now());
      // the child's command line: -e for __ENV, never the secret
      const argv = readFileSync(join(bin, 'argv.txt'), 'utf8');
      expect(argv).toMatch(/^run\n--quiet\n--log-format=json\n--out=json=.*\n-e\nURL=http/);
      expect(argv).not.toContain('hunter2');
      expect(k6.usage?.cpuSeconds).toBeGreaterThan(0);
      expect(k6.usage?.peakRssMb).toBeGreaterThan(10);
    } finally {
      delete process.env.THINK;
    }
  }, 60_000);

  it('exit codes as k6 gives them: thresholds 99; stopped 105 with teardown and the summary', async () => {
    for (const e of [chooseEngine('shim'), chooseEngine('k6', join(bin, 'k6'))]) {
      const crossed = await run(e, { WANT: '100' });
      expect(crossed.res.exitCode, e.kind).toBe(99);
      expect(crossed.res.error).toBeUndefined();
      expect(JSON.parse(crossed.res.summary!).secret).toBe(6);

      const stopped = await run(e, { LONG: '1' }, true);
      expect(stopped.res.exitCode, `${e.kind}: ${stopped.logs.join('\n')}`).toBe(105);
      expect(stopped.res.aborted).toBe('interrupted (test)');
      expect(JSON.parse(stopped.res.summary!).reqs).toBeGreaterThan(0);
    }
  }, 60_000);

  it('a script that cannot run: k6\'s exit code and its error line', async () => {
    const bad = join(dir, 'bad.js');
    writeFileSync(bad, "import encoding from 'k6/encoding';\nexport default function () {}\n");
    const r = startEngine(chooseEngine('k6', join(bin, 'k6')), {
      script: bad, cwd: dir, env: {}, secretEnv: {}, summaryFile: join(dir, 'none.json'), onSample: () => {}, log: () => {}, stdout: () => {},
    });
    const res = await r.result;
    expect(res.exitCode).toBe(107);
    expect(res.error).toMatch(/k6\/encoding/);
    expect(res.summary).toBeUndefined();
  }, 30_000);
});

describe('the engine\'s CPU and memory', () => {
  it('a reading of a process that has exited and is not yet reaped keeps the peak memory seen before', async () => {
    // perl forks a child that exits at once and never waits for it: a zombie until perl ends. A shell was not
    // reliable here (the judged CI found an `sh -c '(true) & exec sleep'` child already reaped), and SIGCHLD is
    // set to its default since an ignored SIGCHLD inherited from a runner would let the kernel reap it.
    const parent = spawn('perl', ['-e', '$SIG{CHLD} = "DEFAULT"; $| = 1; my $p = fork; exit 0 unless $p; print "$p\\n"; sleep 10']);
    try {
      const pid = await new Promise<number>((r) => parent.stdout.once('data', (d: Buffer) => r(Number(String(d).trim()))));
      let stat = '';
      for (const until = Date.now() + 5000; Date.now() < until && !/\) Z /.test(stat); await new Promise((r) => setTimeout(r, 50))) {
        try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { stat = 'gone'; }
      }
      expect(stat, 'the forked child should be a zombie').toMatch(/\) Z /);
      const zombie = procUsage(pid);
      expect(zombie).toMatchObject({ peakRssMb: 0 });
      expect(raiseUsage({ cpuSeconds: 0.5, peakRssMb: 80 }, zombie)).toEqual({ cpuSeconds: 0.5, peakRssMb: 80 });
      expect(raiseUsage({ cpuSeconds: 0.5, peakRssMb: 80 }, { cpuSeconds: 0.7, peakRssMb: 90 })).toEqual({ cpuSeconds: 0.7, peakRssMb: 90 });
      expect(raiseUsage({ cpuSeconds: 0.5, peakRssMb: 80 }, undefined)).toEqual({ cpuSeconds: 0.5, peakRssMb: 80 });
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
