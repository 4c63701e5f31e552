// The chain walk of tls.chain, on certificates made here: signatures to a trusted root count,
// whatever the dates; an issuer nobody trusts does not, however well it signs.
import { describe, it, expect } from 'vitest';
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import { makeCa, makeServerCert } from '../stack/tls.ts';
import { chainTrust } from './tls.ts';

const DAY = 86_400_000;
/** A peer certificate as node's getPeerCertificate(true) gives it, from PEMs (leaf first). */
function peer(...pems: string[]): DetailedPeerCertificate {
  const certs = pems.map((p) => ({ raw: new X509Certificate(p).raw } as DetailedPeerCertificate));
  certs.forEach((c, i) => { c.issuerCertificate = certs[i + 1] ?? c; });
  return certs[0];
}

describe('chainTrust', () => {
  const ca = makeCa({ commonName: 'Trusted Test CA' });
  const expired = makeServerCert(ca, { commonName: 'd.test', altNames: ['d.test'], notBefore: new Date(Date.now() - 91 * DAY), notAfter: new Date(Date.now() - DAY) });

  it('an expired leaf signed by a trusted CA: the chain is trusted (the dates are another check\'s)', () => {
    expect(chainTrust(peer(expired.certPem, ca.certPem), [ca.certPem])).toEqual({ ok: true, why: 'the trusted CA "Trusted Test CA"' });
    expect(chainTrust(peer(expired.certPem), [ca.certPem]).ok).toBe(true); // the server sent the leaf only
  });

  it('the same chain with its CA not trusted: refused, naming the untrusted issuer', () => {
    const r = chainTrust(peer(expired.certPem, ca.certPem), [makeCa({ commonName: 'Another CA' }).certPem]);
    expect(r.ok).toBe(false);
    expect(r.why).toBe('"Trusted Test CA" is not signed by a trusted CA (issuer "Trusted Test CA")');
  });

  it('a leaf whose sent issuer did not sign it: refused', () => {
    const other = makeCa({ commonName: 'Impostor CA' });
    const r = chainTrust(peer(expired.certPem, other.certPem), [other.certPem]);
    expect(r).toEqual({ ok: false, why: '"d.test" is not signed by a trusted CA (issuer "Trusted Test CA")' });
  });
});
