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
import { StartupWatch, healthTools, missingInImages, healthWindow, isOurImage } from './startup.ts';
import {
  composeConfig, logicalName, overrideYaml, parseEnvFile, pathOverrides, profilesFor, readDeployment, referencedVariables,
  replacements, type Change, type ComposeInput, type ComposeModel,
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
  /** start-up: services that came up late (a warning, with the timing), and healthchecks our
   *  stand-in images cannot run (the harness's problem, one line each) */
  startup: { kind: 'late' | 'harness'; service: string; text: string }[];
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
  const startup: ComposeStack['startup'] = [];
  // A healthcheck calling what our image lacks cannot pass here, whatever the service does: its
  // dependents wait for it started instead of healthy, so the project still runs (and says why).
  const relax = await unrunnableHealthchecks(model, repl);
  for (const [svc, line] of relax) startup.push({ kind: 'harness', service: svc, text: `${svc}: ${line}` });
  const override = overrideYaml(model, (svc) => labelsFor(runId, svc), repl, new Set(relax.keys()));
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
  let env: StartedDockerComposeEnvironment | undefined;
  // Watched from `up` on: compose waits for the healthchecks its depends_on names, and how long each
  // took (or why it never passed) is only seen while it happens.
  const watch = new StartupWatch(project);
  let upDone = false;
  const watching = watch.until(() => upDone);
  const t0 = Date.now();
  try {
    // Whatever compose creates, labelled or not (its default network), goes with the run if this process is killed.
    await harness.reapAlso(`label=com.docker.compose.project=${project}`);
    writeFileSync(overrideFile, override.yaml);
    progress(`docker compose up: ${basename(file)}${profiles.length ? ` --profile ${profiles.join(',')}` : ''} (${Object.keys(model.services).length} services)`);
    env = await new DockerComposeEnvironment(dirname(file), [basename(file), overrideFile])
      .withProjectName(project)
      .withEnvironment(paths.env)
      .withProfiles(...profiles)
      .withDefaultWaitStrategy(noWait)
      .withClientOptions(envFile ? { composeOptions: ['--env-file', envFile] } : {})
      .up();
    progress(`compose project up (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    const msg = String((e as { err?: string }).err ?? (e as Error).message).trim().split('\n').filter(Boolean).at(-1) ?? String(e);
    // A dependency that never turned healthy is the project's finding (judged below, with the
    // services left waiting for it), not a reason the harness cannot run.
    if (!/dependency failed to start/.test(msg)) {
      upDone = true;
      await watching.catch(() => {});
      await harness.stop().catch(() => {});
      throw new HarnessError(`docker compose up failed: ${msg}`, /pull access denied|failed to resolve|no such host|manifest/.test(msg) ? 'an image needs a registry here: give --image SERVICE=IMAGE or --standin SERVICE' : 'docker compose up with the same files shows the same');
    }
    progress(`docker compose up stopped: ${msg}`);
  }
  upDone = true;
  await watching;
  const stopCompose = async () => {
    if (env) await env.down({ removeVolumes: true, timeout: 2_000 }).catch(() => {});
    else await execa('docker', ['compose', '-p', project, '-f', file, '-f', overrideFile, ...profiles.flatMap((p) => ['--profile', p]), 'down', '-v', '-t', '2'], { cwd: dirname(file), env: paths.env, reject: false });
  };

  const containers = await projectContainers(project);
  const notStarted = new Map<string, string[]>(harness.notStarted);
  for (const r of watch.results()) {
    const svc = logicalName(r.service);
    if (r.verdict.kind === 'harness') {
      if (!relax.has(r.service)) startup.push({ kind: 'harness', service: r.service, text: `${r.service}: ${r.verdict.line}` });
    } else if (r.verdict.kind === 'failed') {
      const lines = await lastLines(r.name);
      const waits = Object.entries(model.services[r.service]?.depends_on ?? {}).map(([d, c]) => `${d} ${c.condition === 'service_healthy' ? 'healthy' : c.condition === 'service_completed_successfully' ? 'completed' : 'started'}`);
      if (r.verdict.reason.startsWith('never started')) r.verdict.reason = `never started: compose stopped before it; it waits for ${waits.join(', ') || 'a service that failed'}`;
      notStarted.set(svc, /^(exited|restarts)/.test(r.verdict.reason) ? (lines.length ? lines : [r.verdict.reason]) : [...lines, r.verdict.reason]);
    } else if (r.verdict.failedProbes && r.verdict.afterMs > LATE_MS && r.health) {
      startup.push({ kind: 'late', service: r.service, text: `${r.service} started late: healthy ${(r.verdict.afterMs / 1000).toFixed(1)} s after it started, ${r.verdict.failedProbes} healthcheck(s) failed first (the project allows ${healthWindow(r.health)})` });
    }
  }
  for (const x of startup) progress(x.kind === 'late' ? `⚠ ${x.text}` : `harness: ${x.text}`);
  for (const svc of notStarted.keys()) progress(`${svc} did not start: ${notStarted.get(svc)!.at(-1) ?? 'no words'}`);
  progress(`start-up judged (${((Date.now() - t0) / 1000).toFixed(1)} s after compose up began)`);

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
    mode: input.mode, notStarted, changes, warnings, startup,
    describe: () => descriptor,
    async stop() {
      await stopCompose();
      await harness.stop();
    },
  };
}

/** compose service → container name, for this project. */
async function projectContainers(project: string): Promise<Map<string, string>> {
  const r = await execa('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Label "com.docker.compose.service"}} {{.Names}}']);
  return new Map(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]).sort());
}

/** A start this much slower than the project's first probe is reported (a few seconds' stagger
 *  while two dozen containers start on a small machine is not). */
const LATE_MS = 15_000;

/** Services run on one of our images whose healthcheck calls a program that image lacks → why. */
async function unrunnableHealthchecks(model: ComposeModel, repl: ReturnType<typeof replacements>): Promise<Map<string, string>> {
  const wanted = new Map<string, string[]>();
  const imageOf = (name: string) => repl.find((r) => r.service === name)?.image ?? model.services[name].image ?? '';
  for (const [name, s] of Object.entries(model.services)) {
    const image = imageOf(name);
    if (!isOurImage(image) || s.healthcheck?.disable || !s.healthcheck?.test) continue;
    wanted.set(image, [...new Set([...(wanted.get(image) ?? []), ...healthTools(s.healthcheck.test)])]);
  }
  const missing = await missingInImages(wanted);
  const out = new Map<string, string>();
  for (const [name, s] of Object.entries(model.services)) {
    const tool = healthTools(s.healthcheck?.test ?? []).find((t) => missing.get(imageOf(name))?.includes(t));
    if (tool) out.set(name, `its healthcheck calls ${tool}, which our stand-in image ${imageOf(name)} does not have: not judged by it (the checks judge whether it answers)`);
  }
  return out;
}

async function lastLines(name: string): Promise<string[]> {
  const r = await execa('docker', ['logs', '--tail', '8', name], { reject: false, all: true });
  return (r.all ?? '').split('\n').filter((l) => l.trim()).slice(-8);
}
