// HTTP through the target, with the exchange recorded as evidence (credentials masked).
import type { CheckContext } from './check.ts';
import { basicHeader, type HttpResult, type RequestOptions, type Target } from './target.ts';

const SHOWN_HEADERS = ['location', 'content-type', 'www-authenticate', 'strict-transport-security', 'x-frame-options',
  'x-content-type-options', 'access-control-allow-origin', 'access-control-allow-methods', 'server', 'upgrade', 'connection'];

export async function http(ctx: CheckContext, path: string, o: RequestOptions & { label?: string; bodySnippet?: number } = {}): Promise<HttpResult> {
  const method = o.method ?? 'GET';
  const sentHeaders = Object.fromEntries(Object.entries(o.headers ?? {}).map(([k, v]) => [k, /^authorization$/i.test(k) ? 'Basic «credentials»' : v]));
  const sent = { request: `${method} ${o.scheme === 'http' ? 'http' : 'https'}://${ctx.target.domain}${path}`, ...(Object.keys(sentHeaders).length ? { headers: sentHeaders } : {}), ...(o.body ? { bodyBytes: Buffer.byteLength(o.body) } : {}) };
  try {
    const r = await ctx.target.request(path, o);
    const headers = Object.fromEntries(SHOWN_HEADERS.filter((h) => r.headers[h] !== undefined).map((h) => [h, r.headers[h]]));
    const snip = o.bodySnippet ?? 200;
    ctx.record(o.label ?? `${method} ${path}`, { status: r.status, headers, body: r.body.length > snip ? `${r.body.slice(0, snip)}…` : r.body, ms: r.timeMs }, sent);
    return r;
  } catch (e) {
    const msg = (e as Error).message;
    ctx.record(o.label ?? `${method} ${path}`, { error: msg }, sent);
    ctx.fail(`${method} ${path} did not answer: ${msg}`);
  }
}

export function json<T = Record<string, unknown>>(ctx: CheckContext, r: HttpResult): T {
  try {
    return JSON.parse(r.body) as T;
  } catch {
    ctx.fail(`${r.method} ${new URL(r.url).pathname} did not return JSON (HTTP ${r.status}, content-type ${r.headers['content-type'] ?? 'none'}): ${r.body.slice(0, 120)}`);
  }
}

/** An answer, or none: a request that got no answer (a timeout, a reset) reads as status 0 with the
 *  error as its body, for checks that tell "no answer" apart from a refusal or a leak. */
export type Answer = Pick<HttpResult, 'status' | 'body' | 'headers'> & { raw?: Buffer };
export const ask = (t: Target, path: string, o?: RequestOptions): Promise<Answer> =>
  t.request(path, o).catch((e: Error) => ({ status: 0, body: e.message, headers: {} }));
/** What came back, in a few words: "HTTP 502", or the error of a request that got no answer. */
export const seen = (a: Pick<Answer, 'status' | 'body'>) => (a.status ? `HTTP ${a.status}` : a.body);

export const basicAuth = (user: string, pass: string) => ({ authorization: basicHeader(user, pass) });

/** Runs fn for every item with bounded concurrency; returns results in order. */
export async function each<T, R>(items: T[], fn: (item: T) => Promise<R>, concurrency = 8): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k]);
    }
  }));
  return out;
}
