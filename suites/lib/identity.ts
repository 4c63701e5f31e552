// Whose workspace a /userNNN/ URL really reaches, from what a stock ComfyUI does: it serves the
// files of its own output directory at /view. One file of the same name is put in every user's own
// outputs, each holding that user's id; /userNNN/view of that name then says whose container answered.
// (Nothing a stand-in prints only for us: a real deployment's containers answer the same way.)
import { randomBytes } from 'node:crypto';
import type { CheckContext } from './check.ts';
import type { HostAccess, Target } from './target.ts';

/** A user's output directory in its container and on the host; `tree` when it is reached through a
 *  mount of the whole outputs directory (every user's, a mistake host.output-dirs reports). */
export interface OutputMount { dir: string; hostDir: string; tree?: { dir: string; hostDir: string } }

/** Each user's output directory inside its container, from the container's real mounts (docker inspect
 *  on the host), never a path of our stand-ins: the mount of data/outputs/<user> (the platform's
 *  compose file), else the one mounted at a directory named output, else its directory inside a
 *  mount of the whole data/outputs. Absent: no such mount, or no container (the checks say so).
 *  `hostDir` is the same directory as the host has it (the mount's source). */
export async function outputMounts(host: HostAccess, users: string[]): Promise<Map<string, OutputMount | undefined>> {
  const r = await host.inspect(users, '{{.Name}} {{json .Mounts}}');
  const byName = r.stdout.split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf(' ');
    return { name: l.slice(0, i).replace(/^\//, ''), mounts: JSON.parse(l.slice(i + 1)) as { Source: string; Destination: string }[] };
  });
  return new Map(users.map((u) => {
    const mounts = byName.find((x) => x.name.endsWith(u))?.mounts ?? [];
    const own = mounts.find((m) => new RegExp(`/outputs?/${u}/?$`).test(m.Source)) ?? mounts.find((m) => /\/output\/?$/.test(m.Destination));
    if (own) return [u, { dir: own.Destination.replace(/\/$/, ''), hostDir: own.Source.replace(/\/$/, '') }];
    const whole = mounts.find((m) => /\/outputs\/?$/.test(m.Source));
    if (!whole) return [u, undefined];
    const tree = { dir: whole.Destination.replace(/\/$/, ''), hostDir: whole.Source.replace(/\/$/, '') };
    return [u, { dir: `${tree.dir}/${u}`, hostDir: `${tree.hostDir}/${u}`, tree }];
  }));
}

export async function outputDirs(host: HostAccess, users: string[]): Promise<Map<string, string | undefined>> {
  return new Map([...await outputMounts(host, users)].map(([u, m]) => [u, m?.dir]));
}

/** Housekeeping in many users' output directories in one host command (a `docker exec` per
 *  container costs about 0.1 CPU-second, and a check touches 20): `script` runs once per item with
 *  the item's user, host directory and args as $1…, and prints the user when it could not do it (a
 *  host user without write access there, a directory the host does not have). Those are done in their
 *  container instead (`inContainer`). Only for what the check itself puts there and removes: what a
 *  container sees is always looked at from inside it. */
async function throughHost(host: HostAccess, script: string, items: { user: string; hostDir: string; args: string[] }[],
  inContainer: (user: string) => Promise<{ exitCode: number; stderr: string }>): Promise<Map<string, string>> {
  const arity = 2 + (items[0]?.args.length ?? 0);
  const loop = `while [ $# -ge ${arity} ]; do ( ${script} ) </dev/null >/dev/null 2>&1 || echo "$1"; shift ${arity}; done`;
  const r = items.length ? await host.run(['sh', '-c', loop, 'sh', ...items.flatMap((i) => [i.user, i.hostDir, ...i.args])]) : undefined;
  const left = r?.exitCode === 0 ? new Set(r.stdout.split('\n').filter(Boolean)) : new Set(items.map((i) => i.user));
  const failed = new Map<string, string>();
  await Promise.all([...left].map(async (u) => {
    const w = await inContainer(u).catch((e: Error) => ({ exitCode: -1, stderr: e.message }));
    if (w.exitCode !== 0) failed.set(u, w.stderr.trim().split('\n')[0] || `exit code ${w.exitCode}`);
  }));
  return failed;
}

/** Writes a file into each user's output directory (through the host, else in the container). */
export async function putInOutputs(host: HostAccess, mounts: Map<string, OutputMount | undefined>,
  files: { user: string; name: string; content: string }[]): Promise<Map<string, string>> {
  const items = files.filter((f) => mounts.get(f.user));
  return throughHost(host, '[ -d "$2" ] && printf %s "$4" > "$2/$3"', items.map((f) => ({ user: f.user, hostDir: mounts.get(f.user)!.hostDir, args: [f.name, f.content] })),
    (u) => { const f = items.find((x) => x.user === u)!; return host.serviceExec(u, ['sh', '-c', 'printf %s "$1" > "$2"', 'sh', f.content, `${mounts.get(u)!.dir}/${f.name}`]); });
}

/** Removes files of a name from each user's output directory, subdirectories included (through the
 *  host, else in the container). Names go to find as arguments, never through a shell. */
export async function removeFromOutputs(host: HostAccess, mounts: Map<string, OutputMount | undefined>,
  users: string[], name: string): Promise<Map<string, string>> {
  const mine = users.filter((u) => mounts.get(u));
  return throughHost(host, '[ -d "$2" ] && find "$2" -name "$3" -delete', mine.map((u) => ({ user: u, hostDir: mounts.get(u)!.hostDir, args: [name] })),
    (u) => host.serviceExec(u, ['find', mounts.get(u)!.dir, '-name', name, '-delete']));
}

/** One user's output directory (see outputDirs); fails the check when it has none. */
export async function outputDirOf(ctx: CheckContext, user: string): Promise<string> {
  const dir = (await outputDirs(ctx.target.host!, [user])).get(user);
  ctx.expect(!!dir, `${user}'s container mounts an output directory (data/outputs/${user})`, `no such mount in docker inspect of ${user}'s container`);
  return dir!;
}

const CONTENT = (user: string) => `comfy-verify identity ${user}`;

export interface Identity { status: number; user?: string; error?: string }

/** Puts the identity file in each user's outputs (through the host), runs fn with its name, and
 *  removes them whatever happens. */
export async function withIdentityFiles<T>(ctx: CheckContext, users: string[], fn: (name: string) => Promise<T>): Promise<T> {
  const name = `comfy-verify-identity-${randomBytes(6).toString('hex')}.txt`;
  const host = ctx.target.host!;
  const mounts = await outputMounts(host, users);
  const failed = [
    ...users.filter((u) => !mounts.get(u)).map((u) => `${u}: no output directory mounted (or no container)`),
    ...[...await putInOutputs(host, mounts, users.map((u) => ({ user: u, name, content: CONTENT(u) })))].map(([u, why]) => `${u}: ${why}`),
  ];
  ctx.record('an identity file in each user\'s output directory (its mount, from docker inspect)', { name, users: users.length, dirs: [...new Set([...mounts.values()].map((m) => m?.dir))], notWritten: failed });
  try {
    // A container that cannot take the file (stopped, no such directory) is reported by the check for
    // that user: its URL then shows no identity.
    return await fn(name);
  } finally {
    await removeFromOutputs(host, mounts, users, name).catch(() => {});
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
