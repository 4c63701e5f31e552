// Secrets (Redis and admin passwords) never appear in output, logs or reports:
// every value registered here is replaced wherever text leaves the process.
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Very short values would redact ordinary words; a password that short is a finding of its own.
  if (value && value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    out = out.split(s).join('«redacted»');
    for (const b64 of base64Forms(s)) out = out.split(b64).join('«redacted»');
  }
  return out;
}

/** Basic-auth headers carry `user:password` base64-encoded, so the password's own base64 shows only when
 *  `user:` is a multiple of 3 bytes long ("admin:" is). The other two alignments are the middle of
 *  base64(filler + password): the characters that depend on the password's bytes alone. */
function base64Forms(s: string): string[] {
  const forms = [Buffer.from(s).toString('base64').replace(/=+$/, '')];
  for (const k of [1, 2]) {
    const full = Buffer.from(`${'\0'.repeat(k)}${s}`).toString('base64');
    const whole = Math.floor((k + Buffer.byteLength(s)) / 3) * 4; // characters of complete 3-byte groups
    forms.push(full.slice(k === 1 ? 2 : 3, whole));
  }
  return forms.filter((f) => f.length >= 6);
}

export const registeredSecretCount = () => secrets.size;

/** Every way a password could be written down (for leak tests): as is, JSON/HTML/XML-escaped,
 *  URL-encoded, base64 alone and in a Basic-auth header. */
export function secretForms(pw: string, user = 'admin'): string[] {
  const html = pw.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  const b64 = (x: string) => Buffer.from(x).toString('base64').replace(/=+$/, '');
  return [...new Set([pw, JSON.stringify(pw).slice(1, -1), html, html.replace(/&#39;/g, '&apos;'), encodeURIComponent(pw), b64(pw), b64(`${user}:${pw}`)])];
}

/** Redacts every string (and key) inside a value, before it is serialized: JSON and XML escaping
 *  would otherwise turn a password containing " \ < & into text redact() no longer finds. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v)])) as T;
  }
  return value;
}
