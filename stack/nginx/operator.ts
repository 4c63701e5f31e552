// An operator's own nginx site file, used AS WRITTEN. The only changes: ssl_certificate and
// ssl_certificate_key point at our test certificates, and `listen` ports move when the caller
// asks for other ports. Nothing else is fixed here: the harness must report what is wrong.
//
// guideSiteFile() reproduces what the deployment guide's Step 4 writes to
// /etc/nginx/sites-available/comfy.ahelme.net: the quoted heredoc (no expansion), then the
// loop's unquoted heredoc once per user (blank line first, `\$` -> `$`), then `echo "}"`.
// For domain comfy.ahelme.net and 20 users it is byte-identical to running the guide's bash
// (operator.test.ts checks this against the guide itself when it is present).
//
// Deviations of the guide's site file from the contract (docs/contract.md), found by reading it and
// confirmed by running it in real nginx 1.22 against echo upstreams (operator.test.ts,
// "behaves as written"). Numbers 1-6 break contract rows; 7-12 are weaker or latent.
//  1. `location /api/ { proxy_pass http://127.0.0.1:3000/; }` strips /api/: /api/health reaches
//     upstream /health (works), but /api/queue/status reaches /queue/status, /api/jobs reaches
//     /jobs, /api/workers/... reaches /workers/...: the real queue-manager's whole API is
//     unreachable through nginx (its routes start with /api/).
//  2. CORS Access-Control-Allow-Methods is "GET, POST, PUT, DELETE, OPTIONS": no PATCH, so a
//     browser's preflight for PATCH /api/jobs/{id}/priority is refused.
//  3. add_header inheritance: `location /api/` and `location /health` have their own add_header,
//     so the server-level Strict-Transport-Security, X-Frame-Options and X-Content-Type-Options
//     are NOT sent on /api/... (including the 204 preflight) nor on /health.
//  4. `/health` returns "OK\n" with default_type's Content-Type AND a second, added
//     `Content-Type: text/plain` header (two Content-Type headers; with a stock Debian
//     nginx.conf the first is application/octet-stream).
//  5. `location /admin { proxy_pass http://127.0.0.1:8080; }` passes the URI unchanged:
//     /admin and /admin/ reach the admin service as /admin and /admin/ (the real dashboard
//     serves `/`), /admin/api/proxy/queue/status as itself; and the prefix also captures
//     /administrator, /admin-anything, /adminXYZ.
//  6. No client_max_body_size: nginx's default 1 MiB answers 413 for a POST /api/jobs workflow
//     over 1 MiB, though the contract's queue accepts up to 10 MiB.
//  7. `Connection "upgrade"` is sent unconditionally (admin, users) instead of via a
//     `map $http_upgrade`: every plain request is announced to the upstream as an upgrade.
//  8. No catch-all location: a path no location matches (/user021/, /anything) is served from
//     nginx's compiled-in default root, so /index.html answers 200 "Welcome to nginx!" rather
//     than 404 (unknown users such as /user021/ do get 404).
//  9. `location /health` is a prefix: /healthz, /health-anything answer 200 "OK" too.
// 10. `listen [::]:80` / `listen [::]:443`: needs IPv6 in the network namespace it runs in.
// 11. `listen 443 ssl http2` is deprecated from nginx 1.25.1 (a warning, `http2 on;` instead).
// 12. `return 301 https://$host$request_uri` ignores the public HTTPS port (fine on 443).
// Not deviations, though they look like it: /userNNN without a slash gets nginx's automatic
// 301 to /userNNN/ (a proxied prefix location ending in /), and an unknown user (/user021/)
// gets 404 from the default root. Both contract rows hold.
import { CONTRACT } from '../topology.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

export interface OperatorOptions {
  certPath: string;
  keyPath: string;
  /** map the file's `listen 80` to this port */
  httpPort?: number;
  /** map the file's `listen 443` to this port */
  httpsPort?: number;
}

/** Matches one directive line (not a comment): indentation, name, arguments. */
const directive = (name: string) => new RegExp(String.raw`^([ \t]*)${name}([ \t]+)([^;#\n]+);`, 'gm');

export function loadOperatorSite(text: string, o: OperatorOptions): string {
  let out = text
    .replace(directive('ssl_certificate'), (_m, ind: string, ws: string) => `${ind}ssl_certificate${ws}${o.certPath};`)
    .replace(directive('ssl_certificate_key'), (_m, ind: string, ws: string) => `${ind}ssl_certificate_key${ws}${o.keyPath};`);
  const ports = new Map<number, number>();
  if (o.httpPort !== undefined && o.httpPort !== CONTRACT.httpPort) ports.set(CONTRACT.httpPort, o.httpPort);
  if (o.httpsPort !== undefined && o.httpsPort !== CONTRACT.httpsPort) ports.set(CONTRACT.httpsPort, o.httpsPort);
  if (ports.size) {
    // listen [address:]port [params]; address may be an IPv4 address, [IPv6], * or a host name.
    out = out.replace(directive('listen'), (m, ind: string, ws: string, args: string) => {
      const [addrPort, ...params] = args.trim().split(/\s+/);
      const mm = /^(.*:)?(\d+)$/.exec(addrPort);
      if (!mm) return m;
      const to = ports.get(Number(mm[2]));
      return to === undefined ? m : `${ind}listen${ws}${[`${mm[1] ?? ''}${to}`, ...params].join(' ')};`;
    });
  }
  return out;
}

