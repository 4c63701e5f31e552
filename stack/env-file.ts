// The platform's .env as compose and the harness read it (one reader for both).
/** Parses a .env file: KEY=VALUE lines, optional quotes, # comments, `export ` prefix. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m) continue;
    let v = m[2];
    if (/^"(.*)"$/.test(v)) v = v.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"');
    else if (/^'(.*)'$/.test(v)) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]] = v;
  }
  return out;
}

/** The secrets as the platform repository's .env.example has them: what a copied .env still holds when
 *  the guide's Step 1 (openssl rand) was skipped. Public text, never a password to accept. */
export const PLATFORM_ENV_EXAMPLE: Readonly<Record<string, string>> = { REDIS_PASSWORD: 'changeme_secure_password', ADMIN_PASSWORD: 'changeme_admin_password' };
