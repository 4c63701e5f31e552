// host: what only the VPS host itself can show (guide 8.1, 8.5, 8.6), over the operator's SSH:
// listening sockets, firewall, Tailscale, `nginx -t`, certificate files, per-user output
// directories. Without host access every check here is skipped, never passed.
import { defineCheck, type CheckContext } from './lib/check.ts';
import { each } from './lib/http.ts';
import { hostLayout } from './lib/target.ts';
import { hostListeners, isLoopback, isWildcard } from './exposure.ts';
import { EXPIRY_FAIL_DAYS, EXPIRY_WARN_DAYS } from './tls.ts';
import { outputMounts, type OutputMount } from './lib/identity.ts';
import { randomBytes } from 'node:crypto';
import { firstLine, type Run } from './lib/look.ts';
import { CONTRACT, userHostPort } from '../stack/topology.ts';

const DAY = 86_400_000;
/** exit 127 (the shell), or sudo's words: the tool is not installed on the host. */
const notInstalled = (r: Run) => r.exitCode === 127 || (r.exitCode !== 0 && /command not found/i.test(r.stderr));

export async function hostRun(ctx: CheckContext, cmd: string[]): Promise<Run> {
  const r = await ctx.target.host!.run(cmd);
  const stub = ctx.target.host!.standIns?.[cmd[0]];
  if (stub) ctx.standIn(stub);
  ctx.record(cmd.join(' '), { exitCode: r.exitCode, stdout: r.stdout.slice(0, 1500), ...(r.stderr ? { stderr: r.stderr.slice(0, 300) } : {}) }, `on ${ctx.target.host!.where}`);
  if (r.exitCode === 255 && /ssh|connect|Permission denied/i.test(r.stderr)) ctx.fail(`SSH to the host failed: ${firstLine(r)}`);
  return r;
}

/** An address the internet may reach: every interface, or one that is not loopback, the VPN, or private. */
function facesInternet(a: string, vpn?: string): boolean {
  if (isWildcard(a)) return true;
  if (isLoopback(a) || a === vpn || a.startsWith('fe80:') || a.startsWith('fd')) return false;
  const o = a.split('.').map(Number);
  if (o.length !== 4) return true;
  return !(o[0] === 10 || (o[0] === 172 && o[1] >= 16 && o[1] < 32) || (o[0] === 192 && o[1] === 168) || (o[0] === 100 && o[1] >= 64 && o[1] < 128));
}

/** Parses `ufw status`: the rules that let traffic in from anywhere (ALLOW or LIMIT), off the Tailscale interface. */
export function parseUfw(out: string): { active: boolean; publicAllows: string[] } {
  const active = /^Status:\s*active/m.test(out);
  const publicAllows = out.split('\n').flatMap((line) => {
    const [to, , from] = line.trim().split(/\s+(ALLOW|LIMIT)(?:\s+IN)?\s+/);
    if (from === undefined || !/^Anywhere\b/.test(from) || /tailscale/i.test(to)) return [];
    return [to.replace(/\s*\(v6\)$/, '').trim()];
  });
  return { active, publicAllows: [...new Set(publicAllows)] };
}

/** The guide's firewall: 22 (OpenSSH), 80/443 (Nginx Full), RustDesk 21115-21119 (21116/udp). */
export function ufwRuleAllowed(rule: string): boolean {
  const allowedApps = ['OpenSSH', 'Nginx Full', 'Nginx HTTP', 'Nginx HTTPS', 'WWW', 'WWW Full', 'WWW Secure'];
  if (allowedApps.includes(rule)) return true;
  const m = /^(\d+)(?::(\d+))?(?:\/(tcp|udp))?$/.exec(rule);
  if (!m) return false;
  const lo = Number(m[1]), hi = Number(m[2] ?? m[1]);
  const ok = (p: number) => (CONTRACT.publicAllowed as readonly number[]).includes(p);
  for (let p = lo; p <= hi; p++) if (!ok(p)) return false;
  return true;
}

const coversWeb = (rules: string[]) => ({
  80: rules.some((r) => /^(Nginx Full|Nginx HTTP|WWW|WWW Full|80(\/tcp)?)$/.test(r)),
  443: rules.some((r) => /^(Nginx Full|Nginx HTTPS|WWW Full|WWW Secure|443(\/tcp)?)$/.test(r)),
});

