// tls: the certificate a participant's browser sees, the protocols offered, the security headers.
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, rootCertificates } from 'node:tls';
import { defineCheck, type CheckContext } from './lib/check.ts';
import { http } from './lib/http.ts';
import type { TlsProbe } from './lib/target.ts';

/** Let's Encrypt renews at 30 days left; under 7 a workshop is at risk. */
export const EXPIRY_WARN_DAYS = 30;
export const EXPIRY_FAIL_DAYS = 7;
const DAY = 86_400_000;

async function handshake(ctx: CheckContext): Promise<TlsProbe & { cert: NonNullable<TlsProbe['cert']> }> {
  const p = await ctx.target.tlsProbe();
  if (!p.ok || !p.cert) {
    ctx.record('TLS handshake', { error: p.error }, { host: ctx.target.publicAddress, port: ctx.target.httpsPort, sni: ctx.target.domain });
    ctx.fail(`TLS handshake with ${ctx.target.domain} failed: ${p.error}`);
  }
  const c = p.cert;
  ctx.record('certificate', {
    subject: c.subject?.CN, subjectAltName: c.subjectaltname, issuer: c.issuer?.CN, validFrom: c.valid_from, validTo: c.valid_to,
    protocol: p.protocol, chainVerified: p.authorized, verifyError: p.authorizationError ?? null,
  }, { host: ctx.target.publicAddress, port: ctx.target.httpsPort, sni: ctx.target.domain });
  return p as never;
}

export const tlsChecks = [
  defineCheck({
    id: 'tls.valid-now', suite: 'tls', title: 'the certificate is valid now',
    async run(ctx) {
      const { cert } = await handshake(ctx);
      const from = new Date(cert.valid_from).getTime(), to = new Date(cert.valid_to).getTime(), now = Date.now();
      ctx.expect(now >= from, `valid from ${cert.valid_from} (not in the future)`, `now is ${new Date(now).toISOString()}`);
      ctx.expect(now <= to, `not expired (valid to ${cert.valid_to})`, `expired ${Math.ceil((now - to) / DAY)} day(s) ago`);
    },
  }),
  defineCheck({
    id: 'tls.expiry-days', suite: 'tls', title: `days to expiry: warn under ${EXPIRY_WARN_DAYS}, fail under ${EXPIRY_FAIL_DAYS}`,
    async run(ctx) {
      const { cert } = await handshake(ctx);
      const days = Math.floor((new Date(cert.valid_to).getTime() - Date.now()) / DAY);
      ctx.record('days to expiry', days);
      ctx.expect(days >= EXPIRY_FAIL_DAYS, `at least ${EXPIRY_FAIL_DAYS} days to expiry`, `${days} day(s) left (expires ${cert.valid_to})`);
      if (days < EXPIRY_WARN_DAYS) ctx.warn(`certificate expires in ${days} days (${cert.valid_to}): renew before the workshop (certbot renew)`);
      return `${days} days left (expires ${cert.valid_to})`;
    },
  }),
  defineCheck({
    id: 'tls.covers-domain', suite: 'tls', title: 'the certificate covers the domain',
    async run(ctx) {
      const { cert } = await handshake(ctx);
      const err = checkServerIdentity(ctx.target.domain, cert);
      ctx.expect(!err, `a certificate for ${ctx.target.domain}`, `subject ${cert.subject?.CN}, names ${cert.subjectaltname ?? 'none'}`);
    },
  }),
  defineCheck({
    id: 'tls.chain', suite: 'tls', title: 'the chain verifies to a trusted CA',
    async run(ctx) {
      const p = await handshake(ctx);
      ctx.record('chain', chainOf(p.cert));
      if (p.authorized) return 'verified by the TLS handshake';
      // Dates and name are their own checks; here only the chain of signatures counts, up to a CA
      // this client trusts (the system's roots and any CA given with --ca).
      const trust = chainTrust(p.cert, [...rootCertificates, ...ctx.target.trustedCas]);
      ctx.record('signatures', trust);
      ctx.expect(trust.ok, 'a chain that verifies to a trusted CA', `${p.authorizationError ?? 'not verified'}: ${trust.why}`);
      return `signatures verify to ${trust.why} (the handshake's own error, ${p.authorizationError}, is another check's finding)`;
    },
  }),
  defineCheck({
    id: 'tls.protocols', suite: 'tls', title: 'TLS 1.0 and 1.1 refused; 1.2 and 1.3 accepted',
    async run(ctx) {
      const versions = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
      const seen: Record<string, string> = {};
      for (const v of versions) {
        const p = await ctx.target.tlsProbe({ minVersion: v, maxVersion: v });
        seen[v] = p.ok ? `accepted (${p.protocol})` : `refused (${(p.error ?? '').slice(0, 80)})`;
      }
      ctx.record('protocols', seen);
      for (const v of ['TLSv1', 'TLSv1.1']) ctx.expect(seen[v].startsWith('refused'), `${v} refused`, `${v} ${seen[v]}`);
      for (const v of ['TLSv1.2', 'TLSv1.3']) ctx.expect(seen[v].startsWith('accepted'), `${v} accepted`, `${v} ${seen[v]}`);
    },
  }),
  defineCheck({
    id: 'tls.security-headers', suite: 'tls', title: 'HSTS, X-Frame-Options and X-Content-Type-Options on HTTPS responses',
    async run(ctx) {
      const paths = ['/health', '/api/health', `/${ctx.target.users[0]}/`, '/admin', '/no-such-page'];
      const missing: string[] = [];
      for (const path of paths) {
        const h = (await http(ctx, path, { bodySnippet: 0 })).headers;
        const hsts = h['strict-transport-security'] ?? '';
        const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1] ?? 0);
        if (maxAge < 31_536_000 || !/includeSubDomains/i.test(hsts)) missing.push(`${path}: Strict-Transport-Security "${hsts || 'absent'}"`);
        if ((h['x-frame-options'] ?? '').toUpperCase() !== 'SAMEORIGIN') missing.push(`${path}: X-Frame-Options "${h['x-frame-options'] ?? 'absent'}"`);
        if ((h['x-content-type-options'] ?? '').toLowerCase() !== 'nosniff') missing.push(`${path}: X-Content-Type-Options "${h['x-content-type-options'] ?? 'absent'}"`);
      }
      ctx.expect(missing.length === 0, 'the security headers on every response', missing.join('; '));
    },
  }),
];

