import { describe, expect, it } from 'vitest';
import { HttpError } from '../lib/http.ts';
import {
  Issues, LIMITS, completion, failure, priority, queryInt, queryStatus, requiredQuery, submission, workerId, type FieldError,
} from './validation.ts';

/** The 422 detail list a call throws (fails the test if it does not throw one). */
function detail(fn: () => unknown): FieldError[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HttpError);
    expect((e as HttpError).status).toBe(422);
    return (e as HttpError).detail as FieldError[];
  }
  throw new Error('expected a 422');
}
const locs = (d: FieldError[]) => d.map((x) => x.loc.join('.'));
const ok = { user_id: 'user001', workflow: { '1': { class_type: 'KSampler', inputs: {} } } };

describe('POST /api/jobs body', () => {
  it('accepts a valid job, with priority 2 and empty metadata by default', () => {
    expect(submission(ok)).toEqual({ ...ok, priority: 2, metadata: {} });
    expect(submission({ ...ok, priority: 0, metadata: { frontend: 'comfyui' } })).toMatchObject({ priority: 0, metadata: { frontend: 'comfyui' } });
  });

  it('a missing or non-object body is one error at loc [body]', () => {
    expect(detail(() => submission(null))).toEqual([{ type: 'missing', loc: ['body'], msg: 'Field required' }]);
    expect(locs(detail(() => submission([1, 2])))).toEqual(['body']);
    expect(locs(detail(() => submission('x')))).toEqual(['body']);
  });

  it('reports every missing field at once, FastAPI style', () => {
    const d = detail(() => submission({}));
    expect(locs(d)).toEqual(['body.user_id', 'body.workflow']);
    expect(d.every((x) => x.type === 'missing' && x.msg === 'Field required')).toBe(true);
  });

  it.each([
    ['', 'string_too_short'], ['a'.repeat(101), 'string_too_long'], [42, 'string_type'],
    ['../etc', 'value_error'], ['a/b', 'value_error'], ['a\\b', 'value_error'], ['a..b', 'value_error'],
    ['user 1', 'value_error'], ['usér', 'value_error'], ['user.1', 'value_error'],
  ])('rejects user_id %j (%s)', (user_id, type) => {
    expect(detail(() => submission({ ...ok, user_id }))).toMatchObject([{ type, loc: ['body', 'user_id'] }]);
  });

  it.each(['u', 'user001', 'A-b_9', 'x'.repeat(100)])('accepts user_id %j', (user_id) => {
    expect(submission({ ...ok, user_id }).user_id).toBe(user_id);
  });

  it.each([[{}, 'value_error'], [[], 'dict_type'], ['{}', 'dict_type'], [null, 'dict_type']])('rejects workflow %j', (workflow, type) => {
    expect(detail(() => submission({ ...ok, workflow }))).toMatchObject([{ type, loc: ['body', 'workflow'] }]);
  });

  it('limits the workflow to 10 MiB serialized and metadata to 1 MiB', () => {
    const sized = (bytes: number) => ({ blob: 'x'.repeat(bytes - '{"blob":""}'.length) });
    expect(submission({ ...ok, workflow: sized(LIMITS.workflowBytes) }).workflow).toBeTruthy();
    expect(detail(() => submission({ ...ok, workflow: sized(LIMITS.workflowBytes + 1) }))).toMatchObject([{ loc: ['body', 'workflow'], type: 'value_error' }]);
    expect(submission({ ...ok, metadata: sized(LIMITS.metadataBytes) }).metadata).toBeTruthy();
    expect(detail(() => submission({ ...ok, metadata: sized(LIMITS.metadataBytes + 1) }))).toMatchObject([{ loc: ['body', 'metadata'] }]);
    expect(detail(() => submission({ ...ok, metadata: 'x' }))).toMatchObject([{ loc: ['body', 'metadata'], type: 'dict_type' }]);
  });

  it.each([4, -1, 1.5, '2', true, null])('rejects priority %j', (p) => {
    expect(detail(() => submission({ ...ok, priority: p }))).toMatchObject([{ type: 'enum', loc: ['body', 'priority'], msg: 'Input should be 0, 1, 2 or 3' }]);
  });
});

