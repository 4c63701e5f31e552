// The pre-workshop checklist as data, goss-style: each item is the operator's own sentence and the
// checks that prove it. Its status is the worst of its checks: ❌ any failed, ⚠️ any warned,
// ⏭ any not run (skipped: never shown as passed), ✅ all passed.
// Items cover the guide's Step 1 (its generated secrets) and Step 8 and an operator's T-1 week, T-1 day and T-1 hour routine;
// only what a check can verify is here (no "load a workflow from the sidebar").
import type { CheckResult, Status } from '../../suites/lib/check.ts';
import { redact } from '../../stack/secrets.ts';

export interface ChecklistItem {
  phase: 'Step 1 (deployment guide)' | 'Step 8 (deployment guide)' | 'T-1 week' | 'T-1 day' | 'T-1 hour';
  /** the guide's section, when the item is one of its steps' */
  ref?: string;
  item: string;
  checks: string[];
}

export const CHECKLIST: ChecklistItem[] = [
  { phase: 'Step 1 (deployment guide)', ref: '1', item: 'Secure passwords generated (openssl rand): REDIS_PASSWORD and ADMIN_PASSWORD are not .env.example\'s, no placeholder, no pasted $(openssl …); the admin and Redis refuse those', checks: ['secrets.generated'] },

  { phase: 'Step 8 (deployment guide)', ref: '8.1', item: '/health answers "OK"', checks: ['health.nginx'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.1', item: '/api/health is healthy, Redis connected', checks: ['health.api-healthy'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.1', item: 'Ports listening on the host: 80, 443; 3000, 8080, 8188… on 127.0.0.1', checks: ['host.listeners'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.2', item: 'From outside: /health, /api/health, /api/queue/status', checks: ['health.nginx', 'health.api-healthy', 'routing.queue-status'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.3', item: 'Admin dashboard at /admin asks for login and opens with the credentials', checks: ['health.admin', 'routing.admin-auth'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.3', item: 'Instructor (/user001/) and participant workspaces load ComfyUI, each its own user', checks: ['health.frontends', 'routing.user-identity'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.3', item: 'WebSockets: /ws and every workspace answer 101 Switching Protocols', checks: ['websocket.api-upgrade', 'websocket.pong', 'websocket.user-upgrade'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.4', item: 'A queued job reaches the queue and its events reach the dashboard\'s WebSocket', checks: ['websocket.job-event'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.5', item: 'Redis bound to the Tailscale IP only (not 0.0.0.0, not the public IP)', checks: ['redis.bind-address', 'redis.not-public', 'host.listeners'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.5', item: 'Redis answers over the VPN with its password, and refuses without it', checks: ['redis.vpn-auth', 'redis.requires-password'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.5', item: 'Tailscale is up with the address Redis binds to', checks: ['host.tailscale'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.5', item: 'SSL certificate valid now, for the domain, chain trusted', checks: ['tls.valid-now', 'tls.covers-domain', 'tls.chain'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.5', item: 'Firewall: only 22, 80, 443 and RustDesk open', checks: ['host.firewall', 'exposure.public-ports'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.6', item: 'A file in user001\'s outputs is invisible to every other user', checks: ['isolation.container-view', 'isolation.cross-user-urls'] },
  { phase: 'Step 8 (deployment guide)', ref: '8.6', item: 'Separate output directories user001 … userNNN', checks: ['host.output-dirs'] },

  { phase: 'T-1 week', item: 'Certificate has 30+ days left (file and served), key matches', checks: ['tls.expiry-days', 'host.certificate-files'] },
  { phase: 'T-1 week', item: 'nginx -t passes', checks: ['host.nginx-config'] },
  { phase: 'T-1 week', item: 'TLS 1.2/1.3 only; HSTS, X-Frame-Options, X-Content-Type-Options', checks: ['tls.protocols', 'tls.security-headers'] },
  { phase: 'T-1 week', item: 'http:// redirects to https://', checks: ['routing.http-redirect'] },
  { phase: 'T-1 week', item: 'No internal service reachable from the internet', checks: ['exposure.public-ports', 'exposure.host-bindings', 'redis.not-public'] },
  { phase: 'T-1 week', item: 'CORS allows only https://DOMAIN; /outputs/ lists nothing', checks: ['routing.cors', 'routing.outputs-no-listing'] },
  { phase: 'T-1 week', item: 'Workshop workflows up to 10 MiB pass nginx', checks: ['routing.large-workflow'] },
  { phase: 'T-1 week', item: 'Path traversal refused (/view, user_id)', checks: ['isolation.view-traversal', 'isolation.user-id-validation'] },

  { phase: 'T-1 day', item: 'Every workspace answers as its own user; unknown users get 404', checks: ['health.frontends', 'routing.user-identity', 'routing.unknown-user'] },
  { phase: 'T-1 day', item: 'Admin password set (never an empty one)', checks: ['routing.admin-auth'] },
  { phase: 'T-1 day', item: 'Idle WebSockets survive past nginx\'s 60 s default', checks: ['websocket.idle-survives'] },
  { phase: 'T-1 day', item: 'The API stays quick with 100 sockets open', checks: ['websocket.many-sockets'] },
  { phase: 'T-1 day', item: '/ leads to the workspaces', checks: ['routing.root'] },
  { phase: 'T-1 day', item: 'Certificate still 7+ days from expiry', checks: ['tls.expiry-days'] },

  { phase: 'T-1 hour', item: 'Site up: /health OK, /api/health healthy with a GPU worker active', checks: ['health.nginx', 'health.api-healthy'] },
  { phase: 'T-1 hour', item: 'Every workspace loads and its WebSocket connects', checks: ['health.frontends', 'websocket.user-upgrade'] },
  { phase: 'T-1 hour', item: 'Queue answers and its API routes reach the queue-manager', checks: ['routing.queue-status', 'routing.api-methods'] },
  { phase: 'T-1 hour', item: 'A job goes through the queue (events on /ws)', checks: ['websocket.job-event'] },
  { phase: 'T-1 hour', item: 'Admin dashboard opens', checks: ['health.admin', 'routing.admin-auth'] },
];

export const checklistCheckIds = (items = CHECKLIST) => [...new Set(items.flatMap((i) => i.checks))];

export interface ItemResult extends ChecklistItem { status: Status; notes: string[] }

const RANK: Status[] = ['fail', 'warn', 'skip', 'pass'];
export const ICON: Record<Status, string> = { pass: '✅', warn: '⚠️', fail: '❌', skip: '⏭' };

/** Each item's status from its checks' results; a check with no result counts as skipped. */
export function evaluate(results: CheckResult[], items = CHECKLIST): ItemResult[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  return items.map((it) => {
    const rs = it.checks.map((id) => byId.get(id) ?? ({ id, status: 'skip', message: 'not run' } as Pick<CheckResult, 'id' | 'status' | 'message'>));
    const status = RANK.find((s) => rs.some((r) => r.status === s)) ?? 'skip';
    const notes = rs.filter((r) => r.status !== 'pass').map((r) => `${ICON[r.status]} ${r.id}: ${r.message}`);
    return { ...it, status, notes };
  });
}

export function counts(items: ItemResult[]): Record<Status, number> {
  const c: Record<Status, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const i of items) c[i.status]++;
  return c;
}

const phases = (items: ItemResult[]) => [...new Set(items.map((i) => i.phase))];
const label = (i: ItemResult) => `${i.ref ? `${i.ref} ` : ''}${i.item}`;

export function checklistText(items: ItemResult[]): string {
  const lines: string[] = [];
  for (const p of phases(items)) {
    lines.push('', p);
    for (const i of items.filter((x) => x.phase === p)) {
      lines.push(`  ${ICON[i.status]} ${label(i)}`);
      for (const n of i.notes) lines.push(`       ${n}`);
    }
  }
  return redact(lines.join('\n'));
}

export function checklistMarkdown(items: ItemResult[], o: { target: string; generatedAt: string; durationMs: number }): string {
  const c = counts(items);
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out = [
    `# Pre-workshop checklist: ${o.target}`, '',
    `Generated ${o.generatedAt} in ${(o.durationMs / 1000).toFixed(0)} s by comfy-verify. ` +
      `${ICON.pass} ${c.pass} passed · ${ICON.warn} ${c.warn} warnings · ${ICON.fail} ${c.fail} failed · ${ICON.skip} ${c.skip} not verified`, '',
    `${ICON.skip} means not verified (a check was skipped: see why), never passed.`,
  ];
  for (const p of phases(items)) {
    out.push('', `## ${p}`, '', '| | item | checks | notes |', '|---|---|---|---|');
    for (const i of items.filter((x) => x.phase === p)) {
      out.push(`| ${ICON[i.status]} | ${cell(label(i))} | ${i.checks.map((id) => `\`${id}\``).join(' ')} | ${cell(i.notes.join('; ') || '')} |`);
    }
  }
  return redact(`${out.join('\n')}\n`);
}
