// Tiny HTTP helpers shared by the stand-in services (bundled into each image with esbuild).
// Only Node built-ins, so a bundle runs on Debian's Node 18 in the base image.
import http from 'node:http';

export type Req = http.IncomingMessage & { path: string; query: URLSearchParams; params: Record<string, string> };
export type Res = http.ServerResponse;
export type Handler = (req: Req, res: Res) => unknown | Promise<unknown>;

interface Route { method: string; pattern: RegExp; keys: string[]; handler: Handler }

/** Routes like '/api/jobs/:id'; first match wins; 404 {detail} otherwise. */
export class Router {
  private routes: Route[] = [];
  add(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const pattern = new RegExp(
      '^' + path.replace(/:([A-Za-z_]+)/g, (_, k) => (keys.push(k), '([^/]+)')) + '/?$',
    );
    this.routes.push({ method, pattern, keys, handler });
    return this;
  }
  get(p: string, h: Handler) { return this.add('GET', p, h); }
  post(p: string, h: Handler) { return this.add('POST', p, h); }
  delete(p: string, h: Handler) { return this.add('DELETE', p, h); }
  patch(p: string, h: Handler) { return this.add('PATCH', p, h); }

  handle = async (raw: http.IncomingMessage, res: Res): Promise<void> => {
    const url = new URL(raw.url ?? '/', 'http://x');
    const req = Object.assign(raw, { path: url.pathname, query: url.searchParams, params: {} }) as Req;
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(req.path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD')) continue;
      r.keys.forEach((k, i) => (req.params[k] = decodeURIComponent(m[i + 1])));
      try {
        await r.handler(req, res);
      } catch (e) {
        if (e instanceof HttpError) return sendJson(res, e.status, { detail: e.detail });
        console.error(e);
        if (!res.headersSent) sendJson(res, 500, { detail: 'Internal server error' });
      }
      return;
    }
    sendJson(res, pathMatched ? 405 : 404, { detail: pathMatched ? 'Method Not Allowed' : 'Not Found' });
  };

  listen(port: number, onUpgrade?: (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void) {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 65_000;
    if (onUpgrade) server.on('upgrade', onUpgrade);
    server.listen(port, '0.0.0.0', () => console.log(`listening on :${port}`));
    return server;
  }
}

export class HttpError extends Error {
  constructor(public status: number, public detail: unknown) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
  }
}

export function sendJson(res: Res, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, status === 204 ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(status === 204 ? undefined : text);
}

export function sendText(res: Res, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads the whole body, refusing more than `limit` bytes with 413. */
export async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new HttpError(413, 'Request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; a malformed one is a 422 validation error, as FastAPI answers. */
export async function readJson(req: http.IncomingMessage, limit: number): Promise<unknown> {
  const buf = await readBody(req, limit);
  try {
    return JSON.parse(buf.toString('utf8') || 'null');
  } catch {
    throw new HttpError(422, [{ loc: ['body'], msg: 'Invalid JSON body', type: 'value_error.jsondecode' }]);
  }
}

export const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`missing environment variable ${name}`);
  return v;
};
