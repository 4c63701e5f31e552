// Probe CLI, run with `docker exec` inside a vantage container (the internet, the VPN):
//   node /app/main.mjs <scan|redis|http> '<json>'
// It prints exactly ONE JSON line on stdout, whatever happens, and exits 0 (2 on bad usage,
// 1 on a probe bug): network failures are results (what that vantage point sees), not errors.
import net from 'node:net';
import { request } from '../lib/client.ts';

type Json = Record<string, unknown>;

// ---- scan: TCP connect to each port; refused = closed, no answer = filtered ----
async function scan(a: { host: string; ports: number[]; timeoutMs?: number }) {
  const timeoutMs = a.timeoutMs ?? 2000;
  const state = (port: number) =>
    new Promise<'open' | 'closed' | 'filtered'>((resolve) => {
      const s = net.connect({ host: a.host, port });
      const end = (r: 'open' | 'closed' | 'filtered') => (s.destroy(), resolve(r));
      s.setTimeout(timeoutMs, () => end('filtered'));
      s.once('connect', () => end('open'));
      // An RST means a host answered with nothing listening; anything else (unreachable, dropped) is filtered.
      s.once('error', (e: NodeJS.ErrnoException) => end(e.code === 'ECONNREFUSED' ? 'closed' : 'filtered'));
    });
  const out = { host: a.host, open: [] as number[], closed: [] as number[], filtered: [] as number[] };
  const ports = [...new Set(a.ports)];
  // Concurrent, but bounded so a wide range does not exhaust file descriptors.
  let next = 0;
  const worker = async () => {
    while (next < ports.length) {
      const p = ports[next++];
      out[await state(p)].push(p);
    }
  };
  await Promise.all(Array.from({ length: Math.min(256, ports.length) }, worker));
  for (const k of ['open', 'closed', 'filtered'] as const) out[k].sort((x, y) => x - y);
  return out;
}

// ---- redis: speak RESP directly, AUTH first when a password is given ----
type Reply = { ok: true; value: string } | { ok: false; error: string };

/** Parses one RESP reply at `off`; undefined when more bytes are needed. */
function parseReply(buf: Buffer, off: number): { reply: Reply; next: number } | undefined {
  const eol = buf.indexOf('\r\n', off);
  if (eol < 0) return undefined;
  const kind = String.fromCharCode(buf[off]);
  const line = buf.toString('utf8', off + 1, eol);
  const after = eol + 2;
  switch (kind) {
    case '+': case ':': return { reply: { ok: true, value: line }, next: after };
    case '-': return { reply: { ok: false, error: line }, next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { reply: { ok: true, value: '(nil)' }, next: after };
      if (buf.length < after + len + 2) return undefined;
      return { reply: { ok: true, value: buf.toString('utf8', after, after + len) }, next: after + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { reply: { ok: true, value: '(nil)' }, next: after };
      // An array is reported as the JSON of its elements' texts.
      const items: string[] = [];
      let pos = after;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, pos);
        if (!r) return undefined;
        items.push(r.reply.ok ? r.reply.value : `ERR ${r.reply.error}`);
        pos = r.next;
      }
      return { reply: { ok: true, value: JSON.stringify(items) }, next: pos };
    }
    default: return { reply: { ok: false, error: `unparseable reply: ${buf.toString('utf8', off, eol).slice(0, 200)}` }, next: after };
  }
}

const encodeCommand = (args: string[]) =>
  `*${args.length}\r\n` + args.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('');

function redis(a: { host: string; port: number; password?: string; command: string[]; timeoutMs?: number }) {
  return new Promise<{ connected: boolean; reply?: string; error?: string }>((resolve) => {
    let connected = false;
    let buf = Buffer.alloc(0);
    // Replies expected, in order: AUTH's (if any), then the command's.
    const pending: ('auth' | 'command')[] = [];
    const s = net.connect({ host: a.host, port: a.port });
    const finish = (r: { reply?: string; error?: string }) => {
      s.destroy();
      resolve({ connected, ...r });
    };
    s.setTimeout(a.timeoutMs ?? 5000, () => finish({ error: `timeout after ${a.timeoutMs ?? 5000} ms` }));
    s.once('error', (e) => finish({ error: e.message }));
    s.once('close', () => finish({ error: 'connection closed' }));
    s.once('connect', () => {
      connected = true;
      if (a.password) (pending.push('auth'), s.write(encodeCommand(['AUTH', a.password])));
      pending.push('command');
      s.write(encodeCommand(a.command));
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parseReply(buf, 0);
        if (!r) return;
        buf = buf.subarray(r.next);
        const what = pending.shift();
        // A refused AUTH is the answer (e.g. WRONGPASS ...); the command is not worth reporting then.
        if (!r.reply.ok) return finish({ error: r.reply.error });
        if (what === 'command') return finish({ reply: r.reply.value });
      }
    });
  });
}

// ---- http: one request, no redirects followed ----
async function httpProbe(a: { url: string; method?: string; headers?: Record<string, string>; insecure?: boolean; timeoutMs?: number }) {
  try {
    const r = await request(a.url, {
      method: a.method, headers: a.headers, insecure: a.insecure, timeoutMs: a.timeoutMs ?? 10_000, maxBytes: 4096,
    });
    // ok = a response arrived (any status); the status says the rest.
    return { ok: true, status: r.status, headers: r.headers, bodySnippet: r.body.toString('utf8') };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, error: err.code ? `${err.code}: ${err.message}` : err.message };
  }
}

async function main() {
  const [cmd, raw] = process.argv.slice(2);
  let args: Json;
  try {
    args = JSON.parse(raw ?? '{}') as Json;
  } catch {
    return usage(`argument is not JSON: ${raw}`);
  }
  const isStr = (x: unknown) => typeof x === 'string' && x !== '';
  const isStrList = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every((y) => typeof y === 'string');
  const isPort = (x: unknown) => Number.isInteger(x) && (x as number) > 0 && (x as number) < 65536;
  if (cmd === 'scan') {
    if (!isStr(args.host) || !Array.isArray(args.ports) || !args.ports.every(isPort)) return usage('scan needs {host, ports: number[]}');
    return emit(await scan(args as never));
  }
  if (cmd === 'redis') {
    if (!isStr(args.host) || !isPort(args.port) || !isStrList(args.command)) return usage('redis needs {host, port, command: string[]}');
    return emit(await redis(args as never));
  }
  if (cmd === 'http') {
    if (!isStr(args.url)) return usage('http needs {url}');
    return emit(await httpProbe(args as never));
  }
  return usage(`unknown command ${JSON.stringify(cmd)}`);
}

// Exit once the line is written: a kept-alive socket must not hold the process open.
function emit(out: unknown, code = 0) {
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(code));
}

function usage(error: string) {
  emit({ error: `${error}; usage: main.mjs scan|redis|http '<json>'` }, 2);
}

main().catch((e) => emit({ error: String((e as Error)?.message ?? e) }, 1));
