// The k6 shim against k6's documented behaviour: durations, percentiles, threshold syntax,
// sub-metrics, executors, per-VU realms, the event loop, WebSockets, abortOnFail, exit codes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createSecureServer } from 'node:http2';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { parseDuration, parseThreshold, Registry, Sink } from './metrics.ts';
import { runScript, targetAt, K6_EXIT } from './run.ts';
import { makeCa, makeServerCert } from '../../../stack/tls.ts';

describe('metrics', () => {
  it('parses Go-style durations', () => {
    expect(parseDuration('300ms')).toBe(300);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(() => parseDuration('5 minutes')).toThrow(/invalid duration/);
  });

  it('interpolates percentiles between the nearest ranks', () => {
    const s = new Sink('trend');
    for (const v of [5, 1, 4, 2, 3]) s.add(v);
    expect(s.stat('p(50)', 1)).toBe(3);
    expect(s.stat('p(95)', 1)).toBeCloseTo(4.8);
    expect(s.stat('med', 1)).toBe(3);
    expect(s.stat('avg', 1)).toBe(3);
    expect(s.summary(['min', 'max', 'count'], 1)).toEqual({ min: 1, max: 5, count: 5 });
  });

  it('reads k6 threshold expressions and refuses others', () => {
    expect(parseThreshold('p(95)<500')).toMatchObject({ agg: 'p(95)', op: '<', limit: 500 });
    expect(parseThreshold({ threshold: 'rate==0', abortOnFail: true, delayAbortEval: '10s' })).toMatchObject({ agg: 'rate', op: '==', limit: 0, abortOnFail: true, delayAbortEvalMs: 10_000 });
    expect(() => parseThreshold('p95 < 500')).toThrow(/invalid threshold/);
  });

  it('feeds sub-metrics by tags and evaluates thresholds on them', () => {
    const r = new Registry();
    r.define('http_req_duration', 'trend', true);
    r.setThresholds({ 'http_req_duration{kind:api}': ['p(95)<100'], http_req_duration: ['max<1000'] });
    const add = (value: number, kind: string) => r.add({ metric: 'http_req_duration', type: 'trend', value, time: 0, tags: { kind } });
    add(50, 'api'); add(60, 'api'); add(900, 'page');
    expect(r.evaluate(1)).toEqual([]);
    add(500, 'api');
    expect(r.evaluate(1)).toEqual(['http_req_duration{kind:api}: p(95)<100']);
    expect(r.sink('http_req_duration{kind:api}')!.count).toBe(3);
  });

  it('rejects an aggregation the metric type does not have', () => {
    const r = new Registry();
    r.define('checks', 'rate');
    r.setThresholds({ checks: ['p(95)<1'] });
    expect(() => r.evaluate(1)).toThrow(/not an aggregation of a rate/);
  });

  it('ramping-vus: VUs follow the stages linearly', () => {
    const s = { startVUs: 0, stages: [{ durationMs: 1000, target: 10 }, { durationMs: 1000, target: 10 }, { durationMs: 1000, target: 0 }] };
    expect(targetAt(s, 0)).toBe(0);
    expect(targetAt(s, 500)).toBe(5);
    expect(targetAt(s, 1500)).toBe(10);
    expect(targetAt(s, 2500)).toBe(5);
    expect(targetAt(s, 9000)).toBe(0);
  });
});

