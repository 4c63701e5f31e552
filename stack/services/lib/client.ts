// A tiny HTTP client on node:http/https. Node 18's global fetch prints an ExperimentalWarning
// and cannot skip certificate checks per request; this one does neither.
import http from 'node:http';
import https from 'node:https';

export interface ClientResponse { status: number; headers: http.IncomingHttpHeaders; body: Buffer; truncated: boolean }

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** https only: accept any certificate */
  insecure?: boolean;
  /** stop reading the body after this many bytes */
  maxBytes?: number;
}

/** One request, no redirects followed; rejects on network errors and on timeout. */
export function request(url: string, o: RequestOptions = {}): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string | number> = { ...o.headers };
    if (o.body !== undefined) headers['content-length'] = Buffer.byteLength(o.body);
    const opts: https.RequestOptions = { method: o.method ?? 'GET', headers };
    if (u.protocol === 'https:') {
      opts.rejectUnauthorized = !o.insecure;
      // A Host header names the site (SNI), as curl --resolve would, when the URL holds an address.
      const host = Object.entries(o.headers ?? {}).find(([k]) => k.toLowerCase() === 'host')?.[1];
      if (host) opts.servername = host.replace(/:\d+$/, '');
    }
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(u, opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated });
      res.on('data', (c: Buffer) => {
        if (o.maxBytes !== undefined && size + c.length > o.maxBytes) {
          chunks.push(c.subarray(0, o.maxBytes - size));
          truncated = true;
          res.destroy();
          done();
          return;
        }
        size += c.length;
        chunks.push(c);
      });
      res.on('end', done);
      res.on('error', reject);
    });
    req.setTimeout(o.timeoutMs ?? 10_000, () => req.destroy(new Error(`timeout after ${o.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** JSON in, JSON out (null when the body is empty or not JSON). */
export async function requestJson(
  method: string, url: string, body?: unknown, timeoutMs = 10_000,
): Promise<{ status: number; json: unknown; text: string }> {
  const res = await request(url, {
    method,
    timeoutMs,
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = res.body.toString('utf8');
  let json: unknown = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: leave null, keep text */ }
  return { status: res.status, json, text };
}
