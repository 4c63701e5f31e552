// Stack images: every one FROM the offline base image. Stand-in services are TypeScript,
// bundled by esbuild into one file run by Debian's Node 18. An image is rebuilt only when
// its content hash changes, so a warm setup takes seconds.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { execa } from 'execa';
import { BASE_IMAGE, IMAGE_TAG, type ServiceName } from './topology.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where runs write their reports and screenshots. */
export const REPORTS_DIR = process.env.COMFY_VERIFY_REPORTS ?? resolve(ROOT, 'reports');
/** Debian packages in the base image: the services' runtimes, and tools probes and host checks use. */
export const BASE_PACKAGES = [
  'nodejs', 'redis-server', 'nginx-light', 'ca-certificates', 'iproute2', 'procps',
  'openssh-server', 'openssl', 'netcat-openbsd',
  // what the platform's own healthchecks call (curl -f …, a Python one-liner), so a stand-in passes them
  'curl', 'python3', 'python-is-python3',
];

/** Images of our own code (the stand-ins, and the reaper that removes a killed run's containers);
 *  redis and nginx are the real programs from the base image. */
type ImageKind = ServiceName | 'reaper';
const BUNDLED: ImageKind[] = ['queue-manager', 'admin', 'frontend', 'worker', 'probe', 'reaper'];
const PLAIN: ImageKind[] = ['redis', 'nginx'];

/** What an image needs beyond the base: nginx gets the `nginx` user the official nginx images run
 *  their workers as, so an nginx.conf written for them (`user nginx;`) runs as written. */
const EXTRA: Partial<Record<ImageKind, string[]>> = {
  // htpasswd (apache2-utils) makes the participants' bcrypt files, as an operator does (`htpasswd -B`);
  // the nginx user reads them through the www-data group, like Debian's own workers.
  nginx: [
    'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends apache2-utils && rm -rf /var/lib/apt/lists/*',
    'RUN useradd --system --no-create-home --shell /usr/sbin/nologin -G www-data nginx',
  ],
};

const dockerfile = (name: ImageKind, bundled: boolean) => [
  `FROM ${BASE_IMAGE}`,
  ...(EXTRA[name] ?? []),
  ...(bundled ? ['COPY main.mjs /app/main.mjs', 'WORKDIR /app', 'CMD ["node", "/app/main.mjs"]'] : []),
  'LABEL comfy-verify.image=1',
  '',
].join('\n');

export const imageName = (name: ImageKind) => `comfy-verify/${name}:${IMAGE_TAG}`;

async function bundle(name: ImageKind, outDir: string): Promise<void> {
  await build({
    entryPoints: [join(ROOT, 'stack/services', name, 'main.ts')],
    outfile: join(outDir, 'main.mjs'),
    bundle: true, platform: 'node', target: 'node18', format: 'esm', logLevel: 'error',
    // ioredis and friends use require(); give the ESM bundle one.
    banner: { js: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);" },
  });
}

async function currentHash(image: string): Promise<string | undefined> {
  const r = await execa('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "comfy-verify.hash"}}', image], { reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

async function baseId(): Promise<string> {
  return (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE])).stdout.trim();
}

export async function ensureImages(log: (m: string) => void = console.log): Promise<void> {
  const base = await baseId();
  const buildRoot = join(ROOT, 'build/images');
  await Promise.all([...BUNDLED, ...PLAIN].map(async (name) => {
    const dir = join(buildRoot, name);
    mkdirSync(dir, { recursive: true });
    const bundled = BUNDLED.includes(name);
    if (bundled) await bundle(name, dir);
    writeFileSync(join(dir, 'Dockerfile'), dockerfile(name, bundled));
    const h = createHash('sha256').update(base).update(readFileSync(join(dir, 'Dockerfile')));
    if (bundled) h.update(readFileSync(join(dir, 'main.mjs')));
    const hash = h.digest('hex').slice(0, 16);
    const image = imageName(name);
    if ((await currentHash(image)) === hash) return;
    await execa('docker', ['build', '-q', '--label', `comfy-verify.hash=${hash}`, '-t', image, dir]);
    log(`✔ image ${image}: built`);
  }));
  log(`✔ stack images: ${BUNDLED.length + PLAIN.length} up to date`);
}
