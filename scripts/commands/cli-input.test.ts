// Bad input never gets a stack trace: one line, exit 2. No stack and no network beyond 127.0.0.1.
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../../stack/images.ts';
import { selectChecks } from './verify.ts';

const cli = (args: string[], env: Record<string, string> = {}) => execa(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/cli.ts'), ...args], {
  cwd: mkdtempSync(join(tmpdir(), 'cv-cwd-')), reject: false, all: true, timeout: 60_000, env,
});
const noTrace = (out: string) => expect(out).not.toMatch(/\n\s+at |Error:/);

describe('command line: bad input', () => {
  it('a target that is not https:// → one line, exit 2', async () => {
    const r = await cli(['smoke', '--target', 'http://comfy.ahelme.net']);
    expect(r.exitCode).toBe(2);
    expect(r.all!.trim()).toBe('✖ --target must be an https:// URL, got "http://comfy.ahelme.net"');
  });

  it('NUM_USERS=abc (and a bad USE_HOST_NGINX) → one line each, exit 2, before any connection', async () => {
    const r = await cli(['checklist', '--target', 'https://comfy.ahelme.net', '--resolve', '127.0.0.1'], { NUM_USERS: 'abc', USE_HOST_NGINX: 'yes' });
    expect(r.exitCode).toBe(2);
    expect(r.all).toMatch(/^✖ NUM_USERS must be 1-99, got "abc"\n✖ USE_HOST_NGINX must be true or false, got "yes"/);
    noTrace(r.all!);
  });

  it('an unreachable target → one line, exit 2', async () => {
    const r = await cli(['smoke', '--target', 'https://comfy.ahelme.net:1', '--resolve', '127.0.0.1']);
    expect(r.exitCode).toBe(2);
    expect(r.all).toMatch(/^✖ cannot reach https:\/\/comfy\.ahelme\.net:1: connection refused at 127\.0\.0\.1:1/);
    noTrace(r.all!);
  });

  it('verify: --compose companions without --compose, and --user-credentials on the local stack → one line, exit 2', async () => {
    const a = await cli(['verify', '--standin', 'worker-1']);
    expect(a.exitCode).toBe(2);
    expect(a.all!.trim()).toBe('✖ --standin needs --compose\n  → give --compose docker-compose.yml too, or leave --standin out');
    const b = await cli(['verify', '--user-credentials', 'participants.txt']);
    expect(b.exitCode).toBe(2);
    expect(b.all!.trim()).toBe('✖ --user-credentials goes with --compose or --target\n  → the local stack makes its own: use --user-auth');
    const c = await cli(['verify', '--compose', 'docker-compose.yml', '--image', 'queue-manager']);
    expect(c.exitCode).toBe(2);
    expect(c.all).toMatch(/^✖ --image queue-manager: expected SERVICE=IMAGE/);
  });

  it('verify --skip: a check or suite left out; an unknown name is bad input, named', () => {
    const all = selectChecks(undefined).map((c) => c.id);
    const left = selectChecks(undefined, 'websocket.idle-survives, host').map((c) => c.id);
    expect(all).toContain('websocket.idle-survives');
    expect(left).not.toContain('websocket.idle-survives');
    expect(left.filter((id) => id.startsWith('host.'))).toEqual([]);
    expect(left.length).toBe(all.filter((id) => id !== 'websocket.idle-survives' && !id.startsWith('host.')).length);
    expect(() => selectChecks('websocket', 'websocket.idle-survive')).toThrow(/--skip: no check or suite websocket\.idle-survive$/);
  });

  it('--help on smoke, checklist and verify', async () => {
    for (const c of ['smoke', 'checklist', 'verify']) {
      const r = await cli([c, '--help']);
      expect(r.exitCode).toBe(0);
      expect(r.all).toMatch(new RegExp(`comfy-verify ${c} .*--target`, 's'));
    }
  });
});

describe('the comfy-verify command', () => {
  // package.json's bin: what the README tells operators to type works in a checkout.
  it('npx comfy-verify <command> runs the CLI (help, and a bad option as one line with exit 2)', async () => {
    const help = await execa('npx', ['--no-install', 'comfy-verify', '--help'], { cwd: ROOT, reject: false, all: true, timeout: 60_000 });
    expect(help.exitCode, help.all).toBe(0);
    expect(help.all).toMatch(/comfy-verify <command>[\s\S]*verify[\s\S]*faults[\s\S]*smoke/);
    const bad = await execa('npx', ['--no-install', 'comfy-verify', 'verify', '--mode', 'sideways'], { cwd: ROOT, reject: false, all: true, timeout: 60_000 });
    expect(bad.exitCode).toBe(2);
    expect(bad.all!.trim()).toBe('✖ --mode must be host or container, not "sideways"');
  });
});
