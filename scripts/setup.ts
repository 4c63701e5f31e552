// npm run setup: everything comfy-verify needs on this machine, idempotent.
// Docker engine, the offline base image, every stack image, Chromium, the ssh client; k6's status. Prints what it did
// and what was already there; with everything present it takes seconds.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { done, step, main, HarnessError, setQuiet } from './lib/ui.ts';
import { ensureImages, BASE_PACKAGES } from '../stack/images.ts';
import { BASE_IMAGE } from '../stack/topology.ts';

const isRoot = process.getuid?.() === 0;
const has = async (cmd: string) => (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
let aptUpdated = false;

async function aptInstall(pkgs: string[]): Promise<void> {
  if (!isRoot) throw new HarnessError(`missing: ${pkgs.join(', ')}`, `install them (apt-get install -y ${pkgs.join(' ')}) or run setup as root`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) await execa('apt-get', ['update', '-qq'], { env }), (aptUpdated = true);
  await execa('apt-get', ['install', '-y', '-qq', ...pkgs], { env });
}

async function dockerRunning(): Promise<boolean> {
  return (await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false })).exitCode === 0;
}

export async function ensureDocker(): Promise<void> {
  if (await has('docker') && (await dockerRunning())) return done('docker engine: running (already)');
  if (!(await has('dockerd'))) {
    step('docker engine: installing docker.io');
    await aptInstall(['docker.io']);
  }
  if (!isRoot) throw new HarnessError('the Docker engine is not running', 'start it (sudo systemctl start docker) and run again');
  step('docker engine: starting dockerd');
  // Detached, so it outlives this command (CI and later commands need it).
  const child = (await import('node:child_process')).spawn(
    'sh', ['-c', 'exec dockerd >/var/log/comfy-verify-dockerd.log 2>&1'],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  for (let i = 0; i < 60; i++) {
    if (await dockerRunning()) return done('docker engine: started');
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new HarnessError('dockerd did not come up within 30 s', 'see /var/log/comfy-verify-dockerd.log');
}

/** The base image is built offline from Debian's mirror: there is no registry to pull from. */
export async function ensureBaseImage(): Promise<void> {
  const inspect = await execa('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "comfy-verify.packages"}}', BASE_IMAGE], { reject: false });
  if (inspect.exitCode === 0 && inspect.stdout.trim() === BASE_PACKAGES.join(',')) return done(`base image ${BASE_IMAGE}: present (already)`);
  if (!(await has('debootstrap'))) await aptInstall(['debootstrap']);
  const dir = mkdtempSync(join(tmpdir(), 'cv-base-'));
  try {
    step(`base image ${BASE_IMAGE}: debootstrap bookworm (about a minute)`);
    const t = Date.now();
    await execa('debootstrap', ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, 'bookworm', `${dir}/root`, 'http://deb.debian.org/debian']);
    // Smaller image, and no daemons that a package's postinst might expect.
    await execa('sh', ['-c', `rm -rf ${dir}/root/var/cache/apt/archives/*.deb ${dir}/root/var/lib/apt/lists/*`]);
    await execa('sh', ['-c', `tar -C ${dir}/root -c . | docker import -c 'ENV LANG=C.UTF-8' -c 'LABEL comfy-verify.packages=${BASE_PACKAGES.join(',')}' - ${BASE_IMAGE}`]);
    done(`base image ${BASE_IMAGE}: built in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function ensureChromium(): Promise<void> {
  if (existsSync('/usr/bin/chromium')) return done('chromium: /usr/bin/chromium (already)');
  step('chromium: installing Debian\'s chromium');
  await aptInstall(['chromium']);
  done('chromium: installed');
}

/** The system ssh client and ssh-keygen: host checks go over SSH (the stand-in host's too). */
export async function ensureSshClient(): Promise<void> {
  if (await has('ssh') && await has('ssh-keygen')) return done('ssh client: present (already)');
  step('ssh client: installing openssh-client');
  await aptInstall(['openssh-client']);
  done('ssh client: installed');
}

/** docker compose v2, pinned: verify --compose runs an operator's compose project with it (through
 *  testcontainers). Debian 12 has only docker-compose 1.29 (no `include:`), and no registry is
 *  reachable here, so the plugin is built from the Go module proxy (Apache-2.0): about two minutes
 *  cold on two cores, once. `go install` refuses the module (its go.mod has exclude directives);
 *  building inside the downloaded module works. */
export const COMPOSE_VERSION = 'v2.40.3';
export const COMPOSE_PLUGIN = join(process.env.HOME ?? '/root', '.docker/cli-plugins/docker-compose');
export async function ensureCompose(): Promise<void> {
  const v = await execa('docker', ['compose', 'version', '--short'], { reject: false });
  if (v.exitCode === 0 && v.stdout.trim()) return done(`docker compose: ${v.stdout.trim()} (already)`);
  const go = (await has('go')) ? 'go' : existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined;
  if (!go) throw new HarnessError('docker compose v2 is missing and there is no Go toolchain to build it', `install the compose plugin (${COMPOSE_PLUGIN}) or Go 1.24+, then run npm run setup again`);
  step(`docker compose: building ${COMPOSE_VERSION} from the Go module proxy (about two minutes, once)`);
  const t = Date.now();
  const env = { ...process.env, GOFLAGS: '-mod=mod -buildvcs=false' };
  const dl = await execa(go, ['mod', 'download', '-json', `github.com/docker/compose/v2@${COMPOSE_VERSION}`], { env, cwd: tmpdir(), reject: false });
  const dir = dl.exitCode === 0 ? (JSON.parse(dl.stdout) as { Dir?: string }).Dir : undefined;
  if (!dir) throw new HarnessError(`could not download github.com/docker/compose/v2@${COMPOSE_VERSION}: ${(dl.stderr || dl.stdout).split('\n')[0]}`, 'check that the Go module proxy is reachable (go env GOPROXY)');
  mkdirSync(dirname(COMPOSE_PLUGIN), { recursive: true });
  const b = await execa(go, ['build', '-trimpath', '-ldflags', `-s -w -X github.com/docker/compose/v2/internal.Version=${COMPOSE_VERSION}`, '-o', COMPOSE_PLUGIN, './cmd'], { env, cwd: dir, reject: false });
  if (b.exitCode !== 0) throw new HarnessError(`building docker compose failed: ${b.stderr.split('\n').filter(Boolean).at(-1)}`, 'see go build\'s output above, or install the compose plugin yourself');
  done(`docker compose: ${COMPOSE_VERSION} built in ${((Date.now() - t) / 1000).toFixed(0)} s (${COMPOSE_PLUGIN})`);
}

/** k6 is AGPL-licensed, which this workplace's licence policy excludes: comfy-verify neither builds
 *  nor downloads it. The load scripts use only k6's API and run on the built-in shim; on a machine
 *  that has k6 they run unchanged under `k6 run` (docs/k6-runner.md, "The same scripts on real k6"). */
export async function reportK6(): Promise<void> {
  const v = await execa('k6', ['version'], { reject: false });
  done(v.exitCode === 0
    ? `k6: ${v.stdout.split('\n')[0]} on PATH (npm run load uses the built-in runner; k6 run works on suites/load/ too)`
    : 'k6: not installed (AGPL, not fetched by comfy-verify): load scripts run on the built-in k6-compatible runner');
}

export async function setup(): Promise<void> {
  const t = Date.now();
  await ensureDocker();
  await ensureBaseImage();
  await ensureImages();
  await ensureChromium();
  await ensureSshClient();
  await ensureCompose();
  await reportK6();
  done(`setup complete in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  setQuiet(process.argv.includes('--quiet'));
  void main(setup);
}
