// The operator's compose project as the stack: brought up by a real `docker compose` v2 through
// testcontainers' DockerComposeEnvironment, with their files as written. Around it the harness adds
// only what a VPS has and a compose file does not describe: the internet and the VPN (networks whose
// gateways are the host's public and Tailscale addresses, the latter the env file's REDIS_BIND_IP),
// probe containers on them, the stand-in host reached over SSH, and in host mode the host's own nginx
// (as the platform's start script runs compose without the container-nginx profile).
import { writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve, basename } from 'node:path';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment } from 'testcontainers';
import type { WaitStrategy } from 'testcontainers';
import { execa } from 'execa';
import { describeTopology, type NginxMode, type NginxSpec } from '../topology.ts';
import { describeStack, type Stack, type StackDescriptor, type Progress } from '../stack.ts';
import { labelsFor } from '../containers/labels.ts';
import { newRunId, startLocalStack } from '../run.ts';
import { registerSecret } from '../secrets.ts';
import { HarnessError } from '../errors.ts';
import {
  composeConfig, logicalName, overrideYaml, parseEnvFile, pathOverrides, profilesFor, readDeployment, referencedVariables,
  replacements, type Change, type ComposeInput,
} from './project.ts';

/** Readiness is judged below from compose's own healthchecks, so a service that never comes up is a
 *  finding with its last words, not a testcontainers timeout that takes the whole project down. */
const noWait: WaitStrategy = {
  waitUntilReady: async () => {},
  withStartupTimeout() { return this; },
  isStartupTimeoutSet: () => false,
  getStartupTimeout: () => 0,
};

export interface ComposeStack {
  mode: NginxMode;
  /** services that did not start (restarting, exited, unhealthy), with their last log lines */
  notStarted: Map<string, string[]>;
  /** what was changed from the operator's files, and why */
  changes: Change[];
  /** compose's own warnings (an unset variable defaulting to a blank string, …) */
  warnings: string[];
  /** with the project's .env and the .env.example beside it, for the checks that read them */
  describe(): StackDescriptor & { envFiles: { env: string; example: string } };
  stop(): Promise<void>;
}

