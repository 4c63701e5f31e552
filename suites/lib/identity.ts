// Whose workspace a /userNNN/ URL really reaches, from what a stock ComfyUI does: it serves the
// files of its own output directory at /view. One file of the same name is put in every user's own
// outputs, each holding that user's id; /userNNN/view of that name then says whose container answered.
// (Nothing a stand-in prints only for us: a real deployment's containers answer the same way.)
import { randomBytes } from 'node:crypto';
import type { CheckContext } from './check.ts';
import type { Target } from './target.ts';

/** Where a workspace container keeps its outputs (the platform's compose file mounts them there). */
export const OUTPUT_DIR = '/app/output';
const CONTENT = (user: string) => `comfy-verify identity ${user}`;

export interface Identity { status: number; user?: string; error?: string }

/** Puts the identity file in each user's outputs (through the host: docker exec), runs fn with its
 *  name, and removes them whatever happens. */
export async function withIdentityFiles<T>(ctx: CheckContext, users: string[], fn: (name: string) => Promise<T>): Promise<T> {
  const name = `comfy-verify-identity-${randomBytes(6).toString('hex')}.txt`;
  const host = ctx.target.host!;
  const failed: string[] = [];
  await Promise.all(users.map(async (u) => {
    const w = await host.serviceExec(u, ['sh', '-c', 'printf %s "$1" > "$2"', 'sh', CONTENT(u), `${OUTPUT_DIR}/${name}`]);
    if (w.exitCode !== 0) failed.push(`${u}: ${w.stderr.trim().split('\n')[0] || `exit code ${w.exitCode}`}`);
  }));
  ctx.record(`an identity file in each user's ${OUTPUT_DIR}`, { name, users: users.length, notWritten: failed });
  try {
    // A container that cannot take the file (stopped, no such directory) is reported by the check for
    // that user: its URL then shows no identity.
    return await fn(name);
  } finally {
    await Promise.all(users.map((u) => host.serviceExec(u, ['rm', '-f', `${OUTPUT_DIR}/${name}`]).catch(() => {})));
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
