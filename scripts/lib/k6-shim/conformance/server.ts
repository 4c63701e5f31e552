// The conformance scripts' target: a small httpbin-like HTTP server with a WebSocket echo, on
// 127.0.0.1 and a free port. The scripts read its address from __ENV.BASE_URL and __ENV.WS_URL;
// __ENV.REFUSED_URL is a port nothing listens on (k6's error code 1212).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface Fixture { baseUrl: string; wsUrl: string; refusedUrl: string; close: () => Promise<void> }

/** The body of /json: a fixed document for json() and json(selector). */
export const JSON_DOC = { name: 'k6', items: [{ id: 1 }, { id: 2 }, { id: 3 }], nested: { value: 42 } };

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  // Lower-case header names on purpose: k6 shows them in Go's canonical form.
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', 'x-fixture': 'conformance', ...headers });
  res.end(text);
};

const cookiesOf = (req: IncomingMessage) => Object.fromEntries((req.headers.cookie ?? '').split(';').map((c) => c.trim()).filter(Boolean)
  .map((c) => [c.slice(0, c.indexOf('=')), decodeURIComponent(c.slice(c.indexOf('=') + 1))]));

const inFlight = new Map<string, Set<{ together: number }>>();

function route(req: IncomingMessage, res: ServerResponse, body: string, timers: Set<NodeJS.Timeout>): void {
  const u = new URL(req.url ?? '/', 'http://fixture');
  const [, head, arg] = u.pathname.split('/');
  switch (head) {
    case 'status': return send(res, Number(arg), { status: Number(arg) });          // /status/404
    case 'delay': {                                                                    // /delay/300: answers after 300 ms
      // ?key=K: "together" is the most requests with that key held at once while this one was
      const held = inFlight.get(u.searchParams.get('key') ?? '') ?? new Set<{ together: number }>();
      inFlight.set(u.searchParams.get('key') ?? '', held);
      const me = { together: 0 };
      held.add(me);
      for (const r of held) r.together = Math.max(r.together, held.size);
      const t = setTimeout(() => {
        timers.delete(t);
        held.delete(me);
        if (!res.destroyed) send(res, 200, { delayed: Number(arg), together: me.together });
      }, Number(arg));
      timers.add(t);
      return;
    }
    case 'redirect': {                                                                 // /redirect/3 → /redirect/2 → … → /redirect/0 (200)
      const n = Number(arg);
      if (n > 0) { res.writeHead(302, { location: `/redirect/${n - 1}` }); return void res.end(); }
      return send(res, 200, { redirected: true });
    }
    case 'cookies':
      if (arg === 'set') {                                                             // /cookies/set?sid=abc: Set-Cookie sid=abc; Path=/
        res.setHeader('set-cookie', [...u.searchParams].map(([k, v]) => `${k}=${encodeURIComponent(v)}; Path=/`));
        return send(res, 200, { set: Object.fromEntries(u.searchParams) });
      }
      return send(res, 200, { cookies: cookiesOf(req) });                              // /cookies: what the client sent
    case 'echo': return send(res, 200, { method: req.method, url: req.url, headers: req.headers, body }); // any method
    case 'json': return send(res, 200, JSON_DOC);
    case 'bytes': return send(res, 200, 'x'.repeat(Number(arg)), { 'content-type': 'application/octet-stream' }); // /bytes/16
    default: return send(res, 200, 'ok');
  }
}

export async function startFixtureServer(): Promise<Fixture> {
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => route(req, res, Buffer.concat(chunks).toString('utf8'), timers));
  });
  // WebSocket echo on any path; pings are answered with pongs by the ws library itself.
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.on('upgrade', (req, sock, head) => wss.handleUpgrade(req, sock, head, (ws) => wss.emit('connection', ws, req)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  // A port that was free a moment ago and is closed now: connecting to it is refused.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const refusedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  return {
    baseUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`, refusedUrl: `http://127.0.0.1:${refusedPort}`,
    close: () => new Promise<void>((r) => {
      timers.forEach(clearTimeout);
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