const span = (us: string[]) => (us.length > 2 ? `${us[0]}…${us.at(-1)}` : us.join(', '));

/** Containers that mount the whole outputs directory: what they expose, said as it is (host path,
 *  mount point, whose directories), and with the write flag proved by a marker written in another
 *  user's directory through the host and read from inside the container. */
async function wholeTree(ctx: CheckContext, trees: string[], mounts: Map<string, OutputMount | undefined>, users: string[]): Promise<string> {
  const reader = trees[0];
  const tree = mounts.get(reader)!.tree!;
  const listing = await hostRun(ctx, ['sh', '-c', 'cd "$1" && for d in user[0-9][0-9][0-9]; do [ -d "$d" ] && echo "$d"; done', 'sh', tree.hostDir]);
  const exposed = listing.stdout.split('\n').filter((u) => users.includes(u));
  const who = trees.length === users.length ? 'every user\'s container' : trees.join(', ');
  let text = `${who} mounts the whole outputs directory (host ${tree.hostDir} at ${tree.dir}), not its own: ${exposed.length ? `${span(exposed)}'s directories` : 'every user\'s directory'} readable in it`;
  const victim = exposed.find((u) => u !== reader);
  if (victim && ctx.target.capabilities.has('write')) {
    const name = `comfy-verify-tree-${randomBytes(6).toString('hex')}.txt`;
    const content = `comfy-verify marker in ${victim}'s outputs`;
    const w = await hostRun(ctx, ['sh', '-c', 'printf %s "$3" > "$1/$2"', 'sh', `${tree.hostDir}/${victim}`, name, content]);
    try {
      const r = await ctx.target.host!.serviceExec(reader, ['cat', `${tree.dir}/${victim}/${name}`]);
      ctx.record(`${reader} reads a marker written in ${victim}'s directory`, { exitCode: r.exitCode, read: r.stdout === content }, `${tree.dir}/${victim}/${name}`);
      if (w.exitCode === 0 && r.stdout === content) text += `; proved: ${reader}'s container read a file written in ${victim}'s directory (${tree.dir}/${victim}/)`;
    } finally {
      await ctx.target.host!.run(['rm', '-f', `${tree.hostDir}/${victim}/${name}`]);
    }
  }
  return text;
}

