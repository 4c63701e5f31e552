// Nothing leaks: after Ctrl-C, and after a run killed outright and followed by another run,
// no container, network or volume of that run remains.
import { describe, it, expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { removeByLabel } from './containers/labels.ts';
import { ROOT } from './images.ts';

/** Starts `stack up` as one node process (no npx wrapper, so a signal reaches the right process). */
function stackUp(): { child: ChildProcess; up: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', 'stack', 'up', '--mode', 'container', '--users', '1'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' },
  });
  let out = '';
  const up = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const run = /\(run ([0-9a-f]+)\)/.exec(out)?.[1];
      if (run && out.includes('stack up in')) resolve(run);
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`stack up exited ${code}: ${out}`)));
  });
  return { child, up };
}

async function resourcesOf(run: string): Promise<number> {
  const q = (args: string[]) => execa('docker', [...args, '--filter', `label=comfy-verify.run=${run}`, '-q']).then((r) => r.stdout.split('\n').filter(Boolean).length);
  return (await q(['ps', '-a'])) + (await q(['network', 'ls'])) + (await q(['volume', 'ls']));
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

describe('clean-up', () => {
  it('Ctrl-C removes everything the run created', async () => {
    const { child, up } = stackUp();
    const run = await up;
    expect(await resourcesOf(run)).toBeGreaterThan(0);
    child.kill('SIGINT');
    await exited(child);
    expect(await resourcesOf(run)).toBe(0);
  }, 120_000);

  it('a run killed outright is cleaned up by the next run', async () => {
    const { child, up } = stackUp();
    const run = await up;
    child.kill('SIGKILL');
    await exited(child);
    expect(await resourcesOf(run)).toBeGreaterThan(0); // the kill left them behind…
    await removeByLabel({ stale: true }); // …and this is what every new run does first
    expect(await resourcesOf(run)).toBe(0);
  }, 120_000);
});