/** An operator's whole nginx.conf (the container profile's, or a host's /etc/nginx/nginx.conf), as
 *  written: its `include`s read beside it and inlined (see inlineIncludes), certificate paths mapped
 *  like a site file's. */
export function loadOperatorMain(file: string, o: OperatorOptions): string {
  return loadOperatorSite(inlineIncludes(file), o);
}

/** The file's text with each `include` it can find beside it inlined, recursively: a relative path is
 *  read from the main file's directory (nginx's configuration directory), /etc/nginx/X from X beside it, and a `*` in the last part is
 *  expanded in name order (sites-enabled/*, conf.d/*.conf). What is not there (nginx's own
 *  mime.types) stays an include for nginx to read from its image. */
export function inlineIncludes(file: string, depth = 0, root = dirname(file)): string {
  if (depth > 8) throw new Error(`include nesting deeper than 8 at ${file}`);
  // As nginx does: a relative path is relative to the configuration directory, whichever file says it.
  const dir = root;
  return readFileSync(file, 'utf8').replace(/^([ \t]*)include\s+([^;\s]+)\s*;[ \t]*$/gm, (m, ind: string, arg: string) => {
    const rel = arg.replace(/^["']|["']$/g, '').replace(/^\/etc\/nginx\//, '');
    // Elsewhere on the operator's host: not this machine's to read; nginx resolves it (or says it cannot).
    if (isAbsolute(rel)) return m;
    const path = join(dir, rel);
    const base = basename(path);
    const files = base.includes('*')
      ? (existsSync(dirname(path)) ? readdirSync(dirname(path)).filter((n) => new RegExp(`^${base.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(n)).sort().map((n) => join(dirname(path), n)) : [])
      : existsSync(path) ? [path] : [];
    if (!files.length) return base.includes('*') ? `${ind}# ${arg}: nothing beside the configuration` : m;
    return files.map((f) => `${ind}# included from ${arg}: ${basename(f)}\n${inlineIncludes(f, depth + 1, root)}`).join('\n');
  });
}

/** The guide's Step 4 site file, as its bash (heredoc + loop + `echo "}"`) writes it. */
export function guideSiteFile(domain: string = CONTRACT.domain, users: number = CONTRACT.users): string {
  const head = String.raw`# HTTP → HTTPS redirect
server {
    listen 80;
    listen [::]:80;
    server_name ${domain};
    return 301 https://$host$request_uri;
}

# Main HTTPS server
server {
    listen 443 ssl http2;
    listen [::]:443 ssl http2;
    server_name ${domain};

    # SSL Configuration
    ssl_certificate     /etc/letsencrypt/live/${domain}/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/${domain}/privkey.pem;

    # SSL Security (Let's Encrypt recommendations)
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    ssl_ciphers 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384';
    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 10m;

    # Security Headers
    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
    add_header X-Frame-Options "SAMEORIGIN" always;
    add_header X-Content-Type-Options "nosniff" always;

    # Logging
    access_log /var/log/nginx/comfy.access.log;
    error_log /var/log/nginx/comfy.error.log;

    # Root location - landing page
    location = / {
        return 302 /user001/;  # Redirect to instructor workspace
    }

    # Health check
    location /health {
        access_log off;
        return 200 "OK\n";
        add_header Content-Type text/plain;
    }

    # Queue Manager API
    location /api/ {
        proxy_pass http://127.0.0.1:3000/;
        proxy_http_version 1.1;

        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;

        # CORS headers
        add_header Access-Control-Allow-Origin "https://${domain}" always;
        add_header Access-Control-Allow-Methods "GET, POST, PUT, DELETE, OPTIONS" always;
        add_header Access-Control-Allow-Headers "Content-Type, Authorization" always;

        # Handle preflight
        if ($request_method = OPTIONS) {
            return 204;
        }
    }

    # WebSocket endpoint for Queue Manager
    location /ws {
        proxy_pass http://127.0.0.1:3000/ws;
        proxy_http_version 1.1;

        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;

        # Long timeout for WebSocket
        proxy_read_timeout 86400s;
        proxy_send_timeout 86400s;
    }

    # Admin Dashboard
    location /admin {
        proxy_pass http://127.0.0.1:8080;
        proxy_http_version 1.1;

        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;

        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
    }

    # Static outputs (optional - for direct file access)
    location /outputs/ {
        alias /home/dev/projects/comfyui/data/outputs/;
        autoindex off;
        # Optional: Add authentication here
    }

    # User Frontend Routing - user001 through user020
    # Generated via script below

`;
  const user = (i: number) => {
    const num = String(i).padStart(3, '0');
    const port = 8187 + i;
    return String.raw`
    # User ${num}
    location /user${num}/ {
        proxy_pass http://127.0.0.1:${port}/;
        proxy_http_version 1.1;

        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;

        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";

        # Long timeout for ComfyUI workflows
        proxy_read_timeout 86400s;
        proxy_send_timeout 86400s;
    }
`;
  };
  return head + Array.from({ length: users }, (_, k) => user(k + 1)).join('') + '}\n';
}
