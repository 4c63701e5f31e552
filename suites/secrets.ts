// secrets: the guide's Step 1 ("generate secure passwords") happened. By behaviour: the admin dashboard
// and Redis refuse the .env.example's passwords, the usual placeholders and the guide's command as text.
// By the files where the harness can read them: every *_PASSWORD in .env differs from .env.example's, is
// not a pasted command, and is as strong as `openssl rand` makes it. No value is ever written anywhere:
// a message names the variable and what it matched.
import { defineCheck, type CheckContext } from './lib/check.ts';
import { basicHeader } from './lib/target.ts';
import { each } from './lib/http.ts';
import { CONTRACT } from '../stack/topology.ts';
import { parseEnvFile, PLATFORM_ENV_EXAMPLE } from '../stack/env-file.ts';
import { registerSecret } from '../stack/secrets.ts';

export const PLATFORM_EXAMPLE = PLATFORM_ENV_EXAMPLE;
/** The guide's commands, and the strength of what they print (32 random bytes as hex, 24 as base64). */
export const GUIDE: Record<string, { command: string; bits: number }> = {
  REDIS_PASSWORD: { command: 'openssl rand -hex 32', bits: 256 },
  ADMIN_PASSWORD: { command: 'openssl rand -base64 24', bits: 192 },
};
/** Other *_PASSWORD variables are held to the weaker of the guide's two. */
const OTHER = { command: 'openssl rand -base64 24', bits: 192 };
const guideFor = (name: string) => GUIDE[name] ?? OTHER;

const PLACEHOLDER_WORDS = new Set(['admin', 'password', 'passw0rd', 'pass', 'secret', 'redis', 'root', 'test', 'default', 'changeit', 'example', 'qwerty', 'letmein', '123456', '12345678']);
export function isPlaceholder(v: string): boolean {
  const x = v.trim().toLowerCase();
  return x === '' || /^change[_-]?me/.test(x) || PLACEHOLDER_WORDS.has(x) || /^your[_-]?\w*pass/.test(x) || /^<.*>$/.test(x) || /^(x+|\*+)$/.test(x);
}
/** The configuration block pasted as text: `$(openssl rand …)` or backticks, never run. */
export const isLiteralCommand = (v: string) => /\$\(|`/.test(v);

/** An upper bound of a value's strength from its length and alphabet (hex 4 bits a character, base64 6). */
export function strengthBits(v: string): number {
  if (!v) return 0;
  if (/^[0-9a-f]+$/i.test(v)) return v.length * 4;
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) return v.replace(/=+$/, '').length * 6;
  const pool = (/[a-z]/.test(v) ? 26 : 0) + (/[A-Z]/.test(v) ? 26 : 0) + (/\d/.test(v) ? 10 : 0) + (/[^A-Za-z0-9]/.test(v) ? 33 : 0);
  return Math.floor(v.length * Math.log2(pool));
}

export interface FileVerdict {
  name: string;
  /** what it matched, when that makes it no password (fail) */
  problem?: string;
  /** weaker than the guide's, but not a placeholder */
  warning?: string;
  bits?: number;
}

/** Every *_PASSWORD of the .env (and of .env.example: one it leaves out is blank for compose), judged
 *  without ever putting its value in the verdict. */
export function judgeEnv(env: Record<string, string>, example?: Record<string, string>): FileVerdict[] {
  const names = [...new Set([...Object.keys(env), ...Object.keys(example ?? {})])].filter((n) => /_PASSWORD$/.test(n)).sort();
  return names.map((name): FileVerdict => {
    const v = env[name];
    if (v === undefined) return { name, problem: 'not set in .env (compose passes a blank)' };
    if (isLiteralCommand(v)) return { name, problem: 'a literal command (`$(…)` or backticks: pasted, never run)' };
    if (example?.[name] && v === example[name]) return { name, problem: 'equals `.env.example`' };
    if (v === PLATFORM_EXAMPLE[name]) return { name, problem: 'equals the platform\'s `.env.example`' };
    if (isPlaceholder(v)) return { name, problem: v.trim() === '' ? 'empty' : 'a placeholder' };
    const bits = strengthBits(v);
    const g = guideFor(name);
    if (bits < g.bits) return { name, bits, warning: `${bits} bits, weaker than the guide's ${g.bits} (${g.command})` };
    return { name, bits };
  });
}

export const describeVerdict = (v: FileVerdict) => `${v.name} ${v.problem ?? v.warning ?? `${v.bits} bits`}`;

