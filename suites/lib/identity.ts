// Whose workspace a /userNNN/ URL really reaches, from what a stock ComfyUI does: it serves the
// files of its own output directory at /view. One file of the same name is put in every user's own
// outputs, each holding that user's id; /userNNN/view of that name then says whose container answered.
// (Nothing a stand-in prints only for us: a real deployment's containers answer the same way.)
import { randomBytes } from 'node:crypto';
import type { CheckContext } from './check.ts';
import type { HostAccess, Target } from './target.ts';

/** Each user's output directory inside its container, from the container's real mounts (docker inspect
 *  on the host), never a path of our stand-ins: the mount of data/outputs/<user> (the platform's
 *  compose file), else the one mounted at a directory named output. Absent: no such mount, or no
 *  container (the checks say so). */
export async function outputDirs(host: HostAccess, users: string[]): Promise<Map<string, string | undefined>> {
  const r = await host.inspect(users, '{{.Name}} {{json .Mounts}}');
  const byName = r.stdout.split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf(' ');
    return { name: l.slice(0, i).replace(/^\//, ''), mounts: JSON.parse(l.slice(i + 1)) as { Source: string; Destination: string }[] };
  });
  return new Map(users.map((u) => {
    const mounts = byName.find((x) => x.name.endsWith(u))?.mounts ?? [];
    const own = mounts.find((m) => new RegExp(`/outputs?/${u}/?$`).test(m.Source)) ?? mounts.find((m) => /\/output\/?$/.test(m.Destination));
    return [u, own?.Destination.replace(/\/$/, '')];
  }));
}

/** One user's output directory (see outputDirs); fails the check when it has none. */
export async function outputDirOf(ctx: CheckContext, user: string): Promise<string> {
  const dir = (await outputDirs(ctx.target.host!, [user])).get(user);
  ctx.expect(!!dir, `${user}'s container mounts an output directory (data/outputs/${user})`, `no such mount in docker inspect of ${user}'s container`);
  return dir!;
}

const CONTENT = (user: string) => `comfy-verify identity ${user}`;

export interface Identity { status: number; user?: string; error?: string }

/** Puts the identity file in each user's outputs (through the host: docker exec), runs fn with its
 *  name, and removes them whatever happens. */
export async function withIdentityFiles<T>(ctx: CheckContext, users: string[], fn: (name: string) => Promise<T>): Promise<T> {
  const name = `comfy-verify-identity-${randomBytes(6).toString('hex')}.txt`;
  const host = ctx.target.host!;
  const failed: string[] = [];
  const dirs = await outputDirs(host, users);
  await Promise.all(users.map(async (u) => {
    const dir = dirs.get(u);
    if (!dir) return void failed.push(`${u}: no output directory mounted (or no container)`);
    const w = await host.serviceExec(u, ['sh', '-c', 'printf %s "$1" > "$2"', 'sh', CONTENT(u), `${dir}/${name}`]);
    if (w.exitCode !== 0) failed.push(`${u}: ${w.stderr.trim().split('\n')[0] || `exit code ${w.exitCode}`}`);
  }));
  ctx.record('an identity file in each user\'s output directory (its mount, from docker inspect)', { name, users: users.length, dirs: [...new Set(dirs.values())], notWritten: failed });
  try {
    // A container that cannot take the file (stopped, no such directory) is reported by the check for
    // that user: its URL then shows no identity.
    return await fn(name);
  } finally {
    await Promise.all(users.filter((u) => dirs.get(u)).map((u) => host.serviceExec(u, ['rm', '-f', `${dirs.get(u)}/${name}`]).catch(() => {})));
  }
}

/** The user whose container answers /<user>/view for the identity file. */
export async function workspaceUser(target: Target, user: string, name: string): Promise<Identity> {
  try {
    const r = await target.request(`/${user}/view?filename=${encodeURIComponent(name)}&type=output`, { timeoutMs: 5_000, maxBody: 200 });
    return { status: r.status, user: r.status === 200 ? /^comfy-verify identity (\S+)$/.exec(r.body.trim())?.[1] : undefined };
  } catch (e) {
    return { status: 0, error: (e as Error).message };
  }
}

export const describeWorkspace = (path: string, w: Identity) =>
  w.user ? `${path} serves ${w.user}` : `${path} → ${w.error ?? `HTTP ${w.status}, no identity file (not a workspace with its own outputs)`}`;
