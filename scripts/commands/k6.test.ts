// `comfy-verify k6 run`: an operator's own k6 script on the built-in runner, with k6's exit codes and
// k6 run's --vus/--iterations overrides, k6's JSON output and log lines. No network: the script only counts.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../../stack/images.ts';
import { jsonReader } from '../lib/k6-shim/json-output.ts';
import type { Sample } from '../lib/k6-shim/metrics.ts';

const dir = mkdtempSync(join(tmpdir(), 'cv-k6-'));
const script = join(dir, 'count.js');
writeFileSync(script, `
  import { Counter } from 'k6/metrics';
  const runs = new Counter('runs');
  export const options = { scenarios: { a: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } }, thresholds: { runs: ['count==' + (__ENV.WANT || 1)] } };
  export default function () { runs.add(1); }
`);
const k6 = (args: string[]) => execa(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/cli.ts'), 'k6', ...args], { cwd: dir, reject: false, all: true, timeout: 60_000 });

describe('comfy-verify k6 run', () => {
  it('runs the script as written (exit 0), with -e and k6 run\'s overrides (scenarios replaced), thresholds exit 99', async () => {
    expect((await k6(['run', script])).exitCode).toBe(0);
    expect((await k6(['run', '-e', 'WANT=6', '--vus', '2', '--iterations', '6', script])).exitCode).toBe(0);
    const crossed = await k6(['run', '-e', 'WANT=5', '--vus', '2', '--iterations', '6', script]);
    expect(crossed.exitCode).toBe(99);
    expect(crossed.all).toMatch(/ERROR thresholds crossed: runs: count==5/);
  });

  it('an unsupported module stops at init with 107 and names it; a missing script is one line, exit 2', async () => {
    const bad = join(dir, 'bad.js');
    writeFileSync(bad, "import encoding from 'k6/encoding';\nexport default function () {}\n");
    const r = await k6(['run', bad]);
    expect(r.exitCode).toBe(107);
    expect(r.all).toMatch(/does not provide module "k6\/encoding"/);
    const none = await k6(['run', join(dir, 'nope.js')]);
    expect(none.exitCode).toBe(2);
    expect(none.all).toMatch(/^✖ no script at /);
  });

  it('--out json=FILE writes k6\'s JSON lines (a Metric line before a metric\'s first Point), and reads back as the samples', async () => {
    const file = join(dir, 'points.json');
    const r = await k6(['run', '-q', '--out', `json=${file}`, '-e', 'WANT=4', '--vus', '2', '--iterations', '4', script]);
    expect(r.exitCode, r.all).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const declared = new Map<string, { type: string; contains: string }>();
    for (const l of lines) {
      if (l.type === 'Metric') {
        expect(declared.has(l.metric), l.metric).toBe(false);
        expect(l.data.type).toMatch(/^(counter|gauge|rate|trend)$/);
        declared.set(l.metric, l.data);
      } else {
        expect(l.type).toBe('Point');
        expect(declared.has(l.metric), `${l.metric} before its Metric line`).toBe(true);
        expect(typeof l.data.value).toBe('number');
        expect(new Date(l.data.time).toISOString()).toBe(l.data.time);
        for (const v of Object.values(l.data.tags)) expect(typeof v).toBe('string');
      }
    }
    expect(declared.get('runs')).toMatchObject({ type: 'counter', contains: 'default', thresholds: ['count==4'], submetrics: null });
    expect(declared.get('iteration_duration')).toMatchObject({ type: 'trend', contains: 'time' });
    const samples: Sample[] = [];
    jsonReader((x) => samples.push(x)).push(readFileSync(file, 'utf8'));
    expect(samples.filter((x) => x.metric === 'runs').map((x) => [x.type, x.value])).toEqual(Array(4).fill(['counter', 1]));
    expect(samples.length).toBe(lines.filter((l) => l.type === 'Point').length);
  });

  it('--module URL=FILE runs a script that imports a remote module from a local copy; unmapped, it stops with 107 naming the URL', async () => {
    const local = join(dir, 'utils.js');
    writeFileSync(local, 'export const twice = (x) => 2 * x;\n');
    const remote = join(dir, 'remote.js');
    writeFileSync(remote, `
      import { Counter } from 'k6/metrics';
      import { twice } from 'https://jslib.k6.io/example/1.0.0/index.js';
      const runs = new Counter('runs');
      export const options = { thresholds: { runs: ['count==2'] } };
      export default function () { runs.add(twice(1)); }
    `);
    const mapped = await k6(['run', '--module', `https://jslib.k6.io/example/1.0.0/index.js=${local}`, remote]);
    expect(mapped.exitCode, mapped.all).toBe(0);
    mkdirSync(join(dir, 'lib/1.0.0'), { recursive: true });
    writeFileSync(join(dir, 'lib/1.0.0/index.js'), 'export const twice = (x) => x + 1;\n');
    const byPrefix = await k6(['run', '--module', `https://jslib.k6.io/example/=${join(dir, 'lib')}/`, remote]);
    expect(byPrefix.exitCode, byPrefix.all).toBe(0);
    const unmapped = await k6(['run', remote]);
    expect(unmapped.exitCode).toBe(107);
    expect(unmapped.all).toContain('remote module https://jslib.k6.io/example/1.0.0/index.js: this runner fetches nothing; give a local copy with --module https://jslib.k6.io/example/1.0.0/index.js=FILE');
    const bad = await k6(['run', '--module', 'jslib=utils.js', remote]);
    expect(bad.exitCode).toBe(2);
    expect(bad.all).toMatch(/--module jslib=utils.js: expected URL=FILE/);
  });

  it('--log-format json writes k6\'s log lines; version says what it is (not k6)', async () => {
    const r = await k6(['run', '--log-format', 'json', '-e', 'WANT=5', '--vus', '2', '--iterations', '6', script]);
    expect(r.exitCode).toBe(99);
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!)).toMatchObject({ level: 'error', msg: 'thresholds crossed: runs: count==5' });
    expect((await k6(['version'])).stdout).toMatch(/^comfy-verify k6 shim v\d+\.\d+\.\d+ \(a k6-compatible runner, not k6\)$/);
    expect((await k6(['run', '--out', 'csv=x.csv', script])).all).toMatch(/--out csv=x.csv: this runner writes only json=FILE/);
  });
});
