import { X509Certificate, createPrivateKey, createPublicKey, createSign, createVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import forge from 'node-forge';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCa, makeServerCert, rsaPrivateKey, writeTls } from './tls.ts';

const DAY = 86_400_000;
const domain = 'comfy.ahelme.net';
const now = Date.now();
const ca = makeCa();
const server = makeServerCert(ca, {
  commonName: domain, altNames: [domain, 'www.comfy.ahelme.net', '100.99.216.71'],
  notBefore: new Date(now - DAY), notAfter: new Date(now + 89 * DAY),
});
const hasOpenssl = (await execa('openssl', ['version'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
const dir = mkdtempSync(join(tmpdir(), 'cv-tls-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Splits a PEM bundle into its certificates. */
const pems = (bundle: string): string[] => bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];

describe('makeCa', () => {
  const x = new X509Certificate(ca.certPem);
  it('is a self-signed CA that can sign certificates', () => {
    expect(x.ca).toBe(true);
    expect(x.subject).toContain('CN=comfy-verify Test CA');
    expect(x.issuer).toBe(x.subject);
    expect(x.verify(x.publicKey)).toBe(true);
    const c = forge.pki.certificateFromPem(ca.certPem);
    expect(c.getExtension('basicConstraints')).toMatchObject({ cA: true, critical: true });
    expect(c.getExtension('keyUsage')).toMatchObject({ keyCertSign: true });
  });
  it('honours commonName and days', () => {
    const c = new X509Certificate(makeCa({ commonName: 'Other CA', days: 10 }).certPem);
    expect(c.subject).toContain('CN=Other CA');
    const life = Date.parse(c.validTo) - Date.parse(c.validFrom);
    expect(Math.round(life / DAY)).toBe(11); // one day back-dated plus ten
  });
  it('has a PKCS#8 RSA 2048 key matching the certificate', () => {
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const k = createPrivateKey(ca.keyPem);
    expect(k.asymmetricKeyType).toBe('rsa');
    expect(k.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(x.checkPrivateKey(k)).toBe(true);
  });
});

describe('keys made ahead (off the event loop, as a stack makes them while Docker works)', () => {
  it('are the keys the CA and the server certificate carry', async () => {
    const [caKey, serverKey] = await Promise.all([rsaPrivateKey(), rsaPrivateKey()]);
    const ca2 = makeCa({ key: caKey });
    const leaf = makeServerCert(ca2, { commonName: domain, altNames: [domain], notBefore: new Date(now - DAY), notAfter: new Date(now + DAY), key: serverKey });
    expect(new X509Certificate(ca2.certPem).checkPrivateKey(caKey)).toBe(true);
    expect(new X509Certificate(leaf.certPem).checkPrivateKey(serverKey)).toBe(true);
    expect(createPrivateKey(leaf.keyPem).export({ type: 'pkcs8', format: 'pem' })).toBe(serverKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(new X509Certificate(leaf.certPem).verify(new X509Certificate(ca2.certPem).publicKey)).toBe(true);
    expect(serverKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });
});

describe('makeServerCert', () => {
  const leaf = new X509Certificate(server.certPem);
  const caX = new X509Certificate(ca.certPem);
  it('is signed by the CA and is not itself a CA', () => {
    expect(leaf.verify(caX.publicKey)).toBe(true);
    expect(leaf.checkIssued(caX)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(createPublicKey(server.keyPem))).toBe(false);
  });
  it('covers the domain by SAN, not other names', () => {
    expect(leaf.checkHost(domain)).toBe(domain);
    expect(leaf.checkHost('www.comfy.ahelme.net')).toBe('www.comfy.ahelme.net');
    expect(leaf.checkHost('evil.example.com')).toBeUndefined();
    expect(leaf.checkIP('100.99.216.71')).toBe('100.99.216.71');
    expect(leaf.subjectAltName).toContain(`DNS:${domain}`);
  });
  it('has the requested validity window', () => {
    expect(Math.abs(Date.parse(leaf.validFrom) - (now - DAY))).toBeLessThan(1000);
    expect(Math.abs(Date.parse(leaf.validTo) - (now + 89 * DAY))).toBeLessThan(1000);
  });
  it('is a TLS server certificate (serverAuth; digitalSignature + keyEncipherment)', () => {
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // node's keyUsage lists the EXTENDED key usage
    const c = forge.pki.certificateFromPem(server.certPem);
    expect(c.getExtension('keyUsage')).toMatchObject({ digitalSignature: true, keyEncipherment: true, keyCertSign: false });
    expect(c.getExtension('extKeyUsage')).toMatchObject({ serverAuth: true });
    expect(c.getExtension('basicConstraints')).toMatchObject({ cA: false });
  });
  it('key matches the certificate and can sign', () => {
    const key = createPrivateKey(server.keyPem);
    expect(leaf.checkPrivateKey(key)).toBe(true);
    const sig = createSign('sha256').update('x').sign(key);
    expect(createVerify('sha256').update('x').verify(leaf.publicKey, sig)).toBe(true);
  });
  it('chainPem is leaf then CA, like fullchain.pem', () => {
    const parts = pems(server.chainPem);
    expect(parts).toHaveLength(2);
    expect(new X509Certificate(parts[0]).fingerprint256).toBe(leaf.fingerprint256);
    expect(new X509Certificate(parts[1]).fingerprint256).toBe(caX.fingerprint256);
  });
  it('gives every certificate a distinct random serial', () => {
    const again = makeServerCert(ca, { commonName: domain, altNames: [domain], notBefore: new Date(), notAfter: new Date(now + DAY), keyBits: 2048 });
    const s1 = leaf.serialNumber, s2 = new X509Certificate(again.certPem).serialNumber;
    expect(s1).not.toBe(s2);
    expect(s1.length).toBeGreaterThanOrEqual(30);
  });
  it('can produce expired and not-yet-valid certificates (for faults)', () => {
    const expired = new X509Certificate(makeServerCert(ca, {
      commonName: domain, altNames: [domain], notBefore: new Date(now - 100 * DAY), notAfter: new Date(now - DAY),
    }).certPem);
    expect(Date.parse(expired.validTo)).toBeLessThan(now);
    expect(expired.verify(caX.publicKey)).toBe(true);
  });
});

describe('writeTls', () => {
  const files = writeTls(dir, ca, server);
  it("writes Let's Encrypt's file names plus ca.pem", () => {
    expect(readFileSync(join(dir, 'fullchain.pem'), 'utf8')).toBe(server.chainPem);
    expect(readFileSync(join(dir, 'privkey.pem'), 'utf8')).toBe(server.keyPem);
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(server.certPem);
    expect(readFileSync(join(dir, 'chain.pem'), 'utf8')).toBe(ca.certPem);
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).toBe(ca.certPem);
    expect(files.fullchain).toBe(join(dir, 'fullchain.pem'));
  });
  it('keeps the private key private', () => {
    expect(statSync(files.privkey).mode & 0o777).toBe(0o600);
  });
  it('files verify together: leaf from fullchain.pem against ca.pem', () => {
    const leaf = new X509Certificate(pems(readFileSync(files.fullchain, 'utf8'))[0]);
    const caX = new X509Certificate(readFileSync(files.ca));
    expect(leaf.verify(caX.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(readFileSync(files.privkey)))).toBe(true);
  });
  // An independent X.509 implementation: OpenSSL's own chain and purpose checks.
  it.skipIf(!hasOpenssl)('openssl verify accepts cert.pem for sslserver against ca.pem', async () => {
    const r = await execa('openssl', ['verify', '-CAfile', files.ca, '-purpose', 'sslserver', '-verify_hostname', domain, files.cert], { reject: false });
    expect(r.stdout + r.stderr).toContain(': OK');
    const bad = await execa('openssl', ['verify', '-CAfile', files.ca, '-verify_hostname', 'other.example', files.cert], { reject: false });
    expect(bad.exitCode).not.toBe(0);
  });
});
