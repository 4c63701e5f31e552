// Settings for a run against a deployment, read the way the platform reads them: its own .env
// names (DOMAIN, NUM_USERS, REDIS_BIND_IP, ...), from --env-file (default ./.env when present) and
// the environment, plus an optional JSON file (--config, default ./comfy-verify.config.json when
// present). Precedence, lowest first: JSON file < .env file < environment < flags.
// Every bad or missing setting is one line; all of them are reported at once.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { HarnessError } from './ui.ts';
import { registerSecret } from '../../stack/secrets.ts';
import { parseEnvFile } from '../../stack/env-file.ts';
import { CONTRACT, type NginxMode, type QueueMode } from '../../stack/topology.ts';
import { parseSshTarget } from '../../suites/lib/ssh-host.ts';
import type { RemoteConfig } from '../../suites/lib/remote-target.ts';

/** The platform's .env names the harness reads (docs/contract.md, "Settings (.env)"); others in the file are ignored. */
export const ENV_NAMES = [
  'DOMAIN', 'NUM_USERS', 'USE_HOST_NGINX', 'REDIS_BIND_IP', 'REDIS_PASSWORD', 'ADMIN_USERNAME', 'ADMIN_PASSWORD',
  'SSL_CERT_PATH', 'SSL_KEY_PATH', 'QUEUE_MODE', 'MAX_QUEUE_DEPTH', 'JOB_TIMEOUT',
] as const;
type EnvName = (typeof ENV_NAMES)[number];

/** Flags every command that can aim at a deployment accepts (node:util parseArgs options). */
export const TARGET_OPTIONS = {
  target: { type: 'string' }, resolve: { type: 'string' }, ca: { type: 'string' },
  'vpn-address': { type: 'string' }, 'allow-writes': { type: 'boolean' }, 'allow-disruption': { type: 'boolean' },
  ssh: { type: 'string' }, 'ssh-key': { type: 'string' }, 'known-hosts': { type: 'string' }, sudo: { type: 'boolean' },
  'container-prefix': { type: 'string' }, 'outputs-dir': { type: 'string' },
  users: { type: 'string' }, mode: { type: 'string' },
  'env-file': { type: 'string' }, config: { type: 'string' }, 'accept-partial': { type: 'boolean' },
  'user-credentials': { type: 'string' },
} as const;
type FlagName = keyof typeof TARGET_OPTIONS;
export type TargetFlags = Partial<Record<FlagName, string | boolean>>;

export const TARGET_HELP = `  --target https://DOMAIN[:PORT]  the deployment (default: https://$DOMAIN from .env)
  --resolve IP          connect to IP instead of what DNS says (like curl --resolve); SNI stays DOMAIN
  --ca FILE             trust this CA too (PEM), e.g. a staging or test CA
  --vpn-address IP      this machine is on the tailnet: probe Redis at IP over the VPN (also REDIS_BIND_IP)
  --allow-writes        checks that POST/PATCH/DELETE or write files may run (they are tagged, cleaned up)
  --allow-disruption    with --allow-writes and --ssh: resilience checks may restart the platform's containers
                        on the host (docker stop/start: participants are interrupted; never mid-workshop)
  --ssh USER@HOST[:PORT]  host checks over SSH (sockets, ufw, tailscale, nginx -t, certificate and output files)
  --ssh-key FILE        the SSH private key;  --known-hosts FILE  pinned host keys (default ~/.cache/comfy-verify/known_hosts)
  --sudo                run host commands with sudo -n;  --container-prefix P  container names (default "comfy-")
  --outputs-dir DIR     data/outputs on the host (default ${CONTRACT.hostOutputsDir})
  --users N, --mode host|container   override NUM_USERS and USE_HOST_NGINX
  --env-file PATH       the platform's .env (default ./.env when present)
  --config FILE         JSON settings: .env names or flag names (default ./comfy-verify.config.json when present)
  --user-credentials FILE  the participants' workspace passwords, user:password per line (as kept beside
                        the htpasswd file; also COMFY_VERIFY_USER_CREDENTIALS): workspaces are opened with them
  --accept-partial      exit 0 on a GO although checks were not run (for want of SSH, VPN, --allow-writes...)`;

export type { RemoteConfig };

export { parseEnvFile };

const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const FLAG_BY_KEY = new Map<string, FlagName>(Object.keys(TARGET_OPTIONS).flatMap((f) => [[f, f as FlagName], [camel(f), f as FlagName]]));

