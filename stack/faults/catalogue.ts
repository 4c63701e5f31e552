// The fault catalogue: deployment mistakes that would ruin a workshop, each injected into the
// stack and each naming the checks that must turn red. `npm run faults` proves every one caught.
import { fileURLToPath } from 'node:url';
import { CONTRACT, PROBE_IDLE, userId, userList, type NginxMode, type Topology } from '../topology.ts';
import { defineFault, withService, withNginx, withUserAuth, editLocation, clone, type Fault } from './fault.ts';
import { PLATFORM_ENV_EXAMPLE } from '../env-file.ts';

const DAY = 86_400_000;
const GUIDE_SITE_FILE = fileURLToPath(new URL('../../fixtures/nginx/guide-host-site.conf', import.meta.url));
// Each fault runs in one mode unless the two modes differ in what it breaks (bindings):
// the catalogue stays within minutes.
const both = ['host', 'container'] as const;

/** The checks that submit or follow jobs: collateral of any fault that takes the queue away. */
/** The resilience checks that submit jobs (and read /api and /ws) around what they restart. */
const RESILIENCE_JOB_CHECKS = ['resilience.redis-restart', 'resilience.queue-manager-restart', 'resilience.worker-vanishes'];
const JOB_CHECKS = ['jobs.lifecycle', 'jobs.failure', 'jobs.cancel', 'jobs.priority', 'jobs.queue-order', 'jobs.queue-full', 'jobs.invalid', 'browser.queue-prompt', 'browser.dashboard'];

/** Drops lines matching re inside one location block. */
const dropInLocation = (conf: string, path: string, re: RegExp) =>
  editLocation(conf, path, (body) => body.split('\n').filter((l) => !re.test(l)).join('\n'));

