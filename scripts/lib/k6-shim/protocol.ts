// What the runner's main thread and a VU's thread say to each other. Each VU runs in a worker
// thread of its own, so that k6's synchronous calls (sleep, http.get, http.batch) block that VU
// only, as they do in k6: the VU waits on a shared-memory cell while the main thread does its I/O.
import type { MetricType, Sample, Tags } from './metrics.ts';
import type { RawRequest, RawResponse, NetConfig } from './http.ts';

/** The test's counters that every VU reads synchronously (k6/execution), written by the main thread. */
export class SharedState {
  static readonly SLOTS = { vusActive: 0, vusInitialized: 1, iterationsCompleted: 2, iterationsInterrupted: 3, testStart: 4 } as const;
  readonly f: Float64Array;
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(8 * 64)) { this.f = new Float64Array(buffer); }
  get(k: keyof typeof SharedState.SLOTS): number { return this.f[SharedState.SLOTS[k]]; }
  set(k: keyof typeof SharedState.SLOTS, v: number): void { this.f[SharedState.SLOTS[k]] = v; }
  /** scenario i's progress (0..1) lives after the fixed slots */
  progress(i: number, v?: number): number { if (v !== undefined) this.f[8 + i] = v; return this.f[8 + i]; }
}

/** A VU's wake-up cell: [0] counts events (a synchronous answer, an interrupt), [1] the iteration to interrupt. */
export const WAKE = 0, INTERRUPT = 1;

export interface ScenarioContext { name: string; executor: string; startTime: number; tags: Tags; env: Record<string, string>; index: number }

export interface WorkerInit {
  id: number;
  /** the bundled script, wrapped as (module, exports, require) */
  code: string;
  filename: string;
  env: Record<string, string>;
  scriptDir: string;
  net: NetConfig;
  /** the test's options, once known (VU 0 reads them in its own init) */
  options?: Record<string, unknown>;
  /** k6/data SharedArrays made so far (by VU 0's init): name -> each element as JSON */
  sharedArrays: Record<string, string[]>;
  state: SharedArrayBuffer;
  signal: SharedArrayBuffer;
}

export type ToWorker =
  | { t: 'options'; options: Record<string, unknown>; net: NetConfig }
  | { t: 'run'; seq: number; fn: string; arg: unknown; quiet: boolean; scenario?: ScenarioContext; env?: Record<string, string>; iterationInScenario: number; iterationInTest: number }
  | { t: 'interrupt'; seq: number }
  | { t: 'close' };

export type FromWorker =
  | { t: 'ready'; functions: string[]; options: Record<string, unknown> }
  | { t: 'initError'; error: string }
  | { t: 'samples'; samples: Sample[] }
  | { t: 'define'; name: string; type: MetricType; isTime: boolean }
  | { t: 'sharedArray'; name: string; elements: string[] }
  | { t: 'log'; level: 'info' | 'warn' | 'error'; msg: string }
  | { t: 'unsupported'; what: string }
  | { t: 'abort'; reason: string }
  | { t: 'http'; id: number; requests: RawRequest[]; parallel: number }
  | { t: 'cancel'; id: number }
  | { t: 'done'; seq: number; how: 'ok' | 'error' | 'interrupted'; value?: unknown; error?: string };

/** The main thread's answer to a synchronous request, on the VU's reply port. */
export interface HttpReply { id: number; responses: RawResponse[] }
