// The REFERENCE nginx site: what a correct deployment's nginx does, for N users, in either mode.
// Every row of docs/contract.md's "Public URLs" holds with it while proxying to the services' real
// internal routes. It differs from the guide's Step 4 file where that file breaks the contract
// (see operator.ts for the list).
//
// nginx rules this file relies on (each one a way to get it subtly wrong):
// - add_header is inherited from the server level only by locations that have NO add_header of
//   their own; so every location that adds headers repeats the security headers (generated
//   here from one list, never typed twice). The same holds for proxy_set_header and
//   proxy_hide_header: they are set per location, or only at server level.
// - proxy_pass WITHOUT a URI passes the client's URI unchanged (/api/queue/status stays
//   /api/queue/status); WITH a URI it replaces the part matched by the location
//   (/user007/x -> /x; `location = /api/health` + `/health` -> /health).
// - A location with an `if` gets a nested configuration that inherits the location's
//   add_header list as long as the `if` block declares none.
import { CONTRACT, type NginxMode, userHostPort, userId } from '../topology.ts';

export interface ReferenceOptions {
  domain: string;
  users: number;
  mode: NginxMode;
  /** fullchain.pem path as nginx sees it */
  certPath: string;
  /** privkey.pem path as nginx sees it */
  keyPath: string;
  /** where /outputs/ is served from (aliased; a trailing slash is added if missing) */
  outputsDir: string;
  /** listen ports; default 80 and 443 (the contract's) */
  httpPort?: number;
  httpsPort?: number;
  /** container mode: nginx asks Docker's DNS (this address) per request, so a recreated container
   *  is reached at its new address. Default 127.0.0.11, Docker's embedded DNS on user networks. */
  resolver?: string;
  /** container mode: resolve upstream names once, when nginx starts (static `proxy_pass http://name`):
   *  what most hand-written configs do, and a fault here (a recreated container is then unreachable,
   *  or worse, another container that took its address is reached instead) */
  resolveAtStart?: boolean;
  /** per-participant Basic auth: the htpasswd file each user's location reads */
  userAuthFile?: (id: string) => string;
}

export interface Upstreams {
  queueManager: string;
  admin: string;
  user: (n: number) => string;
}

/** host:port of each service as nginx reaches it: loopback ports (host mode) or Docker DNS names (container mode). */
export function referenceUpstreams(mode: NginxMode): Upstreams {
  return mode === 'host'
    ? {
      queueManager: `127.0.0.1:${CONTRACT.queueManagerPort}`,
      admin: `127.0.0.1:${CONTRACT.adminPort}`,
      user: (n) => `127.0.0.1:${userHostPort(n)}`,
    }
    : {
      queueManager: `queue-manager:${CONTRACT.queueManagerPort}`,
      admin: `admin:${CONTRACT.adminPort}`,
      user: (n) => `${userId(n)}:${CONTRACT.frontendPort}`,
    };
}

/** The headers every HTTPS response carries (`always`: error responses too). */
export const SECURITY_HEADERS: readonly [string, string][] = [
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Content-Type-Options', 'nosniff'],
];

export const corsHeaders = (domain: string): [string, string][] => [
  ['Access-Control-Allow-Origin', `https://${domain}`],
  ['Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS'],
  ['Access-Control-Allow-Headers', 'Content-Type, Authorization'],
  ['Access-Control-Max-Age', '86400'],
  ['Vary', 'Origin'],
];

/** Headers the reference answers with itself, so upstream copies are hidden (no duplicates). */
const HIDDEN_UPSTREAM_HEADERS = [
  ...SECURITY_HEADERS.map(([h]) => h),
  'Access-Control-Allow-Origin', 'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers',
  'Access-Control-Allow-Credentials', 'Access-Control-Max-Age',
];

/** Request/response bodies: 10 MiB workflow JSON + up to 1 MiB metadata + envelope < 12 MiB;
 *  a little over 10 MiB must still reach the queue-manager so that IT answers 422 (the
 *  contract), not nginx 413. Worker results (up to 50 MiB) never come this way: workers speak
 *  to the queue-manager over the VPN only. */
const API_BODY_LIMIT = '12m';
/** ComfyUI's POST /upload/image takes the user's input images (and video frames). */
const FRONTEND_BODY_LIMIT = '100m';
/** WebSockets and long ComfyUI requests: idle connections survive a workshop day. */
const LONG_TIMEOUT = '86400s';

const q = (v: string) => `"${v.replace(/["\\]/g, '\\$&')}"`;
const addHeaders = (hs: readonly [string, string][]) => hs.map(([h, v]) => `add_header ${h} ${q(v)} always;`);
const block = (head: string, body: string[], ind = '    '): string[] =>
  [`${head} {`, ...body.map((l) => (l ? `${ind}${l}` : l)), '}'];

