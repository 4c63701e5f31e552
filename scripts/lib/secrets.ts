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
    // Basic-auth headers carry the password base64-encoded.
    const b64 = Buffer.from(s).toString('base64').replace(/=+$/, '');
    if (b64.length >= 6) out = out.split(b64).join('«redacted»');
  }
  return out;
}

export const registeredSecretCount = () => secrets.size;

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
