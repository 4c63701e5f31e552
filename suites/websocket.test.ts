import { describe, it, expect, afterAll } from 'vitest';
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { holdIdle } from './websocket.ts';

// The server decides per path what a socket hears: /chatty?n=3&every=100 sends n messages, one per
// `every` ms; /close?after=150 closes it after that long.
const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
server.on('connection', (ws, req) => {
  const u = new URL(req.url!, 'http://x');
  const n = Number(u.searchParams.get('n') ?? 0);
  const every = Number(u.searchParams.get('every') ?? 100);
  let sent = 0;
  const timer = setInterval(() => { if (sent++ < n) ws.send(`event ${sent}`); }, every);
  ws.on('close', () => clearInterval(timer));
  if (u.pathname === '/close') setTimeout(() => ws.close(1000), Number(u.searchParams.get('after')));
});
afterAll(() => server.close());

const connect = (path: string) => new Promise<WebSocket>((resolve, reject) => {
  const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
  ws.once('open', () => resolve(ws));
  ws.once('error', reject);
});

describe('holdIdle (the idle-socket proof)', () => {
  it('counts each socket\'s idle time from the last message it heard', async () => {
    const [chatty, silent] = await Promise.all([connect('/chatty?n=3&every=100'), connect('/quiet')]);
    const t0 = Date.now();
    const held = await holdIdle({ chatty, silent }, 300, 5_000);
    const took = Date.now() - t0;
    expect(held).toMatchObject({ idle: true, closed: undefined });
    expect(held.sockets.chatty.messages).toBe(3);
    expect(held.sockets.silent.messages).toBe(0);
    // The last message came at about 300 ms: idle 300 ms from there, not from the start.
    expect(took).toBeGreaterThanOrEqual(590);
    expect(took).toBeLessThan(1_500);
    chatty.close(); silent.close();
  });

  it('a socket that closes ends it at once, saying which and after how long idle', async () => {
    const [closing, silent] = await Promise.all([connect('/close?after=150'), connect('/quiet')]);
    const t0 = Date.now();
    const held = await holdIdle({ '/ws': closing, '/user001/ws': silent }, 5_000, 10_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(held.idle).toBe(false);
    expect(held.closed).toMatch(/^\/ws closed \(code 1000\) after \d+ s idle$/);
    silent.close();
  });

  it('a socket already closed when handed over is said so at once, not waited on', async () => {
    const gone = await connect('/quiet');
    gone.close();
    await new Promise((r) => gone.once('close', r));
    const t0 = Date.now();
    const held = await holdIdle({ '/ws': gone }, 5_000, 10_000);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(held).toMatchObject({ idle: false, closed: '/ws closed before it was held idle' });
  });

  it('gives up at the cap when messages never leave it idle long enough', async () => {
    const busy = await connect('/chatty?n=1000&every=50');
    const t0 = Date.now();
    const held = await holdIdle({ busy }, 300, 600);
    expect(Date.now() - t0).toBeLessThan(1_200);
    expect(held).toMatchObject({ idle: false, closed: undefined });
    expect(held.sockets.busy.messages).toBeGreaterThan(5);
    expect(held.sockets.busy.idleS).toBe(0);
    busy.close();
  });
});
