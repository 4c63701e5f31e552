// Reading an operator's compose project as compose itself reads it: `docker compose config` resolves
// include:, profiles and ${VAR:-default} from the env file (an unset variable stays empty, as compose
// passes it). From the resolved model come the users, the secrets and queue settings the services are
// given, and the few changes this machine needs (data paths, certificates, stand-ins), each listed.
import { readFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { execa } from 'execa';
import { CONTRACT, type NginxMode } from '../topology.ts';
import { imageName } from '../images.ts';
import { HarnessError } from '../errors.ts';
import { parseEnvFile } from '../env-file.ts';

export { parseEnvFile };

export const CONTAINER_NGINX_PROFILE = 'container-nginx';

export interface ComposeInput {
  /** the operator's docker-compose.yml (absolute) */
  file: string;
  /** their .env; default: the .env beside the compose file, when there is one */
  envFile?: string;
  /** services (names or patterns such as user*) replaced by our stand-ins */
  standins: string[];
  /** SERVICE=IMAGE (patterns allowed): given images instead of the file's */
  images: Record<string, string>;
}

interface PortConfig { target: number; published?: string; host_ip?: string }
interface VolumeConfig { type: string; source?: string; target: string; read_only?: boolean }
export interface ServiceConfig {
  image?: string;
  build?: unknown;
  container_name?: string;
  command?: string[] | null;
  environment?: Record<string, string | null>;
  ports?: PortConfig[];
  volumes?: VolumeConfig[];
  cpus?: number;
  deploy?: { resources?: { reservations?: { devices?: { capabilities?: string[] }[] }; limits?: { cpus?: string } } };
  profiles?: string[];
  healthcheck?: { test?: string[]; disable?: boolean; interval?: string; timeout?: string; start_period?: string; retries?: number };
  depends_on?: Record<string, { condition?: string; required?: boolean }>;
}
export interface ComposeModel {
  name: string;
  services: Record<string, ServiceConfig>;
  networks?: Record<string, { name?: string }>;
  volumes?: Record<string, { name?: string }>;
}

/** The contract's name for a compose service: userNNN, redis, queue-manager, admin, nginx, worker. */
export function logicalName(service: string): string {
  if (/^worker([-_]?\d+)?$/.test(service)) return 'worker';
  return service;
}
/** Which of our stand-in images plays a service. */
export function standinKind(service: string): 'redis' | 'queue-manager' | 'admin' | 'frontend' | 'worker' | 'nginx' | undefined {
  const l = logicalName(service);
  if (/^user\d+$/.test(l)) return 'frontend';
  return (['redis', 'queue-manager', 'admin', 'worker', 'nginx'] as const).find((k) => k === l);
}

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
export const matches = (patterns: string[], service: string) => patterns.some((p) => glob(p).test(service));


export interface Change { what: string; why: string }

/** Data paths (…_PATH variables of the env file or the compose files) moved into the run directory;
 *  certificate paths pointed at the generated certificate. Passed as environment: compose takes a
 *  shell variable over the env file's. */
export function pathOverrides(vars: string[], env: Record<string, string>, runDir: string): { env: Record<string, string>; changes: Change[] } {
  const out: Record<string, string> = {};
  const changes: Change[] = [];
  for (const name of [...new Set(vars)].sort()) {
    if (!/_PATH$/.test(name)) continue;
    const was = env[name];
    let now: string;
    if (/CERT/.test(name)) now = `${runDir}/tls/fullchain.pem`;
    else if (/KEY/.test(name)) now = `${runDir}/tls/privkey.pem`;
    else now = `${runDir}/data/${basename(was || name.replace(/_PATH$/, '').toLowerCase()) || 'data'}`;
    out[name] = now;
    changes.push({ what: `${name}=${was ?? '(unset)'} → ${now}`, why: /CERT|KEY/.test(name) ? 'the certificate generated for this run (its own CA)' : 'data lives in the run directory, removed after' });
  }
  return { env: out, changes };
}

/** Every ${VAR…} a compose file (and what it includes) refers to. */
export function referencedVariables(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file) || !existsSync(file)) return [];
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  const vars = [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
  // include: entries, in either of their forms (a path, or path: under an entry)
  const includeBlock = /^include:\s*\n((?:[ \t]+.*\n?)*)/m.exec(text)?.[1] ?? '';
  const included = [...includeBlock.matchAll(/^\s*-?\s*(?:path:\s*)?["']?([^"'\s#]+\.ya?ml)/gm)].map((m) => resolve(dirname(file), m[1]));
  return [...vars, ...included.flatMap((f) => referencedVariables(f, seen))];
}

export async function composeConfig(o: { file: string; envFile?: string; project: string; profiles: string[]; env: Record<string, string>; extraFiles?: string[] }): Promise<{ model: ComposeModel; warnings: string[] }> {
  const args = ['compose', '-p', o.project, '-f', o.file, ...(o.extraFiles ?? []).flatMap((f) => ['-f', f]),
    ...(o.envFile ? ['--env-file', o.envFile] : []), ...o.profiles.flatMap((p) => ['--profile', p]), 'config', '--format', 'json'];
  const r = await execa('docker', args, { cwd: dirname(o.file), env: o.env, reject: false });
  if (r.exitCode !== 0) {
    const line = r.stderr.split('\n').filter(Boolean).at(-1) ?? `exit ${r.exitCode}`;
    if (/unknown command|is not a docker command/.test(r.stderr)) throw new HarnessError('docker compose v2 is not installed', 'run npm run setup (it builds the compose plugin once)');
    throw new HarnessError(`docker compose refuses ${o.file}: ${line}`, 'fix the compose file or the env file (docker compose config shows the same)');
  }
  const warnings = r.stderr.split('\n').map((l) => l.replace(/^time="[^"]*" level=\w+ msg=/, '').replace(/^"|"$/g, '').trim()).filter(Boolean);
  return { model: JSON.parse(r.stdout) as ComposeModel, warnings };
}

/** What the harness takes from the project: users, secrets and queue settings as compose passes them. */
export function readDeployment(model: ComposeModel, env: Record<string, string>) {
  const svc = model.services;
  const users = Object.keys(svc).filter((n) => /^user\d{3}$/.test(n)).sort();
  if (!users.length) throw new HarnessError('the compose project has no user services (user001, user002, …)', 'point --compose at the platform\'s docker-compose.yml (it includes the users file)');
  // `compose config` writes a literal $ as $$ (so its output reads back the same); the services get one.
  const unescape = <T extends string | null>(v: T): T => (typeof v === 'string' ? v.replace(/\$\$/g, '$') : v) as T;
  const envOf = (e: Record<string, string | null> | undefined) => Object.fromEntries(Object.entries(e ?? {}).map(([k, v]) => [k, unescape(v)]));
  const qmEnv = envOf(svc['queue-manager']?.environment);
  const adminEnv = envOf(svc.admin?.environment);
  const redisCmd = (svc.redis?.command ?? []).map(unescape);
  const pass = redisCmd[redisCmd.indexOf('--requirepass') + 1];
  const redisPassword = qmEnv.REDIS_PASSWORD ?? (redisCmd.includes('--requirepass') ? pass : undefined) ?? '';
  const redisBind = svc.redis?.ports?.find((p) => p.target === CONTRACT.redisPort)?.host_ip ?? '';
  // The VPN is the env file's REDIS_BIND_IP when Redis is published on a VPN-like address.
  const vpnLike = /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./.test(redisBind) || (!!redisBind && !['127.0.0.1', '0.0.0.0', '::'].includes(redisBind));
  const num = (v: string | null | undefined) => (v !== undefined && v !== null && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
  const mode = qmEnv.QUEUE_MODE;
  return {
    users,
    domain: env.DOMAIN || CONTRACT.domain,
    secrets: { redisPassword, adminUsername: adminEnv.ADMIN_USERNAME || 'admin', adminPassword: adminEnv.ADMIN_PASSWORD ?? '' },
    queue: {
      mode: (['fifo', 'round_robin', 'priority'] as const).find((m) => m === mode) ?? 'fifo',
      maxQueueDepth: num(qmEnv.MAX_QUEUE_DEPTH) ?? 100,
      jobTimeoutSeconds: num(qmEnv.JOB_TIMEOUT) ?? 3600,
    },
    vpnAddress: vpnLike ? redisBind : CONTRACT.vpnAddress,
    redisBind,
  };
}

/** Services this machine cannot run as written, and what takes their place: a reserved GPU (no NVIDIA
 *  runtime here) or --standin: our stand-in; --image: the given image. Ports, volumes and environment stay. */
export function replacements(model: ComposeModel, input: ComposeInput): { service: string; image: string; reason: string }[] {
  const out: { service: string; image: string; reason: string }[] = [];
  for (const [name, s] of Object.entries(model.services)) {
    const given = Object.entries(input.images).find(([p]) => glob(p).test(name));
    const gpu = (s.deploy?.resources?.reservations?.devices ?? []).some((d) => (d.capabilities ?? []).includes('gpu'));
    const kind = standinKind(name);
    if (given) out.push({ service: name, image: given[1], reason: `--image ${given[0]}=${given[1]}` });
    else if (matches(input.standins, name) || gpu) {
      if (!kind) throw new HarnessError(`no stand-in for service ${name}`, `stand-ins exist for redis, queue-manager, admin, nginx, user*, worker*; give --image ${name}=IMAGE`);
      out.push({ service: name, image: imageName(kind), reason: gpu && !matches(input.standins, name) ? 'it reserves an NVIDIA GPU, which this machine has not: our mock GPU worker' : `--standin: our ${kind} stand-in` });
    }
  }
  return out;
}

/** The override file: our labels on everything (clean-up by label, also after a killed run), the
 *  replacements, and CPU limits the engine would refuse on this machine scaled to what it has. */
export function overrideYaml(model: ComposeModel, labels: (service?: string) => Record<string, string>, repl: ReturnType<typeof replacements>, unjudgeable = new Set<string>()): { yaml: string; changes: Change[] } {
  const q = (v: string | number) => JSON.stringify(String(v));
  const lines = ['# Written by comfy-verify for one run: labels, replacements, CPU limits. Your files are used as written otherwise.', 'services:'];
  const changes: Change[] = [];
  const cpus = availableParallelism();
  const labelLines = (l: Record<string, string>, indent: string) => [`${indent}labels:`, ...Object.entries(l).map(([k, v]) => `${indent}  ${q(k)}: ${q(v)}`)];
  for (const [name, s] of Object.entries(model.services)) {
    lines.push(`  ${q(name)}:`, ...labelLines(labels(logicalName(name)), '    '));
    const r = repl.find((x) => x.service === name);
    if (r) {
      lines.push(`    image: ${q(r.image)}`, '    build: !reset null', '    deploy: !reset null', '    pull_policy: never');
      changes.push({ what: `${name}: image ${r.image}${s.build ? ' (not built)' : ''}`, why: r.reason });
      // Our mock worker writes where the service mounts the outputs (the compose file's own target).
      if (standinKind(name) === 'worker') {
        const out = (s.volumes ?? []).find((v) => v.type === 'bind' && /outputs?$/.test(v.source ?? '') && !v.read_only);
        if (out) lines.push('    environment:', `      OUTPUT_DIR: ${q(out.target)}`);
      }
    }
    // Waiting for a healthcheck that cannot run in our image would wait for ever: started instead.
    const waits = Object.entries(s.depends_on ?? {}).filter(([d, c]) => unjudgeable.has(d) && c.condition === 'service_healthy').map(([d]) => d);
    if (waits.length) {
      lines.push('    depends_on:', ...waits.flatMap((d) => [`      ${q(d)}:`, '        condition: service_started']));
      changes.push({ what: `${name}: depends_on ${waits.join(', ')} service_started (not service_healthy)`, why: `the healthcheck of ${waits.join(', ')} calls a program our stand-in image lacks: it cannot pass here` });
    }
    if ((s.cpus ?? 0) > cpus) {
      lines.push(`    cpus: ${cpus}`);
      changes.push({ what: `${name}: cpus ${s.cpus} → ${cpus}`, why: `this machine has ${cpus} CPUs; the engine refuses more` });
    }
  }
  if (Object.keys(model.networks ?? {}).length) lines.push('networks:', ...Object.keys(model.networks!).flatMap((n) => [`  ${q(n)}:`, ...labelLines(labels(), '    ')]));
  if (Object.keys(model.volumes ?? {}).length) lines.push('volumes:', ...Object.keys(model.volumes!).flatMap((n) => [`  ${q(n)}:`, ...labelLines(labels(), '    ')]));
  return { yaml: lines.join('\n') + '\n', changes };
}

export const profilesFor = (mode: NginxMode) => (mode === 'container' ? [CONTAINER_NGINX_PROFILE] : []);
