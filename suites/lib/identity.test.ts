// The checks' own files in the users' output directories: written and removed through the host in one
// command, and inside the container only for a user the host cannot do (that path must still work).
import { describe, it, expect, beforeEach } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { putInOutputs, removeFromOutputs } from './identity.ts';
import type { HostAccess } from './target.ts';

/** A host that runs its commands here, and "containers" that are directories of their own. */
function fakeHost(root: string) {
  const calls = { run: 0, exec: [] as string[] };
  const host: HostAccess = {
    where: 'here',
    run: async (cmd) => { calls.run++; const r = await execa(cmd[0], cmd.slice(1), { reject: false }); return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr }; },
    // A container's /app/output is <root>/in-<user>: a directory the host does not know by that name.
    serviceExec: async (user, cmd) => {
      calls.exec.push(user);
      const mapped = cmd.map((a) => a.replace('/app/output', join(root, `in-${user}`)));
      const r = await execa(mapped[0], mapped.slice(1), { reject: false });
      return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
    },
    inspect: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
  };
  return { host, calls };
}

describe('files in the users\' output directories', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'cv-identity-')); });

  it('are written through the host in one command; a user whose directory the host lacks, in its container', async () => {
    const { host, calls } = fakeHost(root);
    for (const u of ['user001', 'user002']) mkdirSync(join(root, 'outputs', u), { recursive: true });
    mkdirSync(join(root, 'in-user003'));
    const mounts = new Map([
      ['user001', { dir: '/app/output', hostDir: join(root, 'outputs', 'user001') }],
      ['user002', { dir: '/app/output', hostDir: join(root, 'outputs', 'user002') }],
      // docker inspect names a source this host does not have (a stand-in host, another mount namespace)
      ['user003', { dir: '/app/output', hostDir: join(root, 'outputs', 'user003') }],
    ]);
    const failed = await putInOutputs(host, mounts, ['user001', 'user002', 'user003'].map((u) => ({ user: u, name: 'id.txt', content: `it's ${u}` })));
    expect(failed).toEqual(new Map());
    expect(calls.run).toBe(1);
    expect(calls.exec).toEqual(['user003']);
    expect(readFileSync(join(root, 'outputs', 'user002', 'id.txt'), 'utf8')).toBe('it\'s user002');
    expect(readFileSync(join(root, 'in-user003', 'id.txt'), 'utf8')).toBe('it\'s user003');
    expect(existsSync(join(root, 'outputs', 'user003'))).toBe(false);

    calls.exec.length = 0;
    const left = await removeFromOutputs(host, mounts, ['user001', 'user002', 'user003'], 'id.txt');
    expect(left).toEqual(new Map());
    expect(calls.exec).toEqual(['user003']);
    for (const p of [join(root, 'outputs', 'user001', 'id.txt'), join(root, 'outputs', 'user002', 'id.txt'), join(root, 'in-user003', 'id.txt')]) expect(existsSync(p)).toBe(false);
  });

  it('a directory the host may not write, and a container that cannot take it either: named with the reason', async () => {
    const { host, calls } = fakeHost(root);
    mkdirSync(join(root, 'outputs', 'user001'), { recursive: true });
    const locked = join(root, 'outputs', 'user001');
    writeFileSync(join(locked, 'keep'), '');
    chmodSync(locked, 0o500);
    // As root, permissions do not stop a write: the test then stands a missing directory in for it.
    const asRoot = process.getuid?.() === 0;
    const mounts = new Map([['user001', { dir: '/app/output', hostDir: asRoot ? join(root, 'nowhere') : locked }]]);
    const failed = await putInOutputs(host, mounts, [{ user: 'user001', name: 'id.txt', content: 'x' }]);
    chmodSync(locked, 0o700);
    expect(calls.exec).toEqual(['user001']);
    expect(failed.get('user001')).toMatch(/No such file or directory|nonexistent|can't create/i);
  });
});