export const hostChecks = [
  defineCheck({
    id: 'host.listeners', suite: 'host', title: 'the host\'s sockets: nginx on 80/443, internal services on loopback, Redis on the Tailscale address only',
    needs: ['host'],
    async run(ctx) {
      const listeners = await hostListeners(ctx);
      const vpn = ctx.target.vpnAddress;
      const on = (port: number) => listeners.filter((l) => l.port === port);
      if (ctx.target.mode !== 'container') {
        // The host's own nginx (guide step 7); in container mode Docker may publish by NAT alone.
        for (const p of [CONTRACT.httpPort, CONTRACT.httpsPort]) ctx.expect(on(p).length > 0, `nginx listening on port ${p}`, 'nothing listening');
      }
      if (ctx.target.mode === 'host') {
        const wanted = [CONTRACT.queueManagerPort, CONTRACT.adminPort, ...ctx.target.users.map((_, i) => userHostPort(i + 1))];
        const missing = wanted.filter((p) => !on(p).some((l) => isLoopback(l.address) || isWildcard(l.address)));
        ctx.expect(missing.length === 0, 'the queue-manager, admin and every user listening on 127.0.0.1 (the guide\'s 8.1)', `not listening: ${missing.join(', ')}`);
      }
      const redis = on(CONTRACT.redisPort);
      // Without REDIS_BIND_IP only what faces the internet is certainly wrong (a 100.x address may be Tailscale's).
      const wrong = redis.filter((l) => (vpn ? !(l.address === vpn || isLoopback(l.address)) : facesInternet(l.address)));
      ctx.expect(wrong.length === 0, `Redis on the Tailscale address ${vpn ?? '(REDIS_BIND_IP)'} only`,
        wrong.map((l) => `${l.address}:${l.port}${isWildcard(l.address) ? ' (every interface: the guide\'s ❌ WRONG)' : ''}`).join(', '));
      if (!vpn) ctx.warn('REDIS_BIND_IP (the Tailscale address) not configured: Redis\'s address checked only against 0.0.0.0 and public addresses');
      else if (!redis.length) ctx.warn(`Redis is not listening on ${vpn}:${CONTRACT.redisPort}: GPU workers cannot reach it`);
      const platform = new Set<number>([CONTRACT.httpPort, CONTRACT.httpsPort, CONTRACT.redisPort, CONTRACT.queueManagerPort, CONTRACT.adminPort]);
      const others = listeners.filter((l) => facesInternet(l.address, vpn) && !platform.has(l.port) && !(CONTRACT.publicAllowed as readonly number[]).includes(l.port));
      if (others.length) ctx.warn(`also listening where the internet may reach: ${[...new Set(others.map((l) => `${l.address}:${l.port}${l.process ? ` (${l.process})` : ''}`))].join(', ')}: the firewall must block these`);
      return `${listeners.length} listening sockets; Redis on ${redis.map((l) => l.address).join(', ') || 'no host address'}`;
    },
  }),
  defineCheck({
    id: 'host.firewall', suite: 'host', title: 'the firewall (ufw) allows only 22, 80, 443 and RustDesk 21115-21119',
    needs: ['host'],
    async run(ctx) {
      const r = await hostRun(ctx, ['ufw', 'status']);
      // Could not look: a skip with the reason (the run is then partial), never a pass or a warning.
      if (notInstalled(r)) ctx.skip(`ufw is not installed on the host (${firstLine(r)}): the firewall could not be verified; exposure.public-ports shows what is open`);
      if (/root|permission/i.test(r.stderr + r.stdout) && r.exitCode !== 0) ctx.skip(`ufw status needs root: ${firstLine(r)} (run with --sudo)`);
      ctx.expect(r.exitCode === 0, 'ufw status answers', firstLine(r));
      const { active, publicAllows } = parseUfw(r.stdout);
      ctx.expect(active, 'Status: active', r.stdout.split('\n')[0]);
      const extra = publicAllows.filter((rule) => !ufwRuleAllowed(rule));
      ctx.expect(extra.length === 0, 'no other port allowed from anywhere', `also allowed: ${extra.join(', ')}`);
      const web = coversWeb(publicAllows);
      ctx.expect(web[80] && web[443], 'Nginx Full (80 and 443) allowed', `allowed: ${publicAllows.join(', ') || 'nothing'}`);
      return `active; allowed from anywhere: ${publicAllows.join(', ')}`;
    },
  }),
  defineCheck({
    id: 'host.tailscale', suite: 'host', title: 'Tailscale is up and its address is REDIS_BIND_IP',
    needs: ['host'],
    async run(ctx) {
      const vpn = ctx.target.vpnAddress;
      const ip = await hostRun(ctx, ['tailscale', 'ip', '-4']);
      if (notInstalled(ip)) {
        // No Tailscale CLI: at least the address must be on one of the host's interfaces.
        const addr = await hostRun(ctx, ['ip', '-4', '-o', 'addr', 'show']);
        const iface = vpn ? addr.stdout.split('\n').find((l) => l.includes(` ${vpn}/`))?.split(/\s+/)[1] : undefined;
        ctx.expect(!vpn || !!iface, `the VPN address ${vpn} on one of the host's interfaces`, 'on no interface');
        ctx.skip(`tailscale is not installed on the host (${firstLine(ip)})${iface ? `; ${vpn} is on interface ${iface}` : ''}: Tailscale itself could not be asked`);
      }
      const got = ip.stdout.trim().split('\n')[0];
      ctx.expect(ip.exitCode === 0 && /^\d+\.\d+\.\d+\.\d+$/.test(got), 'tailscale ip -4 prints the host\'s Tailscale address', firstLine(ip));
      if (!vpn) ctx.warn(`REDIS_BIND_IP not configured: Tailscale's address is ${got}; Redis should bind to it`);
      else ctx.expect(got === vpn, `Tailscale's address equals REDIS_BIND_IP ${vpn}`, got);
      const st = await hostRun(ctx, ['tailscale', 'status']);
      ctx.expect(st.exitCode === 0, 'tailscale status: connected to the tailnet', firstLine(st));
      ctx.expect(st.stdout.includes(got), `tailscale status lists this host (${got})`, st.stdout.split('\n')[0]);
      return `Tailscale up at ${got}`;
    },
  }),
  defineCheck({
    id: 'host.nginx-config', suite: 'host', title: 'nginx -t: the configuration is valid (host nginx, or the nginx container)',
    needs: ['host'],
    async run(ctx) {
      const inContainer = ctx.target.mode === 'container';
      const r = inContainer ? await ctx.target.host!.serviceExec('nginx', ['nginx', '-t']) : await hostRun(ctx, ['nginx', '-t']);
      if (inContainer) ctx.record('nginx -t (in the nginx container)', { exitCode: r.exitCode, stderr: r.stderr.slice(0, 600) });
      if (!inContainer && notInstalled(r)) ctx.fail(`nginx is not installed on the host (${firstLine(r)}), but USE_HOST_NGINX is true`);
      const out = `${r.stderr}\n${r.stdout}`;
      ctx.expect(r.exitCode === 0 && /test is successful/.test(out), 'nginx: configuration file … test is successful',
        out.split('\n').find((l) => /emerg|error|failed/.test(l)) ?? firstLine(r));
      const warns = out.split('\n').filter((l) => /\[warn\]/.test(l));
      if (warns.length) ctx.warn(`nginx -t warns: ${warns.map((w) => w.replace(/^.*\[warn\]\s*/, '')).join('; ').slice(0, 300)}`);
      return inContainer ? 'test is successful (nginx container)' : 'test is successful';
    },
  }),
  defineCheck({
    id: 'host.certificate-files', suite: 'host', title: 'the certificate at SSL_CERT_PATH: dates, its key, and the one nginx serves',
    needs: ['host'],
    async run(ctx) {
      const { certPath, keyPath } = hostLayout(ctx.target);
      const r = await hostRun(ctx, ['openssl', 'x509', '-noout', '-enddate', '-startdate', '-fingerprint', '-sha256', '-in', certPath]);
      ctx.expect(r.exitCode === 0, `a readable certificate at ${certPath}`, firstLine(r));
      const notAfter = new Date(/notAfter=(.*)/.exec(r.stdout)?.[1] ?? NaN);
      const notBefore = new Date(/notBefore=(.*)/.exec(r.stdout)?.[1] ?? NaN);
      const fingerprint = /Fingerprint=([0-9A-F:]+)/i.exec(r.stdout)?.[1]?.toUpperCase();
      ctx.expect(!Number.isNaN(notAfter.getTime()), 'an expiry date (notAfter)', r.stdout.slice(0, 120));
      const days = Math.floor((notAfter.getTime() - Date.now()) / DAY);
      ctx.record('certificate file', { path: certPath, notBefore: notBefore.toISOString(), notAfter: notAfter.toISOString(), days });
      ctx.expect(notBefore.getTime() <= Date.now(), 'valid from a past date', notBefore.toISOString());
      ctx.expect(days >= EXPIRY_FAIL_DAYS, `at least ${EXPIRY_FAIL_DAYS} days to expiry`, `${days} day(s) left (${notAfter.toISOString()}): run certbot renew`);
      if (days < EXPIRY_WARN_DAYS) ctx.warn(`the certificate file expires in ${days} days: renew before the workshop (certbot renew)`);
      // The key must belong to the certificate (a mismatch keeps nginx from starting after a reload).
      const pub = await hostRun(ctx, ['sh', '-c', 'openssl x509 -noout -pubkey -in "$1" | openssl sha256; openssl pkey -pubout -in "$2" | openssl sha256', 'sh', certPath, keyPath]);
      const [certKey, key] = pub.stdout.trim().split('\n').map((l) => l.replace(/^.*= ?/, ''));
      const keyUnread = /Permission denied|unable to load|Could not (open|read)/i.test(pub.stderr) && !key;
      if (!keyUnread) ctx.expect(!!key && certKey === key, `the key at ${keyPath} matches the certificate`, pub.stderr.trim().split('\n')[0] || 'a different key');
      // The file nginx serves: renewed on disk but nginx never reloaded is a classic.
      const served = await ctx.target.tlsProbe();
      const servedFp = served.cert?.fingerprint256?.toUpperCase();
      ctx.record('served certificate', { fingerprint256: servedFp ?? null, validTo: served.cert?.valid_to ?? null });
      ctx.expect(!!fingerprint, `the file's fingerprint (openssl x509 -fingerprint)`, r.stdout.slice(0, 120));
      ctx.expect(!!servedFp, 'the certificate nginx serves, to compare with the file', `no certificate read from ${ctx.target.domain}:443 (${served.error ?? 'no answer'}): whether nginx serves this file is not known`);
      ctx.expect(servedFp === fingerprint, 'nginx serves this file\'s certificate', `it serves another, valid to ${served.cert?.valid_to}: reload nginx`);
      // The rest was checked; the key was not: that is a check that could not look, so a skip.
      if (keyUnread) ctx.skip(`${keyPath} could not be read (${pub.stderr.trim().split('\n')[0]}): run with --sudo to check the key (the certificate itself: ${days} days left, served by nginx)`);
      return `${days} days left (${notAfter.toISOString().slice(0, 10)}); key matches; served by nginx`;
    },
  }),
  defineCheck({
    id: 'host.output-dirs', suite: 'host', title: 'data/outputs has a separate directory for every user, mounted into that user\'s container only',
    needs: ['host'],
    async run(ctx) {
      const { outputsDir } = hostLayout(ctx.target);
      const users = ctx.target.users;
      // One round trip: kind and inode of each user's directory (a symlink counts as not separate).
      const script = 'cd "$1" || exit 3; shift; for u in "$@"; do if [ -L "$u" ]; then echo "$u symlink $(readlink "$u")"; elif [ -d "$u" ]; then echo "$u dir $(stat -c %i "$u")"; else echo "$u missing"; fi; done';
      const r = await hostRun(ctx, ['sh', '-c', script, 'sh', outputsDir, ...users]);
      ctx.expect(r.exitCode === 0, `the outputs directory ${outputsDir} exists on the host`, firstLine(r) || `exit code ${r.exitCode}`);
      const onHost = new Map(r.stdout.trim().split('\n').map((l) => l.split(' ')).map(([u, kind, v]) => [u, { kind, v }]));
      const bad = users.filter((u) => onHost.get(u)?.kind !== 'dir').map((u) => `${u}: ${onHost.get(u)?.kind ?? 'missing'}${onHost.get(u)?.v ? ` → ${onHost.get(u)!.v}` : ''}`);
      const byInode = new Map<string, string>();
      for (const u of users) if (onHost.get(u)?.kind === 'dir') byInode.set(onHost.get(u)!.v, u);
      // What each container really mounts at its output directory: the same inode as its own host directory.
      const crossed: string[] = [], stopped: string[] = [];
      const mounts = await outputMounts(ctx.target.host!, users);
      const dirs = new Map([...mounts].map(([u, m]) => [u, m?.dir]));
      const trees = users.filter((u) => mounts.get(u)?.tree);
      if (trees.length) crossed.push(await wholeTree(ctx, trees, mounts, users));
      await each(users.filter((u) => !trees.includes(u)), async (u) => {
        const dir = dirs.get(u) ?? '/nonexistent';
        const c = await ctx.target.host!.serviceExec(u, ['stat', '-c', '%i', dir]);
        const inode = c.stdout.trim();
        const owner = byInode.get(inode);
        // A stopped container is the health suite's finding; its mount cannot be seen, so say so.
        if (c.exitCode !== 0 && /No such container|is not running/i.test(c.stderr)) stopped.push(u);
        else if (!dirs.get(u)) crossed.push(`${u}: no output directory mounted`);
        else if (c.exitCode !== 0) crossed.push(`${u}: cannot stat ${dir} (${firstLine(c)})`);
        else if (owner !== u) crossed.push(`${u}'s ${dir} is ${owner ? `${owner}'s directory` : `not data/outputs/${u} (inode ${inode})`}`);
      }, 8);
      ctx.record('containers\' output directories', { checked: users.length, wrong: crossed });
      ctx.expect(bad.length === 0, `${outputsDir}/user001…${users.at(-1)} all separate directories`, bad.join('; '));
      ctx.expect(crossed.length === 0, 'each user\'s container mounts its own directory', crossed.join('; '));
      if (stopped.length) ctx.warn(`not running, mounts not checked: ${stopped.join(', ')}`);
      return `${users.length} separate directories under ${outputsDir}, each mounted by its own user only`;
    },
  }),
];
