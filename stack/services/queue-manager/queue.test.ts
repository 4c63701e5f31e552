import { describe, expect, it } from 'vitest';
import { EVENT_MAX_BYTES, estimatedWait, eventMessage, listingOrder, pendingScore, pickRoundRobin, publicJob, type Job, type Placement } from './queue.ts';

const job = (over: Partial<Job> = {}): Job => ({
  id: 'j1', user_id: 'user001', workflow: { '1': {} }, status: 'pending', priority: 2,
  created_at: '2025-01-01T00:00:00.000Z', started_at: null, completed_at: null, worker_id: null,
  result: null, error: null, metadata: { frontend: 'comfyui' }, ...over,
});

describe('queue:pending score', () => {
  const t = '2025-01-01T00:00:00.000Z';
  const epoch = Date.parse(t) / 1000;
  it('is priority × 1,000,000 + created epoch seconds', () => {
    expect(pendingScore(0, t)).toBe(epoch);
    expect(pendingScore(2, t)).toBe(2_000_000 + epoch);
  });
  it('orders by priority first, then oldest, to the millisecond', () => {
    const later = '2025-01-01T00:00:00.001Z';
    const muchLater = '2025-01-05T00:00:00.000Z';
    expect(pendingScore(1, muchLater)).toBeLessThan(pendingScore(2, t));
    expect(pendingScore(2, t)).toBeLessThan(pendingScore(2, later));
  });
});

describe('round robin', () => {
  const owner = new Map([['a1', 'alice'], ['a2', 'alice'], ['b1', 'bob'], ['c1', 'carol']]);
  it('serves the user with the fewest completed jobs, their first job in queue order', () => {
    expect(pickRoundRobin(['a1', 'a2', 'b1', 'c1'], owner, new Map([['alice', 3], ['bob', 1], ['carol', 2]]))).toBe('b1');
    expect(pickRoundRobin(['b1', 'a2', 'a1'], owner, new Map([['alice', 0], ['bob', 5]]))).toBe('a2');
  });
  it('breaks ties by queue order; users without a counter have 0', () => {
    expect(pickRoundRobin(['a1', 'b1', 'c1'], owner, new Map())).toBe('a1');
    expect(pickRoundRobin(['a1', 'b1', 'c1'], owner, new Map([['alice', 1]]))).toBe('b1');
  });
  it('falls back to the queue head when owners are unknown; nothing for an empty queue', () => {
    expect(pickRoundRobin(['x', 'y'], owner, new Map())).toBe('x');
    expect(pickRoundRobin(['x', 'c1'], owner, new Map())).toBe('c1');
    expect(pickRoundRobin([], owner, new Map())).toBeUndefined();
  });
});

describe('listing order', () => {
  const where = new Map<string, Placement>([
    ['p2', { status: 'pending', score: 2_000_010 }], ['p0', { status: 'pending', score: 10 }],
    ['r1', { status: 'running', score: 50 }], ['r0', { status: 'running', score: 40 }],
    ['c1', { status: 'completed', score: 100 }], ['f1', { status: 'failed', score: 200 }], ['c2', { status: 'completed', score: 300 }],
  ]);
  const ids = ['c1', 'x', 'p2', 'r1', 'f1', 'p0', 'c2', 'r0', 'p0'];
  it('queue order, running oldest first, finished newest first, cancelled last; no duplicates', () => {
    expect(listingOrder(ids, where)).toEqual(['p0', 'p2', 'r0', 'r1', 'c2', 'f1', 'c1', 'x']);
  });
  it('filters by status; a job in no sorted set is cancelled', () => {
    expect(listingOrder(ids, where, 'completed')).toEqual(['c2', 'c1']);
    expect(listingOrder(ids, where, 'cancelled')).toEqual(['x']);
  });
});

describe('public job', () => {
  it('hides workflow and metadata and shows the position only while pending', () => {
    const v = publicJob(job(), 3, 60);
    expect(v).not.toHaveProperty('workflow');
    expect(v).not.toHaveProperty('metadata');
    expect(Object.keys(v).sort()).toEqual(['completed_at', 'created_at', 'error', 'estimated_wait_time', 'id', 'position_in_queue',
      'priority', 'result', 'started_at', 'status', 'user_id', 'worker_id']);
    expect(v).toMatchObject({ position_in_queue: 3, estimated_wait_time: 180 });
    expect(publicJob(job({ status: 'running' }), 3)).toMatchObject({ position_in_queue: null, estimated_wait_time: null });
  });
  it('estimates the wait from the position', () => {
    expect(estimatedWait(0, 60)).toBe(0);
    expect(estimatedWait(2, 12.4)).toBe(25);
    expect(estimatedWait(null, 60)).toBeNull();
  });
});

describe('events', () => {
  const at = new Date('2025-01-01T00:00:00.000Z');
  it('are {type, data, timestamp}', () => {
    expect(JSON.parse(eventMessage('job_deleted', { job_id: 'j1' }, at))).toEqual({ type: 'job_deleted', data: { job_id: 'j1' }, timestamp: at.toISOString() });
    const created = JSON.parse(eventMessage('job_created', publicJob(job(), 0), at));
    expect(created.data).toMatchObject({ id: 'j1', status: 'pending', position_in_queue: 0 });
  });
  it('leave out a result too big for pub/sub', () => {
    const big = publicJob(job({ status: 'completed', result: { blob: 'x'.repeat(EVENT_MAX_BYTES) } }));
    const msg = eventMessage('job_updated', big, at);
    expect(Buffer.byteLength(msg)).toBeLessThan(EVENT_MAX_BYTES);
    expect(JSON.parse(msg).data).toMatchObject({ id: 'j1', status: 'completed', result: null, result_omitted: true });
  });
});