function chainOf(cert: TlsProbe['cert']): string[] {
  const out: string[] = [];
  for (let c = cert, i = 0; c && i < 5; i++) {
    out.push(`${c.subject?.CN} (issued by ${c.issuer?.CN})`);
    if (c.issuerCertificate === c) break;
    c = c.issuerCertificate;
  }
  return out;
}

/** Whether the certificates the server sent reach a trusted CA by signatures alone: each one signed
 *  by the next, until one is, or is signed by, a trusted root. `why` names that root, or the break. */
export function chainTrust(cert: NonNullable<TlsProbe['cert']>, trustedPems: readonly string[]): { ok: boolean; why: string } {
  const roots = trustedPems.flatMap((pem) => { try { return [new X509Certificate(pem)]; } catch { return []; } });
  const chain: X509Certificate[] = [];
  for (let c = cert, i = 0; c?.raw && i < 8; i++) {
    chain.push(new X509Certificate(c.raw));
    if (c.issuerCertificate === c || !c.issuerCertificate) break;
    c = c.issuerCertificate;
  }
  const cn = (x: X509Certificate) => /CN=([^\n,]+)/.exec(x.subject)?.[1] ?? x.subject;
  // Names and signature (OpenSSL's checkIssued also demands key identifiers many private CAs lack).
  const signs = (issuer: X509Certificate, x: X509Certificate) => { try { return x.issuer === issuer.subject && x.verify(issuer.publicKey); } catch { return false; } };
  for (let i = 0; i < chain.length; i++) {
    const x = chain[i];
    const root = roots.find((r) => r.fingerprint256 === x.fingerprint256) ?? roots.find((r) => signs(r, x));
    if (root) return { ok: true, why: `the trusted CA "${cn(root)}"` };
    const next = chain[i + 1];
    if (!next || !signs(next, x)) return { ok: false, why: `"${cn(x)}" is not signed by a trusted CA (issuer "${/CN=([^\n,]+)/.exec(x.issuer)?.[1] ?? x.issuer}")` };
  }
  return { ok: false, why: 'no certificate' };
}