describe('worker bodies', () => {
  it('complete-job needs a result object of at most 50 MiB', () => {
    expect(completion({ result: { outputs: [] } })).toEqual({ outputs: [] });
    for (const body of [{}, { result: 'done' }, { result: [] }, null]) {
      const is = new Issues();
      completion(body, is);
      expect(is.list).toHaveLength(1);
    }
    const is = new Issues();
    completion({ result: { b: 'x'.repeat(LIMITS.resultBytes) } }, is);
    expect(is.list).toMatchObject([{ loc: ['body', 'result'], type: 'value_error' }]);
  });

  it('fail-job needs 1-10000 characters, not blank; stored trimmed', () => {
    expect(failure({ error: '  boom \n' })).toBe('boom');
    expect(failure({ error: 'é'.repeat(10_000) })).toHaveLength(10_000);
    const cases: [unknown, string][] = [[{}, 'missing'], [{ error: '' }, 'string_too_short'], [{ error: '   ' }, 'value_error'],
      [{ error: 'x'.repeat(10_001) }, 'string_too_long'], [{ error: 5 }, 'string_type']];
    for (const [body, type] of cases) {
      const is = new Issues();
      failure(body, is);
      expect(is.list).toMatchObject([{ type, loc: ['body', 'error'] }]);
    }
  });
});

describe('query parameters', () => {
  const qs = (s: string) => new URLSearchParams(s);
  it('required ones are reported missing', () => {
    const is = new Issues();
    expect(requiredQuery(is, qs(''), 'job_id')).toBeUndefined();
    expect(workerId(is, qs(''))).toBeUndefined();
    expect(is.list).toEqual([
      { type: 'missing', loc: ['query', 'job_id'], msg: 'Field required' },
      { type: 'missing', loc: ['query', 'worker_id'], msg: 'Field required' },
    ]);
    expect(requiredQuery(is, qs('job_id=abc'), 'job_id')).toBe('abc');
  });

  it('worker_id allows host-name characters only', () => {
    const is = new Issues();
    expect(workerId(is, qs('worker_id=mock-gpu-1'))).toBe('mock-gpu-1');
    expect(workerId(is, qs('worker_id=gpu.vpn:2'))).toBe('gpu.vpn:2');
    expect(is.list).toEqual([]);
    expect(workerId(is, qs('worker_id=a%20b'))).toBeUndefined();
    expect(workerId(is, qs('worker_id='))).toBeUndefined();
    expect(is.list.map((x) => x.type)).toEqual(['value_error', 'string_too_short']);
  });

  it('limit is an integer 1-1000, 100 by default', () => {
    const is = new Issues();
    expect(queryInt(is, qs(''), 'limit', 100, 1, 1000)).toBe(100);
    expect(queryInt(is, qs('limit=5'), 'limit', 100, 1, 1000)).toBe(5);
    expect(is.list).toEqual([]);
    for (const v of ['abc', '1.5', '0', '1001']) queryInt(is, qs(`limit=${v}`), 'limit', 100, 1, 1000);
    expect(is.list.map((x) => x.type)).toEqual(['int_parsing', 'int_parsing', 'greater_than_equal', 'less_than_equal']);
  });

  it('status is one of the five job states', () => {
    const is = new Issues();
    expect(queryStatus(is, qs('status=cancelled'))).toBe('cancelled');
    expect(queryStatus(is, qs(''))).toBeUndefined();
    expect(is.list).toEqual([]);
    queryStatus(is, qs('status=done'));
    expect(is.list).toMatchObject([{ type: 'enum', loc: ['query', 'status'] }]);
  });

  it('priority from a query string is 0-3', () => {
    const is = new Issues();
    expect(priority(is, ['query', 'priority'], '0')).toBe(0);
    expect(priority(is, ['query', 'priority'], '3')).toBe(3);
    for (const v of ['4', '-1', 'high', '']) priority(is, ['query', 'priority'], v);
    priority(is, ['query', 'priority'], undefined);
    expect(is.list.map((x) => x.type)).toEqual(['enum', 'enum', 'enum', 'enum', 'missing']);
  });
});