export async function startComposeStack(input: ComposeInput & { mode: NginxMode; nginxSource?: NginxSpec['source'] }, progress: Progress = () => {}): Promise<ComposeStack> {
  const file = resolve(input.file);
  if (!existsSync(file)) throw new HarnessError(`no compose file at ${file}`, 'give --compose the path of your docker-compose.yml');
  const envFile = input.envFile ? resolve(input.envFile) : existsSync(`${dirname(file)}/.env`) ? `${dirname(file)}/.env` : undefined;
  if (envFile && !existsSync(envFile)) throw new HarnessError(`no env file at ${envFile}`, 'give --env-file the path of your .env');
  const envVars = envFile ? parseEnvFile(readFileSync(envFile, 'utf8')) : {};
  const runId = newRunId();
  const runDir = `${tmpdir()}/comfy-verify/${runId}`;
  const project = `cv-${runId}`;
  const profiles = profilesFor(input.mode);
  const paths = pathOverrides([...referencedVariables(file), ...Object.keys(envVars)], envVars, runDir);
  const { model, warnings } = await composeConfig({ file, envFile, project, profiles, env: paths.env });
  const dep = readDeployment(model, envVars);
  registerSecret(dep.secrets.redisPassword);
  registerSecret(dep.secrets.adminPassword);
  const repl = replacements(model, input);
  const override = overrideYaml(model, (svc) => labelsFor(runId, svc), repl);
  const changes: Change[] = [...paths.changes, ...override.changes];
  if (dep.vpnAddress === dep.redisBind) changes.push({ what: `the VPN network's gateway is ${dep.vpnAddress}`, why: 'REDIS_BIND_IP: Redis binds where the env file says, as on a host whose Tailscale address it is' });
  if (input.mode === 'host') changes.push({ what: `host nginx: ${input.nginxSource?.kind === 'operator' || input.nginxSource?.kind === 'operator-main' ? input.nginxSource.file : 'the reference site'} on the host's network`, why: 'host-nginx mode: compose runs without the container-nginx profile, nginx runs on the host' });

  // The harness's part: networks (VPN gateway = REDIS_BIND_IP), probes, the stand-in host, the host nginx.
  const t = describeTopology({ runId, runDir, mode: input.mode, users: dep.users.length, domain: dep.domain, secrets: dep.secrets, nginxSource: input.nginxSource, vpnAddress: dep.vpnAddress });
  const harnessServices = ['probe-public', 'probe-vpn', 'sshd', ...(input.mode === 'host' ? ['nginx'] : [])];
  t.services = t.services.filter((s) => harnessServices.includes(s.name)).map((s) => ({ ...s, dependsOn: [] }));
  t.queue = dep.queue;
  for (const d of ['outputs', 'inputs', 'user_data']) for (const u of dep.users) mkdirSync(`${runDir}/data/${d}/${u}`, { recursive: true });
  const harness = await startLocalStack(t, progress, { optional: ['nginx'] });

  const overrideFile = `${runDir}/comfy-verify.override.yml`;
  let env: StartedDockerComposeEnvironment;
  try {
    // Whatever compose creates, labelled or not (its default network), goes with the run if this process is killed.
    await harness.reapAlso(`label=com.docker.compose.project=${project}`);
    writeFileSync(overrideFile, override.yaml);
    progress(`docker compose up: ${basename(file)}${profiles.length ? ` --profile ${profiles.join(',')}` : ''} (${Object.keys(model.services).length} services)`);
    const t0 = Date.now();
    env = await new DockerComposeEnvironment(dirname(file), [basename(file), overrideFile])
      .withProjectName(project)
      .withEnvironment(paths.env)
      .withProfiles(...profiles)
      .withDefaultWaitStrategy(noWait)
      .withClientOptions(envFile ? { composeOptions: ['--env-file', envFile] } : {})
      .up();
    progress(`compose project up (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    await harness.stop().catch(() => {});
    const msg = String((e as { err?: string }).err ?? (e as Error).message).trim().split('\n').filter(Boolean).at(-1) ?? String(e);
    throw new HarnessError(`docker compose up failed: ${msg}`, /pull access denied|failed to resolve|no such host|manifest/.test(msg) ? 'an image needs a registry here: give --image SERVICE=IMAGE or --standin SERVICE' : 'docker compose up with the same files shows the same');
  }

  const containers = await projectContainers(project);
  const notStarted = new Map<string, string[]>(harness.notStarted);
  const failed = await waitHealthy([...containers.values()], 90_000);
  for (const [svc, name] of containers) if (failed.has(name)) notStarted.set(logicalName(svc), failed.get(name)!);
  for (const svc of notStarted.keys()) progress(`${svc} did not start: ${notStarted.get(svc)!.at(-1) ?? 'no words'}`);

  // Contract names → containers: the compose project's own, the harness's for the rest.
  const names: Record<string, string> = {};
  for (const [svc, name] of containers) names[logicalName(svc)] ??= name;
  const base = describeStack(harness as Stack);
  const descriptor: ReturnType<ComposeStack['describe']> = {
    ...base, users: dep.users.length, secrets: dep.secrets, queue: dep.queue,
    containers: Object.fromEntries(Object.entries(names)),
    envFiles: { env: envFile ?? `${dirname(file)}/.env`, example: `${dirname(envFile ?? file)}/.env.example` },
    ...(base.ssh ? { ssh: { ...base.ssh, containers: names } } : {}),
  };
  return {
    mode: input.mode, notStarted, changes, warnings,
    describe: () => descriptor,
    async stop() {
      await env.down({ removeVolumes: true, timeout: 2_000 }).catch(() => {});
      await harness.stop();
    },
  };
}

/** compose service → container name, for this project. */
async function projectContainers(project: string): Promise<Map<string, string>> {
  const r = await execa('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Label "com.docker.compose.service"}} {{.Names}}']);
  return new Map(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]).sort());
}

/** Waits until every container runs and, where it has a healthcheck, is healthy. Those that exit,
 *  restart in a loop or turn unhealthy are returned with their last log lines. */
async function waitHealthy(names: string[], timeoutMs: number): Promise<Map<string, string[]>> {
  const failed = new Map<string, string[]>();
  const pending = new Set(names);
  for (const deadline = Date.now() + timeoutMs; pending.size && Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    const r = await execa('docker', ['inspect', '--format', '{{.Name}} {{.State.Status}} {{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', ...pending], { reject: false });
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const [n, status, restarts, health] = line.replace(/^\//, '').split(' ');
      if (status === 'running' && (!health || health === 'healthy')) pending.delete(n);
      else if (['exited', 'dead', 'restarting'].includes(status) || Number(restarts) > 0 || health === 'unhealthy') {
        pending.delete(n);
        failed.set(n, await lastLines(n));
      }
    }
  }
  for (const n of pending) failed.set(n, [`not ready within ${timeoutMs / 1000} s`, ...(await lastLines(n))]);
  return failed;
}

async function lastLines(name: string): Promise<string[]> {
  const r = await execa('docker', ['logs', '--tail', '8', name], { reject: false, all: true });
  return (r.all ?? '').split('\n').filter((l) => l.trim()).slice(-8);
}
