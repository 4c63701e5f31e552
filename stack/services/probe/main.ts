// Probe CLI, run with `docker exec` inside a vantage container (the internet, the VPN):
//   node /app/main.mjs <scan|redis|http> '<json>'
// It prints exactly ONE JSON line on stdout, whatever happens, and exits 0 (2 on bad usage,
// 1 on a probe bug): network failures are results (what that vantage point sees), not errors.
import { request } from '../lib/client.ts';
// The very probes the harness runs from its own process, so every vantage answers alike.
import { redisCommand, tcpScan } from '../lib/probes.ts';

type Json = Record<string, unknown>;

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
  if (!args || typeof args !== 'object' || Array.isArray(args)) return usage('argument must be a JSON object');
  const isStr = (x: unknown) => typeof x === 'string' && x !== '';
  const isStrList = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every((y) => typeof y === 'string');
  const isPort = (x: unknown) => Number.isInteger(x) && (x as number) > 0 && (x as number) < 65536;
  if (args.timeoutMs !== undefined && !(Number.isFinite(args.timeoutMs) && (args.timeoutMs as number) > 0)) return usage('timeoutMs must be a positive number');
  if (cmd === 'scan') {
    if (!isStr(args.host) || !Array.isArray(args.ports) || !args.ports.every(isPort)) return usage('scan needs {host, ports: number[]}');
    return emit(await tcpScan(args.host as string, args.ports as number[], (args.timeoutMs as number | undefined) ?? 1_500));
  }
  if (cmd === 'redis') {
    if (!isStr(args.host) || !isPort(args.port) || !isStrList(args.command)) return usage('redis needs {host, port, command: string[]}');
    const a = args as { host: string; port: number; password?: string; command: string[]; timeoutMs?: number };
    return emit(await redisCommand(a.host, a.port, typeof a.password === 'string' ? a.password : undefined, a.command, a.timeoutMs ?? 3_000));
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
