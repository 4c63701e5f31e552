// A VU's thread: builds the VU from the bundled script, runs what the main thread asks (an
// iteration, setup, teardown, handleSummary) and sends back its samples, logs and results. The
// synchronous k6 calls block here: the request goes to the main thread, and this thread waits on
// its shared cell until the answer (or an interrupt) arrives.
import { parentPort, workerData, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Sample } from './metrics.ts';
import { Agents, warm, type RawResponse } from './http.ts';
import { SharedState, WAKE, INTERRUPT, type WorkerInit, type ToWorker, type FromWorker, type HttpReply } from './protocol.ts';
import { VU, Interrupted, errorText, type Shared } from './vu.ts';

const init = workerData as WorkerInit & { replies: MessagePort };
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
const signal = new Int32Array(init.signal);
let seq = 0; // the run now in progress
let nextRequest = 1;
const interrupted = () => Atomics.load(signal, INTERRUPT) === seq && seq > 0;

// Samples leave in batches (every 50 ms, at a run's end, and before this thread blocks).
let batch: Sample[] = [];
let flushTimer: NodeJS.Timeout | undefined;
const flush = () => {
  clearTimeout(flushTimer); flushTimer = undefined;
  if (batch.length) { post({ t: 'samples', samples: batch }); batch = []; }
};

/** Waits until the wake counter moves past `seen` or `ms` pass; returns the counter now. */
const waitWake = (seen: number, ms?: number) => { Atomics.wait(signal, WAKE, seen, ms); return Atomics.load(signal, WAKE); };

const shared: Shared = {
  env: init.env, scriptDir: init.scriptDir, net: init.net, options: init.options ?? {}, state: new SharedState(init.state), files: new Map(),
  sharedArrays: new Map(Object.entries(init.sharedArrays)),
  publishSharedArray: (name, elements) => post({ t: 'sharedArray', name, elements }),
  agents: new Agents(),
  log: (level, msg) => post({ t: 'log', level, msg }),
  emit: (s) => { batch.push(s); flushTimer ??= setTimeout(flush, 50); },
  define: (name, type, isTime) => post({ t: 'define', name, type, isTime }),
  onUnsupported: (what) => post({ t: 'unsupported', what }),
  onAbort: (reason) => post({ t: 'abort', reason }),
  requestSync: (requests, parallel) => {
    flush();
    const id = nextRequest++;
    let seen = Atomics.load(signal, WAKE);
    post({ t: 'http', id, requests, parallel });
    for (;;) {
      if (interrupted()) { post({ t: 'cancel', id }); throw new Interrupted('interrupted'); }
      const m = receiveMessageOnPort(init.replies);
      if (m) { const reply = m.message as HttpReply; if (reply.id === id) return reply.responses as RawResponse[]; continue; } // older: a cancelled request's
      seen = waitWake(seen);
    }
  },
  sleepSync: (ms) => {
    flush();
    const end = Date.now() + ms;
    for (let seen = Atomics.load(signal, WAKE); !interrupted(); ) {
      const left = end - Date.now();
      if (left <= 0) return;
      seen = waitWake(seen, left);
    }
    throw new Interrupted('interrupted');
  },
};

let vu: VU;
void (async () => {
  try {
    vu = new VU(init.id, shared, init.code, init.filename);
    await vu.warmUp((request) => warm(shared.net, request)); // in init: not in the first request's time
    const functions = Object.keys(vu.exports).filter((k) => typeof vu.exports[k] === 'function');
    post({ t: 'ready', functions, options: cloneable((vu.exports.options ?? {}) as Record<string, unknown>) });
  } catch (e) {
    flush();
    post({ t: 'initError', error: errorText(e) });
    port.close();
  }
})();

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'options':
      shared.options = m.options; shared.net = m.net;
      break;
    case 'run':
      seq = m.seq;
      void vu.run(m.fn, m.arg, m.quiet, m.scenario, m.env, m.iterationInScenario, m.iterationInTest).catch((e: unknown) => ({ how: 'error' as const, value: undefined, error: e })).then((r) => {
        // A script that caught the interrupt and went on was still interrupted.
        const how = interrupted() ? 'interrupted' : r.how;
        flush();
        let value: unknown;
        try { value = cloneable(r.value); } catch { value = undefined; }
        post({ t: 'done', seq: m.seq, how, value, error: r.error === undefined ? undefined : errorText(r.error) });
      });
      break;
    case 'interrupt':
      if (m.seq === seq) vu.interrupt();
      break;
    case 'close':
      flush();
      vu.close();
      port.close();
      break;
  }
});

/** What crosses to the main thread: data only (options with functions in them lose those). */
function cloneable<T>(v: T): T {
  if (v === undefined) return v;
  try { structuredClone(v); return v; } catch { return JSON.parse(JSON.stringify(v)) as T; }
}
