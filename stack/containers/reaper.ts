// A run's reaper (stack/services/reaper, Ryuk's protocol): a container that this process keeps a TCP
// connection to, and that removes everything of the run once the connection has been gone for a
// couple of seconds. So a run killed outright (kill -9, a CI timeout, an OOM kill) leaves nothing
// behind even when no other run follows. Ctrl-C and normal exits still remove the run at once by
// label (the reaper with it: it carries the run's labels).
// It filters by the run's label only, so another run, started meanwhile, is never its to touch.
// testcontainers' own Ryuk stays off: its filter is its session, which the networks we make with the
// docker CLI do not carry, and a reaper it shares across processes waits for all of them to go.
import { connect, type Socket } from 'node:net';
import { execa } from 'execa';
import { labelsFor } from './labels.ts';
import { IMAGE_TAG } from '../topology.ts';
import { HarnessError } from '../errors.ts';

export const REAPER_SERVICE = 'reaper';
/** How long after this process is gone the run is removed. The connection only drops when the
 *  process dies (a suspended machine keeps it), so it need not be Ryuk's 10 s. */
export const REAPER_GRACE = '3s';

export interface Reaper {
  /** Registers one more filter (a line of Ryuk's protocol), once the reaper has acknowledged it. */
  add(filter: string): Promise<void>;
}

const dockerSocket = () => (process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock');

/** Our reaper is given the run's label when it is created (REAPER_FILTERS), so what the run creates
 *  before this process has connected is covered too: a reaper no one reached removes it after
 *  CONNECT_TIMEOUT, well beyond the time this process gives itself to connect (or else fails the run). */
const CONNECT_TIMEOUT = '30s';
const CONNECT_WITHIN_MS = 15_000;

/** Starts the run's reaper. `created`: it exists and knows the run's label (what the run creates from
 *  then on is covered); `connected`: this process holds its connection and it has acknowledged. */
export function startReaper(runId: string): { created: Promise<void>; connected: Promise<Reaper> } {
  const filter = `label=comfy-verify.run=${runId}`;
  const labels = Object.entries(labelsFor(runId, REAPER_SERVICE)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  // Reached at its address on Docker's default bridge, as the services are for readiness: no port
  // published, so nothing of it listens on the host.
  const created = execa('docker', ['run', '-d', '--rm', '--name', `cv-${runId}-${REAPER_SERVICE}`, ...labels,
    '-v', `${dockerSocket()}:/var/run/docker.sock`, '-e', `REAPER_FILTERS=${filter}`,
    '-e', `RYUK_RECONNECTION_TIMEOUT=${REAPER_GRACE}`, '-e', `RYUK_CONNECTION_TIMEOUT=${CONNECT_TIMEOUT}`,
    `comfy-verify/reaper:${IMAGE_TAG}`], { reject: false }).then((run) => {
    if (run.exitCode !== 0) throw new HarnessError(`the run's reaper did not start: ${run.stderr.split('\n').filter(Boolean).at(-1)}`, 'run npm run setup (it builds comfy-verify/reaper:1)');
    return run.stdout.trim();
  });
  const connected = created.then(async (id) => {
    const host = (await execa('docker', ['inspect', '--format', '{{.NetworkSettings.IPAddress}}', id])).stdout.trim();
    const sock = await connectWithAck(host, filter, CONNECT_WITHIN_MS);
    return { add: (f: string) => send(sock, f) };
  });
  return { created: created.then(() => {}), connected };
}

/** Connects once the reaper listens (refused until then) and sends the first filter: only its ACK
 *  says the reaper has it. */
async function connectWithAck(host: string, filter: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const sock = connect({ host, port: 8080, timeout: 1_000 });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', () => { sock.setTimeout(0); resolve(); });
        sock.once('error', reject);
        sock.once('timeout', () => reject(new Error('connect timed out')));
      });
      await send(sock, filter);
      // Never holds this process open; its end, however it comes, is what the reaper waits for.
      sock.unref();
      sock.on('error', () => {});
      return sock;
    } catch (e) {
      last = (e as Error).message;
      sock.destroy();
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new HarnessError(`the run's reaper did not answer on ${host}:8080 (${last})`, 'docker logs of the cv-…-reaper container say why');
}

function send(sock: Socket, filter: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = '';
    const done = (e?: Error) => { sock.off('data', onData); sock.off('close', onClose); clearTimeout(timer); e ? reject(e) : resolve(); };
    const onData = (d: Buffer) => { got += d; if (got.includes('ACK\n')) done(); };
    const onClose = () => done(new Error('closed before ACK'));
    const timer = setTimeout(() => done(new Error('no ACK within 5 s')), 5_000);
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.write(`${filter}\n`);
  });
}