export const FAULTS: Fault[] = [
  defineFault({
    id: 'redis-on-all-interfaces', modes: [...both],
    description: 'Redis published on 0.0.0.0:6379 (the guide\'s ❌ WRONG case): reachable from the internet',
    expect: ['redis.not-public', 'redis.bind-address', 'exposure.public-ports', 'exposure.host-bindings', 'host.listeners'],
    message: /saw open on [\d.]+:6379: Redis faces the internet/,
    apply: (t) => withService(t, 'redis', (s) => { s.publish = [{ hostIp: '0.0.0.0', hostPort: CONTRACT.redisPort, containerPort: CONTRACT.redisPort }]; }, 'redis-on-all-interfaces'),
  }),
  defineFault({
    id: 'redis-not-published', modes: ['container'],
    description: 'Redis published nowhere (its ports line dropped, "internal network only"): GPU workers on the VPN can never reach it',
    expect: ['redis.bind-address', 'redis.vpn-auth', 'redis.requires-password'],
    message: /Redis listening on [\d.]+:6379 for GPU workers; saw not listening on the host/,
    apply: (t) => withService(t, 'redis', (s) => { s.publish = []; }, 'redis-not-published'),
  }),
  defineFault({
    id: 'redis-without-persistence', modes: ['host'],
    description: 'Redis started with appendonly off and no snapshots (a copied dev command line): a Redis restart mid-workshop empties the queue',
    expect: ['resilience.redis-restart'],
    message: /gone after Redis restarted/,
    apply: (t) => withService(t, 'redis', (s) => {
      const c = s.command!;
      c.splice(c.indexOf('--appendonly'), 2, '--appendonly', 'no', '--save', '');
    }, 'redis-without-persistence'),
  }),
  defineFault({
    id: 'worker-heartbeats-ignored', modes: ['container'],
    description: 'a queue-manager that no longer counts the workers\' next-job heartbeats: workers_active 0 while a worker polls, so the operator thinks the GPUs are gone',
    expect: ['health.api-healthy'],
    message: /workers_active above 0/,
    standIn: 'a queue-manager whose next-job route no longer writes worker:<id>:heartbeat (a refactor that dropped the SETEX)',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_NO_HEARTBEAT = 'true'; }, 'worker-heartbeats-ignored'),
  }),
  defineFault({
    id: 'job-timeout-not-enforced', modes: ['host'],
    description: 'a queue-manager without its JOB_TIMEOUT clean-up: a job whose worker vanished stays `running` for ever, and its participant waits for nothing',
    expect: ['resilience.worker-vanishes'],
    message: /still running after \d+ s: .*\(no JOB_TIMEOUT clean-up\)/,
    standIn: 'a queue-manager whose periodic timeout task is never scheduled (or died once and was not restarted)',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_NO_JOB_TIMEOUT = 'true'; }, 'job-timeout-not-enforced'),
  }),
  defineFault({
    id: 'queue-cleared-on-restart', modes: ['container'],
    description: 'a queue-manager that clears the waiting queue when it starts: a restart mid-workshop silently drops every participant\'s waiting job',
    expect: ['resilience.queue-manager-restart'],
    message: /gone after the queue-manager restarted/,
    standIn: 'a queue-manager that resets its Redis keys when it starts (a \'clean start\' left over from development)',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_CLEAR_QUEUE_ON_START = 'true'; }, 'queue-cleared-on-restart'),
  }),
  defineFault({
    id: 'dashboard-never-reconnects', modes: ['host'],
    description: 'the admin dashboard opens its /ws once: after a queue-manager restart it shows "○ Reconnecting…" for ever and the operator watches a frozen queue',
    expect: ['resilience.queue-manager-restart'],
    message: /its \/ws does not reconnect/,
    standIn: 'a dashboard script whose WebSocket onclose handler does not reconnect',
    apply: (t) => withService(t, 'admin', (s) => { s.env.FAULT_NO_WS_RECONNECT = 'true'; }, 'dashboard-never-reconnects'),
  }),
  defineFault({
    id: 'redis-without-password', modes: ['host'],
    description: 'Redis started without --requirepass: anyone on the VPN can read and change the queue',
    expect: ['redis.requires-password'],
    // The configured password is then not in force: AUTH with it is refused too.
    collateral: ['redis.vpn-auth'],
    message: /saw PONG: Redis runs without a password/,
    apply: (t) => {
      const c = withService(t, 'redis', (s) => {
        const i = s.command!.indexOf('--requirepass');
        s.command!.splice(i, 2);
      }, 'redis-without-password');
      return withService(c, 'queue-manager', (s) => { s.env.REDIS_PASSWORD = ''; }, 'redis-without-password');
    },
  }),
  defineFault({
    id: 'redis-down', modes: ['host'],
    description: 'Redis is not running: the queue-manager must report itself unhealthy',
    expect: ['health.api-healthy', 'redis.vpn-auth', 'redis.requires-password'],
    // With no Redis there is no queue: everything that reads or writes it fails too.
    // resilience.redis-restart first needs a healthy queue-manager.
    collateral: ['routing.queue-status', 'routing.api-methods', 'routing.cors', 'websocket.job-event', 'websocket.many-sockets', 'redis.bind-address', 'isolation.user-id-validation', ...JOB_CHECKS, ...RESILIENCE_JOB_CHECKS],
    message: /unhealthy|redis_connected/,
    apply: (t) => withService(t, 'redis', (s) => { s.enabled = false; }, 'redis-down'),
  }),
  defineFault({
    id: 'queue-manager-on-all-interfaces', modes: ['host'],
    description: 'host mode: the queue-manager published as "3000:3000" (every interface) instead of 127.0.0.1:3000',
    expect: ['exposure.public-ports', 'exposure.host-bindings'],
    // "3000:3000" alone: every interface (which includes the VPN address workers use).
    message: /saw open: 3000 \(queue-manager\)/,
    apply: (t) => withService(t, 'queue-manager', (s) => {
      s.publish = [{ hostIp: '0.0.0.0', hostPort: CONTRACT.queueManagerPort, containerPort: CONTRACT.queueManagerPort }];
    }, 'queue-manager-on-all-interfaces'),
  }),
  defineFault({
    id: 'admin-published-container-mode', modes: ['container'],
    description: 'container mode: the guide\'s "8080:8080" for the admin, which publishes on every interface',
    expect: ['exposure.public-ports', 'exposure.host-bindings'],
    message: /saw open: 8080 \(admin dashboard\)/,
    apply: (t) => withService(t, 'admin', (s) => { s.publish = [{ hostIp: '0.0.0.0', hostPort: CONTRACT.adminPort, containerPort: CONTRACT.adminPort }]; }, 'admin-published-container-mode'),
  }),
  defineFault({
    id: 'frontend-published-container-mode', modes: ['container'],
    description: 'container mode: user005\'s frontend published as "8192:8188" (every interface): a workspace reachable around nginx',
    expect: ['exposure.host-bindings', 'exposure.public-ports'],
    message: /saw user005 ComfyUI listens on 0\.0\.0\.0:8192/,
    apply: (t) => withService(t, userId(5), (s) => { s.publish = [{ hostIp: '0.0.0.0', hostPort: 8192, containerPort: CONTRACT.frontendPort }]; }, 'frontend-published-container-mode'),
  }),
  defineFault({
    id: 'ws-without-upgrade-headers', modes: ['container'],
    description: '/ws proxied without the Upgrade and Connection headers: no WebSocket reaches the queue-manager',
    expect: ['websocket.api-upgrade', 'websocket.pong', 'websocket.job-event', 'websocket.idle-survives', 'websocket.many-sockets'],
    // Checks that follow a job by its /ws events, and the dashboard's live view, go blind too.
    collateral: ['jobs.lifecycle', 'jobs.failure', 'jobs.cancel', 'browser.dashboard', 'resilience.queue-manager-restart'],
    message: /WebSocket \/ws: expected 101 Switching Protocols, got HTTP \d+/,
    apply: (t) => withNginx(t, 'ws-without-upgrade-headers', (c) => dropInLocation(c, '= /ws', /proxy_set_header (Upgrade|Connection)/)),
  }),
  defineFault({
    id: 'user-ws-without-upgrade-headers', modes: ['host'],
    description: 'the user locations proxied without the Upgrade headers: ComfyUI\'s own WebSocket fails',
    expect: ['websocket.user-upgrade', 'websocket.idle-survives', 'browser.workspaces'],
    message: /every workspace WebSocket upgrades; saw user\d{3}: expected 101 Switching Protocols/,
    apply: (t) => withNginx(t, 'user-ws-without-upgrade-headers', (c) =>
      c.replace(/(location \/user\d+\/ \{[^}]*?)\n\s*proxy_set_header Upgrade[^\n]*\n\s*proxy_set_header Connection[^\n]*/g, '$1')),
  }),
  defineFault({
    id: 'ws-default-read-timeout', modes: ['host'],
    description: '/ws without proxy_read_timeout: nginx\'s 60 s default drops idle participants\' sockets',
    expect: ['websocket.idle-survives'],
    message: /both sockets open after \d+ s idle; saw \/ws closed \(code \d+\) after \d+ s/,
    apply: (t) => withNginx(t, 'ws-default-read-timeout', (c) => dropInLocation(c, '= /ws', /proxy_(read|send)_timeout/)),
  }),
  defineFault({
    id: 'user-location-crossed', modes: ['host'],
    description: 'user003\'s location points at user004\'s frontend (a copy-paste slip): user003 works in someone else\'s workspace',
    expect: ['routing.user-identity'],
    message: /saw \/user003\/ serves user004/,
    apply: (t) => withNginx(t, 'user-location-crossed', (c) => editLocation(c, '/user003/', (b) =>
      b.replace(/proxy_pass http:\/\/[^;]+;/, (t.mode === 'host' ? `proxy_pass http://127.0.0.1:${8187 + 4}/;` : `proxy_pass http://${userId(4)}:${CONTRACT.frontendPort}/;`)))),
  }),
  defineFault({
    id: 'user-location-missing', modes: ['container'],
    description: 'user007 has no location block: that participant gets a 404',
    expect: ['routing.user-identity', 'health.frontends', 'websocket.user-upgrade', 'browser.workspaces'],
    // nginx's own 404 is no refusal by the workspace: its /view cannot be judged. With per-user auth,
    // the location's auth_basic_user_file goes with it: nginx reads no file for user007.
    // Its participant's own password then opens nothing: whether others are refused there cannot be judged.
    collateral: ['isolation.view-traversal', 'access.htpasswd-files', 'access.own-credentials', 'access.cross-user'],
    message: /saw \/user007\/ → HTTP \d+, no identity file/,
    apply: (t) => withNginx(t, 'user-location-missing', (c) => editLocation(c, '/user007/', () => ' return 404; ')),
  }),
  defineFault({
    id: 'frontend-down', modes: ['container'],
    description: 'user012\'s frontend container is not running',
    // The traversal check first: a dead workspace's 502 is not a refusal (it once counted as one).
    expect: ['isolation.view-traversal', 'health.frontends', 'routing.user-identity', 'websocket.user-upgrade', 'browser.workspaces'],
    // Its participant's password opens nothing there (502): refusals of others cannot be judged either.
    collateral: ['access.own-credentials', 'access.cross-user', 'isolation.container-view', 'isolation.cross-user-urls', 'jobs.lifecycle'],
    message: /user012: its ComfyUI did not answer/,
    apply: (t) => withService(t, userId(12), (s) => { s.enabled = false; }, 'frontend-down'),
  }),
  defineFault({
    id: 'nginx-resolves-names-once', modes: ['container'],
    description: 'nginx resolves the containers\' names only when it starts (`proxy_pass http://user020:8188/`, as most hand-written configs and the platform\'s own nginx.conf do): a container recreated mid-workshop comes back at another address, and nginx keeps sending its participant to the old one, or to whichever container took it',
    expect: ['resilience.recreated-containers'],
    // Once the admin was recreated, /admin stays a 502: the later check that watches the dashboard
    // through a queue-manager restart cannot open it.
    collateral: ['resilience.queue-manager-restart'],
    message: /old ones/,
    apply: (t) => { const c = clone(t); c.nginx.resolveAtStart = true; c.faults.push('nginx-resolves-names-once'); return c; },
  }),
  defineFault({
    id: 'certificate-expired', modes: ['host'],
    description: 'the certificate expired yesterday (certbot renewal failed)',
    expect: ['tls.valid-now', 'tls.expiry-days', 'host.certificate-files'],
    message: /not expired .*; saw expired \d+ day\(s\) ago/,
    apply: (t) => { const c = clone(t); c.tls.notBefore = new Date(Date.now() - 91 * DAY); c.tls.notAfter = new Date(Date.now() - DAY); c.faults.push('certificate-expired'); return c; },
  }),
  defineFault({
    id: 'certificate-expired-untrusted', modes: ['host'],
    description: 'an expired, self-made certificate: the chain check must still see that nobody trusts its issuer (it once only checked the leaf against the issuer the server sent)',
    expect: ['tls.chain', 'tls.valid-now', 'tls.expiry-days', 'host.certificate-files'],
    message: /not signed by a trusted CA/,
    apply: (t) => {
      const c = clone(t);
      Object.assign(c.tls, { notBefore: new Date(Date.now() - 91 * DAY), notAfter: new Date(Date.now() - DAY), untrustedIssuer: true });
      c.faults.push('certificate-expired-untrusted');
      return c;
    },
  }),
  defineFault({
    id: 'certificate-expiring', modes: ['container'],
    description: 'the certificate expires in 3 days',
    expect: ['tls.expiry-days', 'host.certificate-files'],
    message: /at least \d+ days to expiry; saw \d day\(s\) left/,
    apply: (t) => { const c = clone(t); c.tls.notBefore = new Date(Date.now() - 87 * DAY); c.tls.notAfter = new Date(Date.now() + 3 * DAY); c.faults.push('certificate-expiring'); return c; },
  }),
  defineFault({
    id: 'certificate-wrong-name', modes: ['container'],
    description: 'the certificate is for another name (a copied certificate)',
    expect: ['tls.covers-domain'],
    message: /saw subject old\.ahelme\.net/,
    apply: (t) => { const c = clone(t); c.tls.altNames = ['old.ahelme.net']; c.tls.domain = 'old.ahelme.net'; c.faults.push('certificate-wrong-name'); return c; },
  }),
  defineFault({
    id: 'tls10-enabled', modes: ['container'],
    description: 'ssl_protocols still offers TLS 1.0 and 1.1',
    expect: ['tls.protocols'],
    message: /TLSv1 refused; saw TLSv1 accepted/,
    apply: (t) => withNginx(t, 'tls10-enabled', (c) => c
      .replace(/ssl_protocols [^;]+;/, 'ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;')
      // OpenSSL 3 needs security level 0 before it will speak TLS 1.0 at all.
      .replace(/ssl_ciphers [^;]+;/, 'ssl_ciphers DEFAULT:@SECLEVEL=0;')),
  }),
  defineFault({
    id: 'hsts-missing', modes: ['host'],
    description: 'Strict-Transport-Security header not sent',
    expect: ['tls.security-headers'],
    message: /Strict-Transport-Security \"absent\"/,
    apply: (t) => withNginx(t, 'hsts-missing', (c) => c.replace(/\n[^\n]*add_header Strict-Transport-Security[^\n]*/g, '')),
  }),
  defineFault({
    id: 'outputs-autoindex-on', modes: ['container'],
    description: '/outputs/ with autoindex on: every participant\'s images listed to the world',
    expect: ['routing.outputs-no-listing', 'isolation.cross-user-urls'],
    message: /GET \/outputs\/ shows no directory listing; saw HTTP 200 with a listing/,
    apply: (t) => withNginx(t, 'outputs-autoindex-on', (c) => editLocation(c, '/outputs/', (b) => b.replace(/autoindex off;/, 'autoindex on;'))),
  }),
  defineFault({
    id: 'shared-output-volume', modes: ['host'],
    description: 'one output directory mounted into every user\'s container',
    // A finished job's image is then at /app/output/<user>/ inside every container.
    expect: ['isolation.container-view', 'isolation.cross-user-urls', 'host.output-dirs', 'jobs.lifecycle'],
    // Every user writes the identity file into the one shared directory: the URLs no longer tell users apart.
    collateral: ['routing.user-identity'],
    message: /user\d{3} sees \/app\/output\/comfy-verify-marker-/,
    apply: (t) => {
      let c = t;
      for (const s of t.services.filter((x) => x.kind === 'frontend')) {
        c = withService(c, s.name, (x) => { x.mounts = x.mounts.map((m) => (m.target === '/app/output' ? { ...m, source: `${t.runDir}/data/outputs` } : m)); }, 'shared-output-volume');
      }
      c.faults = ['shared-output-volume'];
      return c;
    },
  }),
  defineFault({
    id: 'admin-empty-password', modes: ['container'],
    description: 'ADMIN_PASSWORD left empty, and a dashboard that then lets anyone in with an empty password',
    expect: ['routing.admin-auth'],
    // The operator's real password no longer opens the dashboard (nor the one left open through a restart).
    collateral: ['browser.dashboard', 'resilience.queue-manager-restart', 'secrets.generated'],
    message: /an empty password → 401; saw HTTP 200/,
    standIn: 'an admin that accepts the empty ADMIN_PASSWORD the .env left blank instead of refusing to start (the empty value itself is configuration)',
    apply: (t) => withService(t, 'admin', (s) => { s.env.ADMIN_PASSWORD = ''; s.env.FAULT_ACCEPT_EMPTY_PASSWORD = 'true'; }, 'admin-empty-password'),
  }),
  defineFault({
    id: 'admin-example-password', modes: ['host'],
    description: 'ADMIN_PASSWORD still the one .env.example ships (the guide\'s Step 1 skipped, or its sed left it): anyone who has read the platform\'s repository opens the dashboard',
    expect: ['secrets.generated'],
    message: /ADMIN_PASSWORD: the admin dashboard lets admin in with the platform's `\.env\.example` value/,
    // The operator's .env says so, and the harness reads that .env: it knows this password, as it would.
    apply: (t) => {
      const c = withService(t, 'admin', (s) => { s.env.ADMIN_PASSWORD = PLATFORM_ENV_EXAMPLE.ADMIN_PASSWORD; }, 'admin-example-password');
      c.secrets = { ...c.secrets, adminPassword: PLATFORM_ENV_EXAMPLE.ADMIN_PASSWORD };
      return c;
    },
  }),
  defineFault({
    id: 'nginx-default-body-limit', modes: ['host'],
    description: 'client_max_body_size left at nginx\'s 1 MB default: workshop workflows over 1 MB get 413',
    expect: ['routing.large-workflow'],
    message: /saw HTTP 413 from nginx \(client_max_body_size too small\)/,
    apply: (t) => withNginx(t, 'nginx-default-body-limit', (c) => c.replace(/\n[^\n]*client_max_body_size[^\n]*/g, '')),
  }),
  defineFault({
    id: 'cors-any-origin', modes: ['container'],
    description: 'CORS on /api/ allows any origin (*)',
    expect: ['routing.cors'],
    message: /Access-Control-Allow-Origin: https:\/\/comfy\.ahelme\.net; saw \*/,
    apply: (t) => withNginx(t, 'cors-any-origin', (c) => c.replace(/Access-Control-Allow-Origin "https:\/\/[^"]+"/g, 'Access-Control-Allow-Origin "*"')),
  }),
  defineFault({
    id: 'http-not-redirected', modes: ['host'],
    description: 'port 80 serves the site instead of redirecting to https',
    expect: ['routing.http-redirect'],
    message: /HTTP → 301; saw HTTP 200/,
    apply: (t) => withNginx(t, 'http-not-redirected', (c) => c.replace(/return 301 https:\/\/\$host[^;]*;/, 'return 200 "OK\\n";')),
  }),
  defineFault({
    id: 'api-prefix-stripped', modes: ['container'],
    description: 'the guide\'s /api/ location (proxy_pass with a trailing /): /api/queue/status reaches /queue/status',
    expect: ['routing.queue-status', 'routing.api-methods'],
    // The whole queue-manager API is unreachable: every check that submits or polls fails too.
    // resilience.redis-restart reads /api/health and submits jobs through /api too.
    // routing.cors asks /api/queue/status from another origin: a 404 there has no CORS headers to judge.
    collateral: ['routing.large-workflow', 'routing.cors', 'websocket.job-event', 'websocket.many-sockets', 'isolation.user-id-validation', ...JOB_CHECKS, ...RESILIENCE_JOB_CHECKS],
    // The static form gets the guide's trailing slash; the per-request form (a variable upstream) strips by rewrite.
    message: /GET \/api\/queue\/status → 200; saw HTTP 404/,
    apply: (t) => withNginx(t, 'api-prefix-stripped', (c) => editLocation(c, '/api/', (b) => b.replace(/proxy_pass (http:\/\/[^;/]+);/,
      (_m, up: string) => (up.includes('$') ? `rewrite ^/api/(.*)$ /$1 break; proxy_pass ${up};` : `proxy_pass ${up}/;`)))),
  }),
  defineFault({
    id: 'guide-site-file-as-written', modes: ['host'],
    description: 'the deployment guide\'s Step 4 nginx site file, as written: /api/ strips the prefix, no body limit, no security headers on /health and /api/',
    expect: ['routing.queue-status', 'routing.api-methods', 'routing.large-workflow', 'tls.security-headers'],
    // resilience.redis-restart reads /api/health and submits jobs through /api too.
    collateral: ['routing.cors', 'websocket.job-event', 'websocket.many-sockets', 'isolation.user-id-validation', ...JOB_CHECKS, ...RESILIENCE_JOB_CHECKS],
    message: /GET \/api\/queue\/status → 200; saw HTTP 404/,
    apply: (t) => { const c = clone(t); c.nginx.source = { kind: 'operator', file: GUIDE_SITE_FILE }; c.faults.push('guide-site-file-as-written'); return c; },
  }),
  defineFault({
    id: 'nginx-health-missing', modes: ['container'],
    description: 'no /health location in nginx: the operator\'s uptime monitor sees 404',
    expect: ['health.nginx'],
    message: /GET \/health → 200; saw HTTP 404/,
    apply: (t) => withNginx(t, 'nginx-health-missing', (c) => editLocation(c, '= /health', () => ' return 404; ')),
  }),
  defineFault({
    id: 'admin-down', modes: ['host'],
    description: 'the admin dashboard container is not running',
    expect: ['health.admin', 'routing.admin-auth', 'browser.dashboard'],
    // Seen on the host too: nothing listens on 127.0.0.1:8080 any more; and there is no admin to restart.
    // The queue-manager restart watches the open dashboard reconnect.
    collateral: ['host.listeners', 'resilience.recreated-containers', 'resilience.queue-manager-restart'],
    message: /GET \/admin → 401 \(asks for credentials\); saw HTTP 502/,
    apply: (t) => withService(t, 'admin', (s) => { s.enabled = false; }, 'admin-down'),
  }),
  defineFault({
    id: 'admin-location-wrong-port', modes: ['host'],
    description: 'the /admin locations proxy to 127.0.0.1:8188 (user001\'s port) instead of 8080: /admin shows a workspace, and no dashboard',
    expect: ['health.admin', 'routing.admin-auth', 'browser.dashboard', 'resilience.recreated-containers'],
    // The queue-manager restart watches the open dashboard reconnect.
    collateral: ['resilience.queue-manager-restart'],
    message: /HTTP 200, not the dashboard/,
    apply: (t) => withNginx(t, 'admin-location-wrong-port', (c) => ['= /admin', '/admin/'].reduce((conf, loc) =>
      editLocation(conf, loc, (b) => b.replace(`127.0.0.1:${CONTRACT.adminPort}`, `127.0.0.1:${CONTRACT.firstUserHostPort}`)), c)),
  }),
  defineFault({
    id: 'root-not-redirected', modes: ['host'],
    description: '/ answers 404 instead of sending participants to a workspace',
    expect: ['routing.root'],
    message: /302 to \/user001\/ or a 200 landing page; saw HTTP 404/,
    apply: (t) => withNginx(t, 'root-not-redirected', (c) => editLocation(c, '= /', () => ' return 404; ')),
  }),
  defineFault({
    id: 'unknown-paths-to-user001', modes: ['container'],
    description: 'a catch-all location redirects every unknown path (user021, user999) to user001\'s workspace',
    expect: ['routing.unknown-user'],
    message: /GET \/user021\/ → 404; saw HTTP 302/,
    apply: (t) => withNginx(t, 'unknown-paths-to-user001', (c) => c.replace(/location \/ \{\s*return 404;\s*\}/, 'location / { return 302 /user001/; }')),
  }),
  defineFault({
    id: 'certificate-untrusted-issuer', modes: ['container'],
    description: 'a self-made certificate (not from a trusted CA, e.g. a leftover snake-oil cert)',
    expect: ['tls.chain'],
    message: /not signed by a trusted CA/,
    apply: (t) => { const c = clone(t); c.tls.untrustedIssuer = true; c.faults.push('certificate-untrusted-issuer'); return c; },
  }),
  defineFault({
    id: 'view-path-traversal', modes: ['host'],
    description: 'a frontend whose /view joins the file name as given: ../../etc/passwd is served',
    expect: ['isolation.view-traversal'],
    message: /every traversal attempt refused; saw \/user\d{3}\/view\?filename=\.\.\/.* → HTTP 200/,
    standIn: 'a ComfyUI /view (or a custom node\'s route) that joins the file name without normalising it',
    apply: (t) => {
      let c = t;
      for (const s of t.services.filter((x) => x.kind === 'frontend')) c = withService(c, s.name, (x) => { x.env.FAULT_NAIVE_VIEW = 'true'; }, 'view-path-traversal');
      c.faults = ['view-path-traversal'];
      return c;
    },
  }),
  defineFault({
    id: 'user-id-unchecked', modes: ['container'],
    description: 'a queue-manager that stores any user_id (../user002 included): a path into another user\'s outputs',
    expect: ['isolation.user-id-validation'],
    message: /every bad user_id rejected with 422; saw \"\.\.\/user002\" → HTTP 201/,
    standIn: 'a queue-manager whose job model lost its user_id pattern',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_NO_USER_ID_PATTERN = 'true'; }, 'user-id-unchecked'),
  }),
  // Host faults: what the host suite sees over SSH (the stand-in host shows data/outputs as the VPS would).
  defineFault({
    id: 'output-dir-shared', modes: ['container'],
    description: 'user002\'s output volume is ./data/outputs/user001 (a copy-paste slip in the compose file): two users share one directory',
    expect: ['host.output-dirs', 'isolation.container-view', 'isolation.cross-user-urls'],
    // user001 and user002 hold one directory, so their identity files are one file.
    collateral: ['routing.user-identity'],
    message: /user002's \/app\/output is user001's directory/,
    apply: (t) => withService(t, userId(2), (s) => {
      s.mounts = s.mounts.map((m) => (m.target === '/app/output' ? { ...m, source: `${t.runDir}/data/outputs/${userId(1)}` } : m));
    }, 'output-dir-shared'),
  }),
  defineFault({
    id: 'frontend-mounts-all-outputs', modes: ['container'],
    description: 'the last user\'s container also mounts the whole data/outputs at /mnt/gallery (meant for a shared gallery node): its own /app/output is right, yet every user\'s images are readable in it',
    expect: ['isolation.container-view'],
    message: /sees \/mnt\/gallery\/user001\//,
    apply: (t) => withService(t, userId(t.users), (s) => {
      s.mounts = [...s.mounts, { source: `${t.runDir}/data/outputs`, target: '/mnt/gallery', readonly: true }];
    }, 'frontend-mounts-all-outputs'),
  }),
  defineFault({
    id: 'output-dir-misplaced', modes: ['host'],
    description: 'user009\'s outputs mounted from ./data/output/user009 (a typo): its images land where neither the operator nor data/outputs/user009 has them',
    expect: ['host.output-dirs'],
    message: /user009's \/app\/output is not data\/outputs\/user009/,
    apply: (t) => withService(t, userId(Math.min(9, t.users)), (s) => {
      s.mounts = s.mounts.map((m) => (m.target === '/app/output' ? { ...m, source: `${t.runDir}/data/output/${s.name}` } : m));
    }, 'output-dir-misplaced'),
  }),
  defineFault({
    id: 'firewall-allows-redis', modes: ['container'],
    description: 'ufw still allows 6379/tcp from anywhere (left from testing a worker without the VPN). The stand-in host\'s ufw only reports rules; exposure checks see what is really open',
    expect: ['host.firewall'],
    message: /6379\/tcp/,
    standIn: '`ufw allow 6379/tcp` on the host (the stand-in host\'s ufw prints the rules a real one would)',
    apply: (t) => withService(t, 'sshd', (s) => { s.env.STANDIN_UFW_STATUS += `\n${'6379/tcp'.padEnd(27)}${'ALLOW'.padEnd(12)}Anywhere`; }, 'firewall-allows-redis'),
  }),
  defineFault({
    id: 'tailscale-address-changed', modes: ['host'],
    description: 'Tailscale now reports 100.99.216.72 (the VPS re-joined the tailnet) while REDIS_BIND_IP still says 100.99.216.71',
    expect: ['host.tailscale'],
    message: /100\.99\.216\.72/,
    standIn: 'the host rejoined the tailnet with a new address while .env still binds Redis to the old one (the stand-in host\'s tailscale prints the new address)',
    apply: (t) => withService(t, 'sshd', (s) => { s.env.STANDIN_TAILSCALE_IP = '100.99.216.72'; }, 'tailscale-address-changed'),
  }),
  defineFault({
    id: 'nginx-untested-edit', modes: ['host'],
    description: 'the site file on the host was edited and never tested: nginx still runs the old configuration, the next reload fails (an unclosed block)',
    expect: ['host.nginx-config'],
    message: /\[emerg\]/,
    standIn: 'an edit under /etc/nginx on the host not yet tested with nginx -t (the stand-in host\'s file holds it)',
    apply: (t) => withService(t, 'sshd', (s) => { s.env.STANDIN_NGINX_PENDING_EDIT = 'server { listen 8443; location /user021/ { proxy_pass http://127.0.0.1:8208/;'; }, 'nginx-untested-edit'),
  }),
  // Jobs and browser faults: the queue, the worker and the pages as participants use them.
  defineFault({
    id: 'worker-never-completes', modes: ['host'],
    description: 'the GPU worker takes jobs and never reports back (its ComfyUI hangs): every job stays "running"',
    expect: ['jobs.lifecycle', 'browser.queue-prompt', 'browser.dashboard'],
    message: /never reported/,
    standIn: 'a GPU worker whose ComfyUI hangs (the mock worker stands for the real one)',
    apply: (t) => withService(t, 'worker', (s) => { s.env.WORKER_COMPLETES = 'false'; }, 'worker-never-completes'),
  }),
  defineFault({
    id: 'worker-writes-other-users-outputs', modes: ['container'],
    description: 'the worker saves every image under outputs/user002/ (a hard-coded path): participants get each other\'s images',
    expect: ['jobs.lifecycle'],
    message: /user002/,
    standIn: 'a GPU worker with a hard-coded output path (the mock worker stands for the real one)',
    apply: (t) => withService(t, 'worker', (s) => { s.env.WORKER_OUTPUT_USER = userId(2); }, 'worker-writes-other-users-outputs'),
  }),
  defineFault({
    id: 'admin-not-live', modes: ['container'],
    description: 'the admin dashboard never opens its /ws: no "● Live", the operator sees the queue only every few seconds',
    expect: ['browser.dashboard'],
    // Never "● Live": not before the queue-manager restart either.
    collateral: ['resilience.queue-manager-restart'],
    message: /Live/,
    standIn: 'a dashboard whose script never opens /ws (a broken build, or a ws:// URL the HTTPS page may not open)',
    apply: (t) => withService(t, 'admin', (s) => { s.env.FAULT_NO_LIVE = 'true'; }, 'admin-not-live'),
  }),
  defineFault({
    id: 'queue-manager-freezes-on-ws', modes: ['container'],
    description: 'a queue-manager whose /ws handler blocks its event loop once a client connects (a sync call in an async service): the upgrade succeeds, then the whole API is silent',
    // Whatever touches the queue-manager after that is blocked by it: the run must name the one cause.
    rootCause: 'queue-manager',
    expect: ['websocket.pong'],
    // A check that restarts services runs unwatched (its outages are its test): Redis's restart finds
    // the frozen queue-manager without a root cause to name.
    collateral: [...RESILIENCE_JOB_CHECKS],
    message: /^blocked: queue-manager stopped answering at \d\d:\d\d:\d\d/,
    standIn: 'a blocking call (sync Redis, time.sleep) inside the FastAPI queue-manager\'s async /ws handler',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_FREEZE_ON_WS = 'true'; }, 'queue-manager-freezes-on-ws'),
  }),
  defineFault({
    id: 'api-slows-with-sockets', modes: ['host'],
    description: 'a queue-manager that does work for every open /ws client on each request (100 ms per socket beyond 20): fine in rehearsal, seconds per request with a full room',
    expect: ['websocket.many-sockets'],
    // A worker's report that waits seconds behind the slowed API can outlast JOB_TIMEOUT (8 s on the
    // local stack): a job then fails by timeout, a true consequence, for a completion as for a
    // failure report ("saw Job timeout exceeded").
    collateral: ['jobs.lifecycle', 'jobs.failure'],
    message: /p90 under \d+ ms with 100 sockets open; saw \d{4,} ms/,
    standIn: 'a queue-manager that does work for every open socket on each request (a broadcast awaited inline)',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_SLOW_PER_SOCKET_MS = '100'; }, 'api-slows-with-sockets'),
  }),
  defineFault({
    id: 'fail-job-ignored', modes: ['host'],
    description: 'a queue-manager whose fail-job answers success and records nothing: a failed job shows "running" until the timeout',
    expect: ['jobs.failure'],
    // "running" as a rule; "completed" when the worker finishes the job before the check reads it back.
    message: /the job is failed; saw (running|completed (\d+ ms )?after fail-job was answered, and no failed event)/,
    standIn: 'a queue-manager whose fail-job route answers success without storing the failure',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_IGNORE_FAIL_JOB = 'true'; }, 'fail-job-ignored'),
  }),
  defineFault({
    id: 'cancel-running-refused', modes: ['container'],
    description: 'a queue-manager that cancels only pending jobs: a running job cannot be stopped (400)',
    expect: ['jobs.cancel'],
    // The dashboard's Cancel fails too when its job is already running, and so does websocket.job-event's
    // clean-up DELETE when a worker has taken its job (no job_deleted / cancelled event follows).
    collateral: ['browser.dashboard', 'websocket.job-event'],
    message: /→ 204 for a running job; saw HTTP 400/,
    standIn: 'a queue-manager that cancels only pending jobs',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_NO_CANCEL_RUNNING = 'true'; }, 'cancel-running-refused'),
  }),
  defineFault({
    id: 'priority-disabled', modes: ['host'],
    description: 'the queue-manager runs with ENABLE_PRIORITY=false: instructor jobs wait behind everyone else\'s',
    expect: ['jobs.priority'],
    message: /the instructor job is ahead of every waiting normal job; saw .*a normal job at position \d+, the instructor job at \d+/,
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.ENABLE_PRIORITY = 'false'; }, 'priority-disabled'),
  }),
  defineFault({
    id: 'round-robin-served-fifo', modes: ['container'],
    description: 'QUEUE_MODE=round_robin is reported, but jobs are served oldest first: one participant\'s ten jobs block everyone',
    expect: ['jobs.queue-order'],
    message: /round_robin/,
    standIn: 'a queue-manager that ignores QUEUE_MODE=round_robin',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_ROUND_ROBIN_AS_FIFO = 'true'; }, 'round-robin-served-fifo'),
  }),
  defineFault({
    id: 'queue-depth-unlimited', modes: ['host'],
    description: 'the queue-manager runs with MAX_QUEUE_DEPTH=0 (unlimited) while the .env says 100: a runaway script can queue without end',
    expect: ['jobs.queue-full'],
    message: /a submission is refused once 100 jobs are pending; saw \d+ more accepted/,
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.MAX_QUEUE_DEPTH = '0'; }, 'queue-depth-unlimited'),
  }),
  defineFault({
    id: 'job-validation-lax', modes: ['container'],
    description: 'a queue-manager that stores an empty workflow and any integer priority (4, -1): bad jobs reach the GPU, -1 jumps the queue',
    expect: ['jobs.invalid'],
    message: /every invalid submission → 422 with a detail list; saw workflow \{\} → HTTP 201/,
    standIn: 'a queue-manager whose request model accepts anything (validation removed)',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_LAX_JOB_VALIDATION = 'true'; }, 'job-validation-lax'),
  }),
  // Participant access (issue 11): the catalogue's container-mode stack runs with per-user auth.
  defineFault({
    id: 'participants-share-one-password', modes: ['container'],
    description: 'every participant given the same password (one handed out to the room): anyone opens any workspace under its owner\'s name',
    expect: ['access.cross-user'],
    message: /user\d{3}'s password \(as user\d{3}\) opens \/user\d{3}\//,
    apply: (t) => withUserAuth(t, 'participants-share-one-password', (a) => {
      const one = a.passwords.user001;
      for (const u of Object.keys(a.passwords)) a.passwords[u] = one;
    }),
  }),
  defineFault({
    id: 'workspace-without-auth', modes: ['container'],
    description: 'user007\'s location without auth_basic (left out of an edit): anyone on the internet opens that workspace',
    // Its location reads no htpasswd file any more: user007 has no entry nginx uses.
    expect: ['access.workspace-auth', 'access.cross-user', 'access.htpasswd-files'],
    message: /\/user007\/ → HTTP 200/,
    apply: (t) => withNginx(t, 'workspace-without-auth', (c) => editLocation(c, '/user007/', (body) => body.replace(/^\s*auth_basic(_user_file)?\s[^\n]*\n/gm, ''))),
  }),
  defineFault({
    id: 'workspace-reads-another-users-file', modes: ['container'],
    description: 'user005\'s location reads user013\'s htpasswd file (a copy-paste slip): user013 opens user005\'s workspace, user005 is locked out',
    expect: ['access.cross-user', 'access.own-credentials', 'access.htpasswd-files'],
    // user005, locked out of their own workspace, is locked out of everything in it.
    collateral: ['health.frontends', 'routing.user-identity', 'websocket.user-upgrade', 'isolation.view-traversal', 'isolation.cross-user-urls', 'jobs.lifecycle', 'browser.workspaces'],
    message: /user013's password opens \/user005\//,
    apply: (t) => withUserAuth(t, 'workspace-reads-another-users-file', (a) => { a.fileFor.user005 = 'user013'; }),
  }),
  defineFault({
    id: 'htpasswd-world-readable', modes: ['container'],
    description: 'the participants\' htpasswd files world-readable (mode 644): any local account can copy the password hashes',
    expect: ['access.htpasswd-files'],
    message: /world-readable \(mode 644\)/,
    apply: (t) => withUserAuth(t, 'htpasswd-world-readable', (a) => { a.fileMode = 0o644; }),
  }),
  defineFault({
    id: 'users-mount-outputs-tree', modes: ['host'],
    description: 'every user\'s container mounts the whole data/outputs at /outputs instead of its own data/outputs/userNNN: each participant can read all 20 directories',
    expect: ['host.output-dirs'],
    collateral: ['isolation.container-view', 'isolation.cross-user-urls', 'routing.user-identity', 'jobs.lifecycle', 'browser.queue-prompt', 'resilience.recreated-containers'],
    message: /every user's container mounts the whole outputs directory \(host \S+ at \/outputs\), not its own: user001…user020's directories readable in it; proved/,
    apply: (t) => {
      let c = t;
      for (const n of userList(t.users)) {
        c = withService(c, n, (s) => { s.mounts = s.mounts.map((m) => (m.target === '/app/output' ? { ...m, source: m.source.replace(/\/user\d+$/, ''), target: '/outputs' } : m)); }, 'users-mount-outputs-tree');
      }
      c.faults = [...new Set(c.faults)];
      return c;
    },
  }),
  // Blind spots: what a check cannot see must not read as a pass.
  defineFault({
    id: 'outputs-answer-502', modes: ['host'],
    description: '/outputs/ answers 502 (its location proxied to an upstream that is gone): no listing is shown, but nothing else is either, and that must not read as "listing off"',
    expect: ['routing.outputs-no-listing', 'isolation.cross-user-urls'],
    message: /GET \/outputs\/ answers \(403, 404, or a page\); saw HTTP 502: no answer, so no sign either way/,
    apply: (t) => withNginx(t, 'outputs-answer-502', (c) => editLocation(c, '/outputs/', () => ' return 502; ')),
  }),
  defineFault({
    id: 'public-vantage-cut-off', modes: ['host'],
    description: 'the internet vantage has no route to the host\'s public address (a blackhole route in the probe): a closed or filtered port seen from there proves nothing, and must not read as "not exposed"',
    expect: ['redis.not-public', 'exposure.public-ports'],
    // Chromium runs in the same probe's network namespace: the pages cannot load either.
    collateral: ['browser.workspaces', 'browser.queue-prompt', 'browser.dashboard', 'resilience.queue-manager-restart'],
    message: /443 not open from that vantage either: it reaches nothing, so Redis's port cannot be judged/,
    apply: (t) => withService(t, 'probe-public', (s) => {
      s.capAdd = ['NET_ADMIN'];
      s.command = ['sh', '-c', `gw=$(ip route show default | awk '{print $3}'); ip route add blackhole "$gw"/32; ${PROBE_IDLE}`];
    }, 'public-vantage-cut-off'),
  }),
  defineFault({
    id: 'frontend-without-find', modes: ['host'],
    description: 'user005\'s image has no `find` (a slimmer base image): a search inside its container prints nothing, which must not read as "the file is not there"',
    expect: ['isolation.container-view'],
    collateral: ['jobs.lifecycle'],
    message: /could not look at every container: user005: a program it needs is missing/,
    apply: (t) => withService(t, 'user005', (s) => { s.command = ['sh', '-c', 'rm -f /usr/bin/find && exec node /app/main.mjs']; }, 'frontend-without-find'),
  }),
  defineFault({
    id: 'user-container-missing', modes: ['host'],
    description: 'user007\'s container not running (stopped, or never started): what cannot be looked at in it must not read as isolated',
    expect: ['isolation.container-view', 'health.frontends'],
    collateral: ['routing.user-identity', 'websocket.user-upgrade', 'browser.workspaces', 'isolation.view-traversal', 'isolation.cross-user-urls', 'jobs.lifecycle', 'host.listeners', 'exposure.host-bindings'],
    message: /could not look at every container: user007: no such container/,
    apply: (t) => withService(t, 'user007', (s) => { s.enabled = false; }, 'user-container-missing'),
  }),
  defineFault({
    id: 'workspaces-answer-502', modes: ['container'],
    description: 'every workspace behind its Basic auth answers 502 (nginx proxies the users to a port nothing listens on): wrong passwords get 401, which must not read as "each refused" when the right ones open nothing',
    expect: ['access.cross-user', 'access.own-credentials', 'health.frontends'],
    collateral: ['routing.user-identity', 'websocket.user-upgrade', 'browser.workspaces', 'browser.queue-prompt', 'isolation.view-traversal', 'isolation.cross-user-urls', 'jobs.lifecycle', 'resilience.recreated-containers'],
    message: /does not open with user\d{3}'s own password \(HTTP 502\)/,
    apply: (t) => withNginx(t, 'workspaces-answer-502', (c) => c.replaceAll(':8188', ':8189')),
  }),
  defineFault({
    id: 'jobs-without-started-at', modes: ['host'],
    description: 'the queue API leaves started_at out of every job: which job a worker took first cannot be read, and must not read as "in order"',
    expect: ['jobs.priority'],
    collateral: ['jobs.lifecycle', 'jobs.queue-order', 'resilience.worker-vanishes'],
    message: /every job a worker took has its started_at/,
    standIn: 'a queue-manager whose job response model leaves started_at out',
    apply: (t) => withService(t, 'queue-manager', (s) => { s.env.FAULT_NO_STARTED_AT = 'true'; }, 'jobs-without-started-at'),
  }),
];

/** The catalogue's stacks: container mode with per-participant Basic auth (the access faults need
 *  it), host mode without (where access.workspace-auth warns): both sides proved in one run. */
export const catalogueUserAuth = (mode: NginxMode) => mode === 'container';

export function faultById(id: string): Fault {
  const f = FAULTS.find((x) => x.id === id);
  if (!f) throw new Error(`no fault ${id}; known: ${FAULTS.map((x) => x.id).join(', ')}`);
  return f;
}

/** Passwords for a unit test's topology (the stack generates its own per run). */
export const testPasswords = (users = CONTRACT.users) => Object.fromEntries(userList(users).map((u) => [u, `pw-${u}`]));

export type { Fault, Topology };