export function loadRemoteConfig(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RemoteConfig {
  const problems: string[] = [];
  const sources: string[] = [];
  const settings: Partial<Record<EnvName, string>> = {};
  const opts: TargetFlags = {};

  // 1. the JSON file
  const jsonPath = typeof flags.config === 'string' ? resolve(cwd, flags.config) : resolve(cwd, 'comfy-verify.config.json');
  if (typeof flags.config === 'string' && !existsSync(jsonPath)) problems.push(`--config ${flags.config}: no such file`);
  else if (existsSync(jsonPath)) {
    try {
      const data = JSON.parse(readFileSync(jsonPath, 'utf8')) as unknown;
      if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('not a JSON object');
      for (const [k, v] of Object.entries(data)) {
        if (!['string', 'number', 'boolean'].includes(typeof v)) { problems.push(`${jsonPath}: "${k}" must be a string, number or boolean`); continue; }
        if ((ENV_NAMES as readonly string[]).includes(k)) settings[k as EnvName] = String(v);
        else if (FLAG_BY_KEY.has(k) && !['config', 'env-file'].includes(FLAG_BY_KEY.get(k)!)) opts[FLAG_BY_KEY.get(k)!] = typeof v === 'boolean' ? v : String(v);
        else problems.push(`${jsonPath}: unknown setting "${k}" (use .env names like DOMAIN or flag names like target)`);
      }
      sources.push(jsonPath);
    } catch (e) {
      problems.push(`${jsonPath} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  // 2. the .env file, 3. the environment
  const envPath = typeof flags['env-file'] === 'string' ? resolve(cwd, flags['env-file']) : resolve(cwd, '.env');
  if (typeof flags['env-file'] === 'string' && !existsSync(envPath)) problems.push(`--env-file ${flags['env-file']}: no such file`);
  else if (existsSync(envPath)) {
    const file = parseEnvFile(readFileSync(envPath, 'utf8'));
    for (const n of ENV_NAMES) if (file[n] !== undefined) settings[n] = file[n];
    sources.push(envPath);
  }
  const fromEnv = ENV_NAMES.filter((n) => env[n] !== undefined && env[n] !== '');
  for (const n of fromEnv) settings[n] = env[n];
  if (fromEnv.length) sources.push(`environment (${fromEnv.join(', ')})`);
  // 4. flags
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) opts[k as FlagName] = v;
  registerSecret(settings.REDIS_PASSWORD);
  registerSecret(settings.ADMIN_PASSWORD);

  // An empty value counts as not given (CI passes --users "$NUM_USERS" whether or not it is set).
  const str = (k: FlagName) => (typeof opts[k] === 'string' && opts[k] !== '' ? (opts[k] as string) : undefined);
  const bool = (k: FlagName) => opts[k] === true || opts[k] === 'true';

  // The target: --target, else https://DOMAIN.
  const rawTarget = str('target') ?? (settings.DOMAIN ? `https://${settings.DOMAIN}` : undefined);
  const targetName = str('target') ? '--target' : 'DOMAIN';
  let url: URL | undefined;
  if (!rawTarget) problems.push('--target is required (or DOMAIN in .env): e.g. --target https://comfy.ahelme.net');
  else {
    try { url = new URL(rawTarget); } catch { /* below */ }
    if (!url || url.protocol !== 'https:' || !url.hostname) { problems.push(`${targetName} must be an https:// URL, got "${rawTarget}"`); url = undefined; }
    else if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.username) { problems.push(`${targetName} must be just https://DOMAIN (no path, query or user), got "${rawTarget}"`); url = undefined; }
  }

  const users = str('users') ?? settings.NUM_USERS;
  const usersName = str('users') ? '--users' : 'NUM_USERS';
  const n = users === undefined ? CONTRACT.users : Number(users);
  if (!/^\d+$/.test(users ?? '20') || n < 1 || n > 99) problems.push(`${usersName} must be 1-99, got "${users}"`);

  let mode: NginxMode | undefined;
  const m = str('mode');
  if (m !== undefined) { if (m === 'host' || m === 'container') mode = m; else problems.push(`--mode must be host or container, got "${m}"`); }
  else if (settings.USE_HOST_NGINX !== undefined) {
    const v = settings.USE_HOST_NGINX.toLowerCase();
    if (v === 'true') mode = 'host'; else if (v === 'false') mode = 'container';
    else problems.push(`USE_HOST_NGINX must be true or false, got "${settings.USE_HOST_NGINX}"`);
  }

  const ip = (name: string, v: string | undefined) => {
    if (v !== undefined && isIP(v) !== 4) problems.push(`${name} must be an IPv4 address, got "${v}"`);
    return v !== undefined && isIP(v) === 4 ? v : undefined;
  };
  const vpnFlag = ip('--vpn-address', str('vpn-address'));
  const vpnAddress = vpnFlag ?? ip('REDIS_BIND_IP', settings.REDIS_BIND_IP || undefined);
  const resolveTo = ip('--resolve', str('resolve'));

  const file = (name: string, v: string | undefined) => {
    if (v !== undefined && !existsSync(resolve(cwd, v))) problems.push(`${name} ${v}: no such file`);
    return v !== undefined ? resolve(cwd, v) : undefined;
  };
  const caFile = file('--ca', str('ca'));
  let caPem: string | undefined;
  if (caFile && existsSync(caFile)) {
    caPem = readFileSync(caFile, 'utf8');
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) problems.push(`--ca ${str('ca')}: not a PEM certificate`);
  }

  let ssh: RemoteConfig['ssh'];
  const sshRaw = str('ssh');
  const keyFile = file('--ssh-key', str('ssh-key'));
  if (sshRaw !== undefined) {
    const p = parseSshTarget(sshRaw);
    if (!p) problems.push(`--ssh must be USER@HOST or USER@HOST:PORT, got "${sshRaw}"`);
    else ssh = { ...p, keyFile, knownHostsFile: str('known-hosts') && resolve(cwd, str('known-hosts')!), sudo: bool('sudo'), containerPrefix: str('container-prefix') ?? 'comfy-' };
  } else if (keyFile) problems.push('--ssh-key needs --ssh USER@HOST');

  const abs = (name: string, v: string | undefined) => {
    if (v !== undefined && !v.startsWith('/')) problems.push(`${name} must be an absolute path on the host, got "${v}"`);
    return v;
  };
  const domain = url?.hostname ?? settings.DOMAIN ?? CONTRACT.domain;
  const certDir = CONTRACT.certDir(domain);
  const layout = {
    certPath: abs('SSL_CERT_PATH', settings.SSL_CERT_PATH) ?? `${certDir}/fullchain.pem`,
    keyPath: abs('SSL_KEY_PATH', settings.SSL_KEY_PATH) ?? `${certDir}/privkey.pem`,
    outputsDir: abs('--outputs-dir', str('outputs-dir')) ?? CONTRACT.hostOutputsDir,
  };

  const queueMode = settings.QUEUE_MODE;
  if (queueMode !== undefined && !['fifo', 'round_robin', 'priority'].includes(queueMode)) problems.push(`QUEUE_MODE must be fifo, round_robin or priority, got "${queueMode}"`);
  const int = (name: string, v: string | undefined, min: number) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) { problems.push(`${name} must be a whole number ≥ ${min}, got "${v}"`); return undefined; }
    return Number(v);
  };
  const queue = { mode: queueMode as QueueMode | undefined, maxQueueDepth: int('MAX_QUEUE_DEPTH', settings.MAX_QUEUE_DEPTH, 0), jobTimeout: int('JOB_TIMEOUT', settings.JOB_TIMEOUT, 1) };

  const credPath = file('--user-credentials', str('user-credentials') ?? (env.COMFY_VERIFY_USER_CREDENTIALS || undefined));
  const userCredentials = credPath && existsSync(credPath) ? parseUserCredentials(readFileSync(credPath, 'utf8'), credPath, problems) : undefined;

  if (bool('allow-disruption') && !bool('allow-writes')) problems.push('--allow-disruption needs --allow-writes (the resilience checks submit jobs)');
  if (bool('allow-disruption') && !ssh) problems.push('--allow-disruption needs --ssh USER@HOST (containers are restarted with the host\'s docker)');
  if (problems.length) throw new HarnessError(problems.join('\n✖ '), problems.length > 1 ? `${problems.length} settings to fix` : undefined);
  return {
    url: url!.origin, domain: url!.hostname, httpsPort: url!.port ? Number(url!.port) : 443, users: n, mode, vpnAddress,
    vpnVantage: !!vpnFlag, resolve: resolveTo, caFile, caPem, allowWrites: bool('allow-writes'), allowDisruption: bool('allow-disruption'), ssh,
    secrets: { adminUsername: settings.ADMIN_USERNAME || 'admin', adminPassword: settings.ADMIN_PASSWORD || undefined, redisPassword: settings.REDIS_PASSWORD || undefined },
    layout, queue, sources, ...(userCredentials ? { userCredentials } : {}),
  };
}

/** user:password lines (# comments and blank lines ignored). Passwords are secrets from the first
 *  moment: a malformed line is reported by its number, never its text. */
export function parseUserCredentials(text: string, where: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = colon > 0 ? line.slice(0, colon) : '';
    const pass = colon > 0 ? line.slice(colon + 1) : '';
    if (pass) registerSecret(pass);
    if (!/^user\d{3}$/.test(user) || !pass) problems.push(`${where} line ${i + 1}: expected userNNN:password`);
    else if (out[user] !== undefined) problems.push(`${where} line ${i + 1}: ${user} listed twice`);
    else out[user] = pass;
  });
  if (!Object.keys(out).length && !problems.some((p) => p.startsWith(where))) problems.push(`${where}: no user:password line`);
  return out;
}