/** proxy_set_header list for one location (a location's own list replaces the server's). */
function proxyHeaders(o: { ws: boolean; prefix?: string }): string[] {
  return [
    'proxy_http_version 1.1;',
    'proxy_set_header Host $host;',
    'proxy_set_header X-Real-IP $remote_addr;',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    ...(o.prefix ? [`proxy_set_header X-Forwarded-Prefix ${o.prefix};`] : []),
    ...(o.ws
      ? ['proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection $connection_upgrade;']
      : ['proxy_set_header Connection "";']),
  ];
}
/** How a location passes requests on. `strip`: the location prefix replaced by `/` (the static form
 *  `proxy_pass http://up/;`); `uri`: the whole URI replaced (`location = /api/health` -> /health).
 *  With `dynamic`, the upstream is a variable, so nginx resolves it per request through the
 *  `resolver` (a variable proxy_pass passes the URI as is: the rewrite does the replacing). */
function proxyTo(upstream: string, o: { dynamic: boolean; strip?: string; uri?: string }): string[] {
  if (!o.dynamic) return [`proxy_pass http://${upstream}${o.uri ?? (o.strip ? '/' : '')};`];
  return [
    `set $cv_upstream ${upstream};`,
    ...(o.uri ? [`rewrite ^ ${o.uri} break;`] : []),
    ...(o.strip ? [`rewrite ^${o.strip}(.*)$ /$1 break;`] : []),
    'proxy_pass http://$cv_upstream;',
  ];
}

const longTimeouts = [`proxy_read_timeout ${LONG_TIMEOUT};`, `proxy_send_timeout ${LONG_TIMEOUT};`];

