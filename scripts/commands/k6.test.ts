// `comfy-verify k6 run`: an operator's own k6 script on the built-in runner, with k6's exit codes and
// k6 run's --vus/--iterations overrides. No network: the script only counts.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../../stack/images.ts';

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
});
