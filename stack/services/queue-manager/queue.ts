// Queue logic with no Redis in it: the stored job, scores, serving and listing order,
// the public view of a job and the event messages.
import type { Obj, Status } from './validation.ts';

export const QUEUE_MODES = ['fifo', 'round_robin', 'priority'] as const;
export type QueueMode = (typeof QUEUE_MODES)[number];

/** What `job:<id>` holds (the platform's Job model). */
export interface Job {
  id: string;
  user_id: string;
  workflow: Obj;
  status: Status;
  priority: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  worker_id: string | null;
  result: Obj | null;
  error: string | null;
  metadata: Obj;
}

/** The job as the API shows it: no workflow or metadata, plus its place in the queue. */
export type PublicJob = Omit<Job, 'workflow' | 'metadata'> & { position_in_queue: number | null; estimated_wait_time: number | null };

export const epochSeconds = (iso: string): number => Date.parse(iso) / 1000;

/** queue:pending score: lower priority number first, then oldest (epoch seconds, ms kept so order within a second holds). */
export const pendingScore = (priority: number, createdAt: string): number => priority * 1_000_000 + epochSeconds(createdAt);

/**
 * round_robin: the user with the fewest completed jobs is served first (ties: the user whose job
 * comes first in queue order), and then that user's first job in queue order.
 * `pending` is in queue order; jobs whose owner is unknown are skipped unless nothing else is left.
 */
export function pickRoundRobin(pending: string[], ownerOf: Map<string, string>, completed: Map<string, number>): string | undefined {
  let best: { id: string; done: number } | undefined;
  for (const id of pending) {
    const user = ownerOf.get(id);
    if (user === undefined) continue;
    const done = completed.get(user) ?? 0;
    if (!best || done < best.done) best = { id, done };
  }
  return best?.id ?? pending[0];
}

/** Where a job sits according to the sorted sets; a job in none of them is cancelled. */
export interface Placement { status: Exclude<Status, 'cancelled'>; score: number }

const GROUP: Record<Status, number> = { pending: 0, running: 1, completed: 2, failed: 2, cancelled: 3 };

/**
 * Order of GET /api/jobs: the queue as it will be served, then running jobs (oldest start first),
 * then finished ones (newest first), then cancelled ones; optionally only one status.
 */
export function listingOrder(ids: Iterable<string>, where: Map<string, Placement>, status?: Status): string[] {
  const rows = [...new Set(ids)].map((id) => {
    const p = where.get(id);
    return { id, status: p?.status ?? ('cancelled' as Status), score: p?.score ?? 0 };
  });
  return rows
    .filter((r) => !status || r.status === status)
    .sort((a, b) => GROUP[a.status] - GROUP[b.status] || (GROUP[a.status] === 2 ? b.score - a.score : a.score - b.score))
    .map((r) => r.id);
}

/** Seconds until a pending job starts: its position times the typical run time. */
export const estimatedWait = (position: number | null, avgRunSeconds: number): number | null =>
  position === null ? null : Math.round(position * avgRunSeconds);

export function publicJob(job: Job, position: number | null = null, avgRunSeconds = 60): PublicJob {
  const { workflow: _w, metadata: _m, ...rest } = job;
  const pos = job.status === 'pending' ? position : null;
  return { ...rest, position_in_queue: pos, estimated_wait_time: estimatedWait(pos, avgRunSeconds) };
}

export type EventType = 'job_created' | 'job_updated' | 'job_deleted';
/** Events beyond this carry no `result`: Redis drops subscribers whose buffer passes 32 MB. */
export const EVENT_MAX_BYTES = 1024 * 1024;

/** The message published on queue:updates and relayed as is to every WebSocket client. */
export function eventMessage(type: EventType, data: PublicJob | { job_id: string }, now = new Date()): string {
  const timestamp = now.toISOString();
  const text = JSON.stringify({ type, data, timestamp });
  if (Buffer.byteLength(text) <= EVENT_MAX_BYTES || !('result' in data)) return text;
  return JSON.stringify({ type, data: { ...data, result: null, result_omitted: true }, timestamp });
}
