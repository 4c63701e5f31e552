// Network probes, the same code from every vantage: this process (loopback, or the internet in
// remote mode) or a probe container (bundled into its image). Node built-ins only.
import net from 'node:net';

export interface ScanResult {
  host: string;
  open: number[];
  closed: number[];
  filtered: number[];
}

export function tcpState(host: string, port: number, timeoutMs: number): Promise<'open' | 'closed' | 'filtered'> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (s: 'open' | 'closed' | 'filtered') => { sock.destroy(); resolve(s); };
    sock.setTimeout(timeoutMs, () => done('filtered'));
    sock.once('connect', () => done('open'));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'closed' : 'filtered'));
  });
}

export async function tcpScan(host: string, ports: number[], timeoutMs = 1_500): Promise<ScanResult> {
  const res: ScanResult = { host, open: [], closed: [], filtered: [] };
  const queue = [...new Set(ports)];
  const worker = async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) res[await tcpState(host, p, timeoutMs)].push(p);
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  for (const k of ['open', 'closed', 'filtered'] as const) res[k].sort((a, b) => a - b);
  return res;
}

export interface RedisReply {
  connected: boolean;
  /** the reply to the command, as text (an error reply keeps Redis's own words, e.g. "NOAUTH ...") */
  reply?: string;
  /** the reply to AUTH, when a password was sent */
  auth?: string;
  error?: string;
}

/** Speaks RESP directly, so the exact server words (NOAUTH, WRONGPASS) reach the evidence. */
export function redisCommand(host: string, port: number, password: string | undefined, command: string[], timeoutMs = 3_000): Promise<RedisReply> {
  const encode = (args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    let connected = false;
    const replies: string[] = [];
    const expected = password !== undefined ? 2 : 1;
    const finish = (r: RedisReply) => { sock.destroy(); resolve(r); };
    sock.setTimeout(timeoutMs, () => finish({ connected, error: connected ? 'no reply (timeout)' : 'timeout' }));
    sock.once('connect', () => {
      connected = true;
      sock.write((password !== undefined ? encode(['AUTH', password]) : '') + encode(command));
    });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      // Simple replies (+OK, -ERR, :1) and short bulk strings are enough for the checks.
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        if (line.startsWith('$')) {
          const len = Number(line.slice(1));
          if (len < 0) { replies.push('(nil)'); buf = buf.slice(i + 2); continue; }
          if (buf.length < i + 2 + len + 2) break;
          replies.push(buf.slice(i + 2, i + 2 + len));
          buf = buf.slice(i + 2 + len + 2);
        } else {
          replies.push(line.replace(/^[+\-:]/, ''));
          buf = buf.slice(i + 2);
        }
      }
      if (replies.length >= expected) {
        finish(password !== undefined ? { connected, auth: replies[0], reply: replies[1] } : { connected, reply: replies[0] });
      }
    });
    sock.once('error', (e) => finish({ connected, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    sock.once('close', () => finish({ connected, ...(replies.length ? { reply: replies.at(-1) } : { error: 'connection closed' }) }));
  });
}
