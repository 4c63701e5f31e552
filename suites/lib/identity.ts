// Whose workspace a /userNNN/ URL really reaches: read from the page the frontend serves.
import type { Target } from './target.ts';

/** The user a workspace page declares itself for (the queue-redirect extension's COMFYUI_USER_ID),
 *  with the HTTP status; `user` is undefined when the page declares none. */
export async function workspaceUser(target: Target, user: string): Promise<{ status: number; user?: string; error?: string }> {
  try {
    const r = await target.request(`/${user}/`, { timeoutMs: 5_000 });
    return { status: r.status, user: /COMFYUI_USER_ID\s*=\s*["']([^"']+)["']/.exec(r.body)?.[1] };
  } catch (e) {
    return { status: 0, error: (e as Error).message };
  }
}

export const describeWorkspace = (path: string, w: Awaited<ReturnType<typeof workspaceUser>>) =>
  w.user ? `${path} serves ${w.user}` : `${path} → ${w.error ?? `HTTP ${w.status}, no user id`}`;
