// `load --engine`: which runner a load test uses is settled before anything is brought up. (The run on
// "the operator's k6" against the stack is in load.test.ts, beside the shim's; the engines themselves
// are in scripts/lib/load/engine.test.ts.)
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../../stack/images.ts';

// PATH holds nothing at all: no k6 (the command is started by this node's absolute path)
const noK6 = mkdtempSync(join(tmpdir(), 'cv-no-k6-'));
const load = (args: string[]) => execa(process.execPath, [join(ROOT, 'scripts/bin.mjs'), 'load', ...args], {
  cwd: noK6, reject: false, all: true, timeout: 60_000, env: { PATH: noK6, COMFY_VERIFY_REPORTS: noK6 },
});

describe('load --engine', () => {
  it('k6 without a k6 on PATH: one line saying what to do, exit 2, nothing brought up', async () => {
    const r = await load(['--scenario', 'smoke', '--engine', 'k6']);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toBe('✖ --engine k6: no k6 executable on PATH; install k6, give its path with --k6 PATH, or use --engine shim (the built-in runner)');
  });

  it('auto without a k6 says it chose the shim; a bad --engine or --k6 is one line', async () => {
    const r = await load(['--engine', 'auto', '--target', 'https://comfy.example', '--resolve', '127.0.0.1']);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toMatch(/^• engine: comfy-verify k6 shim v\S+ \(built in\) \(--engine auto: no k6 on PATH\)\n✖ refusing to load https:\/\/comfy.example/);
    expect((await load(['--engine', 'k7'])).all).toBe('✖ --engine must be shim, k6 or auto, not "k7"');
    expect((await load(['--k6', join(noK6, 'k6')])).all).toBe(`✖ --k6 ${join(noK6, 'k6')}: no executable file there`);
  });
});