function landingPage(domain: string, users: number): string {
  const items = Array.from({ length: users }, (_, k) => userId(k + 1))
    .map((id) => `<li><a href="/${id}/">${id}</a></li>`).join('');
  const html = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>ComfyUI Workshop</title></head>'
    + `<body><h1>ComfyUI Workshop: ${domain}</h1><ul id="users">${items}</ul>`
    + '<p><a href="/admin/">Admin dashboard</a></p></body></html>';
  if (/['\\$]/.test(html)) throw new Error('landing page must not contain quotes, backslashes or $');
  return `'${html}'`;
}

/** One user's locations: exact `/userNNN` redirects, `/userNNN/` proxies with the prefix stripped. */
function userLocations(n: number, up: Upstreams, dynamic: boolean, authFile?: (id: string) => string): string[] {
  const id = userId(n);
  return [
    `# ${id}: ${up.user(n)}`,
    ...block(`location = /${id}`, [`return 301 /${id}/$is_args$args;`]),
    ...block(`location /${id}/`, [
      // This participant's own file only: one file for everyone would let any participant in anywhere.
      ...(authFile ? [`auth_basic "ComfyUI workspace ${id}";`, `auth_basic_user_file ${authFile(id)};`] : []),
      ...proxyTo(up.user(n), { dynamic, strip: `/${id}/` }),
      ...proxyHeaders({ ws: true, prefix: `/${id}` }),
      ...longTimeouts,
      `client_max_body_size ${FRONTEND_BODY_LIMIT};`,
    ]),
  ];
}

export function referenceSite(o: ReferenceOptions): string {
  if (!Number.isInteger(o.users) || o.users < 1 || o.users > 999) throw new Error(`users must be 1..999, got ${o.users}`);
  const up = referenceUpstreams(o.mode);
  // Host mode reaches fixed loopback ports; container mode reaches names whose addresses change.
  const dynamic = o.mode === 'container' && !o.resolveAtStart;
  const httpPort = o.httpPort ?? CONTRACT.httpPort;
  const httpsPort = o.httpsPort ?? CONTRACT.httpsPort;
  const outputs = o.outputsDir.replace(/\/*$/, '/');
  const apiLocation = (head: string, pass: string[]) => block(head, [
    ...proxyHeaders({ ws: false }),
    ...addHeaders(corsHeaders(o.domain)),
    ...addHeaders(SECURITY_HEADERS),
    '# CORS preflight, answered here: the if block inherits the add_header list above.',
    ...block('if ($request_method = OPTIONS)', ['return 204;']),
    // After the if: a `rewrite ... break` would end the rewrite phase before the preflight test.
    ...pass,
  ]);
  const httpsTarget = httpsPort === 443 ? 'https://$host$request_uri' : `https://$host:${httpsPort}$request_uri`;

  const https: string[] = [
    `listen ${httpsPort} ssl http2 default_server;`,
    `server_name ${o.domain};`,
    '',
    `ssl_certificate ${o.certPath};`,
    `ssl_certificate_key ${o.keyPath};`,
    'ssl_protocols TLSv1.2 TLSv1.3;',
    // Mozilla "intermediate" ciphers for TLS 1.2 (TLS 1.3 suites are not configurable here).
    'ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;',
    'ssl_prefer_server_ciphers off;',
    'ssl_session_cache shared:SSL:10m;',
    'ssl_session_timeout 1d;',
    'ssl_session_tickets off;',
    '',
    '# Security headers for every location without add_header of its own (the others repeat them).',
    ...addHeaders(SECURITY_HEADERS),
    ...HIDDEN_UPSTREAM_HEADERS.map((h) => `proxy_hide_header ${h};`),
    '',
    `# ${API_BODY_LIMIT}: a 10 MiB workflow + 1 MiB metadata + JSON envelope fits, so the`,
    '# queue-manager (not nginx) judges sizes; frontends raise it for image uploads.',
    `client_max_body_size ${API_BODY_LIMIT};`,
    '# Relative Location headers: correct behind any port mapping.',
    'absolute_redirect off;',
    ...(dynamic ? [
      '# Upstream names are resolved per request (valid 2 s): a container that is recreated, and',
      '# comes back at another address, is reached there, not at its old address.',
      `resolver ${o.resolver ?? '127.0.0.11'} valid=2s ipv6=off;`,
      'resolver_timeout 2s;',
    ] : []),
    '',
    ...(o.mode === 'host'
      ? block('location = /', ['return 302 /user001/;'])
      : block('location = /', ['default_type "text/html; charset=utf-8";', `return 200 ${landingPage(o.domain, o.users)};`])),
    '',
    ...block('location = /health', ['access_log off;', 'default_type text/plain;', 'return 200 "OK\\n";']),
    ...block('location = /health/ping', ['access_log off;', 'default_type text/plain;', 'return 200 "OK\\n";']),
    '',
    '# Queue-manager health: its own route is /health (the URI is replaced).',
    ...apiLocation('location = /api/health', proxyTo(up.queueManager, { dynamic, uri: '/health' })),
    '# Queue-manager API: its routes already start with /api/, so the URI passes unchanged.',
    ...apiLocation('location /api/', proxyTo(up.queueManager, { dynamic })),
    '',
    '# Queue-manager WebSocket (job events).',
    ...block('location = /ws', [
      ...proxyTo(up.queueManager, { dynamic }),
      ...proxyHeaders({ ws: true }),
      ...longTimeouts,
    ]),
    '',
    '# Admin dashboard, served at its root: /admin and /admin/ -> /, /admin/x -> /x.',
    ...block('location = /admin', [...proxyTo(up.admin, { dynamic, uri: '/' }), ...proxyHeaders({ ws: false, prefix: '/admin' })]),
    ...block('location /admin/', [...proxyTo(up.admin, { dynamic, strip: '/admin/' }), ...proxyHeaders({ ws: false, prefix: '/admin' })]),
    '',
    '# Static outputs, no directory listing.',
    ...block('location /outputs/', [`alias ${outputs};`, 'autoindex off;']),
    '',
    `# User frontends: ${o.users} users, ${o.mode === 'host' ? 'loopback ports 8188+' : 'Docker DNS names, port 8188'}.`,
    ...Array.from({ length: o.users }, (_, k) => userLocations(k + 1, up, dynamic, o.userAuthFile)).flat(),
    '',
    '# Anything else (unknown users included) does not exist.',
    ...block('location /', ['return 404;']),
  ];

  const lines = [
    `# comfy-verify reference site: ${o.domain}, ${o.users} users, ${o.mode}-nginx mode.`,
    '# WebSocket upgrades where asked for; plain requests keep a plain Connection header.',
    ...block('map $http_upgrade $connection_upgrade', ['default upgrade;', "''      close;"]),
    '',
    '# HTTP -> HTTPS, same path and query.',
    ...block('server', [`listen ${httpPort} default_server;`, `server_name ${o.domain};`, `return 301 ${httpsTarget};`]),
    '',
    ...block('server', https),
    '',
  ];
  return lines.join('\n');
}

export interface MainConfOptions {
  mode: NginxMode;
  /** worker user; www-data exists in the Debian base image (the outputs must be world-readable) */
  user?: string;
  /** access log destination, or 'off' */
  accessLog?: string;
}

/** A complete /etc/nginx/nginx.conf around a site file (the reference or an operator's). */
export function nginxMainConf(site: string, o: MainConfOptions): string {
  const where = o.mode === 'host'
    ? 'host-nginx mode: sharing the host network namespace, binding 0.0.0.0:80/443 like a host-installed nginx'
    : 'container-nginx mode: on the app network, publishing 80 and 443';
  const access = o.accessLog ?? '/dev/stdout';
  return [
    `# comfy-verify nginx.conf, ${where}.`,
    `user ${o.user ?? 'www-data'};`,
    'worker_processes 2;',
    '# Many WebSocket clients: two connections each (client + upstream).',
    'worker_rlimit_nofile 16384;',
    'pid /run/nginx.pid;',
    'error_log stderr warn;',
    '',
    ...block('events', ['worker_connections 4096;']),
    '',
    'http {',
    '    include /etc/nginx/mime.types;',
    '    default_type application/octet-stream;',
    '    sendfile on;',
    '    tcp_nopush on;',
    '    server_tokens off;',
    '    types_hash_max_size 2048;',
    '    log_format cv \'$remote_addr "$request" $status $body_bytes_sent $request_time "$http_user_agent"\';',
    access === 'off' ? '    access_log off;' : `    access_log ${access} cv;`,
    '',
    '# ---- site ----',
    site.replace(/\n*$/, ''),
    '# ---- end of site ----',
    '}',
    '',
  ].join('\n');
}
