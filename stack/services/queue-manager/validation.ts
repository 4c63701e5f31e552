// Request validation that answers as the platform's FastAPI/pydantic service does:
// 422 with `detail` a list of {type, loc, msg}, every problem of the request at once.
// (pydantic also echoes `input`; we leave it out: it could be a 10 MiB workflow.)
import { HttpError } from '../lib/http.ts';

export const MiB = 1024 * 1024;
export const LIMITS = { workflowBytes: 10 * MiB, metadataBytes: 1 * MiB, resultBytes: 50 * MiB, errorChars: 10_000, idChars: 100 };
export const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type Status = (typeof STATUSES)[number];
/** 0 instructor, 1 high, 2 normal (default), 3 low */
export const PRIORITIES = [0, 1, 2, 3] as const;
export const DEFAULT_PRIORITY = 2;

export interface FieldError { type: string; loc: (string | number)[]; msg: string }
export type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Size of a value as compact JSON, in UTF-8 bytes. */
export const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));
// Only [A-Za-z0-9_-]: so no '..', '/' or '\' either (user ids end up in paths and Redis keys).
const USER_ID = /^[A-Za-z0-9_-]+$/;
// Worker ids only name a Redis key; allow the usual host-name characters too.
const WORKER_ID = /^[A-Za-z0-9_.:@-]+$/;

/** Collects the problems of one request; `done()` throws them as a 422. */
export class Issues {
  readonly list: FieldError[] = [];
  add(loc: FieldError['loc'], type: string, msg: string): undefined {
    this.list.push({ type, loc, msg });
    return undefined;
  }
  done(): void {
    if (this.list.length) this.fail();
  }
  fail(): never {
    throw new HttpError(422, this.list);
  }
}

function str(is: Issues, loc: FieldError['loc'], v: unknown, min: number, max: number): string | undefined {
  if (v === undefined) return is.add(loc, 'missing', 'Field required');
  if (typeof v !== 'string') return is.add(loc, 'string_type', 'Input should be a valid string');
  const n = [...v].length; // characters, as Python counts them
  if (n < min) return is.add(loc, 'string_too_short', `String should have at least ${min} character${min === 1 ? '' : 's'}`);
  if (n > max) return is.add(loc, 'string_too_long', `String should have at most ${max} characters`);
  return v;
}

function dict(is: Issues, loc: FieldError['loc'], v: unknown, maxBytes: number, what: string): Obj | undefined {
  if (v === undefined) return is.add(loc, 'missing', 'Field required');
  if (!isObj(v)) return is.add(loc, 'dict_type', 'Input should be a valid dictionary');
  const size = jsonBytes(v);
  if (size > maxBytes) return is.add(loc, 'value_error', `Value error, ${what} size (${size} bytes) exceeds maximum (${maxBytes} bytes)`);
  return v;
}

function body(is: Issues, v: unknown): Obj | undefined {
  if (v === null || v === undefined) return is.add(['body'], 'missing', 'Field required');
  if (!isObj(v)) return is.add(['body'], 'model_attributes_type', 'Input should be a valid dictionary or object to extract fields from');
  return v;
}

// Fault injection only (the catalogue's user-id-unchecked): length is checked, the pattern is not.
const NAIVE_USER_ID = process.env.FAULT_NO_USER_ID_PATTERN === 'true';
// Fault injection only (the catalogue's job-validation-lax): any integer priority and an empty
// workflow are accepted and stored, as by a model with no range or emptiness rule.
const LAX_JOBS = process.env.FAULT_LAX_JOB_VALIDATION === 'true';

export function userId(is: Issues, loc: FieldError['loc'], v: unknown): string | undefined {
  const s = str(is, loc, v, 1, LIMITS.idChars);
  if (s !== undefined && !NAIVE_USER_ID && !USER_ID.test(s)) {
    return is.add(loc, 'value_error', 'Value error, user_id must contain only alphanumeric characters, underscores, and hyphens (1-100 chars)');
  }
  return s;
}