describe('running scripts', () => {
  let server: Server;
  let base: string;
  let dir: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/slow') return void setTimeout(() => res.end('slow'), 300);
      if (req.url === '/missing') { res.statusCode = 404; return void res.end('no'); }
      const hop = /^\/redirect\/(\d+)$/.exec(req.url ?? '');
      if (hop && hop[1] !== '0') { res.writeHead(302, { location: `/redirect/${Number(hop[1]) - 1}` }); return void res.end(); }
      if (req.url === '/see-other') { res.writeHead(303, { location: '/method' }); return void res.end(); }
      if (req.url === '/method') return void res.end(req.method);
      if (req.url === '/set-cookie') { res.setHeader('set-cookie', ['sid=abc; Path=/', 'gone=1; Max-Age=0']); return void res.end(); }
      if (req.url === '/echo-cookie') return void res.end(req.headers.cookie ?? '');
      res.setHeader('content-type', 'text/plain');
      res.end('hello');
    });
    const wss = new WebSocketServer({ noServer: true });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`pong: ${m}`)));
    server.on('upgrade', (req, sock, head) => wss.handleUpgrade(req, sock, head, (ws) => wss.emit('connection', ws, req)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `127.0.0.1:${(server.address() as { port: number }).port}`;
    dir = mkdtempSync(join(tmpdir(), 'k6-shim-'));
    writeFileSync(join(dir, 'data.txt'), 'hello\n');
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const script = (name: string, code: string) => {
    const f = join(dir, name);
    writeFileSync(f, code);
    return f;
  };
  const quiet = { stdout: () => {}, log: () => {}, includeSystemEnv: false };

  it('runs constant-vus with per-VU realms, open(), checks, custom metrics and handleSummary files', async () => {
    const f = script('basic.js', `
      import http from 'k6/http';
      import { check } from 'k6';
      import { Trend, Counter } from 'k6/metrics';
      import { setTimeout } from 'k6/timers';
      import exec from 'k6/execution';
      const expected = open('./data.txt').trim();
      const perVu = new Counter('per_vu');
      const t = new Trend('custom_time', true);
      let mine = 0; // module state is per VU, as each k6 VU has its own runtime
      export const options = {
        scenarios: { main: { executor: 'constant-vus', vus: 3, duration: '1s' } },
        thresholds: { http_req_duration: ['p(95)<1000'], 'custom_time{kind:a}': ['avg<100'], checks: ['rate==1'] },
      };
      export default async function () {
        mine++;
        const r = await http.asyncRequest('GET', 'http://${base}/', null, { tags: { name: 'root' } });
        check(r, { 'body read': (x) => x.body === expected, 'canonical header': (x) => x.headers['Content-Type'] === 'text/plain' });
        t.add(10, { kind: 'a' });
        perVu.add(1, { vu: String(__VU), mine: String(mine), iter: String(__ITER), scenario_name: exec.scenario.name });
        await new Promise((res) => setTimeout(res, 100));
      }
      export function handleSummary(data) { return { 'out/summary.json': JSON.stringify(data) }; }
    `);
    const samples: { tags: Record<string, string> }[] = [];
    const r = await runScript({ script: f, cwd: dir, ...quiet, onSample: (s) => { if (s.metric === 'per_vu') samples.push(s); } }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
    const data = JSON.parse(readFileSync(join(dir, 'out/summary.json'), 'utf8'));
    expect(data.metrics.iterations.values.count).toBeGreaterThanOrEqual(9);
    expect(data.metrics['custom_time{kind:a}'].thresholds).toEqual({ 'avg<100': { ok: true } });
    expect(data.metrics.custom_time.contains).toBe('time');
    expect(data.root_group.checks.map((c: { name: string }) => c.name).sort()).toEqual(['body read', 'canonical header']);
    expect(new Set(samples.map((s) => s.tags.vu))).toEqual(new Set(['1', '2', '3']));
    // each VU counts its own iterations from 1, and __ITER from 0
    for (const s of samples) expect(Number(s.tags.mine)).toBe(Number(s.tags.iter) + 1);
    expect(samples[0].tags.scenario_name).toBe('main');
  });

  it('exits 99 when a threshold is crossed, and reports which', async () => {
    const f = script('fail.js', `
      import http from 'k6/http';
      import { setTimeout } from 'k6/timers';
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 2 } }, thresholds: { http_req_failed: ['rate==0'] } };
      // VUs finishing at different times must not be started again
      export default async function () { await new Promise((r) => setTimeout(r, __VU * 150)); await http.asyncRequest('GET', 'http://${base}/missing'); }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode).toBe(K6_EXIT.thresholdsFailed);
    expect(r.failedThresholds).toEqual(['http_req_failed: rate==0']);
    expect(r.data.metrics.http_reqs.values.count).toBe(4);
  });

  it('refuses, never pretends: a function it does not implement stops the run with exit 107 naming it; a threshold no sample reached fails', async () => {
    const f = script('unsupported.js', `
      import http from 'k6/http';
      import { sleep } from 'k6';
      export const options = { scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '30s' } }, thresholds: { http_req_duration: ['p(95)<500'] } };
      export default function () { http.post('http://${base}/', { f: http.file('abc', 'a.txt') }); sleep(1); }
    `);
    const t0 = Date.now();
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode).toBe(K6_EXIT.scriptException);
    expect(r.error).toMatch(/the script uses http\.file\(\) \(multipart bodies\), which this runner does not implement/);
    expect(Date.now() - t0, 'stopped at the first use, not after 30 s').toBeLessThan(10_000);
    expect(r.failedThresholds).toEqual(['http_req_duration: p(95)<500 (no sample of http_req_duration at all)']);
  });

  it('synchronous calls block only their own VU: sleep, http.get/post, http.batch, in one thread per VU', async () => {
    const f = script('sync.js', `
      import http from 'k6/http';
      import { sleep, check, group } from 'k6';
      import { Counter } from 'k6/metrics';
      const ticks = new Counter('ticks');
      export const options = { scenarios: {
        sleeper: { executor: 'per-vu-iterations', vus: 1, iterations: 1, exec: 'sleeper' },
        worker: { executor: 'per-vu-iterations', vus: 1, iterations: 1, exec: 'worker' },
      } };
      export function sleeper() { sleep(1); ticks.add(1, { who: 'sleeper' }); }
      export function worker() {
        // runs while the other VU sleeps: 5 requests of 300 ms, 3 of them at once in a batch
        group('sync', () => {
          const r = http.get('http://${base}/slow');
          check(r, { 'get: body': (x) => x.body === 'slow' });
          const p = http.post('http://${base}/method', 'x');
          check(p, { 'post: method': (x) => x.body === 'POST' });
          const b = http.batch(['http://${base}/slow', ['GET', 'http://${base}/slow'], { method: 'GET', url: 'http://${base}/slow' }]);
          check(b, { 'batch: three': (x) => x.length === 3 && x.every((y) => y.body === 'slow') });
          const o = http.batch({ a: 'http://${base}/slow' });
          check(o, { 'batch: by name': (x) => x.a.status === 200 });
        });
        ticks.add(1, { who: 'worker' });
      }
    `);
    const t0 = Date.now();
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
    // the checks ran inside group('sync'): handleSummary's data nests them there, as k6's does
    expect(r.data.root_group.checks).toEqual([]);
    const sync = r.data.root_group.groups[0];
    expect(sync).toMatchObject({ name: 'sync', path: '::sync' });
    expect(sync.checks.map((c) => [c.name, c.passes, c.fails, c.path])).toEqual([
      ['get: body', 1, 0, '::sync::get: body'], ['post: method', 1, 0, '::sync::post: method'], ['batch: three', 1, 0, '::sync::batch: three'], ['batch: by name', 1, 0, '::sync::batch: by name']]);
    expect(r.data.metrics.ticks.values.count).toBe(2);
    expect(r.data.metrics.http_reqs.values.count).toBe(6);
    // serial: 300 + ~0 + 300 (batch in parallel) + 300; the sleeper's second ran beside it
    const iter = r.data.metrics.iteration_duration.values;
    expect(iter.max).toBeGreaterThanOrEqual(900);
    expect(iter.max).toBeLessThan(1_600);
    expect(Date.now() - t0).toBeLessThan(8_000);
    for (const m of ['http_req_blocked', 'http_req_sending', 'http_req_receiving', 'group_duration']) expect(r.data.metrics[m], m).toBeDefined();
    expect(r.data.metrics.data_received.values.count, 'status lines and headers are counted too').toBeGreaterThan(6 * 60);
  });

  it('stop() wakes a VU blocked in sleep(): interrupted at once, not after the sleep', async () => {
    const f = script('sleep-stop.js', `
      import { sleep } from 'k6';
      export const options = { scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '1m' } } };
      export default function () { sleep(60); }
    `);
    const run = runScript({ script: f, ...quiet });
    setTimeout(() => run.stop(), 800);
    const t0 = Date.now();
    const r = await run.result;
    expect(r.exitCode).toBe(K6_EXIT.externalAbort);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.data.metrics.iterations).toBeUndefined();
  });

  it('abortOnFail stops the run early; teardown and handleSummary still run', async () => {
    const f = script('abort.js', `
      import http from 'k6/http';
      import { Counter } from 'k6/metrics';
      const td = new Counter('teardown_ran');
      export const options = {
        scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '30s' } },
        thresholds: { http_req_failed: [{ threshold: 'rate==0', abortOnFail: true, delayAbortEval: '1s' }] },
      };
      export default async function () { await http.asyncRequest('GET', 'http://${base}/missing'); }
      export function teardown() { td.add(1); }
    `);
    const t0 = Date.now();
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode).toBe(K6_EXIT.thresholdsFailed);
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(r.aborted).toMatch(/abortOnFail/);
    expect(r.data.metrics.teardown_ran.values.count).toBe(1);
  });

  it('an iteration ends when its event loop is empty: an open WebSocket keeps it going', async () => {
    const f = script('ws.js', `
      import { WebSocket } from 'k6/experimental/websockets';
      import { Trend } from 'k6/metrics';
      const rtt = new Trend('rtt', true);
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 1 } }, summaryTrendStats: ['count', 'max'] };
      export default function () {
        // returns at once; the socket and its handlers finish the iteration
        const ws = new WebSocket('ws://${base}/ws');
        let sent = 0;
        ws.onopen = () => { sent = Date.now(); ws.send('x'); };
        ws.onmessage = (e) => { if (e.data === 'pong: x') { rtt.add(Date.now() - sent); ws.close(); } };
      }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
    expect(r.data.metrics.rtt.values.count).toBe(2);
    expect(r.data.metrics.ws_connecting.values.count).toBe(2);
    expect(r.data.metrics.ws_sessions.values.count).toBe(2);
  });

  // https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/shared-iterations/ and the
  // options reference ("iterations": the shortcut for shared-iterations among `vus`).
  it('vus + iterations: the iterations are shared among the VUs, and the test ends when all ran', async () => {
    const f = script('shared.js', `
      import exec from 'k6/execution';
      import { Counter } from 'k6/metrics';
      const byVu = new Counter('by_vu');
      export const options = { vus: 3, iterations: 10 };
      export default async function () { byVu.add(1, { vu: String(exec.vu.idInTest) }); await new Promise((r) => setTimeout(r, 20)); }
    `);
    const t0 = Date.now();
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
    expect(r.data.metrics.iterations.values.count).toBe(10);
    expect(r.data.metrics.by_vu.values.count).toBe(10);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  // The options reference, "stages": the shortcut for ramping-vus (startVUs from `vus`, default 1).
  it('stages: the shortcut ramps VUs like ramping-vus', async () => {
    const f = script('stages.js', `
      import exec from 'k6/execution';
      import { Gauge } from 'k6/metrics';
      const active = new Gauge('active');
      export const options = { stages: [{ duration: '1s', target: 3 }] };
      export default async function () { active.add(exec.instance.vusActive); await new Promise((r) => setTimeout(r, 100)); }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
    expect(r.data.metrics.active.values.max).toBeGreaterThanOrEqual(2);
    expect(r.data.metrics.active.values.max).toBeLessThanOrEqual(3);
  });

  // https://grafana.com/docs/k6/latest/javascript-api/k6-execution/ (test.abort: exit 108, teardown
  // still runs; scenario.iterationInInstance counts across the scenario's VUs) and the options
  // reference ("tags": on every metric).
  it('exec.test.abort() stops the run with exit 108; options.tags tag every metric; iterationInInstance spans the scenario', async () => {
    const f = script('abort.js', `
      import exec from 'k6/execution';
      import { Counter } from 'k6/metrics';
      const seen = new Counter('seen');
      const last = new Counter('after_teardown');
      export const options = { tags: { env: 'staging' }, scenarios: { s: { executor: 'shared-iterations', vus: 2, iterations: 50 } },
        thresholds: { 'seen{env:staging}': ['count>=5'] } };
      export default async function () {
        seen.add(1);
        if (exec.scenario.iterationInInstance === 5) exec.test.abort('enough');
        await new Promise((r) => setTimeout(r, 10));
      }
      export function teardown() { last.add(1); }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.scriptAborted);
    expect(r.error).toMatch(/test aborted: enough/);
    expect(r.data.metrics.seen.values.count).toBeLessThan(50);
    expect(r.data.metrics.after_teardown.values.count).toBe(1);
    expect(r.failedThresholds).toEqual([]);
  });

  // https://grafana.com/docs/k6/latest/javascript-api/k6-websockets/: k6/websockets, no longer experimental.
  it('k6/websockets works as k6/experimental/websockets', async () => {
    const f = script('ws2.js', `
      import { WebSocket } from 'k6/websockets';
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } } };
      export default function () {
        const ws = new WebSocket('ws://${base}/ws');
        ws.onopen = () => ws.send('y');
        ws.onmessage = () => ws.close();
      }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
    expect(r.data.metrics.ws_msgs_received.values.count).toBe(1);
  });

  // https://grafana.com/docs/k6/latest/javascript-api/k6-http/set-response-callback/: the statuses that
  // count as expected feed http_req_failed and the expected_response tag; per request too.
  it('http.setResponseCallback(http.expectedStatuses(...)) decides what http_req_failed counts', async () => {
    const f = script('expected.js', `
      import http from 'k6/http';
      http.setResponseCallback(http.expectedStatuses(404, { min: 200, max: 299 }));
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } },
        thresholds: { http_req_failed: ['rate==0.5'], 'http_reqs{expected_response:true}': ['count==1'] } };
      export default async function () {
        await http.asyncRequest('GET', 'http://${base}/missing');                                     // 404: expected now
        await http.asyncRequest('GET', 'http://${base}/missing', null, { responseCallback: http.expectedStatuses(200) }); // not here
      }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, `${r.error} ${r.failedThresholds}`).toBe(K6_EXIT.ok);
    expect(r.data.metrics.http_req_failed.values.rate).toBe(0.5);
  });

  // k6's exit codes (InvalidConfig is 104, k6 errext/exitcodes): a threshold
  // that is not AGG OP NUMBER is refused before the test starts.
  it('an invalid threshold expression is invalid configuration: exit 104, nothing run', async () => {
    const f = script('badthreshold.js', `
      export const options = { vus: 1, iterations: 1, thresholds: { http_req_duration: ['p95 < 500'] } };
      export default function () {}
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode).toBe(K6_EXIT.invalidConfig);
    expect(r.error).toMatch(/invalid threshold "p95 < 500"/);
  });

  // https://grafana.com/docs/k6/latest/javascript-api/k6/group/ and .../k6/fail/: nested groups tag
  // what is emitted in them ("::outer::inner") and emit group_duration; fail() ends the iteration only.
  it('group() tags samples with the nested group name and emits group_duration; fail() ends just the iteration', async () => {
    const f = script('group.js', `
      import { group, check, fail } from 'k6';
      import { Counter } from 'k6/metrics';
      const after = new Counter('after_fail');
      export const options = { vus: 1, iterations: 3, summaryTrendStats: ['count', 'max'],
        thresholds: { 'checks{group:::outer::inner}': ['rate==1'], 'group_duration{group:::outer}': ['max>=0'], 'checks{group:}': ['rate==0'] } };
      export default function () {
        group('outer', () => { group('inner', () => { check(1, { 'one is one': (x) => x === 1 }); }); });
        check(0, { 'root check': (x) => x === 1 });
        if (__ITER >= 1) fail('stop here');
        after.add(1);
      }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, `${r.error} ${r.failedThresholds}`).toBe(K6_EXIT.ok);
    expect(r.failedThresholds).toEqual([]);
    expect(r.data.metrics.after_fail.values.count).toBe(1);
    expect(r.data.metrics.group_duration.values.max).toBeGreaterThanOrEqual(0);
    expect(r.data.metrics['group_duration{group:::outer}'].values.count).toBe(3);
  });

  // https://grafana.com/docs/k6/latest/using-k6/k6-options/reference/#max-redirects (default 10) and
  // the `redirects` request parameter: redirects are followed, each hop a request in the metrics.
  it('follows redirects up to maxRedirects (per request: redirects); a 303 after POST turns into GET', async () => {
    const f = script('redirects.js', `
      import http from 'k6/http';
      import { check } from 'k6';
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } }, thresholds: { checks: ['rate==1'] } };
      export default async function () {
        const all = await http.asyncRequest('GET', 'http://${base}/redirect/3');
        check(all, { 'followed to the end': (r) => r.status === 200 && r.url.endsWith('/redirect/0') });
        const one = await http.asyncRequest('GET', 'http://${base}/redirect/3', null, { redirects: 1 });
        check(one, { 'stopped after one hop': (r) => r.status === 302 && r.url.endsWith('/redirect/2') });
        const post = await http.asyncRequest('POST', 'http://${base}/see-other', 'x');
        check(post, { '303 turns POST into GET': (r) => r.status === 200 && r.body === 'GET' });
      }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, `${r.error} ${r.failedThresholds}`).toBe(K6_EXIT.ok);
    expect(r.data.metrics.http_reqs.values.count).toBe(4 + 2 + 2);
  });

  // https://grafana.com/docs/k6/latest/javascript-api/error-codes/: 1404 for a 404, 1212 connection
  // refused, 1050 request timeout.
  it('k6\'s error codes: an HTTP 404 is 1404, a refused connection 1212, a timeout 1050', async () => {
    const closed = await new Promise<number>((r) => { const t = createServer(); t.listen(0, '127.0.0.1', () => { const port = (t.address() as { port: number }).port; t.close(() => r(port)); }); });
    const f = script('codes.js', `
      import http from 'k6/http';
      import { check } from 'k6';
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } }, thresholds: { checks: ['rate==1'] } };
      export default async function () {
        check(await http.asyncRequest('GET', 'http://${base}/missing'), { '404 → 1404': (r) => r.error_code === 1404 && r.status === 404 });
        check(await http.asyncRequest('GET', 'http://127.0.0.1:${'${__ENV.CLOSED}'}/'), { 'refused → 1212': (r) => r.error_code === 1212 && r.status === 0 });
        check(await http.asyncRequest('GET', 'http://${base}/slow', null, { timeout: '50ms' }), { 'timeout → 1050': (r) => r.error_code === 1050 });
      }
    `);
    const r = await runScript({ script: f, ...quiet, env: { CLOSED: String(closed) } }).result;
    expect(r.exitCode, `${r.error} ${r.failedThresholds}`).toBe(K6_EXIT.ok);
  });

  // https://grafana.com/docs/k6/latest/using-k6/cookies/ and the options reference (noCookiesReset):
  // one jar per VU, sent back to matching URLs, emptied for every iteration unless noCookiesReset.
  it('a cookie jar per VU, emptied for each iteration (noCookiesReset keeps it)', async () => {
    const run = async (keep: boolean) => {
      const f = script(`cookies-${keep}.js`, `
        import http from 'k6/http';
        import { check } from 'k6';
        import { Counter } from 'k6/metrics';
        const sent = new Counter('sent_sid');
        export const options = { noCookiesReset: ${keep}, scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 2 } }, thresholds: { checks: ['rate==1'] } };
        export default async function () {
          const before = await http.asyncRequest('GET', 'http://${base}/echo-cookie');
          if (before.body === 'sid=abc') sent.add(1);
          await http.asyncRequest('GET', 'http://${base}/set-cookie');
          const after = await http.asyncRequest('GET', 'http://${base}/echo-cookie');
          check(after, { 'the jar sends sid back, not the expired one': (x) => x.body === 'sid=abc' });
          check(http.cookieJar().cookiesForURL('http://${base}/'), { 'cookiesForURL': (c) => c.sid[0] === 'abc' && !c.gone });
        }
      `);
      const r = await runScript({ script: f, ...quiet }).result;
      expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
      return r.data.metrics.sent_sid?.values.count ?? 0;
    };
    expect(await run(false)).toBe(0);
    expect(await run(true)).toBe(1);
  });

  // https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-arrival-rate/ and
  // ramping-arrival-rate/: iterations start at the rate whatever the response time; with no idle VU
  // in the pool an iteration is dropped (dropped_iterations).
  it('constant-arrival-rate starts iterations at the rate and drops what no idle VU can take', async () => {
    const f = script('arrival.js', `
      export const options = { scenarios: {
        steady: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '1s', preAllocatedVUs: 5, exec: 'quick' },
        starved: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1, exec: 'slow' },
      } };
      export async function quick() { await new Promise((r) => setTimeout(r, 10)); }
      export async function slow() { await new Promise((r) => setTimeout(r, 400)); }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
    const its = r.data.metrics.iterations.values.count;
    const dropped = r.data.metrics.dropped_iterations.values.count;
    // steady: about 20 in a second; starved: one VU busy 400 ms takes about 3, the other ~17 are dropped
    expect(its).toBeGreaterThanOrEqual(20);
    expect(its).toBeLessThanOrEqual(26);
    expect(dropped).toBeGreaterThanOrEqual(14);
  });

  it('ramping-arrival-rate follows its stages: 0 → 40 per second over 1 s starts about 20', async () => {
    const f = script('ramp-arrival.js', `
      export const options = { scenarios: { r: { executor: 'ramping-arrival-rate', startRate: 0, timeUnit: '1s', preAllocatedVUs: 10, stages: [{ target: 40, duration: '1s' }] } } };
      export default async function () {}
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
    expect(r.data.metrics.iterations.values.count).toBeGreaterThanOrEqual(17);
    expect(r.data.metrics.iterations.values.count).toBeLessThanOrEqual(21);
  });

  it('ramping-vus activates VUs by the stages', async () => {
    const f = script('ramp.js', `
      import exec from 'k6/execution';
      import { Gauge } from 'k6/metrics';
      import { setTimeout } from 'k6/timers';
      const active = new Gauge('active');
      export const options = { scenarios: { s: { executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '1s', target: 4 }, { duration: '1s', target: 4 }], gracefulRampDown: '0s' } } };
      export default async function () { active.add(exec.instance.vusActive); await new Promise((r) => setTimeout(r, 50)); }
    `);
    const r = await runScript({ script: f, ...quiet }).result;
    expect(r.exitCode, r.error).toBe(K6_EXIT.ok);
    expect(r.data.metrics.active.values.max).toBe(4);
    expect(r.data.metrics.vus_max.values.value).toBe(4);
  });

  it('stop() is the first Ctrl-C: iterations are interrupted, teardown runs, exit 105', async () => {
    const f = script('stop.js', `
      import { setTimeout } from 'k6/timers';
      import { Counter } from 'k6/metrics';
      const after = new Counter('after_wait');
      const td = new Counter('teardown_ran');
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } } };
      export default async function () { await new Promise((r) => setTimeout(r, 60000)); after.add(1); }
      export function teardown() { td.add(1); }
    `);
    const run = runScript({ script: f, ...quiet });
    setTimeout(() => run.stop(), 500);
    const r = await run.result;
    expect(r.exitCode).toBe(K6_EXIT.externalAbort);
    expect(r.data.metrics.after_wait).toBeUndefined();
    expect(r.data.metrics.teardown_ran.values.count).toBe(1);
  });

  it('fails loudly on what it does not implement', async () => {
    const mod = await runScript({ script: script('mod.js', `import { parseHTML } from 'k6/html'; export default function () {}`), ...quiet }).result;
    expect(mod.exitCode).toBe(K6_EXIT.scriptException);
    expect(mod.error).toMatch(/does not provide module "k6\/html"/);
    const ex = await runScript({ script: script('ex.js', `export const options = { scenarios: { s: { executor: 'externally-controlled', duration: '1s' } } }; export default function () {}`), ...quiet }).result;
    expect(ex.exitCode).toBe(K6_EXIT.invalidConfig);
    expect(ex.error).toMatch(/externally-controlled" is not supported/);
    // An option it does not implement stops the run at init, exit 107, naming it: the run would not be what the script says.
    const opt = await runScript({ script: script('opt.js', `export const options = { noConnectionReuse: true, vus: 1 }; export default function () {}`), ...quiet }).result;
    expect(opt.exitCode).toBe(K6_EXIT.scriptException);
    expect(opt.error).toMatch(/sets options\.noConnectionReuse, which this runner does not implement/);
  });

  // https://grafana.com/docs/k6/latest/using-k6/protocols/http-2/: k6 negotiates HTTP/2 over TLS when
  // the server offers it (res.proto "HTTP/2.0"). This runner speaks HTTP/1.1: the request works, but a
  // read of proto of an HTTPS response would say what k6 may not, so it is refused (107).
  it('HTTPS to a server that offers h2: answered over HTTP/1.1; reading res.proto there is refused (107)', async () => {
    const ca = makeCa();
    const leaf = makeServerCert(ca, { commonName: '127.0.0.1', altNames: ['127.0.0.1'], notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000) });
    const h2 = createSecureServer({ key: leaf.keyPem, cert: leaf.certPem, allowHTTP1: true }, (req, res) => res.end(`over ${req.httpVersion}`));
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    try {
      const f = script('h2.js', `
        import http from 'k6/http';
        import { check } from 'k6';
        export const options = { vus: 1, iterations: 1, insecureSkipTLSVerify: true, thresholds: { checks: ['rate==1'] } };
        export default function () {
          const r = http.get('https://127.0.0.1:${(h2.address() as { port: number }).port}/');
          check(r, { 'answered over HTTP/1.1': (x) => x.status === 200 && x.body === 'over 1.1' && JSON.stringify(x).length > 0 });
          if (__ENV.READ_PROTO) console.log(r.proto);
        }
      `);
      const quietly = await runScript({ script: f, ...quiet }).result;
      expect(quietly.exitCode, quietly.error).toBe(K6_EXIT.ok);
      expect(quietly.data.metrics.checks.values.passes).toBe(1);
      const reads = await runScript({ script: f, ...quiet, env: { READ_PROTO: '1' } }).result;
      expect(reads.exitCode).toBe(K6_EXIT.scriptException);
      expect(reads.error).toMatch(/Response\.proto of an HTTPS response \(this runner does not negotiate HTTP\/2/);
    } finally {
      h2.close();
    }
  });
});