/** The passwords a deployment must refuse, each with what it is (the value itself is never shown). */
export function candidates(example?: Record<string, string>): { value: string; what: string }[] {
  const out = new Map<string, string>();
  const add = (value: string, what: string) => { if (!out.has(value)) out.set(value, what); };
  for (const [k, v] of Object.entries(example ?? {})) if (/_PASSWORD$/.test(k) && v && !isLiteralCommand(v)) add(v, 'the `.env.example` value');
  for (const v of Object.values(PLATFORM_EXAMPLE)) add(v, 'the platform\'s `.env.example` value');
  for (const g of Object.values(GUIDE)) add(`$(${g.command})`, 'the guide\'s command as text');
  for (const v of ['changeme', 'admin', 'password']) add(v, 'a placeholder');
  add('', 'an empty password');
  return [...out].map(([value, what]) => ({ value, what }));
}

interface Parts { findings: string[]; warnings: string[]; unjudged: string[]; notes: string[]; judged: string[] }

/** The .env and .env.example, where the target can read them; returns .env.example's values for the
 *  behaviour part. */
async function judgeFiles(ctx: CheckContext, p: Parts): Promise<Record<string, string> | undefined> {
  const files = ctx.target.files;
  if (!files) {
    p.notes.push(ctx.target.kind === 'local'
      ? 'files not judged: the local stack has no .env (it generates its secrets as the guide does)'
      : 'files not judged: no --ssh, so the host\'s .env cannot be read');
    return undefined;
  }
  let envText: string | undefined;
  let exampleText: string | undefined;
  try {
    envText = await files.read(files.envPath);
    exampleText = await files.read(files.examplePath);
  } catch (e) {
    p.notes.push(`files not judged: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
  if (envText === undefined) {
    p.notes.push(`files not judged: no .env at ${files.envPath}`);
    return undefined;
  }
  const env = parseEnvFile(envText);
  // Secrets from the moment they are read, whatever is written next.
  for (const [k, v] of Object.entries(env)) if (/_PASSWORD$/.test(k)) registerSecret(v);
  const example = exampleText === undefined ? undefined : parseEnvFile(exampleText);
  const verdicts = judgeEnv(env, example);
  ctx.record('the platform\'s .env (values never shown)', { verdicts: verdicts.map(describeVerdict) },
    { from: files.where, env: files.envPath, example: example ? files.examplePath : `none at ${files.examplePath}` });
  if (!example) p.notes.push(`no .env.example at ${files.examplePath}: compared with the platform's example values`);
  for (const v of verdicts) {
    if (v.problem) p.findings.push(`${v.name} ${v.problem}`);
    else if (v.warning) p.warnings.push(`${v.name}: ${v.warning}`);
  }
  if (!verdicts.length) p.notes.push(`no *_PASSWORD in ${files.envPath}`);
  else p.judged.push(`.env: ${verdicts.map(describeVerdict).join(', ')}`);
  return example;
}

/** The admin dashboard, as its user, with every candidate: 401 is a refusal, 200 lets them in, anything
 *  else proves nothing. */
async function judgeAdmin(ctx: CheckContext, tries: ReturnType<typeof candidates>, p: Parts): Promise<void> {
  const user = ctx.target.secrets.adminUsername;
  const ask = async (label: string, headers?: Record<string, string>) => {
    try {
      const r = await ctx.target.request('/admin', { headers, maxBody: 0 });
      ctx.record(label, { status: r.status, 'www-authenticate': r.headers['www-authenticate'] ?? null }, { request: 'GET /admin', ...(headers ? { headers: { authorization: 'Basic «credentials»' } } : {}) });
      return r;
    } catch (e) {
      ctx.record(label, { error: (e as Error).message }, { request: 'GET /admin' });
      return undefined;
    }
  };
  // Without credentials it must ask for them: otherwise no answer below says anything about a password.
  const none = await ask('no credentials');
  if (none?.status !== 401 || !/^Basic/i.test(none.headers['www-authenticate'] ?? '')) {
    p.unjudged.push(`the admin: /admin answered ${none ? `HTTP ${none.status}` : 'nothing'} without credentials instead of a 401 Basic challenge`);
    return;
  }
  const accepted = new Set<string>();
  const odd: string[] = [];
  await each(tries, async (c) => {
    const i = tries.indexOf(c) + 1;
    const r = await ask(`password ${i} of ${tries.length} (${c.what}) for ${user}`, { authorization: basicHeader(user, c.value) });
    if (r?.status === 401) return;
    if (r?.status === 200) accepted.add(c.what);
    else odd.push(`${c.what}: ${r ? `HTTP ${r.status}` : 'no answer'}`);
  }, 4);
  for (const what of accepted) p.findings.push(`ADMIN_PASSWORD: the admin dashboard lets ${user} in with ${what}`);
  if (odd.length) p.unjudged.push(`the admin (a refusal is a 401): ${odd.join(', ')}`);
  else if (!accepted.size) p.judged.push(`the admin refuses all ${tries.length}`);
}

/** Redis from the VPN vantage: AUTH with every candidate; WRONGPASS is a refusal, OK lets them in. */
async function judgeRedis(ctx: CheckContext, tries: ReturnType<typeof candidates>, p: Parts): Promise<void> {
  const v = ctx.target.vantages.vpn;
  const host = ctx.target.vpnAddress;
  if (!v || !host) {
    p.notes.push('Redis not judged: no vantage on the VPN (--vpn-address)');
    return;
  }
  const port = CONTRACT.redisPort;
  const accepted = new Set<string>();
  const odd: string[] = [];
  let noPassword = false;
  await each(tries, async (c) => {
    const i = tries.indexOf(c) + 1;
    let r: Awaited<ReturnType<typeof v.redis>>;
    try {
      r = await v.redis(host, port, c.value, ['PING']);
    } catch (e) {
      r = { connected: false, error: (e as Error).message.split('\n')[0] };
    }
    ctx.record(`AUTH password ${i} of ${tries.length} (${c.what}) + PING`, { auth: r.auth ?? null, reply: r.reply ?? null, ...(r.error ? { error: r.error } : {}) }, { from: v.where, host, port });
    if (r.auth === 'OK') accepted.add(c.what);
    else if (/^WRONGPASS|invalid password/i.test(r.auth ?? '')) return;
    else if (/without any password configured|no password is set/i.test(r.auth ?? '')) noPassword = true;
    else odd.push(`${c.what}: ${r.connected ? r.auth ?? r.error ?? 'no reply' : `no connection (${r.error ?? 'refused'})`}`);
  }, 4);
  for (const what of accepted) p.findings.push(`REDIS_PASSWORD: Redis takes AUTH with ${what}`);
  if (noPassword) p.unjudged.push('Redis: it has no password at all, so no AUTH can be refused (redis.requires-password)');
  else if (odd.length) p.unjudged.push(`Redis from the VPN at ${host}:${port} (a refusal is WRONGPASS): ${odd.slice(0, 3).join(', ')}${odd.length > 3 ? ` and ${odd.length - 3} more` : ''}`);
  else if (!accepted.size) p.judged.push(`Redis refuses all ${tries.length} from the VPN`);
}

export const secretsChecks = [
  defineCheck({
    id: 'secrets.generated', suite: 'secrets', title: 'the passwords were generated (guide Step 1): not .env.example\'s, no placeholder, no pasted command',
    timeoutMs: 60_000,
    async run(ctx) {
      const parts = (): Parts => ({ findings: [], warnings: [], unjudged: [], notes: [], judged: [] });
      const [files, admin, redis] = [parts(), parts(), parts()];
      const example = await judgeFiles(ctx, files);
      const tries = candidates(example);
      await Promise.all([judgeAdmin(ctx, tries, admin), judgeRedis(ctx, tries, redis)]);
      // In one order whatever answered first: files, admin, Redis.
      const p = Object.fromEntries((Object.keys(files) as (keyof Parts)[]).map((k) => [k, [...files[k], ...admin[k], ...redis[k]]])) as unknown as Parts;
      const unjudged = p.unjudged.length ? `; could not be judged: ${p.unjudged.join('; ')}` : '';
      if (p.findings.length) ctx.fail(`not generated as the guide's Step 1 says (openssl rand): ${p.findings.join('; ')}${unjudged}`);
      // A failed request or a 5xx is no refusal: what could not be judged is not passed.
      if (p.unjudged.length) ctx.skip(`could not be judged: ${p.unjudged.join('; ')}${p.judged.length ? `; judged: ${p.judged.join('; ')}` : ''}`);
      for (const w of p.warnings) ctx.warn(w);
      return [...p.judged, ...p.notes].join('; ');
    },
  }),
];