/** A priority: a JSON integer in a body, digits in a query string. */
export function priority(is: Issues, loc: FieldError['loc'], v: unknown): number | undefined {
  if (v === undefined) return is.add(loc, 'missing', 'Field required');
  const n = loc[0] === 'query' && typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !(PRIORITIES as readonly number[]).includes(n)) return is.add(loc, 'enum', 'Input should be 0, 1, 2 or 3');
  return n;
}

export interface Submission { user_id: string; workflow: Obj; priority: number; metadata: Obj }

/** POST /api/jobs body. */
export function submission(raw: unknown, is = new Issues()): Submission {
  const b = body(is, raw) ?? is.fail();
  const user = userId(is, ['body', 'user_id'], b.user_id);
  let workflow = dict(is, ['body', 'workflow'], b.workflow, LIMITS.workflowBytes, 'workflow');
  if (workflow && Object.keys(workflow).length === 0 && !LAX_JOBS) workflow = is.add(['body', 'workflow'], 'value_error', 'Value error, workflow must be a non-empty dictionary');
  const prio = b.priority === undefined ? DEFAULT_PRIORITY
    : LAX_JOBS && Number.isInteger(b.priority) ? (b.priority as number) : priority(is, ['body', 'priority'], b.priority);
  const metadata = b.metadata === undefined ? {} : dict(is, ['body', 'metadata'], b.metadata, LIMITS.metadataBytes, 'metadata');
  is.done();
  return { user_id: user!, workflow: workflow!, priority: prio!, metadata: metadata! };
}

/** POST /api/workers/complete-job body: {result: {...}}. */
export function completion(raw: unknown, is = new Issues()): Obj | undefined {
  const b = body(is, raw);
  return b && dict(is, ['body', 'result'], b.result, LIMITS.resultBytes, 'result');
}

/** POST /api/workers/fail-job body: {error: "..."}; stored trimmed. */
export function failure(raw: unknown, is = new Issues()): string | undefined {
  const b = body(is, raw);
  const e = b && str(is, ['body', 'error'], b.error, 1, LIMITS.errorChars);
  if (e !== undefined && !e.trim()) return is.add(['body', 'error'], 'value_error', 'Value error, error message cannot be empty');
  return e?.trim();
}

type Query = URLSearchParams;
const q = (query: Query, name: string) => query.get(name) ?? undefined;

export function requiredQuery(is: Issues, query: Query, name: string): string | undefined {
  const v = q(query, name);
  return v === undefined ? is.add(['query', name], 'missing', 'Field required') : v;
}

export function workerId(is: Issues, query: Query): string | undefined {
  const v = str(is, ['query', 'worker_id'], q(query, 'worker_id'), 1, LIMITS.idChars);
  if (v !== undefined && !WORKER_ID.test(v)) return is.add(['query', 'worker_id'], 'value_error', 'Value error, worker_id must contain only letters, digits and _ . : @ -');
  return v;
}

export function queryInt(is: Issues, query: Query, name: string, dflt: number, min: number, max: number): number | undefined {
  const v = q(query, name);
  if (v === undefined) return dflt;
  if (!/^\s*[-+]?\d+\s*$/.test(v)) return is.add(['query', name], 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer');
  const n = Number(v);
  if (n < min) return is.add(['query', name], 'greater_than_equal', `Input should be greater than or equal to ${min}`);
  if (n > max) return is.add(['query', name], 'less_than_equal', `Input should be less than or equal to ${max}`);
  return n;
}

export function queryStatus(is: Issues, query: Query): Status | undefined {
  const v = q(query, 'status');
  if (v === undefined || (STATUSES as readonly string[]).includes(v)) return v as Status | undefined;
  return is.add(['query', 'status'], 'enum', "Input should be 'pending', 'running', 'completed', 'failed' or 'cancelled'");
}
