// secrets.generated without a stack: the .env judged by its values (never shown), and the behaviour
// part against a fake admin and Redis whose answers the tests choose.
import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { judgeEnv, strengthBits, candidates, isPlaceholder, secretsChecks, PLATFORM_EXAMPLE } from './secrets.ts';
import { runCheck, type CheckResult } from './lib/check.ts';
import type { Target, HttpResult, Vantage, PlatformFiles } from './lib/target.ts';
import type { RedisReply } from '../stack/services/lib/probes.ts';
import { hostFiles } from './lib/remote-target.ts';

const hex32 = () => randomBytes(32).toString('hex');
const b64_24 = () => randomBytes(24).toString('base64');
const EXAMPLE = { REDIS_PASSWORD: 'changeme_secure_password', ADMIN_PASSWORD: 'changeme_admin_password', DOMAIN: 'x' };

describe('the .env, judged by value', () => {
  it('the guide\'s own passwords pass: 256 and 192 bits', () => {
    const v = judgeEnv({ REDIS_PASSWORD: hex32(), ADMIN_PASSWORD: b64_24() }, EXAMPLE);
    expect(v.map((x) => [x.name, x.problem, x.warning])).toEqual([['ADMIN_PASSWORD', undefined, undefined], ['REDIS_PASSWORD', undefined, undefined]]);
    expect(strengthBits(hex32())).toBe(256);
    expect(strengthBits('a'.repeat(32))).toBe(128); // all-hex letters count as hex
  });

  it('the example\'s passwords left in: equals `.env.example`', () => {
    const v = judgeEnv({ ...EXAMPLE }, EXAMPLE);
    expect(v.map((x) => x.problem)).toEqual(['equals `.env.example`', 'equals `.env.example`']);
    // Without the file beside it, the platform's own example values are still known.
    expect(judgeEnv({ REDIS_PASSWORD: PLATFORM_EXAMPLE.REDIS_PASSWORD }).map((x) => x.problem)).toEqual(['equals the platform\'s `.env.example`']);
  });

  it('the configuration block pasted as text: a literal command', () => {
    for (const text of ['$(openssl rand -hex 32)', '`openssl rand -base64 24`']) {
      expect(judgeEnv({ REDIS_PASSWORD: text }, EXAMPLE).find((x) => x.name === 'REDIS_PASSWORD')!.problem).toMatch(/^a literal command/);
    }
  });

  it('placeholders, empty, and a variable .env.example has but .env lost', () => {
    for (const p of ['changeme', 'CHANGEME_too', 'admin', 'password', '', 'your_redis_password', '<password>']) expect(isPlaceholder(p), p).toBe(true);
    const v = judgeEnv({ REDIS_PASSWORD: 'password', ADMIN_PASSWORD: '' }, { ...EXAMPLE, SMTP_PASSWORD: 'x' });
    expect(v.map((x) => `${x.name} ${x.problem}`)).toEqual(['ADMIN_PASSWORD empty', 'REDIS_PASSWORD a placeholder', 'SMTP_PASSWORD not set in .env (compose passes a blank)']);
  });

  it('weaker than the guide but not a placeholder: a warning with its bits', () => {
    const v = judgeEnv({ REDIS_PASSWORD: randomBytes(16).toString('hex'), ADMIN_PASSWORD: 'Tr0ub4dor&3' }, EXAMPLE);
    expect(v.map((x) => [x.problem, x.warning])).toEqual([
      [undefined, expect.stringMatching(/^\d+ bits, weaker than the guide's 192 \(openssl rand -base64 24\)$/)],
      [undefined, '128 bits, weaker than the guide\'s 256 (openssl rand -hex 32)'],
    ]);
  });

  it('the candidates: .env.example\'s values first, then the platform\'s, the commands as text, placeholders, empty', () => {
    const c = candidates({ ...EXAMPLE, OTHER_PASSWORD: 'example-other' });
    expect(c.map((x) => x.what)).toEqual([
      'the `.env.example` value', 'the `.env.example` value', 'the `.env.example` value',
      'the guide\'s command as text', 'the guide\'s command as text', 'a placeholder', 'a placeholder', 'a placeholder', 'an empty password',
    ]);
    expect(new Set(c.map((x) => x.value)).size).toBe(c.length);
  });
});

/** A target whose admin and Redis accept only `admin` / `redis` (or answer as told), with files given. */
function fakeTarget(o: { admin: string; redis: string; adminAnswer?: (pw: string | undefined) => number; redisAnswer?: (pw: string) => RedisReply; files?: Record<string, string>; vpn?: boolean }): Target {
  const request = async (path: string, r?: { headers?: Record<string, string> }): Promise<HttpResult> => {
    const auth = r?.headers?.authorization;
    const pw = auth ? Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().replace(/^[^:]*:/, '') : undefined;
    const status = o.adminAnswer ? o.adminAnswer(pw) : pw === o.admin ? 200 : 401;
    return { method: 'GET', url: `https://d${path}`, status, headers: status === 401 ? { 'www-authenticate': 'Basic realm="admin"' } : {}, body: '', timeMs: 1 };
  };
  const vantage: Vantage = {
    name: 'vpn', where: 'a fake VPN vantage', scan: async () => ({ open: [], closed: [], filtered: [] }) as never,
    redis: async (_h, _p, pw) => (o.redisAnswer ? o.redisAnswer(pw!) : pw === o.redis ? { connected: true, auth: 'OK', reply: 'PONG' } : { connected: true, auth: 'WRONGPASS invalid username-password pair or user is disabled.', reply: 'NOAUTH Authentication required.' }),
  };
  const files: PlatformFiles | undefined = o.files && { where: 'a fake directory', envPath: '/p/.env', examplePath: '/p/.env.example', read: async (p) => o.files![p] };
  return {
    name: 'fake', kind: 'remote', domain: 'd', users: [], publicAddress: '1.2.3.4', vpnAddress: '100.99.216.71', httpPort: 80, httpsPort: 443,
    capabilities: new Set(o.vpn === false ? [] : ['vpn-vantage']), trustedCas: [], secrets: { adminUsername: 'admin', adminPassword: o.admin, redisPassword: o.redis },
    queue: {}, vantages: o.vpn === false ? {} : { vpn: vantage }, userCredentials: () => undefined, files,
    request: request as Target['request'], websocket: async () => { throw new Error('no'); }, tlsProbe: async () => ({ ok: false }), close: async () => {},
  };
}

const check = secretsChecks[0];
const run = (t: Target) => runCheck(check, t);
/** Nothing the check wrote (message, evidence) holds any of these values. */
const holdsNone = (r: CheckResult, values: string[]) => {
  const text = JSON.stringify(r);
  for (const [i, v] of values.entries()) expect(text.includes(v), `value ${i} appears in the result`).toBe(false);
};

describe('secrets.generated', () => {
  const example = 'REDIS_PASSWORD=changeme_secure_password\nADMIN_PASSWORD=changeme_admin_password\n';

  it('generated passwords, refused placeholders: a pass that says what it looked at', async () => {
    const redis = hex32();
    const admin = b64_24();
    const r = await run(fakeTarget({ admin, redis, files: { '/p/.env': `REDIS_PASSWORD=${redis}\nADMIN_PASSWORD=${admin}\n`, '/p/.env.example': example } }));
    expect(r.status, r.message).toBe('pass');
    expect(r.message).toMatch(/\.env: ADMIN_PASSWORD 192 bits, REDIS_PASSWORD 256 bits; the admin refuses all 8; Redis refuses all 8 from the VPN/);
    holdsNone(r, [redis, admin]);
  });

  it('the example\'s passwords left in .env: NO-GO naming the variables, by file and by behaviour, no value', async () => {
    const r = await run(fakeTarget({ admin: 'changeme_admin_password', redis: 'changeme_secure_password', files: { '/p/.env': example, '/p/.env.example': example } }));
    expect(r.status).toBe('fail');
    expect(r.message).toMatch(/ADMIN_PASSWORD equals `\.env\.example`; REDIS_PASSWORD equals `\.env\.example`/);
    expect(r.message).toMatch(/ADMIN_PASSWORD: the admin dashboard lets admin in with the `\.env\.example` value/);
    expect(r.message).toMatch(/REDIS_PASSWORD: Redis takes AUTH with the `\.env\.example` value/);
    holdsNone(r, ['changeme_admin_password', 'changeme_secure_password']);
  });

  it('a placeholder that is the real password is never named', async () => {
    const r = await run(fakeTarget({ admin: 'password', redis: hex32() }));
    expect(r.status).toBe('fail');
    expect(r.message).toMatch(/lets admin in with a placeholder/);
    expect(r.message).not.toMatch(/`password`|"password"/);
    expect(r.evidence.map((e) => e.label).join('\n')).not.toMatch(/\(password\)|: password/);
  });

  it('a 502 or an unreachable Redis is no refusal: not judged, never a pass', async () => {
    const r = await run(fakeTarget({ admin: 'x', redis: 'y', adminAnswer: () => 502 }));
    expect(r.status).toBe('skip');
    expect(r.message).toMatch(/could not be judged: the admin: \/admin answered HTTP 502 without credentials/);
    const r2 = await run(fakeTarget({ admin: b64_24(), redis: 'y', redisAnswer: () => ({ connected: false, error: 'ECONNREFUSED' }) }));
    expect(r2.status).toBe('skip');
    expect(r2.message).toMatch(/Redis from the VPN at 100\.99\.216\.71:6379 \(a refusal is WRONGPASS\): .*no connection \(ECONNREFUSED\)/);
    expect(r2.message).toMatch(/judged: the admin refuses all/);
    const r3 = await run(fakeTarget({ admin: b64_24(), redis: 'y', redisAnswer: () => ({ connected: true, auth: 'ERR AUTH <password> called without any password configured for the default user.', reply: 'PONG' }) }));
    expect(r3.message).toMatch(/it has no password at all/);
  });

  it('the literal command in .env, and a short one beside it', async () => {
    const r = await run(fakeTarget({ admin: b64_24(), redis: hex32(), files: { '/p/.env': 'REDIS_PASSWORD=$(openssl rand -hex 32)\nADMIN_PASSWORD=Short1x\n', '/p/.env.example': example } }));
    expect(r.status).toBe('fail');
    expect(r.message).toMatch(/REDIS_PASSWORD a literal command/);
    const w = await run(fakeTarget({ admin: 'Short1xQ', redis: hex32(), files: { '/p/.env': `REDIS_PASSWORD=${hex32()}\nADMIN_PASSWORD=Short1xQ\n`, '/p/.env.example': example } }));
    expect(w.status).toBe('warn');
    expect(w.message).toBe('ADMIN_PASSWORD: 48 bits, weaker than the guide\'s 192 (openssl rand -base64 24)');
    holdsNone(w, ['Short1xQ']);
  });

  it('what it cannot see it says: no files, no VPN vantage', async () => {
    const r = await run(fakeTarget({ admin: b64_24(), redis: hex32(), vpn: false }));
    expect(r.status).toBe('pass');
    expect(r.message).toMatch(/files not judged: no --ssh.*Redis not judged: no vantage on the VPN/);
  });
});

describe('the host\'s platform directory over SSH', () => {
  it('is the directory above data/outputs; a missing file is none, another failure is said (never the text)', async () => {
    const sent: string[][] = [];
    const f = hostFiles(async (cmd) => {
      sent.push(cmd);
      if (cmd[2].endsWith('.env')) return { exitCode: 0, stdout: 'REDIS_PASSWORD=x', stderr: '' };
      return { exitCode: 1, stdout: '', stderr: `cat: ${cmd[2]}: No such file or directory` };
    }, '/home/dev/projects/comfyui/data/outputs', 'dev@vps over SSH');
    expect([f.envPath, f.examplePath]).toEqual(['/home/dev/projects/comfyui/.env', '/home/dev/projects/comfyui/.env.example']);
    expect(await f.read(f.envPath)).toBe('REDIS_PASSWORD=x');
    expect(await f.read(f.examplePath)).toBeUndefined();
    expect(sent[0]).toEqual(['cat', '--', '/home/dev/projects/comfyui/.env']);
    const denied = hostFiles(async () => ({ exitCode: 1, stdout: '', stderr: 'cat: /p/.env: Permission denied' }), '/p/data/outputs', 'h');
    await expect(denied.read('/p/.env')).rejects.toThrow(/^cat: \/p\/\.env: Permission denied$/);
  });
});
