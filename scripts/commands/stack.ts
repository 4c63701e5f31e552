import { parseArgs } from 'node:util';
import { HarnessError, step, done, bold, dim, EXIT } from '../lib/ui.ts';
import { ensureReady } from '../lib/ready.ts';
import { parseMode, parseUsers, parseNginxSource, type Command } from '../lib/args.ts';
import { writeFileSync } from 'node:fs';
import { localTopology, startLocalStack, generateUserPasswords } from '../../stack/run.ts';
import { CONTRACT, userList, userHostPort } from '../../stack/topology.ts';
import { removeByLabel, countByLabel } from '../../stack/containers/labels.ts';

const HELP = `comfy-verify stack up [--mode host|container] [--users N] [--user-auth]
  Brings up the local stand-in platform (redis, queue-manager, admin, N user frontends,
  nginx, mock GPU worker, vantage probes), prints every URL, stays up until Ctrl-C.
  --user-auth: each /userNNN/ behind HTTP Basic auth with a password per participant (bcrypt
  htpasswd files, one per participant); the passwords go to a user:password file in the run dir.
comfy-verify stack down
  Removes every container, network and volume comfy-verify left behind.`;

async function stackCommandRun(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    mode: { type: 'string' }, users: { type: 'string' }, 'nginx-site': { type: 'string' }, 'nginx-conf': { type: 'string' }, help: { type: 'boolean', short: 'h' }, 'user-auth': { type: 'boolean' },
  } });
  if (values.help || !positionals[0]) return console.log(HELP), EXIT.ok;
  if (positionals[0] === 'down') {
    await ensureReady({ images: false });
    const n = await removeByLabel({});
    const left = await countByLabel();
    if (left.containers + left.networks + left.volumes) {
      // Docker refuses to remove a network that kept a stale endpoint of a killed run until dockerd restarts.
      throw new HarnessError(`could not remove ${left.containers} container(s), ${left.networks} network(s), ${left.volumes} volume(s) (docker network rm: "has active endpoints" is a stale endpoint of a killed run)`,
        'restart the Docker engine (systemctl restart docker, or stop and start dockerd), then run stack down again');
    }
    done(`removed ${n} container(s)/network(s)/volume(s)`);
    return EXIT.ok;
  }
  if (positionals[0] !== 'up') throw new HarnessError(`unknown stack command "${positionals[0]}"`, 'use: stack up | stack down');
  const mode = parseMode(values.mode);
  const users = parseUsers(values.users);
  await ensureReady();
  const t = localTopology(mode, { users, nginxSource: parseNginxSource(values['nginx-site'], values['nginx-conf']), ...(values['user-auth'] ? { userAuth: generateUserPasswords(users) } : {}) });
  step(`bringing up the ${mode}-nginx stack with ${users} users (run ${t.runId})`);
  const t0 = Date.now();
  const stack = await startLocalStack(t, (m) => step(m));
  done(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const credFile = `${t.runDir}/user-credentials.txt`;
  if (t.userAuth) writeFileSync(credFile, Object.entries(t.userAuth.passwords).map(([u, p]) => `${u}:${p}\n`).join(''), { mode: 0o600 });
  const d = t.domain;
  console.log(`
${bold('Public URLs')} (the domain resolves to the host's public address ${stack.publicAddress}):
  curl --resolve ${d}:443:${stack.publicAddress} --cacert ${t.runDir}/tls/ca.pem https://${d}/health
  https://${d}/            https://${d}/api/health     wss://${d}/ws
  https://${d}/admin       https://${d}/${userList(users)[0]}/ … /${userList(users).at(-1)}/
${bold('Host bindings')} (${mode} mode):
${mode === 'host'
    ? `  queue-manager 127.0.0.1:${CONTRACT.queueManagerPort}, admin 127.0.0.1:${CONTRACT.adminPort}, users 127.0.0.1:${userHostPort(1)}-${userHostPort(users)}`
    : '  nothing but nginx (0.0.0.0:80, 0.0.0.0:443)'}
  redis ${stack.vpnAddress}:${CONTRACT.redisPort} and queue-manager ${stack.vpnAddress}:${CONTRACT.queueManagerPort} (the VPN address only)
${bold('Credentials')} ${dim('(never printed)')}:
  admin: user "${t.secrets.adminUsername}", password from ADMIN_PASSWORD, or generated for this run
  redis: password from REDIS_PASSWORD, or generated for this run
  both are in: docker inspect cv-${t.runId}-admin / cv-${t.runId}-redis
${t.userAuth ? `  participants: ${credFile} (user:password, for --user-credentials; htpasswd files in ${t.runDir}/htpasswd)
` : ''}${bold('CA')}: ${t.runDir}/tls/ca.pem

Press Ctrl-C to stop and remove everything.`);
  // Until Ctrl-C (run.ts removes the stack); the timer keeps the event loop alive.
  await new Promise(() => setInterval(() => {}, 1 << 30));
  return EXIT.ok;
}


export const stackCommand: Command = { name: 'stack', summary: 'bring the local stand-in platform up (until Ctrl-C) or clean it away', help: HELP, run: stackCommandRun };
